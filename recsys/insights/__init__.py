"""Insights: challenge signals mined from check-in feedback, pairing risk, alerts and delivery.

Modules (imported explicitly, nothing heavy happens here):

* :mod:`recsys.insights.signals_store` runs a signal miner over feedback and stores the result;
* :mod:`recsys.insights.risk` builds "as of" features and scores active pairings;
* :mod:`recsys.insights.alerts` opens / updates alerts and enqueues notifications;
* :mod:`recsys.insights.delivery` delivers the outbox (webhooks, Slack, email) with retries;
* :mod:`recsys.insights.retention` purges confidential feedback text.

Feedback text is confidential: none of these modules ever logs it.
"""

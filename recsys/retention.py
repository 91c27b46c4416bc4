"""Retention of the served-list log.

Every recommendation the service answers is stored twice: one ``recommendation_lists`` row
(the list, its scores and reasons, the key later interactions name) and one ``shown``
interaction per mentor in it. That log is most of the database and grows with traffic, yet
training learns only from the lists of mentees who went on to answer a request or be paired
(:func:`recsys.snapshot.engaged_mentees`). :func:`prune_served_lists` removes, before a cutoff,
the served lists of every other mentee; answers, pairings and the lists of engaged mentees are
never touched, so the examples training builds are the same before and after.

A list pruned here is unknown afterwards: an answer that names its ``recommendation_id`` is
refused like any unknown id, so keep the period well past how long a mentee takes to ask.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.orm import Session

from recsys import db
from recsys.schemas import InteractionEvent
from recsys.snapshot import engaged_mentees


@dataclass(frozen=True)
class PrunedLog:
    lists: int  # recommendation_lists rows
    shown_rows: int  # "shown" interaction rows


def prune_served_lists(
    session: Session, org: str, older_than_days: int, as_of: dt.date, *, dry_run: bool = False
) -> PrunedLog:
    """Delete ``org``'s served lists dated before ``as_of - older_than_days`` whose mentee
    never answered a request nor was paired; ``dry_run`` counts them instead."""
    if older_than_days < 0:
        raise ValueError("older_than_days must be >= 0")
    cutoff = as_of - dt.timedelta(days=older_than_days)
    engaged = engaged_mentees(org)
    i, r = db.Interaction, db.RecommendationList
    shown = (
        i.org_id == org,
        i.event == InteractionEvent.shown.value,
        i.at < cutoff,
        i.mentee_id.not_in(engaged),
    )
    lists = (
        r.org_id == org,
        r.created_at < dt.datetime.combine(cutoff, dt.time()),
        r.mentee_id.not_in(engaged),
    )
    if dry_run:
        return PrunedLog(
            lists=session.scalar(select(func.count()).select_from(r).where(*lists)) or 0,
            shown_rows=session.scalar(select(func.count()).select_from(i).where(*shown)) or 0,
        )
    n_shown = _delete(session, i, shown)
    n_lists = _delete(session, r, lists)
    return PrunedLog(lists=n_lists, shown_rows=n_shown)


def _delete(session: Session, table: type[db.Base], where: tuple[Any, ...]) -> int:
    statement = delete(table).where(*where).execution_options(synchronize_session=False)
    return cast(CursorResult[Any], session.execute(statement)).rowcount or 0

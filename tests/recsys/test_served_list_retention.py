"""Retention of the served-list log (``recsys.retention``, ``recsys interactions prune``):
only lists training can never use go, and only before the cutoff."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from recsys import db, store
from recsys.cli import app
from recsys.retention import prune_served_lists
from recsys.schemas import InteractionIn, MenteeIn, MentorIn, PairingIn
from recsys.settings import get_settings
from recsys.snapshot import interaction_frame

ORG, OTHER = "acme", "globex"
AS_OF = dt.date(2026, 6, 1)  # with 30 days: lists before 2026-05-02 may go
OLD, RECENT = dt.date(2026, 4, 1), dt.date(2026, 5, 20)
MENTORS = ["m1", "m2", "m3"]


def _served(session: Session, org: str, mentee: str, day: dt.date, list_id: str) -> None:
    store.upsert_models(session, "interactions", org, [
        InteractionIn(mentee_id=mentee, mentor_id=m, at=day, event="shown", position=n + 1,
                      recommendation_id=list_id) for n, m in enumerate(MENTORS)
    ])  # fmt: skip
    session.add(db.RecommendationList(
        id=list_id, org_id=org, mentee_id=mentee, model_version="v1",
        created_at=dt.datetime.combine(day, dt.time(9, 30)),
        items=[{"mentor_id": m} for m in MENTORS],
    ))  # fmt: skip


def _seed(factory: sessionmaker[Session]) -> None:
    with store.transaction(factory) as session:
        for org in (ORG, OTHER):
            store.ensure_org(session, org)
            store.upsert_models(session, "mentors", org, [
                MentorIn(id=m, seniority=5, timezone="UTC", languages=["en"], capacity=3)
                for m in MENTORS
            ])  # fmt: skip
            store.upsert_models(session, "mentees", org, [
                MenteeIn(id=e, seniority=1, timezone="UTC", languages=["en"], goals="Grow.")
                for e in ("browser", "asker", "paired")
            ])  # fmt: skip
        # browsed twice, never asked: the old list may go, the recent one stays
        _served(session, ORG, "browser", OLD, "r-browse-old")
        _served(session, ORG, "browser", RECENT, "r-browse-new")
        # asked a mentor from an old list: training learns from it
        _served(session, ORG, "asker", OLD, "r-ask")
        store.upsert_models(session, "interactions", ORG, [
            InteractionIn(mentee_id="asker", mentor_id="m2", at=OLD, event="requested",
                          recommendation_id="r-ask"),
        ])  # fmt: skip
        # paired (outside the lists): kept too
        _served(session, ORG, "paired", OLD, "r-paired")
        store.upsert_models(session, "pairings", ORG, [
            PairingIn(id="p1", mentor_id="m3", mentee_id="paired", started_at=OLD,
                      status="active"),
        ])  # fmt: skip
        # another organisation's old, unanswered list
        _served(session, OTHER, "browser", OLD, "r-other")


def _lists(session: Session) -> set[str]:
    return set(session.scalars(select(db.RecommendationList.id)))


def test_prune_removes_only_old_lists_of_mentees_who_never_engaged(
    factory: sessionmaker[Session],
) -> None:
    _seed(factory)
    with factory() as session:
        training_read = interaction_frame(session, ORG, engaged_lists_only=True)
        counted = prune_served_lists(session, ORG, 30, AS_OF, dry_run=True)
    assert (counted.lists, counted.shown_rows) == (1, 3)
    with factory() as session:
        assert len(_lists(session)) == 5  # the dry run deleted nothing
    with store.transaction(factory) as session:
        pruned = prune_served_lists(session, ORG, 30, AS_OF)
    assert pruned == counted
    with store.transaction(factory) as session:
        assert prune_served_lists(session, ORG, 30, AS_OF).lists == 0  # idempotent
    with factory() as session:
        assert _lists(session) == {"r-browse-new", "r-ask", "r-paired", "r-other"}
        left = interaction_frame(session, ORG)
        browsed = left["mentee_id"] == "browser"
        assert set(left["at"][browsed].tolist()) == {RECENT}
        assert (left["event"] == "requested").sum() == 1
        assert len(interaction_frame(session, OTHER)["event"]) == 3
        after = interaction_frame(session, ORG, engaged_lists_only=True)
    # what training reads is unchanged, row for row
    for column, values in training_read.items():
        np.testing.assert_array_equal(after[column], values, err_msg=column)


def test_prune_keeps_everything_newer_than_the_cutoff(factory: sessionmaker[Session]) -> None:
    _seed(factory)
    with store.transaction(factory) as session:
        assert prune_served_lists(session, ORG, 90, AS_OF).shown_rows == 0
        with pytest.raises(ValueError):
            prune_served_lists(session, ORG, -1, AS_OF)
        # with no period left, the recent browsing list goes too, still not the engaged ones
        assert prune_served_lists(session, ORG, 0, AS_OF).lists == 2
    with factory() as session:
        assert _lists(session) == {"r-ask", "r-paired", "r-other"}


def test_prune_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECSYS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RECSYS_ORG", ORG)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert runner.invoke(app, ["interactions", "prune"]).exit_code == 2  # no period set
        from recsys.context import AppContext

        ctx = AppContext(get_settings())
        ctx.migrate()
        _seed(ctx.sessions)
        args = ["interactions", "prune", "--older-than", "30", "--as-of", "2026-06-01"]
        dry = runner.invoke(app, [*args, "--dry-run"])
        assert dry.exit_code == 0 and "would remove 1 served list(s) and 3" in dry.stdout
        done = runner.invoke(app, args)
        assert done.exit_code == 0 and "removed 1 served list(s)" in done.stdout
        monkeypatch.setenv("RECSYS_SERVED_LIST_RETENTION_DAYS", "0")
        get_settings.cache_clear()
        again = runner.invoke(app, ["interactions", "prune", "--as-of", "2026-06-01"])
        assert again.exit_code == 0 and "removed 1 served list(s)" in again.stdout
    finally:
        get_settings.cache_clear()

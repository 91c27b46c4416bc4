"""The write-behind log of served recommendation lists."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from recsys import db, store
from recsys.context import AppContext
from recsys.settings import Settings
from serving.served_log import ServedList, ServedListWriter

ORG = "served-org"
DAY = dt.date(2026, 11, 2)


@pytest.fixture()
def ctx(tmp_path) -> AppContext:  # type: ignore[no-untyped-def]
    ctx = AppContext(Settings(home=tmp_path))
    ctx.migrate()
    with store.transaction(ctx.sessions) as session:
        store.ensure_org(session, ORG)
    return ctx


def served(rec_id: str, mentors: tuple[str, ...] = ("m1", "m2")) -> ServedList:
    items = [{"mentor_id": m, "rank": i, "score": 1.0 / i, "reasons": ["r"]}
             for i, m in enumerate(mentors, start=1)]  # fmt: skip
    return ServedList(ORG, rec_id, f"mentee-{rec_id}", "v1", items, DAY)


def counts(ctx: AppContext) -> tuple[int, int]:
    with ctx.sessions() as s:
        lists = s.scalar(select(func.count()).select_from(db.RecommendationList))
        shown = s.scalar(select(func.count()).select_from(db.Interaction))
    return int(lists or 0), int(shown or 0)


def test_lists_are_written_in_the_background_and_flushed(ctx: AppContext) -> None:
    writer = ServedListWriter(ctx.sessions)
    writer.start()
    for i in range(50):
        writer.submit(served(f"r{i}"))
    writer.flush()
    assert counts(ctx) == (50, 100)
    with ctx.sessions() as s:
        row = s.get(db.RecommendationList, "r7")
        assert row is not None and [i["mentor_id"] for i in row.items] == ["m1", "m2"]
        positions = s.scalars(
            select(db.Interaction.position).where(db.Interaction.recommendation_id == "r7")
        ).all()
        assert sorted(positions) == [1, 2]
    writer.close()


def test_one_bad_list_does_not_lose_the_others(ctx: AppContext) -> None:
    writer = ServedListWriter(ctx.sessions)
    writer.start()
    writer.submit(served("dup"))
    writer.flush()
    # the same id again violates the primary key: only that list fails, not its batch
    for rec_id in ("dup", "ok-1", "ok-2"):
        writer.submit(served(rec_id))
    writer.flush()
    assert counts(ctx)[0] == 3
    writer.close()


def test_close_drains_the_queue_and_a_stopped_writer_writes_synchronously(
    ctx: AppContext,
) -> None:
    writer = ServedListWriter(ctx.sessions)
    writer.start()
    for i in range(20):
        writer.submit(served(f"q{i}"))
    writer.close()
    assert not writer.running and counts(ctx)[0] == 20
    writer.submit(served("sync"))  # not running: written before submit returns
    assert counts(ctx)[0] == 21


def test_wait_for_returns_once_that_list_is_written(ctx: AppContext) -> None:
    writer = ServedListWriter(ctx.sessions)
    writer.start()
    writer.submit(served("w1"))
    writer.wait_for("w1")
    with ctx.sessions() as s:
        assert s.get(db.RecommendationList, "w1") is not None
    writer.wait_for("never-submitted")  # nothing pending under that id: returns at once
    writer.close()


def test_lists_arriving_within_the_linger_share_one_transaction(
    ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    writer = ServedListWriter(ctx.sessions, linger_s=0.5)
    batches: list[int] = []
    write_now = writer._write_now
    monkeypatch.setattr(
        writer, "_write_now", lambda lists: (batches.append(len(lists)), write_now(lists))
    )
    writer.start()
    for i in range(3):  # trickling in, as under load: 3 requests 50 ms apart
        writer.submit(served(f"l{i}"))
        time.sleep(0.05)
    writer.flush()
    assert batches == [3] and counts(ctx) == (3, 6)
    started = time.monotonic()
    writer.close()  # the stop sentinel ends a linger at once
    assert time.monotonic() - started < 0.4

"""Insights fixtures: a migrated SQLite store (``factory`` from ``tests/recsys/conftest.py``)
seeded with a tiny programme, and the keyword miner."""

from __future__ import annotations

import pytest
from insights_support import ORG, FakeMiner, seed_programme
from sqlalchemy.orm import Session, sessionmaker

from recsys.store import transaction


@pytest.fixture
def miner() -> FakeMiner:
    return FakeMiner()


@pytest.fixture
def seeded(factory: sessionmaker[Session]) -> tuple[sessionmaker[Session], dict[str, str]]:
    """(session factory, note id -> text) for a store holding the tiny programme."""
    with transaction(factory) as session:
        texts = seed_programme(session, ORG)
    return factory, texts


@pytest.fixture
def analysed(
    seeded: tuple[sessionmaker[Session], dict[str, str]], miner: FakeMiner
) -> tuple[sessionmaker[Session], dict[str, str]]:
    """The seeded store with every note's signals computed by the keyword miner."""
    from recsys.insights.signals_store import analyze_pending

    factory, texts = seeded
    with transaction(factory) as session:
        analyze_pending(session, ORG, miner)
    return factory, texts

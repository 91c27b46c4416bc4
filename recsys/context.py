"""The process-wide context: settings plus the lazily created engine and session factory."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from recsys import store
from recsys.settings import Settings, get_settings


@dataclass
class AppContext:
    settings: Settings = field(default_factory=get_settings)

    @cached_property
    def engine(self) -> Engine:
        return store.engine_from_settings(self.settings)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return store.session_factory(self.engine)

    def migrate(self) -> None:
        store.migrate(self.engine)

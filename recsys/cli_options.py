"""Command-line options shared by ``recsys.cli`` and the command modules (a module of its own:
``recsys.cli`` imports the command modules while registering them, so they cannot import it)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

OrgOpt = Annotated[str | None, typer.Option("--org", help="Organisation (default: RECSYS_ORG).")]
AsOfOpt = Annotated[
    dt.datetime | None, typer.Option("--as-of", formats=["%Y-%m-%d"], help="Date (default: today).")
]

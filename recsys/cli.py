"""The ``recsys`` command line. Commands are thin: parse, call one library function, print.

Errors the user can fix (bad files, unknown ids, missing models) are printed as one clear
message and exit with status 1 or 2, never as a traceback.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from recsys.context import AppContext

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
err = Console(stderr=True)
out = Console()

OrgOpt = Annotated[str | None, typer.Option("--org", help="Organisation (default: RECSYS_ORG).")]
AsOfOpt = Annotated[
    dt.datetime | None, typer.Option("--as-of", formats=["%Y-%m-%d"], help="Date (default: today).")
]


def _ctx() -> AppContext:
    return AppContext()


def _org(ctx: AppContext, org: str | None) -> str:
    return org or ctx.settings.org


def _as_of(value: dt.datetime | None) -> dt.date:
    return value.date() if value else dt.date.today()


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar driven by ``callback(task, done, total)`` (stderr; quiet in pipes)."""
    if not enabled or not err.is_terminal:
        yield lambda _task, _done, _total: None
        return
    tasks: dict[str, Any] = {}
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=True,
    ) as bar:  # fmt: skip

        def update(task: str, done: int, total: int) -> None:
            if task not in tasks:
                tasks[task] = bar.add_task(task, total=total)
            bar.update(tasks[task], completed=done, total=total)

        yield update


# --------------------------------------------------------------------------- foundation
@app.command("init")
def init_cmd() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    ctx = _ctx()
    ctx.migrate()
    out.print(f"database ready: {ctx.engine.url.render_as_string(hide_password=True)}")


@app.command("demo-data")
def demo_data_cmd(
    directory: Annotated[Path, typer.Argument(help="Output directory")],
    mentors: Annotated[int, typer.Option("--mentors", min=1)] = 1000,
    mentees: Annotated[int, typer.Option("--mentees", min=1)] = 3000,
    pairings: Annotated[int | None, typer.Option("--pairings", min=0)] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Write a synthetic mentoring programme in the contract format (see docs/demo-data.md)."""
    from recsys.synthetic import generate_programme

    with progress_bar() as cb:
        summary = generate_programme(
            directory, n_mentors=mentors, n_mentees=mentees, n_pairings=pairings, seed=seed,
            progress=cb,
        )  # fmt: skip
    out.print(summary)


@app.command("ingest")
def ingest_cmd(
    directory: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="Contract files")],
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Store valid rows, report the invalid ones.")
    ] = False,
    org: OrgOpt = None,
) -> None:
    """Load contract files (JSONL or CSV) from DIRECTORY, upserting by id."""
    from recsys.ingest import IngestError, ingest_dir

    ctx = _ctx()
    ctx.migrate()
    try:
        with progress_bar() as cb:
            report = ingest_dir(
                ctx.sessions, directory, org=_org(ctx, org), skip_invalid=skip_invalid, progress=cb
            )
    except IngestError as exc:
        for e in exc.report.errors[:200]:
            err.print(str(e), highlight=False, markup=False)
        if len(exc.report.errors) > 200:
            err.print(f"… and {len(exc.report.errors) - 200} more")
        raise fail(
            f"{len(exc.report.errors)} invalid row(s); nothing was stored "
            "(fix them, or use --skip-invalid to store the valid rows)"
        ) from None
    for e in report.errors[:200]:
        err.print(str(e), highlight=False, markup=False)
    _after_ingest(ctx, _org(ctx, org))
    out.print({"stored": report.counts, "skipped": report.skipped})


def _after_ingest(ctx: AppContext, org: str) -> None:
    """Hook for derived data (embeddings, index, feedback signals); extended by later issues."""


@app.command("export")
def export_cmd(
    directory: Annotated[Path, typer.Argument(file_okay=False)],
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    org: OrgOpt = None,
) -> None:
    """Write the stored programme back out in the contract format."""
    from recsys.export import export_dir

    if fmt not in ("jsonl", "csv"):
        raise fail("--format must be jsonl or csv", 2)
    ctx = _ctx()
    ctx.migrate()
    counts = export_dir(ctx.sessions, directory, org=_org(ctx, org), fmt=fmt)  # type: ignore[arg-type]
    out.print({"exported": counts})


def main() -> None:  # pragma: no cover - console script shim
    sys.exit(app())

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

from recsys.cli_options import AsOfOpt, OrgOpt
from recsys.context import AppContext

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
err = Console(stderr=True)
out = Console()


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
    style_answers: Annotated[
        float,
        typer.Option(
            "--style-answers",
            min=0.0,
            max=1.0,
            help="Share of profiles that answer the working-style questions (default 0: "
            "styles only in the texts).",
        ),
    ] = 0.0,
) -> None:
    """Write a synthetic mentoring programme in the contract format (see docs/demo-data.md)."""
    from recsys.synthetic import generate_programme

    with progress_bar() as cb:
        summary = generate_programme(
            directory, n_mentors=mentors, n_mentees=mentees, n_pairings=pairings, seed=seed,
            style_answer_rate=style_answers, progress=cb,
        )  # fmt: skip
    out.print(summary)


@app.command("ingest")
def ingest_cmd(
    directory: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="Contract files")],
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Store valid rows, report the invalid ones.")
    ] = False,
    embed: Annotated[
        bool, typer.Option("--embed/--no-embed", help="Embed profiles and update the index.")
    ] = True,
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
    if embed:
        _after_ingest(ctx, _org(ctx, org))
    out.print({"stored": report.counts, "skipped": report.skipped})


def _after_ingest(ctx: AppContext, org: str) -> None:
    """Derived data: embed profiles (cached by content hash: unchanged text is never
    re-encoded), persist the candidate index, and mine signals of new feedback."""
    from recsys.engine import RecommendationEngine

    engine = RecommendationEngine(ctx)
    before = engine.cache.count(engine.embedder.encoder_id)
    catalog, n_mentees = engine.embed_profiles(org)
    encoded = engine.cache.count(engine.embedder.encoder_id) - before
    out.print(
        f"embedded {encoded} new text(s) ({len(catalog)} mentors, {n_mentees} mentees); "
        f"index: {catalog.index.index_type}, {len(catalog.index)} vectors"
    )
    signals = _analyze_pending_feedback(ctx, org)
    if signals is not None:
        out.print(f"feedback signals computed for {signals} note(s)")


def _analyze_pending_feedback(ctx: AppContext, org: str) -> int | None:
    """Mine signals for feedback not yet analysed by the champion signal model (None: no model)."""
    try:
        from training.pipeline import analyze_pending_feedback
    except ImportError:
        return None
    return analyze_pending_feedback(ctx, org)


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


# --------------------------------------------------------------------------- recommendation
TRAINABLE = ("all", "ranker", "signals", "risk")


@app.command("train")
def train_cmd(
    what: Annotated[str, typer.Argument(help="all | ranker | signals | risk")] = "all",
    objective: Annotated[
        str,
        typer.Option(
            "--objective",
            help="Ranker objective: blend (lambdarank + regression, default), lambdarank or "
            "pointwise",
        ),
    ] = "blend",
    force: Annotated[
        bool, typer.Option("--force", help="Move the champion alias even if not better")
    ] = False,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    log_weight: Annotated[
        float | None,
        typer.Option(
            "--log-weight",
            min=0.0,
            help="Ranker: weight of logged lists (picks among shown mentors) against outcome "
            "groups; default 0, outcomes only (README: the ranker)",
        ),
    ] = None,
    members: Annotated[
        int | None,
        typer.Option(
            "--members",
            min=1,
            help="Ranker: fits averaged into the served booster, differing only in their seed "
            "(default 5; README: the ranker)",
        ),
    ] = None,
    org: OrgOpt = None,
) -> None:
    """Train models on the stored programme, log them to MLflow, promote @champion if better."""
    if what not in TRAINABLE:
        raise fail(f"unknown model {what!r}; choose one of {', '.join(TRAINABLE)}", 2)
    from training.ranker import OBJECTIVES

    if objective not in OBJECTIVES:
        raise fail(f"--objective must be one of {', '.join(OBJECTIVES)}", 2)
    ctx = _ctx()
    ctx.migrate()
    o = _org(ctx, org)
    if what in ("all", "signals"):
        from training.pipeline import train_signals

        run = train_signals(ctx, force=force, seed=seed)
        _print_run("signals", run)
    if what in ("all", "ranker"):
        from training.pipeline import train_ranker

        with progress_bar() as cb:
            try:
                rr = train_ranker(
                    ctx,
                    org=o,
                    objective=objective,
                    force=force,
                    seed=seed,
                    progress=cb,
                    log_weight=log_weight,
                    members=members,
                )
            except ValueError as exc:
                raise fail(str(exc)) from None
        _print_run("ranker", rr.registered)
    if what in ("all", "risk"):
        from training.pipeline import train_risk

        try:
            run = train_risk(ctx, org=o, force=force, seed=seed)
        except ValueError as exc:
            raise fail(str(exc)) from None
        _print_run("risk", run)


def _print_run(kind: str, run: Any) -> None:
    shown = {k: round(v, 4) for k, v in run.metrics.items() if isinstance(v, float)}
    out.print(f"[bold]{kind}[/bold] run {run.run_id} → version {run.version}: {run.decision}")
    out.print(shown)


def _read_mentees_file(path: Path) -> list[Any]:
    """Mentee profiles from a JSONL file (need not be ingested); errors as file:line: field: reason."""
    import orjson
    from pydantic import ValidationError

    from recsys.schemas import MenteeIn

    mentees, errors = [], []
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                mentees.append(MenteeIn.model_validate(orjson.loads(raw)))
            except orjson.JSONDecodeError as exc:
                errors.append(f"{path}:{lineno}: -: invalid JSON ({exc})")
            except ValidationError as exc:
                for e in exc.errors():
                    field = ".".join(str(p) for p in e["loc"]) or "-"
                    errors.append(f"{path}:{lineno}: {field}: {e['msg']}")
    if errors:
        for line in errors[:200]:
            err.print(line, markup=False, highlight=False)
        raise fail(f"{len(errors)} invalid row(s) in {path}")
    return mentees


@app.command("recommend")
def recommend_cmd(
    mentees: Annotated[Path, typer.Option("--mentees", exists=True, dir_okay=False, help="JSONL")],
    k: Annotated[int, typer.Option("-k", min=1, max=100)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per mentee")] = False,
    as_of: AsOfOpt = None,
    org: OrgOpt = None,
) -> None:
    """Recommend mentors for each mentee in a JSONL file, best first."""
    import orjson

    from recsys.engine import RecommendationEngine

    profiles = _read_mentees_file(mentees)
    ctx = _ctx()
    ctx.migrate()
    engine = RecommendationEngine(ctx)
    results = engine.recommend(
        _org(ctx, org), profiles, k=k, as_of=_as_of(as_of), cached_text=False
    )
    for mentee, recs in zip(profiles, results, strict=True):
        row = {
            "mentee_id": mentee.id,
            "recommendations": [
                {"mentor_id": r.mentor_id, "score": round(r.score, 6), "reasons": r.reasons}
                for r in recs
            ],
        }
        if as_json:
            sys.stdout.write(orjson.dumps(row).decode() + "\n")
        else:
            out.print(f"[bold]{mentee.id}[/bold] (model {engine.model_version})")
            for r in recs:
                out.print(f"  {r.rank:>2}. {r.mentor_id}  {r.score:.3f}  " + "; ".join(r.reasons))


@app.command("evaluate")
def evaluate_cmd(
    ground_truth: Annotated[
        Path | None,
        typer.Option("--ground-truth", help="Generator ground truth dir (default: demo data's)"),
    ] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Report directory")] = None,
    k: Annotated[int, typer.Option("-k", min=1, max=100)] = 10,
    sample: Annotated[int, typer.Option("--sample", min=1, help="Held-out mentees to score")] = 300,
    compare_objectives: Annotated[
        bool,
        typer.Option(
            "--compare-objectives", help="Also train blend, lambdarank and pointwise in memory"
        ),
    ] = False,
    matching: Annotated[
        bool,
        typer.Option("--matching/--no-matching", help="Add the cohort-matching comparison"),
    ] = True,
    cohort: Annotated[int, typer.Option("--cohort", min=1, help="Cohort size for matching")] = 1000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    org: OrgOpt = None,
) -> None:
    """Score the champion ranker and the baselines on held-out mentees; write a report."""
    import orjson

    from evaluation.ranking import evaluate_ground_truth
    from recsys.engine import RecommendationEngine

    ctx = _ctx()
    ctx.migrate()
    gt_dir = ground_truth or (ctx.settings.home / "demo" / "ground_truth")
    if not gt_dir.exists():
        raise fail(
            f"no ground truth at {gt_dir}: pass --ground-truth DIR (from `recsys demo-data`)"
        )
    engine = RecommendationEngine(ctx)
    o = _org(ctx, org)
    extra = {}
    if compare_objectives:
        from training.pipeline import fit_in_memory
        from training.ranker import OBJECTIVES

        for objective in OBJECTIVES:
            extra[f"ranker_{objective}"] = fit_in_memory(ctx, engine, org=o, objective=objective)
    target = out_dir or (ctx.settings.home / "reports" / "evaluation")
    try:
        result = evaluate_ground_truth(
            engine, o, gt_dir, target, k=k, sample=sample, extra_models=extra
        )
    except ValueError as exc:
        raise fail(str(exc)) from None
    tables: dict[str, Any] = {"recommendation": result.table}
    if matching:
        tables["matching"] = _append_matching_section(engine, o, gt_dir, result.report, cohort)
    if as_json:
        sys.stdout.write(orjson.dumps(tables if matching else result.table).decode() + "\n")
    else:
        cols = [
            f"ndcg@{k}",
            f"expected_outcome@{k}",
            "coverage",
            "gini",
            f"ndcg@{k} vs embedding",
            f"ndcg@{k} vs rules",
        ]
        out.print("strategy".ljust(25) + "".join(c.rjust(22) for c in cols))
        for name, row in result.table.items():
            out.print(name.ljust(25) + "".join(f"{row.get(c, float('nan')):>22.4f}" for c in cols))
        # what each strategy's lists lose against the ideal ones, by latent term (log-odds)
        first = next(iter(result.table.values()), {})
        gaps = [c for c in first if c.startswith("shortfall_")]
        if gaps:
            names = [c.removeprefix("shortfall_").removesuffix(f"@{k}") for c in gaps]
            out.print("\nshortfall vs the ideal lists, by latent term (log-odds; + = lost)")
            out.print("strategy".ljust(25) + "".join(n.rjust(12) for n in names))
            for name, row in result.table.items():
                out.print(
                    name.ljust(25) + "".join(f"{row.get(c, float('nan')):>+12.2f}" for c in gaps)
                )
    err.print(f"report: {result.report}")


def _append_matching_section(engine: Any, org: str, gt_dir: Path, report: Path, cohort: int) -> Any:
    """Cohort matching vs greedy and rules on the same programme, appended to the report
    (details and exposure by group in ``matching/report.md`` next to it)."""
    from evaluation.matching_eval import evaluate_matching_ground_truth
    from evaluation.report import markdown_table, metric_rows

    result = evaluate_matching_ground_truth(
        engine, org, gt_dir, report.parent / "matching", cohort=cohort
    )
    with report.open("a") as fh:
        fh.write(
            f"\n## Cohort matching ({result.cohort} mentees, ground truth)\n\n"
            "Greedy top-1 in arrival order vs the global min-cost-flow assignment (both "
            "objectives, and with exposure spreading) vs the rules baseline: matched rate, mean "
            "expected outcome of the matched pairs, exposure. Details: "
            "[matching/report.md](matching/report.md).\n\n"
        )
        fh.write(markdown_table(metric_rows(result.table)) + "\n")
    return result.table


models_app = typer.Typer(no_args_is_help=True, help="Registered models and the champion alias.")
app.add_typer(models_app, name="models")
KIND_OPT = Annotated[str, typer.Option("--kind", help="ranker | signals | risk")]


def _model_name(ctx: AppContext, kind: str) -> str:
    names = {
        "ranker": ctx.settings.ranker_model_name,
        "signals": ctx.settings.signals_model_name,
        "risk": ctx.settings.risk_model_name,
    }
    if kind not in names:
        raise fail(f"--kind must be one of {', '.join(names)}", 2)
    return names[kind]


@models_app.command("list")
def models_list(
    kind: KIND_OPT = "ranker", as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """Versions of a model with their primary metric; * marks the champion."""
    import orjson

    from training.tracking import list_versions

    ctx = _ctx()
    rows = list_versions(ctx.settings, _model_name(ctx, kind))
    if as_json:
        sys.stdout.write(orjson.dumps(rows).decode() + "\n")
        return
    if not rows:
        out.print(f"no {kind} versions registered yet: run `recsys train {kind}`")
    for r in rows:
        mark = "*" if r["champion"] else " "
        value = "-" if r["value"] is None else f"{r['value']:.4f}"
        out.print(
            f"{mark} v{r['version']}  run {r['run_id']}  {r['primary_metric']}={value}  {r['decision']}"
        )


@models_app.command("promote")
def models_promote(version: Annotated[str, typer.Argument()], kind: KIND_OPT = "ranker") -> None:
    """Point the champion alias at VERSION."""
    from training.tracking import promote

    ctx = _ctx()
    try:
        promote(ctx.settings, _model_name(ctx, kind), version)
    except Exception as exc:
        raise fail(f"cannot promote {kind} v{version}: {exc}") from None
    out.print(f"{kind} v{version} is now @{ctx.settings.model_alias}")


@models_app.command("rollback")
def models_rollback(kind: KIND_OPT = "ranker") -> None:
    """Move the champion alias back to the previous champion."""
    from training.tracking import rollback

    ctx = _ctx()
    try:
        version = rollback(ctx.settings, _model_name(ctx, kind))
    except LookupError as exc:
        raise fail(str(exc)) from None
    out.print(f"{kind} @{ctx.settings.model_alias} rolled back to v{version}")


def main() -> None:  # pragma: no cover - console script shim
    sys.exit(app())


def _register_command_modules() -> None:
    """Command groups that live in their own modules (each exposes ``register(app)``)."""
    import importlib
    import pkgutil

    import recsys.commands as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"recsys.commands.{info.name}")
        module.register(app)


_register_command_modules()

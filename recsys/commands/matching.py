"""CLI: ``recsys match-cohort``, ``recsys drafts show|edit|accept|discard``, ``recsys rematch``
and ``recsys evaluate-matching``. Registered by ``recsys.cli`` through ``register(app)``."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from recsys.cli_options import AsOfOpt, OrgOpt

drafts_app = typer.Typer(no_args_is_help=True, help="Review cohort-match drafts.")


def _dump(row: Any) -> None:
    import orjson

    sys.stdout.write(orjson.dumps(row, option=orjson.OPT_NON_STR_KEYS, default=str).decode() + "\n")


def _ctx_org(org: str | None) -> tuple[Any, str]:
    from recsys.cli import _ctx, _org

    ctx = _ctx()
    ctx.migrate()
    return ctx, _org(ctx, org)


def match_cohort_cmd(
    mentees: Annotated[Path, typer.Option("--mentees", exists=True, dir_okay=False, help="JSONL")],
    objective: Annotated[
        str, typer.Option("--objective", help="best_total (default) or most_matched")
    ] = "best_total",
    per_mentee: Annotated[int, typer.Option("--mentors-per-mentee", min=1, max=5)] = 1,
    spread: Annotated[
        float, typer.Option("--spread", min=0.0, max=1.0, help="Exposure spreading (0 = off)")
    ] = 0.0,
    candidates: Annotated[int, typer.Option("--candidates", min=1, max=500)] = 50,
    save: Annotated[bool, typer.Option("--draft/--no-draft", help="Store as a draft")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per mentee")] = False,
    as_of: AsOfOpt = None,
    org: OrgOpt = None,
) -> None:
    """Assign a cohort of mentees (JSONL) to mentors at once, under capacity (exact min-cost
    flow); stores the proposal as a draft for `recsys drafts` unless --no-draft."""
    from recsys import matching, store
    from recsys.cli import _as_of, _read_mentees_file, err, fail, out
    from recsys.engine import RecommendationEngine

    profiles = _read_mentees_file(mentees)
    ctx, o = _ctx_org(org)
    try:
        options = matching.MatchOptions(
            objective=objective,  # type: ignore[arg-type]
            mentors_per_mentee=per_mentee, n_candidates=candidates, spread=spread,
        )  # fmt: skip
        engine = RecommendationEngine(ctx)
        result = matching.match_cohort(
            engine, o, profiles, as_of=_as_of(as_of), options=options, cached_text=False
        )
    except ValueError as exc:
        raise fail(str(exc)) from None
    draft_id = None
    if save:
        with store.transaction(ctx.sessions) as session:
            draft_id = matching.save_draft(session, o, result, profiles)
    for row in result.lines():
        if as_json:
            _dump(row)
        elif row["mentor_id"] is None:
            out.print(f"{row['mentee_id']}: [yellow]unmatched[/yellow] ({row['unmatched_reason']})")
        else:
            out.print(f"{row['mentee_id']} → {row['mentor_id']}  {row['score']:.3f}  "
                      + "; ".join(row["reasons"][:2]))  # fmt: skip
    s = result.summary
    err.print(
        f"matched {s['matched_mentees']}/{s['mentees']} mentees, predicted success "
        f"{s['predicted_success_total']:.1f} ({s['seconds']['total']:.1f}s)"
        + (f"; draft {draft_id}: review with `recsys drafts show {draft_id}`" if draft_id else ""),
        highlight=False,
    )


@drafts_app.command("show")
def drafts_show(
    draft_id: Annotated[str, typer.Argument()],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    org: OrgOpt = None,
) -> None:
    """Show a draft: every proposed pair, its score and reasons, unmatched mentees and why."""
    from recsys import matching
    from recsys.cli import fail, out

    ctx, o = _ctx_org(org)
    with ctx.sessions() as session:
        try:
            view = matching.draft_view(session, o, draft_id)
        except matching.DraftNotFound:
            raise fail(f"no draft {draft_id!r}") from None
    if as_json:
        _dump(view)
        return
    out.print(f"draft {view['id']} ({view['status']}, as of {view['as_of']}): {view['summary']}")
    for item in view["items"]:
        if item["mentor_id"]:
            out.print(f"  {item['mentee_id']}[{item['slot']}] → {item['mentor_id']}  "
                      f"{item['score'] or 0:.3f}")  # fmt: skip
        else:
            out.print(
                f"  {item['mentee_id']}[{item['slot']}] unmatched: {item['unmatched_reason']}"
            )


@drafts_app.command("edit")
def drafts_edit(
    draft_id: Annotated[str, typer.Argument()],
    mentee_id: Annotated[str, typer.Argument()],
    mentor_id: Annotated[str | None, typer.Option("--mentor", help="New mentor")] = None,
    unmatch: Annotated[bool, typer.Option("--none", help="Leave the mentee unmatched")] = False,
    slot: Annotated[int, typer.Option("--slot", min=0)] = 0,
    org: OrgOpt = None,
) -> None:
    """Change one pair of a draft (hard constraints are checked)."""
    from recsys import db, matching, store
    from recsys.cli import fail
    from recsys.engine import RecommendationEngine
    from recsys.schemas import MenteeIn

    if (mentor_id is None) != unmatch:
        raise fail("give --mentor ID or --none", 2)
    ctx, o = _ctx_org(org)
    try:
        with store.transaction(ctx.sessions) as session:
            view = matching.draft_view(session, o, draft_id)
            scored = None
            draft = session.get(db.MatchDraft, draft_id)
            raw = ((draft.params if draft else {}) or {}).get("profiles", {}).get(mentee_id)
            if mentor_id is not None and raw:
                found = matching.score_pairs(
                    RecommendationEngine(ctx), o, MenteeIn.model_validate(raw), [mentor_id],
                    as_of=view["as_of"], cached_text=False,
                )  # fmt: skip
                scored = found[0] if found else None
            item = matching.edit_item(session, o, draft_id, mentee_id, mentor_id, slot=slot,
                                      scored=scored)  # fmt: skip
    except matching.DraftNotFound:
        raise fail(f"no draft item {draft_id}/{mentee_id}") from None
    except (matching.DraftStateError, matching.DraftConflict) as exc:
        raise fail(str(exc)) from None
    _dump(item)


@drafts_app.command("accept")
def drafts_accept(
    draft_id: Annotated[str, typer.Argument()],
    start: Annotated[
        dt.datetime | None, typer.Option("--start", formats=["%Y-%m-%d"], help="Start date")
    ] = None,
    org: OrgOpt = None,
) -> None:
    """Create the draft's pairings in one transaction (all or nothing)."""
    from recsys import matching, store
    from recsys.cli import fail, out

    ctx, o = _ctx_org(org)
    try:
        with store.transaction(ctx.sessions) as session:
            ids = matching.accept_draft(session, o, draft_id, start=start.date() if start else None)
    except matching.DraftNotFound:
        raise fail(f"no draft {draft_id!r}") from None
    except (matching.DraftStateError, matching.DraftConflict) as exc:
        raise fail(str(exc)) from None
    out.print(f"accepted draft {draft_id}: {len(ids)} pairing(s) created")


@drafts_app.command("discard")
def drafts_discard(draft_id: Annotated[str, typer.Argument()], org: OrgOpt = None) -> None:
    """Discard a draft (kept for the record)."""
    from recsys import matching, store
    from recsys.cli import fail, out

    ctx, o = _ctx_org(org)
    try:
        with store.transaction(ctx.sessions) as session:
            matching.discard_draft(session, o, draft_id)
    except matching.DraftNotFound:
        raise fail(f"no draft {draft_id!r}") from None
    except matching.DraftStateError as exc:
        raise fail(str(exc)) from None
    out.print(f"discarded draft {draft_id}")


@drafts_app.command("list")
def drafts_list(org: OrgOpt = None) -> None:
    """Recent drafts, newest first."""
    from recsys import matching

    ctx, o = _ctx_org(org)
    with ctx.sessions() as session:
        for row in matching.list_drafts(session, o):
            _dump(row)


def rematch_cmd(
    pairing_id: Annotated[str, typer.Argument()],
    challenge: Annotated[
        str, typer.Option("--challenge", help="poor_match or time_constraints")
    ] = "poor_match",
    k: Annotated[int, typer.Option("-k", min=1, max=20)] = 3,
    as_of: AsOfOpt = None,
    org: OrgOpt = None,
) -> None:
    """Replacement mentors for a pairing, the challenge turned into a constraint."""
    from recsys.cli import _as_of, fail
    from recsys.engine import RecommendationEngine
    from recsys.rematch import PairingNotFound, suggest_replacements

    ctx, o = _ctx_org(org)
    try:
        with ctx.sessions() as session:
            found = suggest_replacements(
                session, RecommendationEngine(ctx), o, pairing_id, as_of=_as_of(as_of),
                challenge=challenge, k=k,  # type: ignore[arg-type]
            )  # fmt: skip
    except PairingNotFound:
        raise fail(f"no pairing {pairing_id!r}") from None
    except ValueError as exc:
        raise fail(str(exc)) from None
    for r in found:
        _dump(r.as_dict())


def evaluate_matching_cmd(
    ground_truth: Annotated[
        Path | None,
        typer.Option("--ground-truth", help="Generator ground truth dir (default: demo data's)"),
    ] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Report directory")] = None,
    cohort: Annotated[int, typer.Option("--cohort", min=1, help="Cohort size")] = 2000,
    spread: Annotated[float, typer.Option("--spread", min=0.0, max=1.0)] = 0.3,
    candidates: Annotated[int, typer.Option("--candidates", min=1, max=500)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    org: OrgOpt = None,
) -> None:
    """Greedy top-1 vs the global assignment (both objectives, with spreading) vs the rules
    baseline on a cohort, scored by the ground truth; writes the report under
    $RECSYS_HOME/reports/evaluation/matching."""
    from evaluation.matching_eval import evaluate_matching_ground_truth
    from recsys.cli import fail, out
    from recsys.engine import RecommendationEngine

    ctx, o = _ctx_org(org)
    gt_dir = ground_truth or (ctx.settings.home / "demo" / "ground_truth")
    if not gt_dir.exists():
        raise fail(f"no ground truth at {gt_dir}: pass --ground-truth DIR")
    target = out_dir or (ctx.settings.home / "reports" / "evaluation" / "matching")
    try:
        result = evaluate_matching_ground_truth(
            RecommendationEngine(ctx), o, gt_dir, target, cohort=cohort, spread=spread,
            n_candidates=candidates,
        )  # fmt: skip
    except ValueError as exc:
        raise fail(str(exc)) from None
    if as_json:
        _dump(result.table)
        return
    for name, row in result.table.items():
        out.print(name, {k: round(v, 4) for k, v in row.items()})
    out.print(f"report: {result.report}")


def register(app: typer.Typer) -> None:
    app.command("match-cohort")(match_cohort_cmd)
    app.command("rematch")(rematch_cmd)
    app.command("evaluate-matching")(evaluate_matching_cmd)
    app.add_typer(drafts_app, name="drafts")

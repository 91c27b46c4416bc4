"""Insights commands: ``analyze-feedback``, ``risk``, ``alerts …``, ``feedback purge``, ``keys …``.

Each command parses its options, calls one library function and prints; JSON output is one
object per line on stdout, messages go to stderr. Models are the ``@champion`` versions; when
no signal model is trained yet, signals come from the keyword rules (said on stderr), and
commands that need the risk model say how to train it.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from recsys.cli_options import AsOfOpt, OrgOpt

if TYPE_CHECKING:
    from recsys.context import AppContext
    from serving.engine import DetectedSignal

ANALYZE_BATCH = 256


# --------------------------------------------------------------------------- shared helpers
def _cli() -> Any:
    """``recsys.cli`` (imported late: it imports this package while registering commands)."""
    import recsys.cli

    return recsys.cli


def _emit(row: Any) -> None:
    import orjson

    sys.stdout.write(orjson.dumps(row).decode() + "\n")


def _miner_or_none(ctx: AppContext) -> Any | None:
    from training.pipeline import load_signal_miner

    return load_signal_miner(ctx.settings)


def mine_pending(ctx: AppContext, org: str, miner: Any | None) -> int:
    """Mine feedback not yet analysed by ``miner`` (0 without a miner)."""
    if miner is None:
        return 0
    from recsys.insights.signals_store import analyze_pending

    with ctx.sessions() as session, session.begin():
        return analyze_pending(session, org, miner)


def read_feedback_rows(path: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """(id, text) per valid row of a JSONL file, and ``file:line: field: reason`` per bad row.

    Fields other than ``id`` and ``text`` are ignored, so contract ``feedback.jsonl`` files
    work as they are.
    """
    import orjson

    rows: list[tuple[str, str]] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                errors.append(f"{path}:{lineno}: -: invalid JSON ({exc})")
                continue
            if not isinstance(obj, dict):
                errors.append(f"{path}:{lineno}: -: expected a JSON object")
                continue
            fid, text = obj.get("id"), obj.get("text")
            bad = False
            if not isinstance(fid, str) or not fid.strip():
                errors.append(f"{path}:{lineno}: id: required, a non-empty string")
                bad = True
            elif fid in seen:
                errors.append(f"{path}:{lineno}: id: duplicate of line {seen[fid]}")
                bad = True
            if not isinstance(text, str):
                errors.append(f"{path}:{lineno}: text: required, a string")
                bad = True
            if bad:
                continue
            assert isinstance(fid, str) and isinstance(text, str)
            seen[fid] = lineno
            rows.append((fid, text))
    return rows, errors


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def analyze_texts(miner: Any | None, texts: Sequence[str]) -> list[list[DetectedSignal]]:
    """Signals per text: the miner's, or the keyword rules' without one."""
    from serving.engine import detect_signals
    from serving.model_engine import signal_dicts

    if miner is None:
        return [detect_signals(t) for t in texts]
    return [signal_dicts(found) for found in miner.analyze(list(texts))]


# --------------------------------------------------------------------------- analyze / risk
def analyze_feedback_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSONL: id, text")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per row")] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Analyse the valid rows, report the others.")
    ] = False,
) -> None:
    """Detect challenge signals (with evidence spans) in notes; nothing is stored."""
    cli = _cli()
    rows, errors = read_feedback_rows(file)
    for line in errors[:200]:
        cli.err.print(line, markup=False, highlight=False, soft_wrap=True)
    if errors and not skip_invalid:
        raise cli.fail(f"{len(errors)} invalid row(s) in {file} (or use --skip-invalid)")
    ctx = cli._ctx()
    miner = _miner_or_none(ctx)
    if miner is None:
        cli.err.print("no signal model trained yet: using the keyword rules (baseline-rules-1)")
    with cli.progress_bar() as progress:
        done = 0
        for batch in _batches(rows, ANALYZE_BATCH):
            found = analyze_texts(miner, [text for _, text in batch])
            for (fid, _), signals in zip(batch, found, strict=True):
                if as_json:
                    _emit({"id": fid, "signals": signals})
                    continue
                cli.out.print(f"[bold]{fid}[/bold]" + ("" if signals else "  (no signals)"))
                for s in signals:
                    quotes = " | ".join(f"“{e}”" for e in s["evidence"])
                    cli.out.print(f"  {s['label']:<24} {s['score']:.2f}  {quotes}", markup=False)
            done += len(batch)
            progress("analysing", done, len(rows))


def risk_cmd(
    as_of: AsOfOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per pairing")] = False,
    top: Annotated[int | None, typer.Option("--top", min=1, help="Only the N riskiest")] = None,
    org: OrgOpt = None,
) -> None:
    """Risk of every active pairing ending early, riskiest first, with reasons."""
    from recsys.insights.risk import score_active_pairings
    from training.pipeline import load_risk_model

    cli = _cli()
    ctx = cli._ctx()
    ctx.migrate()
    o, day = cli._org(ctx, org), cli._as_of(as_of)
    model = load_risk_model(ctx.settings)
    if model is None:
        raise cli.fail("no risk model yet: run `recsys train risk` (after `recsys train signals`)")
    mined = mine_pending(ctx, o, _miner_or_none(ctx))
    if mined:
        cli.err.print(f"mined signals of {mined} new note(s)")
    with ctx.sessions() as session:
        risks = score_active_pairings(session, o, day, model)
    for r in risks[:top]:
        if as_json:
            _emit({"pairing_id": r.pairing_id, "risk": round(r.risk, 4), "reasons": r.reasons})
        else:
            cli.out.print(
                f"{r.pairing_id:<20} {r.risk:5.2f}  " + "; ".join(r.reasons), markup=False
            )
    if not risks:
        cli.err.print(f"no active pairings in {o} on {day}")


# --------------------------------------------------------------------------- alerts
alerts_app = typer.Typer(no_args_is_help=True, help="Coordinator alerts on at-risk pairings.")


def scan_alerts(ctx: AppContext, org: str, day: dt.date) -> Any:
    """Mine pending notes, score active pairings, open / update alerts; returns the report.

    Re-match suggestions (for ``poor_match``) are recommendations for the pairing's mentee
    that exclude the current mentor. Without a risk model, risk is the noisy-or of signals.
    """
    from recsys import store
    from recsys.engine import RecommendationEngine
    from recsys.insights import alerts
    from recsys.insights.risk import score_active_pairings
    from serving.model_engine import rematch_suggestions, score_pairing
    from training.pipeline import load_risk_model

    mine_pending(ctx, org, _miner_or_none(ctx))
    model = load_risk_model(ctx.settings)
    recommender = RecommendationEngine(ctx)
    with store.transaction(ctx.sessions) as session:
        if model is not None:
            risks = score_active_pairings(session, org, day, model)
        else:
            risks = [
                score_pairing(session, org, p, day, None)[0]
                for p in store.active_pairings(session, org, day)
            ]
        return alerts.scan(
            session, org, day, risks,
            threshold=ctx.settings.alert_threshold,
            rematch=rematch_suggestions(recommender, session, org, day),
            settings=ctx.settings,
        )  # fmt: skip


@alerts_app.command("scan")
def alerts_scan_cmd(
    as_of: AsOfOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    org: OrgOpt = None,
) -> None:
    """Score active pairings and open or update alerts (queues notifications)."""
    cli = _cli()
    ctx = cli._ctx()
    ctx.migrate()
    o, day = cli._org(ctx, org), cli._as_of(as_of)
    from training.pipeline import load_risk_model

    if load_risk_model(ctx.settings) is None:
        cli.err.print("no risk model trained yet: risk is the noisy-or of stored signals")
    report = scan_alerts(ctx, o, day)
    summary = {
        "as_of": day.isoformat(),
        "scanned": report.scanned,
        "opened": report.opened,
        "updated": report.updated,
        "unchanged": len(report.unchanged),
        "suppressed": len(report.suppressed),
        "boundary": report.boundary,
        "notifications": report.notifications,
    }
    if as_json:
        _emit(summary)
    else:
        cli.out.print(
            f"{report.scanned} pairings scanned as of {day}: {len(report.opened)} alert(s) "
            f"opened, {len(report.updated)} updated, {len(report.boundary)} boundary concern(s), "
            f"{report.notifications} notification(s) queued"
        )


@alerts_app.command("list")
def alerts_list_cmd(
    status: Annotated[
        str | None, typer.Option("--status", help="open | acknowledged | resolved")
    ] = None,
    signal: Annotated[str | None, typer.Option("--signal", help="Only alerts with it")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1)] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    org: OrgOpt = None,
) -> None:
    """Alerts, most recently updated first."""
    from recsys.insights import alerts

    cli = _cli()
    ctx = cli._ctx()
    ctx.migrate()
    with ctx.sessions() as session:
        try:
            rows = alerts.list_alerts(
                session, cli._org(ctx, org), status=status, signal=signal, limit=limit
            )
        except ValueError as exc:
            raise cli.fail(str(exc), 2) from None
        data = [alerts.alert_to_dict(a) for a in rows]
    for a in data:
        if as_json:
            _emit(a)
            continue
        cli.out.print(
            f"#{a['id']:<5} {a['status']:<12} {a['pairing_id']:<20} risk {a['risk']:.2f}  "
            + ", ".join(a["signals"]),
            markup=False,
        )
        for reason in a["reasons"]:
            cli.out.print(f"        - {reason}", markup=False)
    if not data and not as_json:
        cli.err.print("no alerts")


def _alert_transition(alert_id: int, org: str | None, action: str) -> None:
    from recsys import store
    from recsys.insights import alerts

    cli = _cli()
    ctx = cli._ctx()
    ctx.migrate()
    fn = alerts.acknowledge if action == "acknowledge" else alerts.resolve
    try:
        with store.transaction(ctx.sessions) as session:
            alert = fn(session, cli._org(ctx, org), alert_id)
            status = alert.status
    except (alerts.AlertNotFound, alerts.AlertStateError) as exc:
        raise cli.fail(str(exc)) from None
    cli.out.print(f"alert {alert_id}: {status}")


@alerts_app.command("ack")
def alerts_ack_cmd(
    alert_id: Annotated[int, typer.Argument(min=1)],
    org: OrgOpt = None,
) -> None:
    """Acknowledge an alert (someone is looking at it)."""
    _alert_transition(alert_id, org, "acknowledge")


@alerts_app.command("resolve")
def alerts_resolve_cmd(
    alert_id: Annotated[int, typer.Argument(min=1)],
    org: OrgOpt = None,
) -> None:
    """Resolve an alert (dealt with)."""
    _alert_transition(alert_id, org, "resolve")


@alerts_app.command("deliver")
def alerts_deliver_cmd(
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Send due notifications from the outbox (webhooks, Slack, email); failures retry later."""
    from recsys.insights.delivery import deliver_due, outbox_summary

    cli = _cli()
    ctx = cli._ctx()
    ctx.migrate()
    attempted = delivered = failed = 0
    while True:  # batches of 100 until nothing is due
        report = deliver_due(ctx.sessions, ctx.settings)
        attempted += report.attempted
        delivered += report.delivered
        failed += report.failed
        if report.attempted < 100:
            break
    with ctx.sessions() as session:
        outbox = outbox_summary(session)
    summary = {"attempted": attempted, "delivered": delivered, "failed": failed, **outbox}
    if as_json:
        _emit(summary)
    else:
        cli.out.print(
            f"{delivered} delivered, {failed} failed (retried later); outbox: "
            f"{outbox['pending']} pending, {outbox['failing']} failing"
        )
    if failed:
        raise typer.Exit(1)


# --------------------------------------------------------------------------- retention
def _retention_days(given: int | None, configured: int | None, setting: str) -> int:
    """``--older-than``, else the ``RECSYS_<setting>_RETENTION_DAYS`` setting: retention
    deletes, so it never runs on a period nobody chose."""
    days = given if given is not None else configured
    if days is None:
        raise _cli().fail(f"give --older-than DAYS or set RECSYS_{setting}_RETENTION_DAYS", 2)
    return days


feedback_app = typer.Typer(no_args_is_help=True, help="Check-in feedback retention.")


@feedback_app.command("purge")
def feedback_purge_cmd(
    older_than: Annotated[
        int | None,
        typer.Option("--older-than", min=0, help="Days (default: RECSYS_FEEDBACK_RETENTION_DAYS)"),
    ] = None,
    as_of: AsOfOpt = None,
    org: OrgOpt = None,
) -> None:
    """Remove the text of notes older than DAYS (their signals stay; quotes are redacted)."""
    from recsys import store
    from recsys.insights.retention import purge_feedback_text

    cli = _cli()
    ctx = cli._ctx()
    days = _retention_days(older_than, ctx.settings.feedback_retention_days, "FEEDBACK")
    ctx.migrate()
    with store.transaction(ctx.sessions) as session:
        n = purge_feedback_text(session, cli._org(ctx, org), days, cli._as_of(as_of))
    cli.out.print(f"purged the text of {n} note(s) older than {days} days")


interactions_app = typer.Typer(no_args_is_help=True, help="The interaction log's retention.")


@interactions_app.command("prune")
def interactions_prune_cmd(
    older_than: Annotated[
        int | None,
        typer.Option(
            "--older-than", min=0, help="Days (default: RECSYS_SERVED_LIST_RETENTION_DAYS)"
        ),
    ] = None,
    as_of: AsOfOpt = None,
    org: OrgOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count, delete nothing")] = False,
) -> None:
    """Remove served lists older than DAYS of mentees who never answered a request nor were
    paired: training never learns from them. Answers, pairings and other lists are kept."""
    from recsys import store
    from recsys.retention import prune_served_lists

    cli = _cli()
    ctx = cli._ctx()
    days = _retention_days(older_than, ctx.settings.served_list_retention_days, "SERVED_LIST")
    ctx.migrate()
    with store.transaction(ctx.sessions) as session:
        pruned = prune_served_lists(
            session, cli._org(ctx, org), days, cli._as_of(as_of), dry_run=dry_run
        )
    verb = "would remove" if dry_run else "removed"
    cli.out.print(
        f"{verb} {pruned.lists} served list(s) and {pruned.shown_rows} shown row(s) older "
        f"than {days} days"
    )


# --------------------------------------------------------------------------- keys
keys_app = typer.Typer(no_args_is_help=True, help="API keys (one organisation each).")


@keys_app.command("create")
def keys_create_cmd(
    name: Annotated[str, typer.Option("--name", help="What the key is for")],
    role: Annotated[
        list[str], typer.Option("--role", help="app | coordinator | admin (repeatable)")
    ],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    org: OrgOpt = None,
) -> None:
    """Create a key; the plaintext is printed once and never stored."""
    from recsys import keys, store

    cli = _cli()
    ctx = cli._ctx()
    ctx.migrate()
    o = cli._org(ctx, org)
    try:
        with store.transaction(ctx.sessions) as session:
            key_id, plaintext = keys.create_key(session, o, name, role)
    except ValueError as exc:
        raise cli.fail(str(exc), 2) from None
    if as_json:
        _emit({"id": key_id, "org": o, "name": name, "roles": role, "key": plaintext})
        return
    cli.err.print(f"key {key_id} for {o} ({', '.join(role)}); store it now, it is not shown again:")
    sys.stdout.write(plaintext + "\n")


@keys_app.command("list")
def keys_list_cmd(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    org: Annotated[str | None, typer.Option("--org", help="Organisation (default: all)")] = None,
) -> None:
    """Keys, oldest first (never their secrets)."""
    from recsys import keys

    cli = _cli()
    ctx = cli._ctx()
    ctx.migrate()
    with ctx.sessions() as session:
        rows = keys.list_keys(session, org)
    for k in rows:
        revoked = k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else None
        if as_json:
            _emit(
                {
                    "id": k.id, "org": k.org, "name": k.name, "roles": [str(r) for r in k.roles],
                    "created_at": k.created_at.isoformat(timespec="seconds"), "revoked_at": revoked,
                }
            )  # fmt: skip
        else:
            state = f"revoked {revoked}" if revoked else "active"
            cli.out.print(
                f"{k.id}  {k.org:<16} {k.name:<20} {','.join(str(r) for r in k.roles):<24} {state}",
                markup=False,
            )


@keys_app.command("revoke")
def keys_revoke_cmd(
    key_id: Annotated[str, typer.Argument(help="Key id (from `recsys keys list`)")],
    org: Annotated[str | None, typer.Option("--org", help="Only if it belongs to ORG")] = None,
) -> None:
    """Revoke a key (idempotent). A running service stops accepting it within 10 seconds (auth cache)."""
    from recsys import keys, store

    cli = _cli()
    ctx = cli._ctx()
    ctx.migrate()
    with store.transaction(ctx.sessions) as session:
        found = keys.revoke_key(session, key_id, org)
    if not found:
        raise cli.fail(f"no key {key_id!r}")
    cli.out.print(f"key {key_id} revoked")


def register(app: typer.Typer) -> None:
    app.command("analyze-feedback")(analyze_feedback_cmd)
    app.command("risk")(risk_cmd)
    app.add_typer(alerts_app, name="alerts")
    app.add_typer(feedback_app, name="feedback")
    app.add_typer(interactions_app, name="interactions")
    app.add_typer(keys_app, name="keys")

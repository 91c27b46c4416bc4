"""``recsys serve`` (the HTTP service with the trained models) and ``recsys demo`` (the whole
flow on synthetic data: generate → ingest → train → serve → recommend / feedback / alerts over
HTTP).

The demo starts the service as a child process (``recsys serve``, exactly as deployed) and
talks to it over TCP with an API key it creates, so what it prints is what a client gets.
:func:`running_service` and :func:`wait_ready` are reused by the end-to-end test.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    import httpx

    from recsys.context import AppContext
    from recsys.settings import Settings

READY_TIMEOUT_S = 600.0
DEMO_NOTE = (
    "We had to cancel twice this month because of my release deadlines. He also asked me to "
    "keep his comments about a colleague's performance review confidential, which made me "
    "uncomfortable."
)


def _cli() -> Any:
    import recsys.cli

    return recsys.cli


# --------------------------------------------------------------------------- the service
def serve_cmd(
    host: Annotated[str | None, typer.Option("--host", help="Default: RECSYS_HOST")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Default: RECSYS_PORT")] = None,
    baseline: Annotated[
        bool, typer.Option("--baseline", help="Serve the model-free baseline engine")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Processes, each loading its own models and catalogs (memory x N; rate "
            "limits and mentor-write visibility are per process). Default: RECSYS_WORKERS (1)",
        ),
    ] = None,
) -> None:
    """Run the HTTP service (uvicorn; models load at startup, in each worker process)."""
    import logging

    from serving.app import serve
    from serving.model_engine import model_engine_provider

    cli = _cli()
    ctx = cli._ctx()
    ctx.migrate()
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    logging.getLogger("recsys").setLevel(logging.INFO)
    update = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    settings = ctx.settings.model_copy(update=update)
    workers = workers or settings.workers
    if workers > 1 and not baseline:
        from training.tracking import setup_mlflow

        # the tracking store and experiment exist before the workers race to create them
        setup_mlflow(settings)
    serve(
        settings,
        engine_provider=None if baseline else model_engine_provider,
        workers=workers,
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def settings_env(settings: Settings) -> dict[str, str]:
    """``RECSYS_*`` variables that rebuild ``settings`` in a child process."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump(exclude_defaults=True).items():
        if isinstance(value, list | dict):
            text = json.dumps(value)
        elif isinstance(value, Path):
            text = str(value.resolve())
        else:
            text = str(value)
        env[f"RECSYS_{name.upper()}"] = text
    env["RECSYS_HOME"] = str(settings.home.resolve())
    return env


def wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Poll ``/readyz`` until 200; fail early (with the log's tail) if the server exits."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"the service exited with status {proc.returncode}:\n{tail}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        time.sleep(0.25)
    raise TimeoutError(f"the service was not ready within {timeout:.0f} s (log: {log})")


@contextlib.contextmanager
def running_service(
    settings: Settings,
    *,
    port: int | None = None,
    log: Path | None = None,
    ready_timeout: float = READY_TIMEOUT_S,
    workers: int | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start ``recsys serve`` in a child process (``workers`` processes; default the
    settings'); yields (base URL, process) once ready, and stops it (SIGTERM: graceful
    shutdown, engine closed) on exit."""
    host = "127.0.0.1"
    port = port or free_port(host)
    log = log or (settings.home / "service.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **settings_env(settings), "HF_HUB_OFFLINE": "1"}
    cmd = [
        sys.executable, "-c", "from recsys.cli import app; app(prog_name='recsys')",
        "serve", "--host", host, "--port", str(port),
        *(["--workers", str(workers)] if workers else []),
    ]  # fmt: skip
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, env=env, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://{host}:{port}"
    try:
        wait_ready(base, proc, log, ready_timeout)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


# --------------------------------------------------------------------------- demo steps
def _step(title: str) -> None:
    _cli().out.print(f"\n[bold cyan]== {title}[/bold cyan]")


def _ground_truth(data_dir: Path) -> dict[str, Any]:
    path = data_dir / "ground_truth" / "model.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _heldout_top(data_dir: Path) -> dict[str, list[str]]:
    path = data_dir / "ground_truth" / "heldout_top.jsonl"
    out: dict[str, list[str]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            row = json.loads(line)
            out[row["mentee_id"]] = [m["mentor_id"] for m in row["top_mentors"]]
    return out


def _champions_missing(settings: Settings) -> list[str]:
    from serving.model_engine import MlflowModelLoader

    runs = MlflowModelLoader(settings, lambda: "").champion_runs()
    return [name for name, run in runs.items() if run is None]


def show_recommendations(
    client: httpx.Client, mentee_id: str, k: int, as_of: str, best: list[str]
) -> dict[str, Any]:
    from rich.table import Table

    out = _cli().out
    mentee = client.get(f"/v1/mentees/{mentee_id}").raise_for_status().json()
    out.print(f"mentee [bold]{mentee_id}[/bold] ({mentee['title']}, {mentee['department']})")
    out.print(f"goals: [italic]{mentee['goals']}[/italic]", highlight=False)
    resp = client.post(
        "/v1/recommendations", json={"mentee_id": mentee_id, "k": k, "as_of": as_of}
    ).raise_for_status()
    body: dict[str, Any] = resp.json()
    table = Table(title=f"model {body['model_version']}", show_lines=True)
    for col in ("#", "mentor", "title", "score", "why"):
        table.add_column(col, overflow="fold")
    for item in body["recommendations"]:
        mentor = client.get(f"/v1/mentors/{item['mentor_id']}").raise_for_status().json()
        table.add_row(
            str(item["rank"]), item["mentor_id"], f"{mentor['title']} ({mentor['department']})",
            f"{item['score']:.3f}", "\n".join(f"• {r}" for r in item["reasons"]),
        )  # fmt: skip
    out.print(table)
    if best:
        hits = len({i["mentor_id"] for i in body["recommendations"]} & set(best[:10]))
        out.print(f"{hits} of these are among the 10 best mentors in the generator's ground truth")
    return body


def show_feedback(client: httpx.Client, pairing_id: str, as_of: str) -> dict[str, Any]:
    out = _cli().out
    note = {
        "id": f"demo-note-{uuid.uuid4().hex[:8]}", "pairing_id": pairing_id,
        "author_role": "mentee", "created_at": as_of, "text": DEMO_NOTE,
    }  # fmt: skip
    body: dict[str, Any] = client.post("/v1/feedback", json=note).raise_for_status().json()
    out.print(f"note on pairing [bold]{pairing_id}[/bold]: [italic]{DEMO_NOTE}[/italic]")
    for s in body["signals"]:
        quotes = " | ".join(f"“{e}”" for e in s["evidence"])
        out.print(f"  [bold]{s['label']:<24}[/bold] {s['score']:.2f}  {quotes}", highlight=False)
    if not body["signals"]:
        out.print("  (no signals)")
    return body


def show_alert(client: httpx.Client, prefer_pairing: str | None) -> dict[str, Any] | None:
    out = _cli().out
    page = client.get("/v1/alerts", params={"status": "open", "limit": 1000}).raise_for_status()
    items: list[dict[str, Any]] = page.json()["items"]
    out.print(f"GET /v1/alerts?status=open → {page.json()['total']} open alert(s)")
    if not items:
        return None
    alert = next((a for a in items if a["pairing_id"] == prefer_pairing), None)
    alert = alert or max(items, key=lambda a: a["risk"])
    out.print(
        f"alert #{alert['id']} on pairing [bold]{alert['pairing_id']}[/bold]: risk "
        f"{alert['risk']:.2f}, signals {', '.join(alert['signals']) or '-'}"
    )
    for reason in alert["reasons"]:
        out.print(f"  why: {reason}", highlight=False)
    for ev in alert["evidence"][:3]:
        out.print(f"  evidence ({ev['label']}): “{ev['quote']}”", highlight=False)
    for action in alert["actions"]:
        extra = ""
        if action.get("suggestions"):
            extra = " → " + ", ".join(m["mentor_id"] for m in action["suggestions"])
        elif action.get("mentors"):
            extra = " → " + ", ".join(m["mentor_id"] for m in action["mentors"])
        out.print(f"  action ({action['signal']}): {action['text']}{extra}", highlight=False)
    return alert


def _active_pairing(ctx: AppContext, org: str, as_of: Any) -> str | None:
    from recsys import store

    with ctx.sessions() as session:
        active = store.active_pairings(session, org, as_of)
        return active[0].id if active else None


def demo_cmd(
    mentors: Annotated[int, typer.Option("--mentors", min=10, help="Demo mentors")] = 400,
    mentees: Annotated[int, typer.Option("--mentees", min=20, help="Demo mentees")] = 1200,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    k: Annotated[int, typer.Option("-k", min=1, max=20, help="Mentors to recommend")] = 5,
    retrain: Annotated[
        bool, typer.Option("--retrain", help="Train even if champions exist")
    ] = False,
    port: Annotated[int | None, typer.Option("--port", help="Default: RECSYS_PORT if free")] = None,
    keep_serving: Annotated[
        bool, typer.Option("--keep-serving", help="Leave the service running (Ctrl-C stops)")
    ] = False,
    org: Annotated[str | None, typer.Option("--org", help="Organisation")] = None,
) -> None:
    """The whole flow on synthetic data, ending with real answers from the HTTP service."""
    import datetime as dt

    import httpx

    from recsys import keys, store

    cli = _cli()
    ctx = cli._ctx()
    ctx.migrate()
    settings = ctx.settings
    o = cli._org(ctx, org)
    data_dir = settings.home / "demo"
    started = time.monotonic()

    _step(f"1/6 demo data in {data_dir}")
    if (data_dir / "mentors.jsonl").exists():
        cli.out.print("already there (delete the directory to regenerate)")
    else:
        cli.demo_data_cmd(data_dir, mentors=mentors, mentees=mentees, pairings=None, seed=seed)

    _step("2/6 ingest (validate, store, embed, index)")
    cli.ingest_cmd(data_dir, skip_invalid=False, embed=True, org=o)

    _step("3/6 train (signals, ranker, risk; MLflow, champion alias)")
    missing = _champions_missing(settings)
    if missing or retrain:
        cli.train_cmd("all", force=False, seed=seed, org=o)
    else:
        cli.out.print("champions already registered (use --retrain to train again)")

    meta = _ground_truth(data_dir)
    as_of = str(meta.get("as_of") or dt.date.today().isoformat())
    best = _heldout_top(data_dir)
    with store.transaction(ctx.sessions) as session:
        _, api_key = keys.create_key(session, o, "demo", ["app", "coordinator"])
    bind_port = port or (settings.port if _port_free(settings.host, settings.port) else None)

    _step("4/6 start the service and wait for /readyz")
    service_settings = settings.model_copy(update={"org": o})
    log_path = settings.home / "demo-service.log"
    with running_service(service_settings, port=bind_port, log=log_path) as (base, proc):
        headers = {"Authorization": f"Bearer {api_key}"}
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            versions = client.get("/readyz").json()["versions"]
            cli.out.print(f"{base} ready; models: {versions}")

            _step("5/6 recommend mentors for a held-out mentee (no history) over HTTP")
            heldout = [m for m in meta.get("heldout_mentee_ids", []) if m in best] or list(best)
            if heldout:
                show_recommendations(client, heldout[0], k, as_of, best.get(heldout[0], []))
            else:
                cli.err.print("no held-out mentee in the ground truth; skipping")

            _step("6/6 feedback → signals → alerts")
            pairing_id = _active_pairing(ctx, o, dt.date.fromisoformat(as_of))
            if pairing_id is not None:
                show_feedback(client, pairing_id, as_of)
            from recsys.commands.insights import scan_alerts

            report = scan_alerts(ctx, o, dt.date.fromisoformat(as_of))
            cli.out.print(
                f"alerts scan as of {as_of}: {report.scanned} active pairings, "
                f"{len(report.opened)} opened, {len(report.updated)} updated"
            )
            show_alert(client, pairing_id)
        cli.out.print(f"\ndemo finished in {time.monotonic() - started:.0f} s")
        if keep_serving:
            cli.out.print(
                f"service running at {base} (log {log_path}); API key (app, coordinator):\n"
                f"{api_key}\nCtrl-C to stop"
            )
            with contextlib.suppress(KeyboardInterrupt):
                proc.wait()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_cmd)
    app.command("demo")(demo_cmd)

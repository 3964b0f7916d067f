"""The `steward` command: start the servers, and (as Steward grows) manage users, the ledger
and workers. Every command explains itself with `--help`."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from backend.auth.store import UserStore
from backend.errors import EdgeError
from backend.hosts import is_loopback
from backend.ledger.store import LedgerStore
from backend.storage.db import Database
from backend.supervisor import LaunchError, ServerSpec, Supervisor, ensure_port_free

app = typer.Typer(
    name="steward",
    help="Steward: a local-first personal AI agent. `steward up` starts it.",
    no_args_is_help=True,
    add_completion=False,
)

BACKENDS = ("llamacpp", "mock", "openai")


def _echo(message: str) -> None:
    typer.echo(message, err=True)


@app.command()
def up(
    backend: Annotated[
        str,
        typer.Option(
            help="Model backend: llamacpp (the bundled local model), mock (deterministic "
            "demo that calls tools on demand) or openai (an OpenAI-compatible upstream).",
        ),
    ] = "llamacpp",
    host: Annotated[str, typer.Option(help="Address the servers bind to.")] = "127.0.0.1",
    core_port: Annotated[int, typer.Option(help="Port of Core, the model gateway.")] = 9000,
    edge_port: Annotated[int, typer.Option(help="Port of Edge, the agent and Console.")] = 8000,
    upstream_url: Annotated[
        str | None,
        typer.Option(help="With --backend openai: the upstream's base URL, ending in /v1."),
    ] = None,
    model_path: Annotated[
        Path | None,
        typer.Option(help="With --backend llamacpp: a GGUF file instead of the bundled model."),
    ] = None,
    data_dir: Annotated[
        Path,
        typer.Option(envvar="STEWARD_DATA_DIR", help="Where data, caches and models live."),
    ] = Path("data"),
    startup_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for each server to become healthy.")
    ] = 300.0,
) -> None:
    """Start Steward's servers and print their URLs; Ctrl-C stops them."""
    if backend not in BACKENDS:
        raise typer.BadParameter(f"choose one of {', '.join(BACKENDS)}", param_hint="--backend")
    if not is_loopback(host) and not os.environ.get("CORE_API_KEY"):
        _echo(
            f"Refusing to bind to {host}: it is not a loopback address and no CORE_API_KEY is "
            "set, so anyone on the network could use the model. Set CORE_API_KEY, or keep the "
            "default --host 127.0.0.1."
        )
        raise typer.Exit(2)
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {"CORE_BACKEND": backend, "CORE_MODEL_DIR": str(data_dir.resolve() / "models")}
    # The embedder's matrix products share the CPU with llama.cpp's threads; one BLAS
    # thread is faster than several fighting over the same cores (bench/embeddings.py).
    env.setdefault("OPENBLAS_NUM_THREADS", os.environ.get("OPENBLAS_NUM_THREADS", "1"))
    if upstream_url:
        env["CORE_UPSTREAM_BASE_URL"] = upstream_url
    if model_path:
        env["CORE_MODEL_PATH"] = str(model_path.resolve())
    # Both answer only to loopback Host names unless told otherwise (DNS rebinding); the
    # address they were started on is one they must answer to.
    hosts_env = {
        name: ",".join(h for h in (os.environ.get(name, ""), host) if h)
        for name in ("CORE_ALLOWED_HOSTS", "STEWARD_ALLOWED_HOSTS")
        if not is_loopback(host)
    }
    env.update(hosts_env)
    core = ServerSpec("Core", "core.api:app", host, core_port, env)
    edge_env = {
        "STEWARD_DATA_DIR": str(data_dir.resolve()),
        "CORE_BASE_URL": core.url,
        **hosts_env,
    }
    edge = ServerSpec("Edge", "backend.agent.api:app", host, edge_port, edge_env)
    supervisor = Supervisor(_echo)
    try:
        ensure_port_free(host, core_port, "Core", "--core-port")
        ensure_port_free(host, edge_port, "Edge", "--edge-port")
        _echo(f"Starting Core on {core.url} (backend: {backend}) ...")
        supervisor.start(core)
        supervisor.wait_healthy(core, startup_timeout)
        _echo(f"Starting Edge on {edge.url} (data: {data_dir}) ...")
        supervisor.start(edge)
        supervisor.wait_healthy(edge, startup_timeout)
    except LaunchError as exc:
        supervisor.stop()
        _echo(f"error: {exc}")
        raise typer.Exit(1) from None
    _echo("")
    _echo("Steward is up:")
    _echo(f"  Console (the web UI)          {edge.url}/   sign in with the owner's token")
    _echo(f"  Edge (the agent's API)        {edge.url}   docs: {edge.url}/docs")
    _echo(f"  Core (OpenAI-compatible API)  {core.url}/v1   health: {core.url}/health")
    _echo(
        "The owner's token was printed when Steward first started "
        "(lost it? `steward users token owner` issues a new one)."
    )
    _echo("Press Ctrl-C to stop.")
    raise typer.Exit(supervisor.run_until_stopped())


users_app = typer.Typer(
    help="Manage who may use Steward (owner and members).", no_args_is_help=True
)
app.add_typer(users_app, name="users")


def _database() -> Database:
    from backend.settings import EdgeSettings

    settings = EdgeSettings()
    db = Database(settings.resolved_database_url)
    db.migrate()
    return db


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="A unique user name.")],
    role: Annotated[str, typer.Option(help="member (default) or owner.")] = "member",
) -> None:
    """Create a user and print their token once (it is stored only as a hash)."""
    db = _database()
    try:
        with db.write() as s:
            principal, token = UserStore(LedgerStore()).create(s, name, role)
    except EdgeError as exc:
        _echo(f"error: {exc.detail}")
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    _echo(f"Created {principal.role} '{principal.name}' ({principal.user_id}).")
    _echo("Their token (shown only this once; it is stored hashed):")
    typer.echo(token)


@users_app.command("token")
def users_token(
    name: Annotated[str, typer.Argument(help="The user, e.g. owner.")] = "owner",
) -> None:
    """Issue a new token for a user and revoke their old ones (for a lost or leaked token)."""
    db = _database()
    try:
        with db.write() as s:
            principal, token = UserStore(LedgerStore()).rotate(s, name)
    except EdgeError as exc:
        _echo(f"error: {exc.detail}")
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    _echo(f"New token for {principal.role} '{principal.name}'; the old ones no longer work:")
    typer.echo(token)


@users_app.command("list")
def users_list() -> None:
    """List users and their roles (never their tokens)."""
    db = _database()
    try:
        with db.read() as s:
            for user in UserStore(LedgerStore()).all(s):
                typer.echo(f"{user.user_id}  {user.role:<6}  {user.name}")
    finally:
        db.dispose()


ledger_app = typer.Typer(
    help="Check the ledger and rebuild the state from it, offline.", no_args_is_help=True
)
app.add_typer(ledger_app, name="ledger")


def _existing_database(data_dir: Path | None) -> Database:
    """The database Edge uses, opened without changing it (no migrations)."""
    from backend.settings import EdgeSettings

    settings = EdgeSettings(data_dir=data_dir) if data_dir is not None else EdgeSettings()
    url = settings.resolved_database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        _echo(
            f"error: there is no Steward database at {url.removeprefix('sqlite:///')}. "
            "Pass --data-dir (or set STEWARD_DATA_DIR / DATABASE_URL) to where Steward keeps it."
        )
        raise typer.Exit(2)
    return Database(url)


@ledger_app.command("verify")
def ledger_verify(
    data_dir: Annotated[
        Path | None, typer.Option(help="Steward's data folder (default: STEWARD_DATA_DIR).")
    ] = None,
) -> None:
    """Walk the whole hash chain; exit 1 naming the first broken link if any."""
    db = _existing_database(data_dir)
    try:
        with db.read() as s:
            result = LedgerStore().verify(s)
    except Exception as exc:  # a database that is not Steward's, or is damaged
        _echo(f"error: the ledger could not be read: {type(exc).__name__}: {exc}")
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    if result.ok:
        typer.echo(f"ok: {result.events} events verify; head seq {result.head_seq}")
        return
    broken = result.first_broken or {}
    typer.echo(
        f"BROKEN at seq {broken.get('seq')} (event {broken.get('event_id')}): "
        f"{broken.get('reason')}; {result.events} events before it verify"
    )
    raise typer.Exit(1)


@ledger_app.command("rebuild")
def ledger_rebuild(
    data_dir: Annotated[
        Path | None, typer.Option(help="Steward's data folder (default: STEWARD_DATA_DIR).")
    ] = None,
    keep: Annotated[
        Path | None,
        typer.Option(help="Keep the rebuilt database at this new file (default: discarded)."),
    ] = None,
    show: Annotated[int, typer.Option(help="How many differences to list.")] = 20,
) -> None:
    """Rebuild every state table from the ledger alone into a fresh database and compare it
    with the live one; exit 1 listing the differences if any, 2 if the ledger does not
    verify. Only reads the live database, so it is safe while Steward runs."""
    from backend.ledger.rebuild import ChainBroken, rebuild

    if keep is not None and keep.exists():
        _echo(f"error: {keep} already exists; --keep needs a path for a new file.")
        raise typer.Exit(2)
    db = _existing_database(data_dir)

    shown = [0]

    def progress(done: int, total: int) -> None:
        # Short ledgers rebuild in about a second: stay quiet; long ones report every 5%.
        if total >= 50_000 and (done - shown[0] >= total // 20 or done == total):
            shown[0] = done
            _echo(f"rebuild: {done}/{total} events read and verified")

    try:
        with tempfile.TemporaryDirectory(prefix="steward-rebuild-") as tmp:
            target = keep if keep is not None else Path(tmp) / "rebuilt.db"
            report = rebuild(db, target, progress=progress)
    except ChainBroken as exc:
        _echo(f"error: the ledger does not verify, so it cannot be rebuilt: {exc}")
        raise typer.Exit(2) from None
    except Exception as exc:  # a database that is not Steward's, or is damaged
        _echo(f"error: the ledger could not be rebuilt: {type(exc).__name__}: {exc}")
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    rows = ", ".join(f"{name} {n}" for name, n in report.rows.items())
    typer.echo(f"{report.events} events replayed (head seq {report.head_seq}); rebuilt: {rows}")
    if keep is not None:
        typer.echo(f"the rebuilt database is at {keep}")
    if report.equal:
        typer.echo("ok: the rebuilt state equals the live state")
        return
    per_table: dict[str, int] = {}
    for difference in report.differences:
        per_table[difference.table] = per_table.get(difference.table, 0) + 1
    tables = ", ".join(f"{name} {n}" for name, n in per_table.items())
    typer.echo(f"DIFFERENT: {len(report.differences)} difference(s) ({tables})")
    for difference in report.differences[:show]:
        typer.echo(f"  {difference.describe()}")
    raise typer.Exit(1)


@app.command()
def replay(
    task_id: Annotated[str, typer.Argument(help="The finished task to replay (task_...).")],
    data_dir: Annotated[
        Path | None, typer.Option(help="Steward's data folder (default: STEWARD_DATA_DIR).")
    ] = None,
) -> None:
    """Re-run a finished task's decisions against its recorded model outputs and tool
    results (no model call, no tool runs) and compare the events; exit 1 naming the first
    difference, 2 for an unknown or unfinished task. Only reads the live database."""
    import asyncio

    from backend.ledger.replay import ReplayError
    from backend.ledger.replay import replay as run_replay

    db = _existing_database(data_dir)
    try:
        report = asyncio.run(run_replay(db, task_id))
    except ReplayError as exc:
        _echo(f"error: {exc}")
        raise typer.Exit(2) from None
    except Exception as exc:  # a database that is not Steward's, or is damaged
        _echo(f"error: the task could not be replayed: {type(exc).__name__}: {exc}")
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    typer.echo(f"replayed {task_id} (recorded: {report.status}):")
    for i, step in enumerate(report.steps):
        typer.echo(f"  {i:>3}  {step}")
    for note in report.divergences:
        typer.echo(f"  note: {note}")
    if report.reproduced:
        typer.echo(f"reproduced: {report.compared} events match")
        return
    diff = report.first_difference
    assert diff is not None
    typer.echo(f"DIVERGED at event {diff.index}, field '{diff.field}':")
    typer.echo(f"  recorded: {diff.recorded}")
    typer.echo(f"  replayed: {diff.replayed}")
    raise typer.Exit(1)


@app.command()
def worker(
    concurrency: Annotated[
        int, typer.Option(min=1, help="Tasks (lanes) this process runs at once.")
    ] = 4,
) -> None:
    """Run tasks without serving HTTP, beside API processes on the same database (set
    DATABASE_URL=postgresql://... for several machines or many processes). Reads the same
    STEWARD_* settings as Edge. SIGTERM or Ctrl-C stops it; tasks it held are taken over."""
    import asyncio
    import logging

    from sqlalchemy.exc import OperationalError

    from backend.agent.worker_process import run_worker
    from backend.settings import EdgeSettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = EdgeSettings(workers=concurrency)
    try:
        asyncio.run(run_worker(settings))
    except EdgeError as exc:
        _echo(f"error: {exc.detail}")
        raise typer.Exit(1) from None
    except OperationalError as exc:
        where = Database(settings.resolved_database_url).faults.database
        _echo(
            f"error: cannot use the database {where}: {exc.orig}\nCheck that the server "
            "runs and DATABASE_URL names it (user, host, port, database)."
        )
        raise typer.Exit(1) from None


@app.command()
def version() -> None:
    """Print Steward's version."""
    from importlib.metadata import version as dist_version

    typer.echo(dist_version("steward"))


def main() -> None:
    """Entry point of the `steward` console script."""
    app()

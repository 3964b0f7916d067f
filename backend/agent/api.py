"""Edge's app factory. `create_app(settings)` builds the app; `uvicorn backend.agent.api:app`
gets one built from the environment on first access.

At start: migrations run (the SQLite file appears on first start), the owner is created if
there is none (a generated token is printed once), workers start. At stop: workers stop and
connections close; tasks they held are picked up again at the next start.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from backend.agent import routes as agent_routes
from backend.agent.bus import TaskBus
from backend.agent.health import EdgeHealth, ModelServerHealth
from backend.agent.loop import AgentLoop
from backend.agent.relay import Relay
from backend.agent.routing import core_client, fallback_client, watch_core
from backend.agent.service import AgentService
from backend.agent.store import TaskStore
from backend.agent.worker import WorkerPool
from backend.audit import routes as audit_routes
from backend.auth import routes as user_routes
from backend.auth.store import UserStore
from backend.config import routes as config_routes
from backend.config.compiler import prepare as prepare_compiler
from backend.config.service import ConfigService
from backend.console import install_console
from backend.core_client import BreakerState
from backend.hosts import HostGuard, edge_host_refusal, parse_hosts
from backend.ledger.store import LedgerStore
from backend.memory import routes as memory_routes
from backend.memory.embeddings import EmbeddingClient
from backend.memory.search import MemorySearch
from backend.memory.service import MemoryService
from backend.memory.vectors import MemoryVectors, index_factory
from backend.security_log import SecurityLog
from backend.services import Services
from backend.settings import EdgeSettings
from backend.storage.db import Database
from backend.tools import routes as tool_routes
from backend.tools.registry import ToolRegistry
from backend.tools.service import ToolService
from backend.tools.sources import ToolSources
from backend.web import BodyLimitMiddleware, install_error_handlers

__all__ = ["create_app"]

log = logging.getLogger("steward.edge")


def _announce_owner_token(token: str) -> None:
    # Printed once, to the terminal only (never to the log or the ledger).
    sys.stderr.write(
        "\n"
        "  Steward created its owner. The owner's token (shown only this once; keep it):\n"
        f"      {token}\n"
        "  Use it as 'Authorization: Bearer <token>' or to sign in to the Console.\n\n"
    )
    sys.stderr.flush()


async def _expire_approvals(tools: ToolService, bus: TaskBus, every_s: float = 5.0) -> None:
    """Expire overdue approvals so their tasks continue; put back in their lanes tasks whose
    approvals were all decided when a crash stopped the step that does it."""
    while True:
        await asyncio.sleep(every_s)
        try:
            expired = await asyncio.to_thread(tools.expire_due)
            if expired or await asyncio.to_thread(tools.resume_stranded):
                bus.work_available.set()
        except Exception:
            log.exception("approval expiry: this round failed; retrying next round")


def create_app(
    settings: EdgeSettings | None = None, *, core_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """Build Edge. `core_transport` lets tests wire Core in-process."""
    settings = settings or EdgeSettings()
    db = Database(settings.resolved_database_url, busy_timeout_s=settings.sqlite_busy_timeout_s)
    ledger = LedgerStore()
    tasks = TaskStore()
    users = UserStore(ledger)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(db.migrate)

        def ensure_owner() -> str | None:
            with db.write() as s:
                token = settings.owner_token
                return users.ensure_owner(s, token.get_secret_value() if token else None)

        generated = await asyncio.to_thread(ensure_owner)
        if generated:
            _announce_owner_token(generated)
        bus = TaskBus(asyncio.get_running_loop())
        db.on_commit(bus.events_committed)
        # Other processes on the same PostgreSQL hear this one's events, and it theirs.
        relay = Relay(db, ledger, bus) if db.dialect == "postgresql" else None
        if relay is not None:
            relay.start()
        core = core_client(settings, core_transport)
        fallback = fallback_client(settings)
        app.state.model_servers = (core, fallback)
        config = ConfigService(db, ledger)
        await asyncio.to_thread(config.ensure_seed)
        embeddings = EmbeddingClient(db, core, settings.embedding_model)
        search = MemorySearch(
            db, embeddings, MemoryVectors(db, await asyncio.to_thread(index_factory, db, settings))
        )
        memory = MemoryService(db, ledger, config, search)
        registry = ToolRegistry()
        sources = ToolSources(registry, settings)
        await sources.start()
        tools = ToolService(settings, db, ledger, registry, tasks, memory)
        await asyncio.to_thread(tools.sync_registry)
        # The preference compiler's rules, built beside serving, not on the first sentence.
        warm = asyncio.create_task(
            asyncio.to_thread(prepare_compiler, [t.name for t in registry.all()]),
            name="steward-compiler-rules",
        )
        await asyncio.to_thread(tools.recover_interrupted)
        await asyncio.to_thread(tools.resume_stranded)
        services = Services(
            settings,
            db,
            ledger,
            users,
            tasks,
            AgentService(db, ledger, tasks),
            bus,
            tools,
            sources,
            config,
            core,
            memory,
        )
        app.state.services = services
        agent = AgentLoop(settings, db, ledger, tasks, core, bus, tools, config, memory, fallback)
        pool = WorkerPool(settings, db, ledger, tasks, bus, agent)
        app.state.workers = pool
        if settings.workers > 0:
            await pool.start()
        expiry = asyncio.create_task(
            _expire_approvals(tools, bus, settings.approval_sweep_s), name="steward-approvals"
        )
        watched = [c for c in (core, fallback) if c is not None]
        monitor = asyncio.create_task(
            watch_core(watched, settings.core_health_interval_s), name="steward-core-health"
        )
        try:
            yield
        finally:
            expiry.cancel()
            warm.cancel()
            monitor.cancel()
            await pool.stop()
            if relay is not None:
                await asyncio.to_thread(relay.stop)
            await sources.stop()
            for client in watched:
                await client.aclose()
            db.dispose()

    app = FastAPI(
        title="Steward Edge",
        version="0.1.0",
        summary="The agent: messages, tasks in lanes, the ledger, audit.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.state.security_log = security = SecurityLog(settings.data_dir / "security.log")
    hosts = parse_hosts(settings.allowed_hosts)
    app.add_middleware(HostGuard, allowed=hosts, refuse=edge_host_refusal(security))

    @app.get("/health", tags=["health"], response_model=EdgeHealth)
    def health() -> EdgeHealth:
        """Liveness: Edge answers. No authentication. `core` is the circuit breaker in front
        of Core (and `fallback` the one in front of the cloud fallback, when configured)."""
        servers = getattr(app.state, "model_servers", None)
        if servers is None:
            return EdgeHealth(status="starting")
        core, fallback = servers
        return EdgeHealth(
            status="ok" if core.breaker.state == BreakerState.CLOSED else "degraded",
            core=ModelServerHealth.of(core),
            fallback=ModelServerHealth.of(fallback) if fallback else None,
        )

    app.include_router(agent_routes.router)
    app.include_router(agent_routes.conversations_router)
    app.include_router(audit_routes.router)
    app.include_router(tool_routes.router)
    app.include_router(user_routes.router)
    app.include_router(config_routes.router)
    app.include_router(memory_routes.router)
    # Last: the Console answers only what no route above does.
    install_console(app, settings.console_dir)
    return app


def __getattr__(name: str) -> Any:
    # `uvicorn backend.agent.api:app` builds the app from the environment on first access.
    if name == "app":
        app = create_app()
        globals()["app"] = app
        return app
    raise AttributeError(name)

"""`steward worker`: a process that runs tasks and serves nothing.

It builds the same services as an API process (the app factory's lifespan: migrations,
tools, the Core client and its breaker, memory, approval expiry, the relay on PostgreSQL)
and runs only its workers. Several of them beside one or more API processes share the work
through the database: claims skip each other's rows, a lane runs one task at a time
whichever process holds it, and the tasks of a worker that died are taken over once its
lease lapses (at once, on the same host, when its pid is gone). SIGTERM or Ctrl-C stops it;
the tasks it held are taken over the same way.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from backend.agent.api import create_app
from backend.settings import EdgeSettings

log = logging.getLogger("steward.edge.worker")


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


async def run_worker(settings: EdgeSettings, ready: asyncio.Event | None = None) -> None:
    """Run `settings.workers` task runners until SIGTERM/SIGINT."""
    app = create_app(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with app.router.lifespan_context(app):
        pool = app.state.workers
        _say(
            f"steward worker {pool.owner}: running up to {settings.workers} task(s) at once "
            f"on {app.state.services.db.faults.database}; SIGTERM or Ctrl-C stops it."
        )
        if ready is not None:
            ready.set()
        await stop.wait()
        _say(f"steward worker {pool.owner}: stopping; tasks it held are taken over.")

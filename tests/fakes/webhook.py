"""A real HTTP server that records what is posted to it: the outside world, for tests of
external writes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request

from tests.servers import serve


@dataclass
class Webhook:
    """What reached the webhook."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return len(self.received)


@contextmanager
def webhook() -> Iterator[Webhook]:
    """A recording webhook on loopback."""
    hook = Webhook()
    app = FastAPI()

    @app.post("/{path:path}")
    async def receive(path: str, request: Request) -> dict[str, bool]:
        body = await request.body()
        with hook.lock:
            hook.received.append({"path": path, "body": body.decode(errors="replace")})
        return {"ok": True}

    with serve(app) as url:
        hook.url = url + "/hook"
        yield hook

"""Who may reach Core at all, checked before any route: the `Host` a request names, and the
address it arrived on.

Invariants:
- DNS rebinding: a request whose `Host` is not a loopback name (`localhost`, 127.0.0.0/8,
  `[::1]`, any port) nor listed in `CORE_ALLOWED_HOSTS` (`*`: any) gets 421 in the OpenAI
  error shape. A request without `Host` (no browser sends one) passes.
- Without `CORE_API_KEY`, Core answers only requests that arrived on a loopback address
  (the server's side of the connection): bound to 0.0.0.0 or a LAN address by hand, it
  still refuses the network (403) rather than serve the model to anyone. `/health` is
  refused too, so a misconfiguration shows at once.
"""

from __future__ import annotations

import ipaddress

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from core.errors import CoreError, HostNotAllowed, KeyRequired

__all__ = ["CoreGuard"]


def _loopback(name: str) -> bool:
    try:
        return name == "localhost" or ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _name(host: str) -> str:
    """`[::1]:9000` -> `::1`, `Localhost:9000` -> `localhost`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.partition(":")[0] if host.count(":") == 1 else host


class CoreGuard:
    """ASGI middleware enforcing the two rules above."""

    def __init__(self, app: ASGIApp, allowed_hosts: str, has_key: bool):
        self.app = app
        self.allowed = {_name(h) for h in allowed_hosts.split(",") if h.strip()}
        self.has_key = has_key

    def refusal(self, scope: Scope) -> CoreError | None:
        """Why the request in `scope` is refused, or None."""
        server = scope.get("server") or ("", None)
        if not self.has_key and _is_address(server[0]) and not _loopback(server[0]):
            return KeyRequired(
                f"Core received this request on {server[0]}, which is not a loopback address, "
                "and has no API key: set CORE_API_KEY before exposing Core to a network, or "
                "bind it to 127.0.0.1."
            )
        raw = next((v for k, v in scope["headers"] if k == b"host"), b"").decode("latin-1")
        name = _name(raw)
        if name and "*" not in self.allowed and name not in self.allowed and not _loopback(name):
            return HostNotAllowed(
                f"Core does not answer to the host '{raw[:100]}': only to loopback names "
                "(127.0.0.1, localhost, [::1]) and those in CORE_ALLOWED_HOSTS "
                "(comma-separated)."
            )
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused = self.refusal(scope) if scope["type"] == "http" else None
        if refused is None:
            await self.app(scope, receive, send)
            return
        body = orjson.dumps(refused.body())
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": refused.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _is_address(host: str) -> bool:
    # A unix socket's "server" is its path: local by nature.
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True

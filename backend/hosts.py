"""Which `Host` a request may name: loopback names, plus those the operator lists.

A server on 127.0.0.1 is reachable from any web page the owner opens through DNS
rebinding: a name the attacker controls first resolves to their server, then to 127.0.0.1,
and the browser sends the page's requests here under that name. Refusing every `Host` that
is not a loopback name (or listed in `STEWARD_ALLOWED_HOSTS`) closes that door.

Invariants:
- Allowed without configuration: `localhost`, any IPv4 loopback address (127.0.0.0/8) and
  `[::1]`, each with any port. Nothing else, not `localhost.` nor `*.localhost`.
- A listed name is compared without its port, case-insensitively; `*` allows every host.
- A request without a `Host` header (HTTP/1.0 tools) is let through: a browser always sends
  one, so it cannot be a rebinding attack.
- `/health` is checked like every other path.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.errors import MisdirectedRequest
from backend.security_log import SecurityLog
from backend.web import problem_response

__all__ = ["HostGuard", "edge_host_refusal", "host_name", "is_loopback", "parse_hosts"]


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address, without brackets or port) is loopback."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name in a `Host` header value, lower-cased, without port or IPv6 brackets."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def parse_hosts(listed: str | Iterable[str]) -> frozenset[str]:
    """A comma list (or an iterable) of host names as `host_name` spells them."""
    items = listed.split(",") if isinstance(listed, str) else listed
    return frozenset(host_name(item) for item in items if item.strip())


Refuse = Callable[[Scope, Send, str], Awaitable[None]]


class HostGuard:
    """ASGI middleware answering with `refuse(scope, send, host)` when the `Host` header
    names a host that is neither loopback nor in `allowed`."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str], refuse: Refuse):
        self.app = app
        self.allowed = allowed
        self.refuse = refuse

    def permits(self, header: str) -> bool:
        """Whether a request whose `Host` header is `header` may proceed."""
        name = host_name(header)
        if not name:
            return True
        return "*" in self.allowed or name in self.allowed or is_loopback(name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            header = next((v for k, v in scope["headers"] if k == b"host"), b"")
            value = header.decode("latin-1")
            if not self.permits(value):
                if scope["type"] == "websocket":  # closing before accepting refuses it
                    await send({"type": "websocket.close", "code": 1008})
                else:
                    await self.refuse(scope, send, value)
                return
        await self.app(scope, receive, send)


def edge_host_refusal(security: SecurityLog) -> Refuse:
    """Edge's answer to a refused host: 421 problem+json, recorded in the security log."""

    async def refuse(scope: Scope, send: Send, host: str) -> None:
        security.refused(scope, 421, MisdirectedRequest.code)
        exc = MisdirectedRequest(
            f"This Edge does not answer to the host '{host[:100]}': only to loopback names "
            "(127.0.0.1, localhost, [::1]) and those in STEWARD_ALLOWED_HOSTS. If you reach "
            "Steward through another name, add it there (comma-separated)."
        )
        await problem_response(exc, scope.get("path"))(scope, _no_receive, send)

    return refuse


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}

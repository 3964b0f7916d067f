"""Steward's built-in tools, registered the way a plugin's are (`ToolRegistry.add_module`).

Invariants:
- Each tool declares its risk here; the policy, not the tool, decides whether it may run now.
  `send_message` and `http_post` are `external_write`: they run only after the owner approved
  the exact arguments, and they do nothing before their checks pass.
- `web_search` searches only the bundled offline corpus; no tool here reaches the network
  except `send_message` (the configured webhook) and `http_post` (the approved URL).
- A failure is a `ToolError` whose message a person can act on. Messages and logs never
  include the webhook URL (it often embeds a token) nor posted bodies.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from backend.tools.calculator import CalculatorError, evaluate
from backend.tools.errors import ToolError
from backend.tools.registry import ToolContext, tool
from backend.tools.web_corpus import corpus, snippet
from backend.tools.workspace import WorkspaceError, write_file

__all__ = [
    "ToolError",
    "calculator",
    "get_time",
    "http_post",
    "notes_write",
    "send_message",
    "web_search",
]

HTTP_TIMEOUT_S = 10.0
MAX_SEARCH_RESULTS = 10
MAX_RESPONSE_CHARS = 2000
_MAX_RESPONSE_BYTES = 64 * 1024


@tool(
    "web_search",
    "read_only",
    "Searches a small bundled offline corpus, not the internet: about forty short reference "
    "notes (software, cooking, travel, health, money, gardening). Returns the best matches "
    "with a title, a steward:// id, a snippet and a score; an empty list when nothing matches.",
)
def web_search(query: str, max_results: int = 3) -> list[dict[str, Any]]:
    if not query.strip():
        raise ToolError("the query is empty; say what to look for")
    limit = max(1, min(max_results, MAX_SEARCH_RESULTS))
    return [
        {"title": d.title, "url": d.id, "snippet": snippet(d, query), "score": score}
        for d, score in corpus().search(query, limit)
    ]


@tool(
    "get_time",
    "read_only",
    "The current date and time in an IANA time zone such as Europe/Paris (default UTC).",
)
def get_time(timezone: str = "UTC") -> dict[str, str]:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(
            f"unknown time zone '{timezone}'; use an IANA name such as Europe/Paris or UTC"
        ) from None
    now = datetime.now(zone)
    return {
        "timezone": timezone,
        "iso": now.isoformat(timespec="seconds"),
        "weekday": now.strftime("%A"),
        "utc_offset": now.strftime("%z"),
    }


@tool(
    "calculator",
    "read_only",
    "Evaluates an arithmetic expression safely (no code runs): numbers, + - * / // % **, "
    "parentheses, pi, e, sqrt, log, log10, exp, sin, cos, tan, abs, round, min, max, floor, "
    "ceil.",
)
def calculator(expression: str) -> dict[str, Any]:
    try:
        return {"expression": expression, "result": evaluate(expression)}
    except CalculatorError as exc:
        raise ToolError(str(exc)) from None


@tool(
    "notes_write",
    "local_write",
    "Writes (or appends to) a text note in Steward's workspace folder on this computer; the "
    "path is relative to that folder, and sub-folders are created as needed. Returns the "
    "path and the file's size in bytes.",
)
def notes_write(
    path: str, content: str, ctx: ToolContext, mode: Literal["overwrite", "append"] = "overwrite"
) -> dict[str, Any]:
    if ctx.workspace is None:
        raise ToolError("no workspace folder is configured for this call")
    root = Path(ctx.workspace)
    try:
        written = write_file(root, path, content, append=mode == "append")
    except WorkspaceError as exc:
        raise ToolError(str(exc)) from None
    return {
        "path": written.relative_to(root.resolve()).as_posix(),
        "bytes": written.stat().st_size,
    }


@tool(
    "send_message",
    "external_write",
    "Sends a text message to someone through the owner's configured webhook.",
)
async def send_message(to: str, text: str, ctx: ToolContext) -> dict[str, Any]:
    url = getattr(ctx.settings, "webhook_url", None)
    if not url:
        raise ToolError("no webhook is configured: set STEWARD_WEBHOOK_URL to send messages")
    _check_http_url(url, "the configured webhook (STEWARD_WEBHOOK_URL)")
    status, _ = await _post(url, {"to": to, "text": text}, "the webhook")
    return {"status_code": status, "delivered": 200 <= status < 300}


@tool(
    "http_post",
    "external_write",
    "POSTs a body (text, or an object sent as JSON) to an http or https URL on the outside "
    "world and returns the status code and the start of the response.",
)
async def http_post(url: str, body: str | dict[str, Any] = "") -> dict[str, Any]:
    _check_http_url(url, f"'{url}'")
    status, text = await _post(url, body, _origin(url))
    return {"status_code": status, "body": text[:MAX_RESPONSE_CHARS]}


def _check_http_url(url: str, label: str) -> None:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise ToolError(f"{label} is not a valid URL") from None
    if parsed.scheme not in ("http", "https"):
        raise ToolError(f"only http and https URLs can be posted to; {label} is not one")
    if not parsed.host:
        raise ToolError(f"{label} has no host name")


def _origin(url: str) -> str:
    """The scheme, host and port: enough to name a server without its path or query, which
    may carry a token."""
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


async def _post(url: str, body: str | dict[str, Any], label: str) -> tuple[int, str]:
    """POST `body` (JSON for an object, UTF-8 text otherwise); returns the status code and
    the start of the response text. Redirects are not followed: the owner approved this URL,
    not wherever it points next."""
    if isinstance(body, dict):
        request: dict[str, Any] = {"json": body}
    else:
        request = {"content": body.encode(), "headers": {"content-type": "text/plain"}}
    try:
        async with (
            httpx.AsyncClient(timeout=HTTP_TIMEOUT_S, trust_env=False) as client,
            client.stream("POST", url, **request) as response,
        ):
            received = bytearray()
            async for chunk in response.aiter_bytes():
                received += chunk
                if len(received) >= _MAX_RESPONSE_BYTES:
                    break
            text = received.decode(response.encoding or "utf-8", errors="replace")
            return response.status_code, text
    except httpx.TimeoutException:
        raise ToolError(f"{label} did not answer within {HTTP_TIMEOUT_S:g} s") from None
    except httpx.HTTPError as exc:
        raise ToolError(f"could not reach {label} ({type(exc).__name__})") from None

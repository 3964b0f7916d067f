"""Steward's built-in tools. Each declares its risk; the policy (not the tool) decides
whether it may run now. A tool's failure is a `ToolError` whose message a person can act on."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from backend.tools.calculator import CalculatorError, evaluate
from backend.tools.registry import ToolContext, tool
from backend.tools.web_corpus import corpus
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


class ToolError(Exception):
    """A tool could not do its job; the message says why and what to do."""


@tool(
    "web_search",
    "read_only",
    "Search a small bundled OFFLINE corpus of reference notes (not the internet) and return "
    "the best matches with a snippet.",
)
def web_search(query: str, max_results: int = 3) -> list[dict[str, Any]]:
    if not query.strip():
        raise ToolError("the query is empty")
    hits = corpus().search(query, max(1, min(max_results, 10)))
    return [
        {"title": d.title, "url": d.id, "snippet": d.text[:300], "score": score}
        for d, score in hits
    ]


@tool("get_time", "read_only", "The current date and time in an IANA time zone.")
def get_time(timezone: str = "UTC") -> dict[str, str]:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(
            f"unknown time zone '{timezone}'; use an IANA name like Europe/Paris"
        ) from None
    now = datetime.now(zone)
    return {"timezone": timezone, "iso": now.isoformat(), "weekday": now.strftime("%A")}


@tool("calculator", "read_only", "Evaluate an arithmetic expression safely (no code runs).")
def calculator(expression: str) -> dict[str, Any]:
    try:
        return {"expression": expression, "result": evaluate(expression)}
    except CalculatorError as exc:
        raise ToolError(str(exc)) from None


@tool(
    "notes_write",
    "local_write",
    "Write (or append to) a text note in Steward's workspace folder on this computer.",
)
def notes_write(
    path: str, content: str, ctx: ToolContext, mode: Literal["overwrite", "append"] = "overwrite"
) -> dict[str, Any]:
    try:
        written = write_file(ctx.workspace, path, content, append=mode == "append")
    except WorkspaceError as exc:
        raise ToolError(str(exc)) from None
    return {
        "path": str(written.relative_to(ctx.workspace.resolve())),
        "bytes": written.stat().st_size,
    }


@tool(
    "send_message",
    "external_write",
    "Send a message to someone through the owner's configured webhook.",
)
async def send_message(to: str, text: str, ctx: ToolContext) -> dict[str, Any]:
    url = getattr(ctx.settings, "webhook_url", None)
    if not url:
        raise ToolError("no webhook is configured: set STEWARD_WEBHOOK_URL to send messages")
    return await _post(url, {"to": to, "text": text})


@tool(
    "http_post",
    "external_write",
    "POST a body to an http(s) URL on the outside world.",
)
async def http_post(url: str, body: str | dict[str, Any] = "") -> dict[str, Any]:
    if not url.lower().startswith(("http://", "https://")):
        raise ToolError(f"only http and https URLs can be posted to, not '{url}'")
    return await _post(url, body)


async def _post(url: str, body: str | dict[str, Any]) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S, trust_env=False) as client:
            if isinstance(body, dict):
                response = await client.post(url, json=body)
            else:
                response = await client.post(url, content=body.encode())
    except httpx.HTTPError as exc:
        raise ToolError(f"could not reach {url}: {type(exc).__name__}: {exc}") from None
    return {
        "status_code": response.status_code,
        "delivered": response.is_success,
        "body": response.text[:2000],
    }

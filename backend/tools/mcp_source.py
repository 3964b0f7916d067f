"""Tools from MCP servers over stdio (the `mcp` package).

Invariants:
- Each configured server runs for the life of its source in a task of its own (the MCP client
  keeps cancel scopes that must open and close in one task); a server that fails to start
  is logged by name and skipped, never fatal.
- A server's tools get the risk its config gives (`"risk"`, or per tool under `"tools"`);
  without one they are `external_write`: Steward cannot know what an outside program does,
  so it assumes the most consequential and asks the owner first.
- Arguments are validated against the tool's JSON Schema (required keys, basic types) before
  the server sees them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from pydantic import BaseModel, ConfigDict, create_model

from backend.tools.builtins import ToolError
from backend.tools.registry import Risk, ToolRegistry, ToolSpec

log = logging.getLogger("steward.edge.tools.mcp")
START_TIMEOUT_S = 20.0
_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "array": list[Any],
    "object": dict[str, Any],
}


def schema_model(name: str, schema: dict[str, Any]) -> type[BaseModel]:
    """A pydantic model checking a JSON Schema's required keys and basic property types."""
    required = set(schema.get("required", []))
    fields: dict[str, Any] = {}
    for prop, spec in (schema.get("properties") or {}).items():
        kind = _TYPES.get(spec.get("type", ""), Any) if isinstance(spec, dict) else Any
        fields[prop] = (kind, ...) if prop in required else (kind | None, None)
    return create_model(f"{name}_args", __config__=ConfigDict(extra="allow"), **fields)


@dataclass
class _Server:
    name: str
    task: asyncio.Task[None]
    stop: asyncio.Event
    session: ClientSession | None = None
    tools: list[Any] = field(default_factory=list)


class McpSource:
    """Every configured MCP server and the tools it offers."""

    def __init__(self, registry: ToolRegistry, servers: list[dict[str, Any]]):
        self.registry = registry
        self.configs = servers
        self._servers: list[_Server] = []

    async def start(self) -> None:
        for config in self.configs:
            await self._start_one(config)

    async def stop(self) -> None:
        for server in self._servers:
            server.stop.set()
        for server in self._servers:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(server.task, 10)
            self.registry.remove_source(f"mcp:{server.name}")
        self._servers.clear()

    async def _start_one(self, config: dict[str, Any]) -> None:
        name = str(config.get("name") or config.get("command") or "mcp")
        ready: asyncio.Future[tuple[ClientSession, list[Any]]] = (
            asyncio.get_running_loop().create_future()
        )
        stop = asyncio.Event()
        task = asyncio.create_task(self._run(config, ready, stop), name=f"mcp-{name}")
        try:
            session, tools = await asyncio.wait_for(asyncio.shield(ready), START_TIMEOUT_S)
        except Exception as exc:
            log.warning("MCP server '%s' did not start (%s); its tools are skipped", name, exc)
            stop.set()
            task.cancel()
            return
        server = _Server(name, task, stop, session, tools)
        self._servers.append(server)
        for tool in tools:
            self._register(server, config, tool)

    async def _run(
        self,
        config: dict[str, Any],
        ready: asyncio.Future[tuple[ClientSession, list[Any]]],
        stop: asyncio.Event,
    ) -> None:
        params = StdioServerParameters(
            command=str(config["command"]),
            args=[str(a) for a in config.get("args", [])],
            env=config.get("env") or None,
        )
        try:
            async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                listed = await session.list_tools()
                ready.set_result((session, list(listed.tools)))
                await stop.wait()
        except Exception as exc:
            if not ready.done():
                ready.set_exception(exc)
            else:
                log.warning("MCP server '%s' stopped: %s", config.get("name"), exc)

    def _register(self, server: _Server, config: dict[str, Any], tool: Any) -> None:
        overrides = config.get("tools") or {}
        risk = Risk(overrides.get(tool.name, config.get("risk", Risk.EXTERNAL_WRITE)))
        schema = dict(tool.inputSchema or {"type": "object", "properties": {}})

        async def handler(**kwargs: Any) -> Any:
            if server.session is None:
                raise ToolError(f"the MCP server '{server.name}' is not running")
            result = await server.session.call_tool(tool.name, kwargs)
            texts = [getattr(part, "text", "") for part in result.content]
            if result.isError:
                raise ToolError(" ".join(texts) or f"{tool.name} failed on '{server.name}'")
            structured = result.structuredContent
            if isinstance(structured, dict) and set(structured) == {"result"}:
                return structured["result"]  # how FastMCP wraps a plain return value
            if structured is not None:
                return structured
            return "\n".join(texts)

        spec = ToolSpec(
            name=tool.name,
            risk=risk,
            description=tool.description or f"{tool.name} (MCP server {server.name})",
            schema=schema,
            source=f"mcp:{server.name}",
            handler=handler,
            model=schema_model(tool.name, schema),
        )
        try:
            self.registry.add(spec)
        except ValueError as exc:
            log.warning("MCP tool skipped: %s", exc)

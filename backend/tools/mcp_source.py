"""Tools from MCP servers named in the settings, spoken to over stdio.

Each configured server (`{"name", "command", "args", "env", "risk"?, "tools"?,
"timeout_s"?}`) is started as a subprocess with the `mcp` client, initialised, and its tools
are registered under the source `mcp:<name>`.

Invariants:
- Risk comes only from the owner's configuration: the server's `"risk"` (default
  `external_write`) or a per-tool override in `"tools": {"<tool>": "<risk>"}`. A tool's own
  hints (`readOnlyHint`...) are never trusted: they are written by the server's author, and
  an unknown tool may send, delete or spend anything, so until the owner says otherwise it
  is treated as the riskiest kind and runs only after the owner approves each call.
- Arguments are checked against the tool's `inputSchema` before a call (`McpToolSpec`):
  required keys, basic JSON types, `enum`, nested objects and arrays, `anyOf`. Violations
  raise the registry's `ArgumentsInvalid`; keys the schema does not list are dropped unless
  it allows additional properties. Values are never coerced.
- A server's subprocess gets only the SDK's minimal environment (PATH, HOME...) plus its own
  configured `env`: Edge's secrets are not inherited.
- Each session lives in its own task (anyio scopes must be left by the task that entered
  them) for the life of the process; `McpSource.stop` closes every one. A server that fails
  to start, or whose tool names clash or are unusable, is logged by name and skipped; it
  never stops Edge.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import McpError

from backend.tools.errors import ToolError
from backend.tools.registry import ArgumentsInvalid, Risk, ToolRegistry, ToolSpec

__all__ = ["McpServerConfig", "McpSource", "McpToolSpec", "schema_errors"]

log = logging.getLogger("steward.edge.tools")

STARTUP_TIMEOUT_S = 20.0
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what OpenAI function names allow
_MAX_PAGES = 50


@dataclass(frozen=True, slots=True)
class McpServerConfig:
    """One configured server, checked."""

    name: str
    command: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    risk: Risk = Risk.EXTERNAL_WRITE
    tool_risks: Mapping[str, Risk] = field(default_factory=dict)
    timeout_s: float = 60.0

    @property
    def source(self) -> str:
        return f"mcp:{self.name}"

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> McpServerConfig:
        """The config from its JSON form, or `ValueError` saying what is wrong."""
        name, command = raw.get("name"), raw.get("command")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"MCP server name {name!r} must be letters, digits, '_' or '-'")
        if not isinstance(command, str) or not command:
            raise ValueError(f"MCP server '{name}' needs a \"command\"")
        args, env = raw.get("args") or [], raw.get("env") or {}
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise ValueError(f"MCP server '{name}': \"args\" must be a list of strings")
        if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
            raise ValueError(f"MCP server '{name}': \"env\" must map names to strings")
        tools = raw.get("tools") or {}
        if not isinstance(tools, dict):
            raise ValueError(f"MCP server '{name}': \"tools\" must map tool names to risks")
        risk = _risk(name, raw.get("risk", Risk.EXTERNAL_WRITE))
        tool_risks = {str(tool): _risk(name, value) for tool, value in tools.items()}
        timeout = raw.get("timeout_s", 60.0)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ValueError(f"MCP server '{name}': \"timeout_s\" must be a positive number")
        return cls(name, command, tuple(args), dict(env), risk, tool_risks, float(timeout))


def _risk(server: str, value: Any) -> Risk:
    try:
        return Risk(value)
    except ValueError:
        allowed = ", ".join(r.value for r in Risk)
        raise ValueError(
            f"MCP server '{server}': risk {value!r} must be one of {allowed}"
        ) from None


def schema_errors(schema: Mapping[str, Any], value: Any, at: str = "") -> list[dict[str, str]]:
    """Every way `value` breaks `schema` (the subset of JSON Schema described above)."""
    where = at or "args"
    expected = schema.get("type")
    if expected is not None:
        names = expected if isinstance(expected, list) else [expected]
        if not any(_is_type(value, t) for t in names):
            return [{"field": where, "message": f"must be of type {' or '.join(names)}"}]
    errors: list[dict[str, str]] = []
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(repr(v) for v in schema["enum"])
        errors.append({"field": where, "message": f"must be one of {allowed}"})
    options = schema.get("anyOf")
    shapes = [o for o in options if isinstance(o, dict)] if isinstance(options, list) else []
    if shapes and all(schema_errors(shape, value, at) for shape in shapes):
        errors.append({"field": where, "message": "matches none of the allowed shapes"})
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                errors.append({"field": _join(at, key), "message": "is required"})
        for key, sub in (schema.get("properties") or {}).items():
            if key in value and isinstance(sub, dict):
                errors += schema_errors(sub, value[key], _join(at, key))
    items = schema.get("items")
    if isinstance(value, list) and isinstance(items, dict):
        for index, item in enumerate(value):
            errors += schema_errors(items, item, _join(at, str(index)))
    return errors


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    kinds: dict[str, type | tuple[type, ...]] = {
        "string": str,
        "boolean": bool,
        "object": dict,
        "array": list,
        "null": type(None),
    }
    return name not in kinds or isinstance(value, kinds[name])


def _join(at: str, key: str) -> str:
    return f"{at}.{key}" if at else key


@dataclass(slots=True)
class McpToolSpec(ToolSpec):
    """A tool served by an MCP server: validated against its JSON Schema (`model` is None)."""

    def validate(self, args: Any) -> dict[str, Any]:
        if not isinstance(args, dict):
            raise ArgumentsInvalid(self.name, [{"field": "args", "message": "must be an object"}])
        errors = schema_errors(self.schema, args)
        if errors:
            raise ArgumentsInvalid(self.name, errors)
        properties = self.schema.get("properties")
        if isinstance(properties, dict) and self.schema.get("additionalProperties") in (
            None,
            False,
        ):
            return {k: v for k, v in args.items() if k in properties}
        return dict(args)


class McpConnection:
    """One live server: a subprocess and its initialised session, owned by one task."""

    def __init__(self, config: McpServerConfig):
        self.config = config
        self.session: ClientSession | None = None
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self.session is not None

    async def open(self, startup_timeout: float = STARTUP_TIMEOUT_S) -> None:
        """Start the server and initialise the session, or raise why it could not."""
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._serve(ready), name=f"mcp-{self.config.name}")
        try:
            await asyncio.wait_for(asyncio.shield(ready), startup_timeout)
        except BaseException:
            await self.close()
            raise

    async def _serve(self, ready: asyncio.Future[None]) -> None:
        params = StdioServerParameters(
            command=self.config.command, args=list(self.config.args), env=dict(self.config.env)
        )
        try:
            async with AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(stdio_client(params, sys.stderr))
                session = await stack.enter_async_context(
                    ClientSession(
                        read, write, read_timeout_seconds=timedelta(seconds=self.config.timeout_s)
                    )
                )
                await session.initialize()
                self.session = session
                ready.set_result(None)
                await self._closing.wait()
        except Exception as exc:
            if not ready.done():
                ready.set_exception(exc)
            else:
                log.warning("MCP server '%s' stopped: %s", self.config.name, describe(exc))
        finally:
            self.session = None

    async def list_tools(self) -> list[types.Tool]:
        """Every tool the server offers now (all pages)."""
        session = self._live()
        tools: list[types.Tool] = []
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            page = await session.list_tools(params=types.PaginatedRequestParams(cursor=cursor))
            tools += page.tools
            cursor = page.nextCursor
            if cursor is None:
                break
        return tools

    async def call(self, tool: str, arguments: dict[str, Any], *, unwrap: bool = False) -> Any:
        """Call `tool`; its structured content if any (the value inside a `{"result": x}`
        wrapper when `unwrap`), else its text. Errors → `ToolError`."""
        where = f"MCP server '{self.config.name}'"
        try:
            result = await self._live().call_tool(tool, arguments)
        except McpError as exc:
            raise ToolError(f"{where} refused {tool}: {exc.error.message}") from None
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            raise ToolError(f"lost the connection to {where}; rescan tools to restart it") from None
        text = "\n".join(
            block.text if isinstance(block, types.TextContent) else f"[{block.type} content]"
            for block in result.content
        )
        if result.isError:
            raise ToolError(f"{tool} failed on {where}: {text or 'no details given'}")
        structured = result.structuredContent
        if structured is None:
            return text
        return structured.get("result") if unwrap and set(structured) == {"result"} else structured

    def _live(self) -> ClientSession:
        if self.session is None:
            raise ToolError(
                f"MCP server '{self.config.name}' is not running; fix it and rescan tools"
            )
        return self.session

    async def close(self) -> None:
        """Stop the session and the subprocess (the SDK bounds the wait, then kills)."""
        self._closing.set()
        task = self._task
        if task is None:
            return
        if self.session is None:
            task.cancel()  # still starting: nothing to close politely
        await asyncio.gather(task, return_exceptions=True)


def describe(exc: BaseException) -> str:
    """A one-line account of `exc`, looking inside exception groups."""
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return describe(exc.exceptions[0])
    if isinstance(exc, TimeoutError):
        return "it did not finish starting in time"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class McpSource:
    """Every configured MCP server, kept in step with the configuration by `sync`."""

    def __init__(self, registry: ToolRegistry, startup_timeout: float = STARTUP_TIMEOUT_S):
        self.registry = registry
        self.startup_timeout = startup_timeout
        self._connections: dict[str, McpConnection] = {}

    async def sync(self, configured: Sequence[Mapping[str, Any]]) -> None:
        """Start new servers, restart changed or dead ones, stop removed ones, and register
        every live server's current tools."""
        wanted: dict[str, McpServerConfig] = {}
        for raw in configured:
            try:
                config = McpServerConfig.parse(raw)
            except ValueError as exc:
                log.warning("MCP server skipped: %s", exc)
                continue
            if config.name in wanted:
                log.warning("MCP server '%s' is configured twice; the first wins", config.name)
                continue
            wanted[config.name] = config
        for name, conn in list(self._connections.items()):
            if wanted.get(name) != conn.config or not conn.alive:
                del self._connections[name]
                self.registry.remove_source(conn.config.source)
                await conn.close()
        new = [c for n, c in wanted.items() if n not in self._connections]
        for opened in await asyncio.gather(*(self._open(c) for c in new)):
            if opened is not None:
                self._connections[opened.config.name] = opened
        for name, conn in list(self._connections.items()):
            if not await self._register(conn):
                del self._connections[name]  # the next sync starts it afresh
                await conn.close()

    async def _open(self, config: McpServerConfig) -> McpConnection | None:
        conn = McpConnection(config)
        try:
            await conn.open(self.startup_timeout)
        except Exception as exc:
            log.warning(
                "MCP server '%s' (command %r) could not start and is skipped: %s",
                config.name,
                config.command,
                describe(exc),
            )
            return None
        return conn

    async def _register(self, conn: McpConnection) -> bool:
        """Replace the server's tools with the ones it lists now; False if it did not answer."""
        config = conn.config
        try:
            tools = await conn.list_tools()
        except Exception as exc:  # a misbehaving server must not stop a scan
            log.warning("MCP server '%s' did not list its tools: %s", config.name, describe(exc))
            self.registry.remove_source(config.source)
            return False
        self.registry.remove_source(config.source)
        for tool in tools:
            if not _NAME.match(tool.name):
                log.warning(
                    "MCP tool %r from server '%s' skipped: a tool name may only use letters, "
                    "digits, '_' and '-' (64 at most)",
                    tool.name,
                    config.name,
                )
                continue
            try:
                self.registry.add(_spec(conn, tool))
            except ValueError as exc:
                log.warning("MCP tool from server '%s' skipped: %s", config.name, exc)
        return True

    async def stop(self) -> None:
        """Close every session; their tools leave the registry."""
        connections, self._connections = list(self._connections.values()), {}
        for conn in connections:
            self.registry.remove_source(conn.config.source)
        await asyncio.gather(*(conn.close() for conn in connections))


def _spec(conn: McpConnection, tool: types.Tool) -> McpToolSpec:
    name = tool.name

    # An output schema whose only field is `result` is how FastMCP returns a plain value
    # (`-> int`); the caller gets the value itself.
    output = tool.outputSchema or {}
    unwrap = set(output.get("properties") or {}) == {"result"}

    async def call_mcp_tool(**arguments: Any) -> Any:
        return await conn.call(name, arguments, unwrap=unwrap)

    schema = {"type": "object", "properties": {}, **tool.inputSchema}
    description = tool.description or tool.title or f"The '{name}' tool of an MCP server."
    return McpToolSpec(
        name=name,
        risk=conn.config.tool_risks.get(name, conn.config.risk),
        description=description[:1024],
        schema=schema,
        source=conn.config.source,
        handler=call_mcp_tool,
    )

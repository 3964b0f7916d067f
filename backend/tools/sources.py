"""Where tools come from: the built-ins, Python entry points in the `steward.tools` group, and
the MCP servers in the settings. `ToolSources` fills a `ToolRegistry` from all three at start
and again on demand (`rescan`).

Invariants:
- Built-ins load first, so a plugin or MCP tool can never take a built-in's name; the
  registry refuses clashes and the later tool is logged and skipped, alone.
- A plugin is registered the way the built-ins are (its `@tool` functions), under the source
  `entrypoint:<distribution>`. A plugin that fails to import, or that names something other
  than a module or a `@tool` function, is logged and skipped: it never stops Edge.
- A rescan replaces each source's tools as a whole (no await between removing and adding
  them), and rescans never overlap.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from backend.tools import builtins, memory_tools
from backend.tools.mcp_source import McpSource
from backend.tools.registry import ToolRegistry, ToolSpec

__all__ = ["ENTRY_POINT_GROUP", "ToolSources", "load_builtin", "load_entry_points"]

log = logging.getLogger("steward.edge.tools")

ENTRY_POINT_GROUP = "steward.tools"
BUILTIN_SOURCE = "builtin"
_ENTRY_POINT_PREFIX = "entrypoint:"


def load_builtin(registry: ToolRegistry) -> list[str]:
    """Register the built-in tools; returns their names."""
    names = registry.add_module(builtins, source=BUILTIN_SOURCE)
    return names + registry.add_module(memory_tools, source=BUILTIN_SOURCE)


def load_entry_points(registry: ToolRegistry) -> list[str]:
    """Register the tools of every installed `steward.tools` plugin; returns their names.

    An entry point names a module (`pkg.tools`: every `@tool` function in it) or one
    function (`pkg.tools:shout`)."""
    names: list[str] = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        source = _ENTRY_POINT_PREFIX + (point.dist.name if point.dist else point.name)
        specs = _plugin_specs(point)
        for spec in specs:
            try:
                registry.add(dataclasses.replace(spec, source=source))
            except ValueError as exc:
                log.warning("tool from plugin '%s' skipped: %s", point.name, exc)
            else:
                names.append(spec.name)
    return names


def _plugin_specs(point: EntryPoint) -> list[ToolSpec]:
    label = f"tool plugin '{point.name}' ({point.value})"
    try:
        target = point.load()
    except (Exception, SystemExit) as exc:  # a broken plugin must not stop Edge
        log.warning("%s could not be loaded and is skipped: %s: %s", label, type(exc).__name__, exc)
        return []
    values = vars(target).values() if inspect.ismodule(target) else [target]
    specs = [v.__steward_tool__ for v in values if _is_tool(v)]
    if not specs:
        log.warning("%s declares no @tool function and is skipped", label)
    return specs


def _is_tool(value: Any) -> bool:
    return isinstance(getattr(value, "__steward_tool__", None), ToolSpec)


class ToolSources:
    """Fills a registry from every source and keeps the MCP sessions for the process's life.

    `mcp_servers` returns the MCP servers to run (default: `settings.mcp_servers`, read at
    each start and rescan)."""

    def __init__(
        self,
        registry: ToolRegistry,
        settings: Any,
        *,
        mcp_servers: Callable[[], Sequence[Mapping[str, Any]]] | None = None,
    ):
        self.registry = registry
        self.settings = settings
        self._mcp_servers = mcp_servers or (lambda: list(getattr(settings, "mcp_servers", [])))
        self._mcp = McpSource(registry)
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Load the built-ins, the plugins and the MCP servers' tools."""
        async with self._lock:
            load_builtin(self.registry)
            load_entry_points(self.registry)
            await self._mcp.sync(self._mcp_servers())

    async def rescan(self) -> None:
        """Look again: newly installed plugins, and MCP servers added, changed or removed in
        the settings (live ones are asked for their tools again)."""
        async with self._lock:
            importlib.invalidate_caches()  # so newly installed distributions are seen
            for source in {s.source for s in self.registry.all()}:
                if source.startswith(_ENTRY_POINT_PREFIX):
                    self.registry.remove_source(source)
            load_entry_points(self.registry)
            await self._mcp.sync(self._mcp_servers())

    async def stop(self) -> None:
        """Close the MCP sessions and stop their servers."""
        async with self._lock:
            await self._mcp.stop()

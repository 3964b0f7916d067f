"""Where tools come from: the built-ins, Python entry points in the `steward.tools` group,
and MCP servers named in the settings. Scanned at start and again on demand (`rescan`).

A plugin that fails to load is logged and skipped; it never stops Edge from starting. Names
are unique across sources (the registry refuses a clash, and the later tool is skipped).
"""

from __future__ import annotations

import logging
import types
from importlib.metadata import entry_points
from typing import Any

from backend.tools import builtins
from backend.tools.mcp_source import McpSource
from backend.tools.registry import ToolRegistry, ToolSpec

log = logging.getLogger("steward.edge.tools")
ENTRY_POINT_GROUP = "steward.tools"


def load_builtin(registry: ToolRegistry) -> None:
    """Register the built-in tools."""
    registry.add_module(builtins, source="builtin")


def load_entry_points(registry: ToolRegistry) -> list[str]:
    """Register tools from installed plugins; returns the names added."""
    added: list[str] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        source = f"entrypoint:{ep.name}"
        try:
            target: Any = ep.load()
            if isinstance(target, types.ModuleType):
                added += registry.add_module(target, source=source)
                continue
            spec = getattr(target, "__steward_tool__", None)
            if not isinstance(spec, ToolSpec):
                raise TypeError("it is neither a module nor a @tool function")
            spec.source = source
            registry.add(spec)
            added.append(spec.name)
        except Exception as exc:
            log.warning("tool plugin '%s' skipped: %s", ep.value, exc)
    return added


class ToolSources:
    """Fills a registry from every source, and refills it on demand."""

    def __init__(self, registry: ToolRegistry, settings: Any):
        self.registry = registry
        self.settings = settings
        self.mcp = McpSource(registry, list(getattr(settings, "mcp_servers", []) or []))

    async def start(self) -> None:
        load_builtin(self.registry)
        load_entry_points(self.registry)
        await self.mcp.start()

    async def rescan(self) -> None:
        """Look again: entry points may have been installed, MCP servers may offer more."""
        await self.mcp.stop()
        for spec in self.registry.all():
            if spec.source.startswith("entrypoint:"):
                self.registry.remove_source(spec.source)
        load_entry_points(self.registry)
        await self.mcp.start()

    async def stop(self) -> None:
        await self.mcp.stop()

"""Tool sources (placeholder until built-ins, entry points and MCP land): loads the built-in
module when present."""

from __future__ import annotations

import importlib
import logging
from typing import Any

from backend.tools.registry import ToolRegistry

log = logging.getLogger("steward.edge.tools")


class ToolSources:
    """Fills a registry from every source."""

    def __init__(self, registry: ToolRegistry, settings: Any):
        self.registry = registry
        self.settings = settings

    async def start(self) -> None:
        try:
            module = importlib.import_module("backend.tools.builtins")
        except ModuleNotFoundError:
            return
        self.registry.add_module(module)

    async def rescan(self) -> None:
        await self.start()

    async def stop(self) -> None:
        return None

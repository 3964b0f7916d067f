"""Tool sources: entry-point plugins and real MCP servers over stdio."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

from backend.tools import sources
from backend.tools.builtins import ToolError
from backend.tools.registry import ArgumentsInvalid, ToolContext, ToolRegistry, tool
from backend.tools.sources import ToolSources

SERVER = str(Path(__file__).with_name("mcp_echo_server.py"))
CTX = ToolContext("usr_1", "owner", None, None, "tc_1")


class _Settings:
    def __init__(self, servers: list[dict[str, Any]]):
        self.mcp_servers = servers


@tool("shout", "read_only", "Upper-case a text (a plugin tool).")
def shout(text: str) -> str:
    return text.upper()


class _EntryPoint:
    def __init__(self, name: str, target: Any, broken: bool = False):
        self.name, self.value, self._target, self._broken = name, f"plugin:{name}", target, broken

    def load(self) -> Any:
        if self._broken:
            raise ImportError("No module named 'missing_dependency'")
        return self._target


def test_entry_point_plugins_register_and_broken_ones_are_skipped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    module = types.ModuleType("steward_demo_plugin")
    module.shout = shout  # type: ignore[attr-defined]
    points = [_EntryPoint("demo", module), _EntryPoint("bad", None, broken=True)]
    monkeypatch.setattr(sources, "entry_points", lambda group: points)
    registry = ToolRegistry()
    sources.load_builtin(registry)
    assert sources.load_entry_points(registry) == ["shout"]
    spec = registry.get("shout")
    assert spec is not None
    assert spec.source == "entrypoint:demo"
    assert "plugin 'plugin:bad' skipped" in caplog.text
    assert registry.get("web_search") is not None


async def test_mcp_server_tools_are_registered_and_callable() -> None:
    config = {
        "name": "echo",
        "command": sys.executable,
        "args": [SERVER],
        "tools": {"echo": "read_only"},
    }
    registry = ToolRegistry()
    tool_sources = ToolSources(registry, _Settings([config]))
    await tool_sources.start()
    try:
        echo, add = registry.get("echo"), registry.get("add")
        assert echo is not None
        assert add is not None
        assert echo.source == add.source == "mcp:echo"
        assert str(echo.risk) == "read_only"
        assert str(add.risk) == "external_write"  # unknown outside tools are the riskiest
        assert add.schema["required"] == ["a", "b"]
        assert await echo.call(echo.validate({"text": "hi"}), CTX) == "hi"
        result = await add.call(add.validate({"a": 2, "b": 3}), CTX)
        assert "5" in str(result)
        with pytest.raises(ArgumentsInvalid) as caught:
            add.validate({"a": "two"})
        assert {e["field"] for e in caught.value.errors} == {"a", "b"}
        fail = registry.get("fail")
        assert fail is not None
        with pytest.raises(ToolError, match="always fails"):
            await fail.call({}, CTX)
        await tool_sources.rescan()
        assert registry.get("echo") is not None
    finally:
        await tool_sources.stop()
    assert registry.get("echo") is None


async def test_a_server_that_cannot_start_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    registry = ToolRegistry()
    config = {"name": "ghost", "command": "/nonexistent/mcp-server"}
    tool_sources = ToolSources(registry, _Settings([config]))
    await tool_sources.start()
    await tool_sources.stop()
    assert "ghost" in caplog.text
    assert registry.get("web_search") is not None


def test_edge_lists_and_runs_mcp_tools_under_the_policy(make_edge: Any) -> None:
    config = {
        "name": "echo",
        "command": sys.executable,
        "args": [SERVER],
        "tools": {"echo": "read_only"},
    }
    with make_edge(mcp_servers=[config]) as edge:
        tools = {t["name"]: t for t in edge.get("/v1/tools").json()["data"]}
        assert tools["echo"]["source"] == "mcp:echo"
        assert tools["add"]["risk"] == "external_write"
        ran = edge.post("/v1/tools:execute", json={"tool": "echo", "args": {"text": "hey"}})
        assert ran.json()["result"] == "hey"
        held = edge.post("/v1/tools:execute", json={"tool": "add", "args": {"a": 1, "b": 2}})
        assert held.status_code == 202
        rescanned = edge.post("/v1/tools:rescan")
        assert rescanned.status_code == 200
        assert "echo" in {t["name"] for t in rescanned.json()["data"]}

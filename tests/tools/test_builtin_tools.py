"""Built-in tools: the safe calculator, workspace confinement, the offline search, the
schemas derived from typed parameters."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backend.tools import builtins
from backend.tools.calculator import CalculatorError, evaluate
from backend.tools.registry import ArgumentsInvalid, ToolContext, ToolRegistry
from backend.tools.web_corpus import corpus
from backend.tools.workspace import WorkspaceError, resolve_in_workspace, write_file


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("2 + 3 * 4", 14),
        ("(2 + 3) * 4", 20),
        ("2 ** 10", 1024),
        ("7 // 2", 3),
        ("-3 % 5", 2),
        ("sqrt(16) + abs(-2)", 6.0),
        ("round(pi, 2)", 3.14),
        ("max(1, 5, 3)", 5),
    ],
)
def test_calculator_evaluates_arithmetic(expression: str, value: float) -> None:
    assert evaluate(expression) == value


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('id')",
        "open('/etc/passwd')",
        "x",
        "(1).__class__",
        "[1, 2]",
        "'a' * 3",
        "lambda: 1",
        "9 ** 9 ** 9",
        "10 ** 100000",
        "1 / 0",
        "1" + "+1" * 400,
        "sqrt(-1)",
        "True + 1",
        "exp(1000)",
    ],
)
def test_calculator_refuses_anything_else(expression: str) -> None:
    with pytest.raises(CalculatorError):
        evaluate(expression)


def test_workspace_confines_paths(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    outside = tmp_path / "outside"
    outside.mkdir()
    for bad in ("../x", "/etc/passwd", "a/../../x", "", "a\x00b", "~/x"):
        with pytest.raises(WorkspaceError):
            resolve_in_workspace(root, bad)
    root.mkdir(exist_ok=True)
    os.symlink(outside, root / "link")
    with pytest.raises(WorkspaceError, match="symlink"):
        write_file(root, "link/evil.txt", "x")
    os.symlink(outside / "target.txt", root / "file-link")
    with pytest.raises(WorkspaceError, match="symlink"):
        write_file(root, "file-link", "x")
    assert not (outside / "evil.txt").exists()
    assert not (outside / "target.txt").exists()
    written = write_file(root, "deep/er/note.md", "one\n")
    write_file(root, "deep/er/note.md", "two\n", append=True)
    assert written.read_text() == "one\ntwo\n"
    assert not [p for p in written.parent.iterdir() if p.name.startswith(".steward-")]


def test_offline_search_finds_paraphrases() -> None:
    hits = corpus().search("how do readers and writers overlap in sqlite wal mode", 3)
    assert hits[0][0].id == "steward://corpus/sqlite-wal"
    assert corpus().search("zzzz qqqq", 3) == []


def _registry() -> ToolRegistry:
    registry = ToolRegistry()
    registry.add_module(builtins)
    return registry


def test_schemas_come_from_typed_parameters() -> None:
    registry = _registry()
    notes = registry.get("notes_write")
    assert notes is not None
    assert notes.schema["required"] == ["path", "content"]
    assert notes.schema["properties"]["mode"]["enum"] == ["overwrite", "append"]
    assert "ctx" not in notes.schema["properties"]
    search = registry.get("web_search")
    assert search is not None
    assert search.schema["properties"]["max_results"]["type"] == "integer"
    assert "offline" in search.description.lower()
    with pytest.raises(ArgumentsInvalid) as caught:
        notes.validate({"path": 3, "mode": "shred"})
    assert {e["field"] for e in caught.value.errors} == {"path", "content", "mode"}


async def test_notes_write_runs_with_its_context(tmp_path: Path) -> None:
    spec = _registry().get("notes_write")
    assert spec is not None
    ctx = ToolContext("usr_1", "owner", None, None, "tc_1", workspace=tmp_path / "ws")
    result = await spec.call(spec.validate({"path": "a/b.md", "content": "hi"}), ctx)
    assert result == {"path": "a/b.md", "bytes": 2}


async def test_send_message_without_a_webhook_says_how_to_fix_it(tmp_path: Path) -> None:
    spec = _registry().get("send_message")
    assert spec is not None

    class NoHook:
        webhook_url = None

    ctx = ToolContext("u", "owner", None, None, "tc", workspace=tmp_path, settings=NoHook())
    with pytest.raises(builtins.ToolError, match="STEWARD_WEBHOOK_URL"):
        await spec.call({"to": "a", "text": "b"}, ctx)


async def test_http_post_refuses_other_schemes(tmp_path: Path) -> None:
    spec = _registry().get("http_post")
    assert spec is not None
    ctx = ToolContext("u", "owner", None, None, "tc", workspace=tmp_path)
    with pytest.raises(builtins.ToolError, match="only http"):
        await spec.call({"url": "file:///etc/passwd", "body": ""}, ctx)

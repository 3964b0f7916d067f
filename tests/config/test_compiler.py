"""The preference compiler, run over the public table `preference_sentences.json` and a few
behaviours the table cannot show (unknown tools, refusals, safety nets)."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from backend.config import intents
from backend.config.compiler import (
    CompiledPatch,
    NothingToChange,
    NotUnderstood,
    compile_preference,
)
from backend.config.intents import INTENT_IDS, Effect, Mention
from backend.config.jsonpatch import apply_patch
from backend.config.phrasing import EXAMPLES, SUMMARIES
from backend.config.schema import StewardConfig, highest, risk_of_path, seed

TABLE: dict[str, Any] = json.loads(
    (Path(__file__).parent / "preference_sentences.json").read_text(encoding="utf-8")
)
TOOLS: list[str] = TABLE["tools"]
PATCHES: list[dict[str, Any]] = TABLE["patches"]
CJK = re.compile(r"[\u4e00-\u9fff]")


def current_for(overrides: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The seed with some fields overridden, as the effective config would be."""
    config = seed()
    for section, fields in (overrides or {}).items():
        config[section].update(fields)
    return config


def compile_row(row: dict[str, Any]) -> tuple[dict[str, Any], CompiledPatch]:
    current = current_for(row.get("current"))
    return current, compile_preference(row["text"], current, tools=TOOLS)


def field_of(pointer: str) -> str:
    return "/" + "/".join(pointer.strip("/").split("/")[:2])


def value_at(config: dict[str, Any], path: str) -> Any:
    section, field = path.strip("/").split("/")
    return config[section][field]


# --- the public table -------------------------------------------------------------------


@pytest.mark.parametrize("row", PATCHES, ids=[row["text"] for row in PATCHES])
def test_table_row_compiles_to_its_patch(row: dict[str, Any]) -> None:
    current = current_for(row.get("current"))
    untouched = copy.deepcopy(current)
    compiled = compile_preference(row["text"], current, tools=TOOLS)

    assert current == untouched
    assert compiled.ops == row["ops"]
    assert compiled.risk == row["risk"]
    assert compiled.intents == row["intents"]

    applied = apply_patch(current, compiled.ops)
    StewardConfig.model_validate(applied)
    touched = list(dict.fromkeys(field_of(op["path"]) for op in compiled.ops))
    assert [d["path"] for d in compiled.diff] == touched
    for d in compiled.diff:
        assert d["before"] == value_at(current, d["path"])
        assert d["after"] == value_at(applied, d["path"])
        assert d["before"] != d["after"]

    language = "zh" if CJK.search(row["text"]) else "en"
    assert compiled.language == language
    assert compiled.rationale.strip()
    assert bool(CJK.search(compiled.rationale)) == (language == "zh")


def test_every_op_of_every_row_changes_the_document() -> None:
    for row in PATCHES:
        doc, compiled = compile_row(row)
        for op in compiled.ops:
            after = apply_patch(doc, [op])
            assert after != doc, f"{row['text']!r}: {op} changes nothing"
            doc = after


def test_every_op_path_is_a_schema_field_and_the_risk_is_the_highest() -> None:
    sections = StewardConfig.model_fields
    for row in PATCHES:
        _, compiled = compile_row(row)
        for op in compiled.ops:
            section, field = field_of(op["path"]).strip("/").split("/")
            annotation = sections[section].annotation
            assert annotation is not None
            assert field in annotation.model_fields, op["path"]
            risk_of_path(op["path"])  # raises for paths outside the schema
        assert compiled.risk == highest([risk_of_path(op["path"]) for op in compiled.ops])


def test_table_covers_every_intent_in_both_languages() -> None:
    seen: dict[str, set[str]] = {"en": set(), "zh": set()}
    for row in PATCHES:
        seen["zh" if CJK.search(row["text"]) else "en"].update(row["intents"])
    assert len(INTENT_IDS) >= 30
    assert set(INTENT_IDS) - seen["en"] == set()
    assert set(INTENT_IDS) - seen["zh"] == set()
    assert set(INTENT_IDS) <= set(SUMMARIES)


def test_table_has_combinations_in_both_languages() -> None:
    combined = [row["text"] for row in PATCHES if len(row["intents"]) > 1]
    assert any(CJK.search(text) for text in combined)
    assert any(not CJK.search(text) for text in combined)
    assert len(PATCHES) >= 60


@pytest.mark.parametrize(
    "row", TABLE["nothing_to_change"], ids=[row["text"] for row in TABLE["nothing_to_change"]]
)
def test_nothing_to_change(row: dict[str, Any]) -> None:
    with pytest.raises(NothingToChange) as caught:
        compile_preference(row["text"], current_for(row.get("current")), tools=TOOLS)
    assert caught.value.message == row["message"]
    assert str(caught.value) == row["message"]
    assert caught.value.intents == row["intents"]


@pytest.mark.parametrize(
    "row", TABLE["not_understood"], ids=[row["text"] for row in TABLE["not_understood"]]
)
def test_not_understood(row: dict[str, Any]) -> None:
    with pytest.raises(NotUnderstood) as caught:
        compile_preference(row["text"], current_for(), tools=TOOLS)
    refusal = caught.value
    assert refusal.understood == row["understood"]
    assert refusal.message.strip()
    assert len(refusal.examples) >= 3
    chinese = bool(CJK.search(row["text"]))
    assert all(bool(CJK.search(example)) == chinese for example in refusal.examples)
    assert bool(CJK.search(refusal.message)) == chinese


# --- behaviours around the table ----------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_examples_offered_in_refusals_are_understood(language: str) -> None:
    for example in EXAMPLES["en" if language == "en" else "zh"]:
        with contextlib.suppress(NothingToChange):
            compile_preference(example, current_for(), tools=TOOLS)


def test_unknown_tool_is_named_with_the_known_tools() -> None:
    with pytest.raises(NotUnderstood) as caught:
        compile_preference("stop using the translate tool", current_for(), tools=TOOLS)
    assert "“translate”" in caught.value.message
    assert ", ".join(sorted(TOOLS)) in caught.value.message
    assert caught.value.understood == ["stop using translate"]


def test_aliases_only_name_tools_that_exist() -> None:
    tools = [t for t in TOOLS if t != "calculator"]
    with pytest.raises(NotUnderstood) as caught:
        compile_preference("stop using the calculator", current_for(), tools=tools)
    assert "“calculator”" in caught.value.message
    assert "calculator" not in caught.value.message.split("Known tools:")[1]


def test_a_tool_gone_from_the_registry_can_still_be_turned_back_on() -> None:
    current = current_for({"tools": {"disabled": ["web_search", "old_plugin"]}})
    compiled = compile_preference("enable old_plugin", current, tools=TOOLS)
    assert compiled.ops == [{"op": "remove", "path": "/tools/disabled/1"}]
    with pytest.raises(NotUnderstood, match="old_plugin"):
        compile_preference("disable old_plugin", current_for(), tools=TOOLS)


def test_replies_already_concise_says_so() -> None:
    current = current_for({"reply": {"verbosity": "concise"}})
    with pytest.raises(NothingToChange, match=r"^Replies are already concise\.$"):
        compile_preference("be more concise", current, tools=TOOLS)


def test_part_already_in_place_is_applied_and_explained() -> None:
    current = current_for({"reply": {"tone": "friendly"}})
    compiled = compile_preference("shorter but still friendly", current, tools=TOOLS)
    assert compiled.ops == [{"op": "replace", "path": "/reply/verbosity", "value": "concise"}]
    assert compiled.rationale.endswith("The tone is already friendly.")


def test_relative_requests_are_measured_from_the_current_config_not_stacked() -> None:
    current = current_for({"reply": {"verbosity": "detailed"}})
    compiled = compile_preference("shorter. even shorter, more concise", current, tools=TOOLS)
    assert compiled.ops == [{"op": "replace", "path": "/reply/verbosity", "value": "normal"}]


@pytest.mark.parametrize(
    ("text", "path", "value"),
    [
        ("at most five tool steps", "/tools/max_steps", 5),
        ("工具最多调用五次", "/tools/max_steps", 5),
        ("approvals expire after an hour", "/approvals/ttl_seconds", 3600),
        ("审批有效期设为三天", "/approvals/ttl_seconds", 3 * 86400),
        ("令牌两周后过期", "/auth/token_ttl_days", 14),
        ("tokens expire after 2 weeks", "/auth/token_ttl_days", 14),
        ("set the memory threshold to 85%", "/memory/confidence_threshold", 0.85),
        ("记忆阈值设为百分之九十", "/memory/confidence_threshold", 0.9),
        ("use model Qwen2.5-7B-Instruct", "/routing/model", "Qwen2.5-7B-Instruct"),
        ("用默认模型", "/routing/model", "default"),
    ],
)
def test_numbers_durations_and_names_as_written(text: str, path: str, value: Any) -> None:
    current = current_for({"routing": {"model": "other"}})
    compiled = compile_preference(text, current, tools=TOOLS)
    assert compiled.ops == [{"op": "replace", "path": path, "value": value}]


def test_memory_threshold_steps_stop_at_the_ceiling() -> None:
    near = current_for({"memory": {"confidence_threshold": 0.9}})
    text = "only remember things you're very sure about"
    compiled = compile_preference(text, near, tools=TOOLS)
    assert compiled.ops[0]["value"] == 0.95
    with pytest.raises(NothingToChange):
        compile_preference(text, current_for({"memory": {"confidence_threshold": 0.95}}), tools=[])


def test_a_patch_that_would_break_the_schema_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(m: Mention, c: Any) -> list[Effect]:
        return [Effect("/reply/tone", "shouty")]

    monkeypatch.setitem(intents.RESOLVERS, "reply.formal", broken)
    with pytest.raises(NotUnderstood, match="not be a valid configuration") as caught:
        compile_preference("more formal", current_for(), tools=TOOLS)
    assert caught.value.understood == ["use a formal tone"]


def test_an_invalid_current_config_is_a_caller_error() -> None:
    current = current_for({"reply": {"verbosity": "rambling"}})
    with pytest.raises(ValidationError):
        compile_preference("shorter", current, tools=TOOLS)


def test_very_long_text_is_refused() -> None:
    with pytest.raises(NotUnderstood, match="too long"):
        compile_preference("be more concise " * 40, current_for(), tools=TOOLS)


def test_compiled_patch_is_immutable() -> None:
    compiled = compile_preference("more formal", current_for(), tools=TOOLS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        compiled.risk = "L3"  # type: ignore[misc]

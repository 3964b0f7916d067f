"""The mock backend: tool-call convention, style-following replies, limits, embeddings."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from core.backends.lexical_embedding import embed_text
from core.backends.mock import MockBackend
from core.backends.mock_style import ReplyStyle, parse_style
from core.schemas import ChatCompletionRequest

WEB_SEARCH = {
    "type": "function",
    "function": {"name": "web_search", "parameters": {"type": "object"}},
}


def _request(*messages: dict[str, Any], **extra: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate(
        {"model": "mock", "messages": list(messages), **extra}
    )


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def _system(text: str) -> dict[str, Any]:
    return {"role": "system", "content": text}


async def _reply(*messages: dict[str, Any], **extra: Any) -> str:
    result = await MockBackend().chat(_request(*messages, **extra), "mock")
    assert result.content is not None
    return result.content


async def test_marker_becomes_tool_call_with_parsed_arguments() -> None:
    req = _request(_user('look [[tool:web_search {"query": "sqlite wal"}]]'), tools=[WEB_SEARCH])
    result = await MockBackend().chat(req, "mock")
    assert result.finish_reason == "tool_calls"
    assert result.content is None
    [call] = result.tool_calls
    assert call["function"]["name"] == "web_search"
    assert json.loads(call["function"]["arguments"]) == {"query": "sqlite wal"}
    assert call["id"].startswith("call_")


async def test_several_markers_become_several_calls_with_distinct_ids() -> None:
    text = '[[tool:get_time]] then [[tool:calculator {"expression": "2+2"}]]'
    result = await MockBackend().chat(_request(_user(text)), "mock")
    assert [c["function"]["name"] for c in result.tool_calls] == ["get_time", "calculator"]
    assert result.tool_calls[0]["function"]["arguments"] == "{}"
    assert len({c["id"] for c in result.tool_calls}) == 2


async def test_malformed_arguments_pass_through_for_the_caller_to_reject() -> None:
    result = await MockBackend().chat(_request(_user("[[tool:web_search {oops}]]")), "mock")
    assert result.tool_calls[0]["function"]["arguments"] == "{oops}"


async def test_tool_choice_none_suppresses_the_call() -> None:
    req = _request(_user("[[tool:web_search {}]]"), tools=[WEB_SEARCH], tool_choice="none")
    result = await MockBackend().chat(req, "mock")
    assert result.tool_calls == []
    assert result.content


async def test_forced_tool_choice_calls_that_tool() -> None:
    choice = {"type": "function", "function": {"name": "web_search"}}
    req = _request(_user("hello"), tools=[WEB_SEARCH], tool_choice=choice)
    result = await MockBackend().chat(req, "mock")
    assert [c["function"]["name"] for c in result.tool_calls] == ["web_search"]


async def test_reply_summarises_tool_results_once_they_are_in() -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "web_search", "arguments": "{}"},
    }
    text = await _reply(
        _user("[[tool:web_search {}]]"),
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {
            "role": "tool",
            "tool_call_id": "call_1",
            "content": "WAL lets readers and writers overlap",
        },
    )
    assert "web_search" in text
    assert "WAL lets readers and writers overlap" in text


async def test_replies_are_deterministic() -> None:
    first = await _reply(_user("How do I water a cactus?"))
    assert first == await _reply(_user("How do I water a cactus?"))
    assert first != await _reply(_user("What is a good name for a cat?"))


async def test_concise_is_visibly_shorter_and_detailed_longer() -> None:
    question = _user("How should I organise my week?")
    concise = await _reply(_system("Be concise."), question)
    normal = await _reply(question)
    detailed = await _reply(_system("Give detailed answers."), question)
    assert len(concise) * 2 < len(normal) < len(detailed) // 2


async def test_chinese_style_instruction_shortens_reply() -> None:
    question = _user("How should I organise my week?")
    assert len(await _reply(_system("回复更简洁"), question)) < len(await _reply(question)) // 2


async def test_language_follows_the_user_unless_told() -> None:
    zh = await _reply(_user("周末去哪里玩比较好？"))
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh)
    en = await _reply(_system("Reply style: language=en"), _user("周末去哪里玩比较好？"))
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in en.replace("周末去哪里玩比较好", ""))


async def test_tone_and_format_are_recognisable() -> None:
    formal = await _reply(_system("Use a formal tone."), _user("Explain backups"))
    friendly = await _reply(_system("Be friendly."), _user("Explain backups"))
    bullets = await _reply(_system("Answer in bullet points."), _user("Explain backups"))
    assert formal.startswith("Certainly.")
    assert friendly.startswith("Happy to help!")
    assert sum(line.startswith("- ") for line in bullets.splitlines()) >= 3


def test_structured_style_line_wins_over_loose_words() -> None:
    style = parse_style(
        "Be detailed.\nReply style: verbosity=concise; tone=casual; format=markdown"
    )
    assert style == ReplyStyle(verbosity="concise", tone="casual", format="markdown")


def test_conflicting_words_leave_the_default() -> None:
    assert parse_style("Reply in English or Chinese.").language == "auto"


async def test_max_tokens_truncates_with_length_finish() -> None:
    result = await MockBackend().chat(_request(_user("Explain backups"), max_tokens=3), "mock")
    assert result.finish_reason == "length"
    assert result.completion_tokens == 3


async def test_stop_sequence_cuts_the_reply() -> None:
    full = await _reply(_user("Explain backups"))
    cut = await _reply(_user("Explain backups"), stop=["backups"])
    assert "backups" in full
    assert cut == full[: full.index("backups")]


async def test_stream_concatenates_to_the_full_reply() -> None:
    backend = MockBackend()
    req = _request(_user("Tell me about lanes"))
    pieces = [d async for d in backend.chat_stream(req, "mock")]
    full = await backend.chat(req, "mock")
    assert len(pieces) > 3
    assert "".join(p.content or "" for p in pieces) == full.content
    assert pieces[-1].finish_reason == "stop"


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_embeddings_are_unit_length_and_lexically_near() -> None:
    cat, cat2, tax = (
        embed_text(t)
        for t in ("the cat sat on the mat", "a cat sat on a mat", "quarterly tax filing deadline")
    )
    assert math.isclose(math.sqrt(sum(x * x for x in cat)), 1.0, rel_tol=1e-9)
    assert _cos(cat, cat2) > 0.9
    assert abs(_cos(cat, tax)) < 0.2


def test_chinese_embeddings_share_characters() -> None:
    a, b, c = (embed_text(t) for t in ("我喜欢喝咖啡", "我每天喝咖啡", "明天要交税"))
    assert _cos(a, b) > _cos(a, c) + 0.3


def test_empty_text_embeds_to_zero_vector() -> None:
    assert embed_text("  ") == [0.0] * 384


@pytest.mark.parametrize("text", ["", "   ", "!!!"])
async def test_degenerate_user_text_still_gets_a_reply(text: str) -> None:
    assert await _reply(_user(text))

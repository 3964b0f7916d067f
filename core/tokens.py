"""Approximate token counting for backends without a tokenizer of their own.

A token is a run of word characters, one CJK character, or one other non-space symbol. It is
deterministic and close enough to real tokenizers for usage figures and `max_tokens`.
"""

from __future__ import annotations

import re

from core.schemas import Message

_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]|\w+|[^\w\s]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]")
MESSAGE_OVERHEAD = 4


def count_tokens(text: str) -> int:
    """Number of approximate tokens in `text`."""
    return len(_TOKEN.findall(text))


def count_prompt_tokens(messages: list[Message]) -> int:
    """Tokens of a prompt: each message's text and tool calls, plus a fixed overhead."""
    total = 0
    for m in messages:
        total += MESSAGE_OVERHEAD + count_tokens(m.text)
        for tc in m.tool_calls or ():
            total += count_tokens(tc.function.name) + count_tokens(tc.function.arguments)
    return total


def split_stream_pieces(text: str) -> list[str]:
    """Split text into stream pieces that concatenate back to exactly `text`: a word with
    its trailing space, or a single CJK character."""
    return re.findall(
        r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]\s*|[^\s\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]+\s*|\s+",
        text,
    )


def truncate_tokens(text: str, limit: int) -> tuple[str, bool]:
    """Cut `text` after `limit` tokens. Returns the text and whether it was cut."""
    for count, match in enumerate(_TOKEN.finditer(text), start=1):
        if count > limit:
            return text[: match.start()].rstrip(), True
    return text, False


def is_mostly_cjk(text: str) -> bool:
    """Whether CJK characters dominate `text` (used to answer in the user's language)."""
    cjk = len(_CJK.findall(text))
    latin = len(re.findall(r"[A-Za-z]+", text))
    return cjk > 0 and cjk >= latin

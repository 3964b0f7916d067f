"""The reply style a system prompt asks for, as the mock backend reads it.

Two ways to say it, both recognised: a structured line Edge writes
(`Reply style: verbosity=concise; tone=friendly; language=zh; format=bullets`), or plain
words in English or Chinese ("Be concise.", "回复更详细", "Reply in English", "use bullet
points"). Plain words never override the structured line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, cast

Verbosity = Literal["concise", "normal", "detailed"]
Tone = Literal["neutral", "formal", "casual", "friendly"]
Language = Literal["auto", "zh", "en"]
Format = Literal["plain", "bullets", "markdown"]


@dataclass(frozen=True, slots=True)
class ReplyStyle:
    """How a reply should read."""

    verbosity: Verbosity = "normal"
    tone: Tone = "neutral"
    language: Language = "auto"
    format: Format = "plain"


_STRUCTURED = re.compile(r"reply[ _-]?style\s*:\s*(?P<body>[^\n]+)", re.IGNORECASE)
_ALLOWED: dict[str, tuple[str, ...]] = {
    "verbosity": ("concise", "normal", "detailed"),
    "tone": ("neutral", "formal", "casual", "friendly"),
    "language": ("auto", "zh", "en"),
    "format": ("plain", "bullets", "markdown"),
}

_WORDS: list[tuple[str, str, re.Pattern[str]]] = [
    (
        "verbosity",
        "concise",
        re.compile(r"\b(concise|brief|briefly|short|succinct|terse)\b|简洁|简短|简明|精简|简练"),
    ),
    (
        "verbosity",
        "detailed",
        re.compile(r"\b(detailed|thorough|elaborate|in[ -]depth|comprehensive)\b|详细|详尽|展开"),
    ),
    ("tone", "formal", re.compile(r"\b(formal|professional|polite)\b|正式|专业|礼貌")),
    ("tone", "casual", re.compile(r"\b(casual|informal|relaxed)\b|随意|轻松|口语")),
    ("tone", "friendly", re.compile(r"\b(friendly|warm|cheerful)\b|友好|亲切|热情|友善")),
    ("language", "zh", re.compile(r"\b(chinese|mandarin)\b|中文|汉语|普通话")),
    ("language", "en", re.compile(r"\benglish\b|英文|英语")),
    ("format", "bullets", re.compile(r"\bbullet(s| points?)?\b|\blists?\b|要点|列表|条目")),
    ("format", "markdown", re.compile(r"\bmarkdown\b")),
    ("format", "plain", re.compile(r"\bplain text\b|纯文本")),
]


def parse_style(system_text: str) -> ReplyStyle:
    """Read the reply style from the system (and developer) messages' text."""
    lowered = system_text.lower()
    found: dict[str, str] = {}
    for attr, value, pattern in _WORDS:
        if pattern.search(lowered):
            found[attr] = value if found.get(attr, value) == value else "__conflict__"
    fields = {attr: value for attr, value in found.items() if value != "__conflict__"}
    for match in _STRUCTURED.finditer(system_text):
        for pair in re.split(r"[;,]", match.group("body")):
            key, _, val = pair.partition("=")
            key, val = key.strip().lower(), val.strip().lower()
            if key in _ALLOWED and val in _ALLOWED[key]:
                fields[key] = val
    return ReplyStyle(**cast(dict[str, Any], fields))

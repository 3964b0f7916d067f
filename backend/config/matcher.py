"""Find the preference mentions in a sentence, and whatever is left unexplained.

Invariants:
- Every rule of both languages is tried on the whole (normalised) sentence; overlapping
  matches are settled leftmost first, then longest, then by rule order. A negation or
  intensity word therefore belongs to the rule that starts with it ("don't use X" beats
  "use X", "much shorter" beats "shorter").
- Text between the chosen matches must consist of filler words only ("please", "from now
  on", "但是", "一点" ...). Anything else is returned as `leftover`; the compiler refuses the
  sentence rather than ignore words it did not understand.
- Tool names come from the caller (plus their aliases); a tool-shaped phrase naming
  something else is reported as `unknown_tools`, never matched to a near name.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from backend.config import intents_en, intents_zh
from backend.config.intents import Mention, Strength
from backend.config.vocabulary import (
    FILLERS_EN,
    FILLERS_ZH,
    TOOL_ALIASES_EN,
    TOOL_ALIASES_ZH,
)

_CJK = r"\u3400-\u9fff"
_EDGE_BEFORE, _EDGE_AFTER = r"(?<![A-Za-z0-9_])", r"(?![A-Za-z0-9_])"
_ZH_FILLERS = re.compile("|".join(re.escape(f) for f in FILLERS_ZH))
_SEPARATOR = (
    r"(?:\s*,\s+(?:and\s+|or\s+)?|\s+(?:and|or|nor)\s+|\s*&\s*"
    r"|\s*(?:、|和|与|及|或者|或|以及|跟)\s*)"
)


@dataclass(frozen=True)
class Scan:
    """What a sentence contains: mentions in order, unexplained text, unknown tool phrases."""

    mentions: list[Mention]
    leftover: list[str]
    unknown_tools: list[Mention]


def normalise(text: str) -> str:
    """NFKC, straight quotes, single spaces, and no spaces next to CJK characters."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(rf"(?<=[{_CJK}]) | (?=[{_CJK}])", "", text)


def is_chinese(text: str) -> bool:
    """Whether the text is written (at least partly) in Chinese."""
    return re.search(rf"[{_CJK}]", text) is not None


def tool_aliases(tools: Iterable[str]) -> dict[str, str]:
    """Lower-case alias -> tool name, for the given tools only."""
    aliases: dict[str, str] = {}
    for tool in tools:
        for table in (TOOL_ALIASES_EN, TOOL_ALIASES_ZH):
            for alias in table.get(tool, ()):
                aliases.setdefault(alias.lower(), tool)
    for tool in tools:  # a tool's own name always means that tool
        aliases[tool.lower()] = tool
        aliases[re.sub(r"[_\-.]+", " ", tool.lower())] = tool
    return aliases


def _alternation(words: Iterable[str]) -> str:
    ordered = sorted(set(words), key=len, reverse=True)
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in ordered)


def _expand(pattern: str, macros: dict[str, str]) -> str:
    for key, value in macros.items():
        pattern = pattern.replace(key, value)
    return pattern


@dataclass(frozen=True)
class _Rules:
    rules: list[tuple[str, re.Pattern[str]]]
    unknown: list[tuple[str, re.Pattern[str]]]
    alias: re.Pattern[str]
    aliases: dict[str, str]


_BUILDING = threading.Lock()


@lru_cache(maxsize=64)
def _rules(tools: tuple[str, ...]) -> _Rules:
    aliases = tool_aliases(tools)
    alias = rf"{_EDGE_BEFORE}(?:{_alternation(aliases) or '(?!)'}){_EDGE_AFTER}"
    item = rf"(?:the\s+)?(?:{alias})(?:\s*(?:tools?|工具|功能))?"
    macros = intents_en.MACROS | intents_zh.MACROS
    macros["{T}"] = rf"(?P<tools>{item}(?:{_SEPARATOR}{item})*)"
    compiled = [
        (intent, re.compile(_EDGE_BEFORE + "(?:" + _expand(p, macros) + ")" + _EDGE_AFTER, re.I))
        for intent, p in intents_en.RULES + intents_zh.RULES
    ]
    unknown = [
        (intent, re.compile(_expand(p, {"{NAME}": intents_en.NAME}), re.I))
        for intent, p in intents_en.UNKNOWN_TOOL + intents_zh.UNKNOWN_TOOL
    ]
    return _Rules(compiled, unknown, re.compile(alias, re.I), aliases)


def scan(text: str, tools: Iterable[str]) -> Scan:
    """The mentions in `text`, given the names of the tools that exist."""
    norm = normalise(text)
    with _BUILDING:  # a second caller waits for rules being built rather than build them too
        rules = _rules(tuple(sorted(set(tools))))
    found: list[tuple[int, int, int, str, re.Match[str]]] = []
    for order, (intent, rx) in enumerate(rules.rules):
        for m in rx.finditer(norm):
            if m.end() > m.start():
                found.append((m.start(), -m.end(), order, intent, m))
    found.sort(key=lambda f: f[:3])
    chosen: list[tuple[str, re.Match[str]]] = []
    for start, neg_end, _, intent, m in found:
        if all(start >= c.end() or -neg_end <= c.start() for _, c in chosen):
            chosen.append((intent, m))
    chosen.sort(key=lambda c: c[1].start())

    leftover: list[str] = []
    cursor = 0
    for _, m in chosen:
        _gap(norm[cursor : m.start()], leftover)
        cursor = m.end()
    _gap(norm[cursor:], leftover)
    mentions = [_mention(intent, m, rules) for intent, m in chosen]
    unknown = [u for piece in leftover for u in _unknown_tools(piece, rules)]
    return Scan(mentions, leftover, unknown)


def _gap(text: str, leftover: list[str]) -> None:
    if is_filler(text):
        return
    words = text.strip(" ,.;:!?。，；：！？、").split(" ")
    while len(words) > 1 and is_filler(words[0]):
        words.pop(0)
    while len(words) > 1 and is_filler(words[-1]):
        words.pop()
    leftover.append(" ".join(words))


def is_filler(text: str) -> bool:
    """Whether `text` carries no meaning of its own (politeness, joiners, punctuation)."""
    rest = _ZH_FILLERS.sub(" ", text.lower())
    for token in re.findall(rf"[{_CJK}]|[a-z0-9]+(?:'[a-z]+)?", rest):
        if re.match(rf"[{_CJK}]", token) or token not in FILLERS_EN:
            return False
    return True


def _mention(intent: str, m: re.Match[str], rules: _Rules) -> Mention:
    groups = {k: v for k, v in m.groupdict().items() if v is not None}
    strength: Strength = "normal"
    if any(k.startswith("slight") for k in groups):
        strength = "slight"
    if any(k.startswith("strong") for k in groups):
        strength = "strong"
    tools: list[str] = []
    for a in rules.alias.finditer(groups.get("tools", "")):
        tool = rules.aliases[re.sub(r"\s+", " ", a.group(0).lower())]
        if tool not in tools:
            tools.append(tool)
    return Mention(
        intent=intent,
        text=m.group(0),
        strength=strength,
        tools=tuple(tools),
        number=groups.get("num"),
        unit=groups.get("unit"),
        name=groups.get("name"),
    )


def _unknown_tools(piece: str, rules: _Rules) -> list[Mention]:
    out: list[Mention] = []
    for intent, rx in rules.unknown:
        m = rx.search(piece)
        if m is None:
            continue
        words = m.group("name").split()
        while words and (words[-1].lower() in FILLERS_EN or words[-1] in ("tool", "tools")):
            words.pop()
        if words:
            out.append(Mention(intent=intent, text=m.group(0), tools=(" ".join(words),)))
            break
    return out

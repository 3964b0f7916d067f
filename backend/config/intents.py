"""What each preference intent does to the configuration, independent of language.

A rule (in `intents_en` / `intents_zh`) turns words into a `Mention`: an intent id plus what
the words carried (intensity, tools, a number and unit, a name). A resolver here turns a
mention and the current configuration into `Effect`s: set a field, or add/remove one item of
a list field.

Invariants:
- Relative intents (`reply.shorter`, `memory.stricter` ...) are measured from the current
  configuration, never from another mention in the same sentence: "shorter, more concise"
  asks for the same thing twice, not for two steps.
- Intensity: `slight` and `normal` move one step on an ordered scale, `strong` goes to the
  end of it (concise < normal < detailed). The memory threshold moves 0.05 / 0.1 / 0.2 and
  stays within [0.3, 0.95] unless set explicitly.
- A resolver either returns effects that satisfy the schema's ranges or raises
  `CannotApply` naming the reason; it never clamps a number the owner wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from backend.config.quantities import fraction, number, unit_seconds

Strength = Literal["slight", "normal", "strong"]
EffectKind = Literal["set", "add", "remove"]

VERBOSITY = ("concise", "normal", "detailed")
_THRESHOLD_STEP = {"slight": 0.05, "normal": 0.1, "strong": 0.2}
_THRESHOLD_CEILING, _THRESHOLD_FLOOR = 0.95, 0.3


@dataclass(frozen=True)
class Mention:
    """One recognised request in the owner's words."""

    intent: str
    text: str
    strength: Strength = "normal"
    tools: tuple[str, ...] = ()
    number: str | None = None
    unit: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Effect:
    """One change to one field (`set`) or to one item of a list field (`add`/`remove`)."""

    path: str
    value: Any
    kind: EffectKind = "set"


class CannotApply(Exception):
    """The words were understood but cannot become a valid change; `reason` keys a message."""

    def __init__(self, reason: str, **params: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.params = params


Resolver = Callable[[Mention, Mapping[str, Any]], list[Effect]]


def get(config: Mapping[str, Any], path: str) -> Any:
    """The value at a `/section/field` path."""
    section, field = path.strip("/").split("/")
    return config[section][field]


def _set(path: str, value: Any) -> list[Effect]:
    return [Effect(path, value)]


def _step(current: str, scale: tuple[str, ...], direction: int, strength: Strength) -> str:
    if strength == "strong":
        return scale[0] if direction < 0 else scale[-1]
    index = min(max(scale.index(current) + direction, 0), len(scale) - 1)
    return scale[index]


def _verbosity(direction: int) -> Resolver:
    def resolve(m: Mention, c: Mapping[str, Any]) -> list[Effect]:
        now = get(c, "/reply/verbosity")
        return _set("/reply/verbosity", _step(now, VERBOSITY, direction, m.strength))

    return resolve


def _threshold(direction: int) -> Resolver:
    def resolve(m: Mention, c: Mapping[str, Any]) -> list[Effect]:
        now = float(get(c, "/memory/confidence_threshold"))
        moved = now + direction * _THRESHOLD_STEP[m.strength]
        if direction > 0:
            target = max(now, min(moved, _THRESHOLD_CEILING))
        else:
            target = min(now, max(moved, _THRESHOLD_FLOOR))
        return _set("/memory/confidence_threshold", round(target, 2))

    return resolve


def _less(path: str, away: tuple[str, ...], to: str) -> Resolver:
    """Move a field to `to` if it is one of `away`; otherwise it already is "less" of it."""

    def resolve(m: Mention, c: Mapping[str, Any]) -> list[Effect]:
        now = get(c, path)
        return _set(path, to if now in away else now)

    return resolve


def _const(path: str, value: Any) -> Resolver:
    return lambda m, c: _set(path, value)


def _tools(path: str, kind: EffectKind) -> Resolver:
    return lambda m, c: [Effect(path, tool, kind) for tool in m.tools]


def _count(what: str, low: int, high: int) -> Callable[[Mention], int]:
    def parse(m: Mention) -> int:
        value = number(m.number or "")
        if value is None or value != int(value) or not low <= value <= high:
            raise CannotApply("range", what=what, low=low, high=high, got=m.number)
        return int(value)

    return parse


_max_steps = _count("max_steps", 1, 20)
_top_k = _count("top_k", 0, 50)


def _threshold_set(m: Mention, c: Mapping[str, Any]) -> list[Effect]:
    value = fraction(m.number or "")
    if value is None:
        raise CannotApply("range", what="threshold", low=0, high=1, got=m.number)
    return _set("/memory/confidence_threshold", round(value, 4))


def _seconds(m: Mention) -> float | None:
    amount, size = number(m.number or ""), unit_seconds(m.unit or "")
    return None if amount is None or size is None else amount * size


def _approval_ttl(m: Mention, c: Mapping[str, Any]) -> list[Effect]:
    seconds = _seconds(m)
    got = f"{m.number} {m.unit}"
    if seconds is None or seconds != int(seconds) or not 60 <= seconds <= 30 * 86400:
        raise CannotApply("range", what="approval_ttl", low="1 min", high="30 days", got=got)
    return _set("/approvals/ttl_seconds", int(seconds))


def _token_ttl(m: Mention, c: Mapping[str, Any]) -> list[Effect]:
    seconds = _seconds(m)
    got = f"{m.number} {m.unit}"
    if seconds is None or seconds % 86400 or seconds < 86400:
        raise CannotApply("whole_days", got=got)
    return _set("/auth/token_ttl_days", int(seconds // 86400))


def _model(m: Mention, c: Mapping[str, Any]) -> list[Effect]:
    name = (m.name or "").rstrip(".:/-")
    return _set("/routing/model", "default" if name == "默认" else name)


def _not_language(m: Mention, c: Mapping[str, Any]) -> list[Effect]:
    raise CannotApply("not_language", language=m.name)


RESOLVERS: dict[str, Resolver] = {
    "reply.shorter": _verbosity(-1),
    "reply.longer": _verbosity(+1),
    "reply.concise": _const("/reply/verbosity", "concise"),
    "reply.normal_length": _const("/reply/verbosity", "normal"),
    "reply.detailed": _const("/reply/verbosity", "detailed"),
    "reply.formal": _const("/reply/tone", "formal"),
    "reply.casual": _const("/reply/tone", "casual"),
    "reply.friendly": _const("/reply/tone", "friendly"),
    "reply.neutral": _const("/reply/tone", "neutral"),
    "reply.less_formal": _less("/reply/tone", ("formal", "neutral"), "casual"),
    "reply.less_casual": _less("/reply/tone", ("casual", "friendly"), "neutral"),
    "reply.chinese": _const("/reply/language", "zh"),
    "reply.english": _const("/reply/language", "en"),
    "reply.match_language": _const("/reply/language", "auto"),
    "reply.not_language": _not_language,
    "reply.bullets": _const("/reply/format", "bullets"),
    "reply.plain": _const("/reply/format", "plain"),
    "reply.markdown": _const("/reply/format", "markdown"),
    "reply.no_bullets": _less("/reply/format", ("bullets",), "plain"),
    "reply.no_markdown": _less("/reply/format", ("markdown",), "plain"),
    "tools.disable": _tools("/tools/disabled", "add"),
    "tools.enable": _tools("/tools/disabled", "remove"),
    "tools.ask_first": _tools("/tools/always_ask", "add"),
    "tools.stop_asking": _tools("/tools/always_ask", "remove"),
    "tools.max_steps": lambda m, c: _set("/tools/max_steps", _max_steps(m)),
    "memory.off": _const("/memory/enabled", False),
    "memory.on": _const("/memory/enabled", True),
    "memory.stricter": _threshold(+1),
    "memory.looser": _threshold(-1),
    "memory.threshold": _threshold_set,
    "memory.top_k": lambda m, c: _set("/memory/top_k", _top_k(m)),
    "routing.cloud_allow": _const("/routing/cloud_fallback", True),
    "routing.cloud_forbid": _const("/routing/cloud_fallback", False),
    "routing.model": _model,
    "approvals.ttl": _approval_ttl,
    "approvals.ask_every_tool": _const("/approvals/ask_before_every_tool", True),
    "approvals.stop_asking_every_tool": _const("/approvals/ask_before_every_tool", False),
    "approvals.member_write_allow": _const("/approvals/member_local_write", "allow"),
    "approvals.member_write_ask": _const("/approvals/member_local_write", "ask"),
    "members.tools_allow": _const("/members/can_use_tools", True),
    "members.tools_forbid": _const("/members/can_use_tools", False),
    "members.see_tools": _const("/members/can_see_tools", True),
    "members.hide_tools": _const("/members/can_see_tools", False),
    "auth.token_ttl": _token_ttl,
    "auth.token_no_expiry": _const("/auth/token_ttl_days", None),
}

# Intents that can change the configuration (`reply.not_language` only ever explains).
INTENT_IDS: tuple[str, ...] = tuple(i for i in RESOLVERS if i != "reply.not_language")


def resolve(mention: Mention, current: Mapping[str, Any]) -> list[Effect]:
    """The effects of one mention on `current` (may raise `CannotApply`)."""
    return RESOLVERS[mention.intent](mention, current)

"""The preference compiler: the owner's words (English or Chinese) -> a reviewed config patch.

`compile_preference("shorter but still friendly", current, tools=[...])` returns the JSON
Patch (RFC 6902) against `current`, its risk grade, a per-field diff, a rationale in the
owner's language and the intent ids it recognised. Rules live in `intents_en` / `intents_zh`,
what each intent does in `intents`, the words shown to the owner in `phrasing`.

Invariants:
- Never a guess: a sentence with any words that are neither a recognised request nor filler
  ("please", "from now on", "但是" ...) is refused with `NotUnderstood`, saying what was
  understood and giving examples in the owner's language. So is a recognised request that
  cannot be applied (an unknown tool, a number out of range, "don't reply in English"
  without saying which language instead).
- Contradictions are refused, not resolved by order: two requests that set one field to
  different values ("shorter and longer"), or add and remove the same tool, raise
  `NotUnderstood`. Requests that agree ("shorter, more concise") are merged.
- Every op changes the document: scalars use `replace` only when the value differs; the
  lists `tools.disabled` / `tools.always_ask` get `add` at `/-` or `remove` at the item's
  index at that point in the patch. A sentence whose requests are all already in place
  raises `NothingToChange`; if only some are, the rest still apply and the rationale says
  which were already so.
- The patch applied to `current` validates against `StewardConfig`, and every path it
  touches has a risk grade; the patch's grade is the highest of them.

Decisions (the public table `tests/config/preference_sentences.json` shows each):
- Negation moves away from what is negated: "don't be so verbose" / "不要那么啰嗦" is
  shorter, "don't be brief" / "别太简略" is longer, "don't be so formal" is less formal
  (casual), "don't use X" disables X. A negation no rule covers ("don't stop using X",
  "not shorter") is left over and refused. "Don't reply in English" names no language to use
  instead, so it is refused with a hint.
- Intensity only matters where there is a scale: a bit/稍微 and plain/更 move one step,
  much/way/非常/越…越好 go to the end (concise < normal < detailed). "太X了" is a complaint:
  one step away from X. Tone has no scale: "a bit more formal" is formal.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from backend.config import phrasing
from backend.config.intents import CannotApply, Effect, Mention, get, resolve
from backend.config.jsonpatch import apply_patch, json_equal
from backend.config.matcher import is_chinese, scan
from backend.config.phrasing import Lang
from backend.config.schema import Risk, StewardConfig, highest, risk_of_path

__all__ = ["CompiledPatch", "NotUnderstood", "NothingToChange", "compile_preference", "prepare"]

MAX_TEXT = 500


@dataclass(frozen=True)
class CompiledPatch:
    """A proposed change: RFC 6902 `ops` against the current config, and how to review it."""

    ops: list[dict[str, Any]]
    risk: Risk
    diff: list[dict[str, Any]]
    rationale: str
    intents: list[str]
    language: Lang


class NotUnderstood(Exception):
    """The text does not map to a change; says what was understood and what would work."""

    def __init__(self, message: str, understood: list[str], examples: list[str]) -> None:
        super().__init__(message)
        self.message = message
        self.understood = understood
        self.examples = examples


class NothingToChange(Exception):
    """The text was understood, but the configuration already is that way."""

    def __init__(self, message: str, intents: list[str]) -> None:
        super().__init__(message)
        self.message = message
        self.intents = intents


def prepare(tools: list[str]) -> None:
    """Build the rules for these tool names now (about a second on two cores) rather than
    on the owner's first sentence, which is then answered at once."""
    scan("", tools)


def compile_preference(text: str, current: dict[str, Any], *, tools: list[str]) -> CompiledPatch:
    """Compile one preference sentence into a patch against `current` (a full config dump).

    `tools` are the names of the tools that exist. Raises `NotUnderstood` or
    `NothingToChange`; never returns an empty or invalid patch.
    """
    StewardConfig.model_validate(current)  # a caller bug, not the owner's: let it raise
    lang: Lang = "zh" if is_chinese(text) else "en"
    if len(text) > MAX_TEXT:
        raise _refuse(lang, [], phrasing.reason("too_long", lang))
    known = [*tools, *get(current, "/tools/disabled"), *get(current, "/tools/always_ask")]
    found = scan(text, known)
    understood = [_describe(m, lang) for m in found.mentions]
    if found.unknown_tools:
        unknown = found.unknown_tools[0]
        names = ", ".join(sorted(set(tools))) or "-"
        message = phrasing.reason("unknown_tool", lang, name=unknown.tools[0], known=names)
        raise _refuse(lang, [*understood, _describe(unknown, lang)], message)
    if found.leftover:
        quoted = ", ".join(f"“{piece}”" for piece in found.leftover)
        raise _refuse(lang, understood, phrasing.reason("unrecognised", lang, text=quoted))
    if not found.mentions:
        raise _refuse(lang, [], phrasing.reason("nothing", lang))

    effects = _effects(found.mentions, current, lang, understood)
    ops, notes = _ops(current, effects, lang)
    intents = list(dict.fromkeys(m.intent for m in found.mentions))
    if not ops:
        raise NothingToChange(("" if lang == "zh" else " ").join(notes), intents)
    applied = apply_patch(current, ops)
    try:
        StewardConfig.model_validate(applied)
    except ValidationError as exc:
        error = "; ".join(str(e["msg"]) for e in exc.errors())
        raise _refuse(lang, understood, phrasing.reason("invalid", lang, error=error)) from None

    paths = list(dict.fromkeys(_field(op["path"]) for op in ops))
    diff = [
        {"path": p, "before": copy.deepcopy(get(current, p)), "after": get(applied, p)}
        for p in paths
    ]
    changes = [phrasing.change(d["path"], d["before"], d["after"], lang) for d in diff]
    asked = list(dict.fromkeys(_describe(m, lang) for m in found.mentions))
    return CompiledPatch(
        ops=ops,
        risk=highest([risk_of_path(op["path"]) for op in ops]),
        diff=diff,
        rationale=phrasing.rationale(asked, changes, notes, lang),
        intents=intents,
        language=lang,
    )


def _refuse(lang: Lang, understood: list[str], message: str) -> NotUnderstood:
    if understood:
        joined = ("; " if lang == "en" else "；").join(understood)
        lead = phrasing.reason("understood", lang, items=joined)
        message = lead + ("" if lang == "zh" else " ") + message
    return NotUnderstood(message, understood, list(phrasing.EXAMPLES[lang]))


def _describe(m: Mention, lang: Lang) -> str:
    value = m.name or ""
    if m.number is not None:
        value = m.number + ("" if m.unit is None else (" " if lang == "en" else "") + m.unit)
    return phrasing.summary(m.intent, lang, tools=m.tools, value=value)


def _effects(
    mentions: Sequence[Mention], current: dict[str, Any], lang: Lang, understood: list[str]
) -> list[Effect]:
    """Every mention's effects, merged when they agree; refuses contradictions."""
    problems: list[str] = []
    seen: dict[tuple[str, str], tuple[Effect, Mention]] = {}
    effects: list[Effect] = []
    for m in mentions:
        try:
            produced = resolve(m, current)
        except CannotApply as exc:
            problems.append(phrasing.reason(exc.reason, lang, **exc.params))
            continue
        for e in produced:
            key = (e.path, "" if e.kind == "set" else str(e.value))
            if key in seen:
                first, other = seen[key]
                if (first.kind, first.value) != (e.kind, e.value):
                    problems.append(_conflict(other, m, e, lang))
                continue
            seen[key] = (e, m)
            effects.append(e)
    if problems:
        raise _refuse(lang, understood, " ".join(dict.fromkeys(problems)))
    return effects


def _conflict(first: Mention, second: Mention, e: Effect, lang: Lang) -> str:
    if e.kind == "set":
        name = phrasing.label(e.path, lang)
        return phrasing.reason("conflict", lang, a=first.text, b=second.text, label=name)
    return phrasing.reason("conflict_item", lang, a=first.text, b=second.text, item=e.value)


def _ops(
    current: dict[str, Any], effects: list[Effect], lang: Lang
) -> tuple[list[dict[str, Any]], list[str]]:
    """The JSON Patch operations for the effects that change something, and notes for the
    ones already in place."""
    ops: list[dict[str, Any]] = []
    notes: list[str] = []
    lists: dict[str, list[Any]] = {}
    for e in effects:
        now = get(current, e.path)
        if e.kind == "set":
            if json_equal(now, e.value):
                notes.append(phrasing.already(e.path, "set", now, lang))
            else:
                ops.append({"op": "replace", "path": e.path, "value": e.value})
            continue
        working = lists.setdefault(e.path, list(now))
        present = e.value in now
        if e.kind == "add" and not present:
            ops.append({"op": "add", "path": f"{e.path}/-", "value": e.value})
            working.append(e.value)
        elif e.kind == "remove" and present:
            index = working.index(e.value)
            ops.append({"op": "remove", "path": f"{e.path}/{index}"})
            working.pop(index)
        else:
            notes.append(phrasing.already(e.path, e.kind, e.value, lang))
    return ops, list(dict.fromkeys(notes))


def _field(pointer: str) -> str:
    """`/tools/disabled/-` -> `/tools/disabled`."""
    return "/" + "/".join(pointer.strip("/").split("/")[:2])

"""Numbers and durations as people write them in English and Chinese.

Invariants:
- Parsers return `None` for anything they do not recognise; they never guess a default.
- Months are 30 days and weeks 7 days; nothing else is approximated.
"""

from __future__ import annotations

import re

__all__ = ["fraction", "humanize_days", "humanize_seconds", "number", "unit_seconds"]

_EN = {
    "zero": 0, "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "ninety": 90,
}  # fmt: skip
_ZH_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7}
_ZH_DIGITS |= {"八": 8, "九": 9}
_UNITS = {
    "second": 1, "seconds": 1, "sec": 1, "secs": 1, "s": 1, "秒": 1, "秒钟": 1,
    "minute": 60, "minutes": 60, "min": 60, "mins": 60, "分钟": 60, "分": 60,
    "hour": 3600, "hours": 3600, "hr": 3600, "hrs": 3600, "h": 3600, "小时": 3600,
    "钟头": 3600, "个小时": 3600, "个钟头": 3600,
    "day": 86400, "days": 86400, "d": 86400, "天": 86400, "日": 86400,
    "week": 604800, "weeks": 604800, "wk": 604800, "wks": 604800, "周": 604800,
    "星期": 604800, "个星期": 604800, "礼拜": 604800, "个礼拜": 604800,
    "month": 2592000, "months": 2592000, "个月": 2592000, "月": 2592000,
}  # fmt: skip


def _chinese(raw: str) -> float | None:
    if raw == "半":
        return 0.5
    if not raw or any(ch not in _ZH_DIGITS and ch not in "十百" for ch in raw):
        return None
    total, current = 0, 0
    for ch in raw:
        if ch in _ZH_DIGITS:
            current = _ZH_DIGITS[ch]
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            total += (current or 1) * 10
            current = 0
    return float(total + current)


def number(raw: str) -> float | None:
    """`3`, `0.5`, `three`, `an`, `half an`, `三`, `十五`, `两`, `半` as a number."""
    text = re.sub(r"\s+", " ", raw.strip().lower())
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    if text in ("half", "half a", "half an"):
        return 0.5
    if text in _EN:
        return float(_EN[text])
    return _chinese(text)


def fraction(raw: str) -> float | None:
    """A share between 0 and 1: `0.9`, `.9`, `90%`, `百分之九十`; `None` if not in [0, 1]."""
    text = raw.strip()
    percent = text.endswith("%") or text.startswith("百分之")
    body = text.rstrip("%").removeprefix("百分之").strip()
    value = float(body) if re.fullmatch(r"\d*\.?\d+", body) else number(body)
    if value is None:
        return None
    if percent:
        value /= 100
    return value if 0.0 <= value <= 1.0 else None


def unit_seconds(unit: str) -> int | None:
    """Seconds in one `unit` (`hours`, `分钟`, `个星期` ...), or `None`."""
    return _UNITS.get(re.sub(r"\s+", "", unit.strip().lower()))


def humanize_seconds(seconds: int, lang: str) -> str:
    """`7200` as `2 hours` / `2小时`."""
    for size, en, zh in ((86400, "day", "天"), (3600, "hour", "小时"), (60, "minute", "分钟")):
        if seconds % size == 0:
            return _count(seconds // size, en, zh, lang)
    return _count(seconds, "second", "秒", lang)


def humanize_days(days: int, lang: str) -> str:
    """`30` as `30 days` / `30天`."""
    return _count(days, "day", "天", lang)


def _count(n: int, en: str, zh: str, lang: str) -> str:
    if lang == "zh":
        return f"{n}{zh}"
    return f"{n} {en}" + ("" if n == 1 else "s")

"""Deterministic replies of the mock backend, shaped by a `ReplyStyle`.

The same conversation always gets the same reply. Verbosity changes the length visibly
(concise: one sentence; normal: three; detailed: eight and a closing line), tone changes the
opening and closing, language follows the style or else the user's own language, and format
lays the sentences out as plain text, bullet points or Markdown.
"""

from __future__ import annotations

import hashlib
import re

from core.backends.mock_style import ReplyStyle
from core.tokens import is_mostly_cjk

_GREETING = re.compile(r"\b(hello|hi|hey|good (morning|afternoon|evening))\b|你好|您好|嗨", re.I)

_EN_BODY = [
    "The short answer to “{topic}” is that it depends on what you need it for.",
    "I would start from the goal behind “{topic}” and work back to the first concrete step.",
    "Take the simplest version that works, check it against a real case, then refine it.",
    "The main trade-off is between doing it quickly and doing it thoroughly.",
    "Write down what you decide, so the reasoning is still there when you come back to it.",
    "If something is unclear, test it on a small example before committing to it.",
    "Most problems of this kind get easier once they are split into smaller parts.",
    "Keep what works, drop what does not, and note why.",
    "It helps to compare two or three options side by side before choosing one.",
]
_ZH_BODY = [
    "关于“{topic}”，简单来说要看你的具体需求。",
    "建议先想清楚“{topic}”背后的目标，再倒推出第一步。",
    "先做一个能用的最简版本，用真实情况检验，再逐步完善。",
    "主要的取舍在于速度和周全之间。",
    "把决定和理由记下来，以后回头看时依然清楚。",
    "有不确定的地方，先用小例子验证，再正式采用。",
    "这类问题拆成几个小部分之后通常会容易很多。",
    "保留有效的做法，去掉无效的，并记下原因。",
    "在做选择之前，把两三个方案放在一起比较会很有帮助。",
]
_OPENERS = {
    "en": {
        "neutral": "",
        "formal": "Certainly.",
        "casual": "Sure thing!",
        "friendly": "Happy to help!",
    },
    "zh": {
        "neutral": "",
        "formal": "好的，谨此答复。",
        "casual": "行啊！",
        "friendly": "很乐意帮忙！",
    },
}
_CLOSERS = {
    "en": {
        "neutral": "That is the overall picture.",
        "formal": "Please let me know if you require any further information.",
        "casual": "That's about it!",
        "friendly": "Hope this helps, and feel free to ask more!",
    },
    "zh": {
        "neutral": "以上就是整体情况。",
        "formal": "如需进一步信息，请随时告知。",
        "casual": "差不多就这样啦！",
        "friendly": "希望对你有帮助，有问题随时问我！",
    },
}
_GREETING_TEXT = {"en": "Hello! How can I help you today?", "zh": "你好！今天我能帮你做些什么？"}
_COUNTS = {"concise": 1, "normal": 3, "detailed": 8}


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big")


def _topic(user_text: str, zh: bool) -> str:
    first = re.split(r"(?<=[.!?。！？])\s*|\n", user_text.strip(), maxsplit=1)[0].strip()
    first = first.rstrip(".!?。！？")
    limit = 24 if zh else 60
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def _language(style: ReplyStyle, user_text: str) -> str:
    if style.language != "auto":
        return style.language
    return "zh" if is_mostly_cjk(user_text) else "en"


def _layout(sentences: list[str], style: ReplyStyle, lang: str) -> str:
    joiner = "" if lang == "zh" else " "
    if style.format == "bullets":
        return "\n".join(f"- {s}" for s in sentences)
    if style.format == "markdown":
        heading = "**回答**" if lang == "zh" else "**Answer**"
        return heading + "\n\n" + joiner.join(sentences)
    return joiner.join(sentences)


def compose_reply(user_text: str, style: ReplyStyle) -> str:
    """The mock's answer to `user_text` in `style`."""
    lang = _language(style, user_text)
    zh = lang == "zh"
    opener = _OPENERS[lang][style.tone]
    if _GREETING.search(user_text) and len(user_text) <= 40:
        body = [_GREETING_TEXT[lang]]
    else:
        bank = _ZH_BODY if zh else _EN_BODY
        topic = _topic(user_text, zh) or ("这个问题" if zh else "this")
        digest = _digest(user_text)
        lead, rest = bank[digest % 2], bank[2:]
        count = _COUNTS[style.verbosity] - 1
        body = [lead.format(topic=topic)]
        body += [rest[(digest + i) % len(rest)] for i in range(count)]
    if style.verbosity == "detailed" or (style.verbosity == "normal" and style.tone != "neutral"):
        body.append(_CLOSERS[lang][style.tone])
    sentences = ([opener] if opener and style.format != "bullets" else []) + body
    text = _layout(sentences, style, lang)
    if opener and style.format == "bullets":
        text = opener + "\n" + text
    return text


def summarise_tool_results(
    results: list[tuple[str, str]], style: ReplyStyle, user_text: str
) -> str:
    """The mock's reply once tool results are in: what each tool returned, in `style`."""
    lang = _language(style, user_text)
    limit = {"concise": 80, "normal": 240, "detailed": 800}[style.verbosity]
    sentences: list[str] = []
    for name, content in results:
        snippet = " ".join(content.split())
        if len(snippet) > limit:
            snippet = snippet[: limit - 1].rstrip() + "…"
        if lang == "zh":
            sentences.append(f"工具 {name} 返回：{snippet}")
        else:
            sentences.append(f"The {name} tool returned: {snippet}")
    opener = _OPENERS[lang][style.tone]
    if opener and style.format != "bullets":
        sentences.insert(0, opener)
    text = _layout(sentences, style, lang)
    if opener and style.format == "bullets":
        text = opener + "\n" + text
    return text


_REMEMBERED = re.compile(r"remember[^\n]*:\n((?:- [^\n]*\n?)+)", re.IGNORECASE)


def remembered(system: str) -> list[str]:
    """The memories a system prompt lists (`- ` lines under a heading about remembering)."""
    found = _REMEMBERED.search(system)
    if found is None:
        return []
    return [line[2:].strip() for line in found.group(1).splitlines() if line.startswith("- ")]


def mention_memory(text: str, memories: list[str], style: ReplyStyle, user_text: str) -> str:
    """The reply with the most relevant memory (the first listed) said back, so tests and
    demos can see what reached the model."""
    if not memories:
        return text
    if _language(style, user_text) == "zh":
        return f"{text}\n（我记得：{memories[0]}）"
    return f"{text}\n(From what I remember: {memories[0]})"

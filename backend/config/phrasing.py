"""Everything the compiler says to the owner, in English and Chinese.

Invariants:
- Every intent id has a summary in both languages and every config field a label and a
  "already so" sentence, so a rationale or refusal never falls back to another language.
- Values are shown as the owner would say them (`2 hours`, `简洁`), never as raw JSON.
"""

from __future__ import annotations

from typing import Any, Literal

from backend.config.quantities import humanize_days, humanize_seconds

Lang = Literal["en", "zh"]

SUMMARIES: dict[str, tuple[str, str]] = {
    "reply.shorter": ("make replies shorter", "回复更简短"),
    "reply.longer": ("make replies more detailed", "回复更详细"),
    "reply.concise": ("keep replies concise", "回复简洁"),
    "reply.normal_length": ("keep replies at a normal length", "回复长度适中"),
    "reply.detailed": ("give detailed replies", "回复详细"),
    "reply.formal": ("use a formal tone", "语气正式"),
    "reply.casual": ("use a casual tone", "语气随意"),
    "reply.friendly": ("use a friendly tone", "语气友好"),
    "reply.neutral": ("use a neutral tone", "语气中性"),
    "reply.less_formal": ("sound less formal", "语气别那么正式"),
    "reply.less_casual": ("sound less casual", "语气别那么随意"),
    "reply.chinese": ("reply in Chinese", "用中文回复"),
    "reply.english": ("reply in English", "用英文回复"),
    "reply.match_language": ("reply in the language you write in", "用你说的语言回复"),
    "reply.not_language": ("not reply in {value}", "不用{value}回复"),
    "reply.bullets": ("use bullet points", "用要点列表"),
    "reply.plain": ("use plain text", "用纯文本"),
    "reply.markdown": ("use Markdown", "用 Markdown"),
    "reply.no_bullets": ("stop using bullet points", "不用要点列表"),
    "reply.no_markdown": ("stop using Markdown", "不用 Markdown"),
    "tools.disable": ("stop using {tools}", "不再使用 {tools}"),
    "tools.enable": ("use {tools} again", "重新使用 {tools}"),
    "tools.ask_first": ("always ask before using {tools}", "使用 {tools} 前先问你"),
    "approvals.ask_every_tool": ("ask the owner before using any tool", "使用任何工具前都先问你"),
    "approvals.stop_asking_every_tool": (
        "stop asking before every tool",
        "不再在每次使用工具前问你",
    ),
    "tools.stop_asking": ("stop asking before using {tools}", "使用 {tools} 前不再问你"),
    "tools.max_steps": ("allow at most {value} tool steps", "工具最多 {value} 步"),
    "memory.off": ("stop remembering things", "不再记住你的事"),
    "memory.on": ("remember things again", "重新开始记住你的事"),
    "memory.stricter": ("only remember what Steward is surer of", "只记更有把握的事"),
    "memory.looser": ("remember things more readily", "更愿意记住事情"),
    "memory.threshold": ("set the memory threshold to {value}", "记忆阈值设为 {value}"),
    "memory.top_k": ("recall at most {value} memories", "最多参考 {value} 条记忆"),
    "routing.cloud_allow": ("allow the cloud fallback", "允许云端回退"),
    "routing.cloud_forbid": ("never use the cloud fallback", "不使用云端模型"),
    "routing.model": ("use the model {value}", "使用模型 {value}"),
    "approvals.ttl": ("let approvals expire after {value}", "审批 {value} 后过期"),
    "approvals.member_write_allow": (
        "let members write notes without asking",
        "成员写笔记无需审批",
    ),
    "approvals.member_write_ask": ("make members ask before writing notes", "成员写笔记要先审批"),
    "members.tools_allow": ("let members use tools", "成员可以使用工具"),
    "members.tools_forbid": ("stop members from using tools", "成员不能使用工具"),
    "members.see_tools": ("let members see the tools", "成员可以看到工具"),
    "members.hide_tools": ("hide the tools from members", "对成员隐藏工具"),
    "auth.token_ttl": ("make sign-in tokens expire after {value}", "登录令牌 {value} 后过期"),
    "auth.token_no_expiry": ("make sign-in tokens never expire", "登录令牌永不过期"),
}  # fmt: skip

LABELS: dict[str, tuple[str, str]] = {
    "/reply/verbosity": ("reply length", "回复长度"),
    "/reply/tone": ("tone", "语气"),
    "/reply/language": ("reply language", "回复语言"),
    "/reply/format": ("reply format", "回复格式"),
    "/memory/enabled": ("memory", "记忆"),
    "/memory/confidence_threshold": ("memory threshold", "记忆阈值"),
    "/memory/top_k": ("memories recalled", "参考的记忆条数"),
    "/tools/disabled": ("turned-off tools", "停用的工具"),
    "/tools/always_ask": ("tools that ask first", "需先询问的工具"),
    "/tools/max_steps": ("max tool steps", "工具步数上限"),
    "/routing/model": ("model", "模型"),
    "/routing/cloud_fallback": ("cloud fallback", "云端回退"),
    "/approvals/ttl_seconds": ("approval expiry", "审批有效期"),
    "/approvals/member_local_write": ("members writing notes", "成员写笔记"),
    "/approvals/ask_before_every_tool": ("asking before every tool", "每次用工具前询问"),
    "/members/can_use_tools": ("members using tools", "成员使用工具"),
    "/members/can_see_tools": ("members seeing tools", "成员查看工具"),
    "/auth/token_ttl_days": ("token lifetime", "令牌有效期"),
}

_VALUES: dict[str, tuple[str, str]] = {
    "concise": ("concise", "简洁"),
    "normal": ("normal", "适中"),
    "detailed": ("detailed", "详细"),
    "neutral": ("neutral", "中性"),
    "formal": ("formal", "正式"),
    "casual": ("casual", "随意"),
    "friendly": ("friendly", "友好"),
    "auto": ("your language", "跟随你的语言"),
    "zh": ("Chinese", "中文"),
    "en": ("English", "英文"),
    "plain": ("plain text", "纯文本"),
    "bullets": ("bullet points", "要点列表"),
    "markdown": ("Markdown", "Markdown"),
    "ask": ("ask first", "需审批"),
    "allow": ("no approval needed", "无需审批"),
}

# "Nothing to change" sentences for whole fields, with the current value shown.
_ALREADY: dict[str, tuple[str, str]] = {
    "/reply/verbosity": ("Replies are already {value}.", "回复已经是“{value}”了。"),
    "/reply/tone": ("The tone is already {value}.", "语气已经是“{value}”了。"),
    "/reply/language": ("Replies are already in {value}.", "回复语言已经是“{value}”了。"),
    "/reply/format": ("Replies already use {value}.", "回复格式已经是“{value}”了。"),
    "/approvals/member_local_write": (
        "Members' note writes are already set to “{value}”.",
        "成员写笔记已经是“{value}”了。",
    ),
    "/auth/token_ttl_days": (
        "Token lifetime is already “{value}”.",
        "令牌有效期已经是“{value}”了。",
    ),
    "/routing/model": ("The model is already {value}.", "模型已经是 {value} 了。"),
}
_ALREADY_ITEM: dict[tuple[str, str], tuple[str, str]] = {
    ("/tools/disabled", "add"): ("{value} is already turned off.", "{value} 已经停用了。"),
    ("/tools/disabled", "remove"): ("{value} is not turned off.", "{value} 本来就没有停用。"),
    ("/tools/always_ask", "add"): (
        "Steward already asks before using {value}.",
        "使用 {value} 前已经会先问你了。",
    ),
    ("/tools/always_ask", "remove"): (
        "Steward doesn't ask before using {value} anyway.",
        "使用 {value} 前本来就不会问你。",
    ),
}

REASONS: dict[str, tuple[str, str]] = {
    "unrecognised": (
        "I couldn't turn {text} into a setting, and I won't guess.",
        "我没法把{text}对应到某项设置，也不会去猜。",
    ),
    "nothing": ("That doesn't ask for a setting I know.", "这句话没有提到我能调整的设置。"),
    "too_long": (
        "That is too long for one preference; say one or two changes at a time.",
        "这句话太长了，请一次说一两项改动。",
    ),
    "unknown_tool": (
        "I don't know a tool called “{name}”. Known tools: {known}.",
        "我不知道叫“{name}”的工具。已有的工具：{known}。",
    ),
    "range": (
        "{what} must be between {low} and {high}; “{got}” is not.",
        "{what}必须在 {low} 到 {high} 之间，“{got}”不行。",
    ),
    "whole_days": (
        "Token lifetimes are whole days (at least one); “{got}” is not.",
        "令牌有效期必须是整天数（至少一天），“{got}”不行。",
    ),
    "not_language": (
        "Say which language you want instead, e.g. “reply in Chinese” or “answer in the "
        "language I write in”.",
        "请说明想用哪种语言，例如“用中文回答”或“跟我说的语言一致”。",
    ),
    "conflict": (
        "“{a}” and “{b}” ask for different {label}; say which one you want.",
        "“{a}”和“{b}”对{label}的要求相反，请说明要哪一个。",
    ),
    "conflict_item": (
        "“{a}” and “{b}” ask for opposite things about {item}; say which one you want.",
        "“{a}”和“{b}”对 {item} 的要求相反，请说明要哪一个。",
    ),
    "invalid": (
        "That would not be a valid configuration ({error}).",
        "这样改会让配置无效（{error}）。",
    ),
    "understood": ("I understood: {items}.", "我听懂了：{items}。"),
}  # fmt: skip

_WHAT: dict[str, tuple[str, str]] = {
    "max_steps": ("The number of tool steps", "工具步数"),
    "top_k": ("The number of memories recalled", "参考的记忆条数"),
    "threshold": ("The memory threshold", "记忆阈值"),
    "approval_ttl": ("Approval expiry", "审批有效期"),
}

EXAMPLES: dict[Lang, list[str]] = {
    "en": [
        "be more concise",
        "a bit more detailed",
        "less formal, and use bullet points",
        "reply in English",
        "don't use web search anymore",
        "always ask before writing notes",
        "only remember things you're very sure about",
        "you can use the cloud when needed",
        "approvals expire after 2 hours",
    ],
    "zh": [
        "回复简洁一点",
        "稍微详细一点",
        "不要那么正式，分点回答",
        "用英文回答",
        "不要再用网络搜索了",
        "写笔记之前先问我",
        "别记我的事",
        "可以用云端模型",
        "审批2小时后过期",
    ],
}


def _pick(pair: tuple[str, str], lang: Lang) -> str:
    return pair[0] if lang == "en" else pair[1]


def label(path: str, lang: Lang) -> str:
    """The owner's name for a config field."""
    return _pick(LABELS[path], lang)


def show(path: str, value: Any, lang: Lang) -> str:
    """A config value as the owner would say it."""
    if isinstance(value, bool):
        return ("on" if value else "off") if lang == "en" else ("开启" if value else "关闭")
    if isinstance(value, list):
        return ", ".join(value) if value else ("none" if lang == "en" else "无")
    if path == "/approvals/ttl_seconds":
        return humanize_seconds(int(value), lang)
    if path == "/auth/token_ttl_days":
        if value is None:
            return "never expires" if lang == "en" else "永不过期"
        return humanize_days(int(value), lang)
    if isinstance(value, str) and value in _VALUES and not path.startswith("/routing"):
        return _pick(_VALUES[value], lang)
    return str(value)


def summary(intent: str, lang: Lang, *, tools: tuple[str, ...] = (), value: str = "") -> str:
    """What an intent asks for, as a verb phrase ("make replies shorter")."""
    names = _and(list(tools)) if lang == "en" else "、".join(tools)
    return _pick(SUMMARIES[intent], lang).format(tools=names, value=value)


def already(path: str, kind: str, value: Any, lang: Lang) -> str:
    """The sentence for a change that is already in place."""
    if (path, kind) in _ALREADY_ITEM:
        return _pick(_ALREADY_ITEM[(path, kind)], lang).format(value=value)
    shown = show(path, value, lang)
    if path in _ALREADY:
        return _pick(_ALREADY[path], lang).format(value=shown)
    name = label(path, lang)
    if lang == "en":
        return f"{name[0].upper()}{name[1:]} is already {shown}."
    return f"{name}已经是“{shown}”了。"


def reason(key: str, lang: Lang, **params: object) -> str:
    """A refusal sentence."""
    if "what" in params and str(params["what"]) in _WHAT:
        params["what"] = _pick(_WHAT[str(params["what"])], lang)
    return _pick(REASONS[key], lang).format(**params)


def rationale(asked: list[str], changes: list[str], notes: list[str], lang: Lang) -> str:
    """One or two sentences: what was asked, what changes, and what already was so."""
    if lang == "en":
        text = f"You asked to {_and(asked)}, so this changes {_and(changes)}."
        return " ".join([text, *notes])
    return f"你希望{'、'.join(asked)}，所以把{'，'.join(changes)}。" + "".join(notes)


def change(path: str, before: Any, after: Any, lang: Lang) -> str:
    """One field's change as a clause ("reply length from normal to concise")."""
    name, old, new = label(path, lang), show(path, before, lang), show(path, after, lang)
    if lang == "en":
        return f"{name} from {old} to {new}"
    return f"{name}从“{old}”改为“{new}”"


def _and(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]

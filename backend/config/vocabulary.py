"""Words the compiler knows apart from its rules: tool aliases and filler words.

Invariants:
- An alias only ever names one tool, and only tools that exist at compile time are matched
  (a tool's own name, with `_` read as a space, always works too).
- Filler words carry no setting on their own. No negation ("not", "don't", "不", "别"),
  intensity ("much", "too", "更", "太") or tool name is ever a filler: a sentence that still
  holds one after its rules matched is refused.
"""

from __future__ import annotations

# fmt: off
TOOL_ALIASES_EN: dict[str, tuple[str, ...]] = {
    "web_search": (
        "web search", "web searches", "web searching", "searching the web", "search the web",
        "searching online", "search online", "searching", "search", "browsing",
        "browse the web", "browsing the web", "internet search", "internet searches",
        "googling", "google", "the internet", "the web", "looking things up online",
        "look things up online",
    ),
    "notes_write": (
        "notes", "note", "note taking", "note-taking", "taking notes", "take notes",
        "writing notes", "write notes", "writing to notes", "saving notes", "save notes",
    ),
    "send_message": (
        "messages", "messaging", "sending messages", "send messages", "message sending",
        "sending message", "send message", "texting",
    ),
    "calculator": ("calculator", "calculators"),
    "get_time": ("time", "clock", "checking the time", "check the time", "time lookup"),
    "http_post": (
        "http post", "http posts", "http posting", "http requests", "posting to the web",
        "posting to websites", "web requests",
    ),
    "memory_query": (
        "memory search", "memory lookup", "searching memory", "searching memories",
        "memory queries", "memory query", "looking up memories",
    ),
    "memory_write": (
        "memory writes", "memory write", "writing memories", "writing to memory",
        "saving to memory",
    ),
}

TOOL_ALIASES_ZH: dict[str, tuple[str, ...]] = {
    "web_search": (
        "网络搜索", "网页搜索", "联网搜索", "网上搜索", "上网搜索", "上网搜", "上网查",
        "网上查", "搜索引擎", "搜网页", "网搜", "搜索",
    ),
    "notes_write": ("写笔记", "记笔记", "做笔记", "笔记"),
    "send_message": ("发消息", "发送消息", "发信息", "发短信", "消息"),
    "calculator": ("计算器",),
    "get_time": ("查时间", "获取时间", "看时间", "时间"),
    "http_post": ("http请求", "网络请求", "http提交", "发http请求"),
    "memory_query": ("查记忆", "记忆查询", "检索记忆", "搜索记忆"),
    "memory_write": ("写记忆", "写入记忆", "存记忆", "保存记忆"),
}

FILLERS_EN: frozenset[str] = frozenset((
    "a", "again", "all", "also", "always", "an", "and", "answer", "answers", "any", "anymore",
    "as", "at", "be", "but", "by", "can", "could", "default", "do", "everyone", "everything",
    "for", "format", "formatting", "forward", "from", "future", "get", "going", "hello", "here",
    "hey", "hi", "i", "i'd", "i'll", "i'm", "in", "it", "it's", "its", "just", "keep", "kindly",
    "let's", "lets", "like", "love", "make", "me", "moment", "must", "my", "need", "next", "now",
    "of", "ok", "okay", "on", "onwards", "our", "please", "pls", "plz", "prefer", "really",
    "replies", "reply", "response", "responses", "same", "setting", "settings", "shall", "should",
    "speak", "speaking", "steward", "still", "style", "talk", "talking", "thank", "thanks", "the",
    "their", "them", "then", "they", "though", "time", "to", "tone", "try", "us", "use", "wanna",
    "want", "we", "well", "when", "while", "will", "with", "would", "you", "your", "yours",
    "yourself",
))

# Removed longest first, so "从现在开始" goes before any shorter filler inside it.
FILLERS_ZH: tuple[str, ...] = tuple(sorted((
    "从现在开始", "从现在起", "从今以后", "从今天起", "可不可以", "接下来", "麻烦你", "我希望",
    "我想要", "的时候", "能不能", "一点儿", "以后", "今后", "之后", "往后", "请你", "麻烦",
    "你的", "希望", "我想", "想要", "我要", "给我", "帮我", "跟我", "对我", "回复", "回答",
    "答复", "说话", "讲话", "时候", "可以", "好的", "好吧", "谢谢", "谢了", "多谢", "还是",
    "一直", "总是", "始终", "保持", "但是", "不过", "而且", "并且", "同时", "然后", "另外",
    "还有", "以及", "语气", "风格", "格式", "一下", "一点", "一些", "内容", "稍后", "所有",
    "全部", "每次", "默认", "设置", "改成", "改为", "换成", "调整", "变得", "请", "你", "您",
    "我", "的", "地", "得", "要", "吗", "吧", "了", "啊", "呀", "哦", "呢", "嘛", "哈", "噢",
    "喔", "好", "行", "嗯", "就", "都", "也", "还", "再", "但", "和", "与", "及", "用", "些",
), key=len, reverse=True))
# fmt: on

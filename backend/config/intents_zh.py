"""Chinese rules for the preference compiler: patterns, tool aliases and filler words.

Invariants:
- Same shape as `intents_en`: `(intent id, pattern)`, at most one `{T}` and one intensity
  group per pattern. Text is matched after spaces next to CJK characters are removed, so
  "用 markdown" and "用markdown" read the same.
- Negation (不/别/不要/不用/没) and intensity (稍微/更/非常/太) are never fillers. A bare
  adjective whose meaning depends on context (随便 "whatever", 短) only counts with a
  comparative (更, 一点, 些) or a tone noun (语气, 口吻) next to it.
- 太X / 有点X about length or tone is a complaint and moves away from X ("太啰嗦了" is
  shorter, "太正式了" is less formal), one step, like 不要那么X.
"""

from __future__ import annotations

MACROS: dict[str, str] = {
    "{ZSLIGHT}": r"(?P<slight>稍微|稍稍|略微|稍|略|一点点)",
    "{ZSTRONG}": r"(?P<strong>非常|特别|极其|极度|超级|十分|尽量|尽可能|务必|很|大大|大幅)",
    "{ZMORE}": r"(?:更加|更|再|还要)",
    "{ZBIT}": r"(?:一点儿|一点|一些|些|点儿|点)",
    "{ZNEG}": r"(?:不要|别|不用|不必|无需|不需要|不那么|没那么)(?:再)?",
    "{ZSO}": r"(?:那么|这么|太|过于|如此)?",
    "{ZTOO}": r"(?:(?P<slight>有点儿|有点|有些|稍微有点)|太|过于|实在太|真的太|太过)",
    "{ZNUM}": r"(?P<num>\d+|[零一二两三四五六七八九十百]+)",
    "{ZFRAC}": r"(?P<num>\d*\.?\d+%?|百分之[零一二两三四五六七八九十百\d]+)",
    "{ZDUR}": (
        r"(?P<num>\d+(?:\.\d+)?|[零一二两三四五六七八九十百]+|半)(?P<unit>个小时|个钟头|"
        r"个星期|个礼拜|个月|小时|钟头|分钟|秒钟|秒|天|日|周|星期|礼拜|月)"
    ),
    "{ZM}": r"(?:家庭成员|其他成员|其他用户|其他人|成员|家人|访客)",
    "{TONE}": r"(?:语气|口吻|风格|语调)",
    "{CLOUD}": r"(?:云端|云上|云)(?:的)?(?:大)?(?:模型|服务|回退|兜底|AI)?",
    "{TOKEN}": r"(?:登录)?(?:令牌|token|访问令牌|登录凭证)",
    "{ZMODEL}": r"(?P<name>[A-Za-z0-9][A-Za-z0-9._:/\-]{0,63})",
}

_SHORT = r"(?:简洁|简短|精简|简练|简明|简单|短|紧凑)"
_LONG = r"(?:详细|具体|详尽|全面|完整|深入|长)"
_VERBOSE = r"(?:啰里啰嗦|啰嗦|罗嗦|啰唆|冗长|长篇大论|拖沓|长|详细|多)"
_BRIEF = r"(?:简略|简短|简单|短|敷衍|简洁|笼统)"
_FORMAL = r"(?:正式|严肃|专业|书面|庄重|礼貌)"
_CASUAL = r"(?:随意|随便|轻松|口语化|随性|放松|活泼|接地气|幽默|非正式)"
_FRIENDLY = r"(?:友好|友善|亲切|热情|温和|温柔|和善|亲和|温暖|暖心|和气)"
_NEUTRAL = r"(?:中性|中立|平实|客观|平和|正常|默认|普通)"
_STIFF = r"(?:正式|拘谨|死板|严肃|官方|刻板|一本正经|生硬|客套|官腔|书面化|书面)"
_LOOSE = r"(?:随意|随便|轻浮|口语化|油腻|嬉皮笑脸|不正经|亲昵)"
_ZH_NAME = r"(?:中文|汉语|普通话|简体中文|国语)"
_EN_NAME = r"(?:英文|英语|english)"
_SAY = r"(?:回答|回复|答复|交流|说话|聊天|跟我说|和我说|写)?"
_SWITCH_TO = r"(?:用|说|讲|使用|改用|换成|切换到|切换成)"
_ASK_ME = (
    r"(?:问我|问一下我|问问我|征求我的?(?:同意|许可|意见)|让我确认|跟我确认|经过我的?同意|"
    r"请示我|得到我的?(?:同意|批准)|我批准|审批)"
)
_NOTE = r"(?:写|记|保存)笔记"


def _tone(intent: str, adjective: str) -> list[tuple[str, str]]:
    return [
        (intent, r"(?:更加|更|再|稍微|稍稍|略微|非常|特别|十分|尽量|很)?" + adjective + "{ZBIT}"),
        (intent, r"(?:更加|更|再)" + adjective),
        (intent, r"(?:用|以|换成|改成|改用|换个|要)?" + adjective + r"(?:一点|一些|点)?的?{TONE}"),
        (intent, r"{TONE}(?:要|改成|换成|改为|变得|再|请)?(?:更加|更)?" + adjective + "{ZBIT}?"),
    ]


def _any(*words: str) -> str:
    """`(?:a|b|c)`: an alternation written as a list, so the table stays readable."""
    return "(?:" + "|".join(words) + ")"


_NEG_WORDS = ("不要", "别", "不准", "不许", "禁止", "停止", "不用", "不能", "不再", "不可以")
_NEG_DO = _any(*_NEG_WORDS)
_USE = _any("用", "使用", "调用")
_SET_WORDS = ("设为", "设成", "设置为", "改成", "改为", "调到", "调成", "调至", "为", "是", "定为")
_SET_TO = _any(*_SET_WORDS)
_EXPIRE_AFTER = _any("后", "之后", "以后") + "?就?"
_LESS_OF = _any("少", "别", "不要") + _any("说", "讲", "写") + "?" + _any("点", "些") + "?"
_ONLY_LOCAL = "只" + _any("用", "使用", "在", "跑") + "?本地" + _any("模型", "运行", "跑") + "?"
_CLOUD_SWITCH = _any("云端回退", "云端模型", "云端", "云回退")
_MEMORY = "(?:你的)?记忆(?:功能)?"
_THINGS = _any("事情?", "东西", "内容", "信息")
_MEMBER_NOTE_OK = (
    _any("不用", "不需要", "无需", "不必")
    + "(?:再)?"
    + _any("审批", "批准", "问我", "确认", "经过我同意")
)
_MEMBER_NOTE_ASK = (
    _any("要", "需要", "必须", "得", "都要")
    + "先?"
    + _any("审批", "批准", "问我", "经过我的?同意", "我批准", "我同意")
)

# fmt: off
RULES: list[tuple[str, str]] = [
    # --- reply length -------------------------------------------------------------------
    ("reply.shorter", "{ZSLIGHT}?{ZMORE}?" + _SHORT + "{ZBIT}"),
    ("reply.shorter", "{ZSLIGHT}?{ZMORE}" + _SHORT),
    ("reply.shorter", "{ZSTRONG}" + _SHORT + "{ZBIT}?"),
    ("reply.shorter", _SHORT + "(?P<strong>很多|得多|许多)"),
    ("reply.shorter", "(?P<strong>越" + _any("简洁", "简短", "短", "精简") + "越好)"),
    ("reply.shorter", "{ZNEG}" + _any("说", "讲", "写") + "?{ZSO}" + _VERBOSE),
    ("reply.shorter", "{ZTOO}" + _VERBOSE + "了?"),
    ("reply.shorter", _LESS_OF + "废话|(?:直接)?(?:说|讲)重点"),
    ("reply.shorter", _any("字数", "篇幅", "话", "内容") + "(?:少|短){ZBIT}?"),
    ("reply.shorter", "少(?:说|写){ZBIT}"),
    ("reply.longer", "{ZSLIGHT}?{ZMORE}?" + _LONG + "{ZBIT}"),
    ("reply.longer", "{ZSLIGHT}?{ZMORE}" + _LONG),
    ("reply.longer", "{ZSTRONG}" + _LONG + "{ZBIT}?"),
    ("reply.longer", _LONG + "(?P<strong>很多|得多|许多)"),
    ("reply.longer", "(?P<strong>越" + _any("详细", "具体", "详尽", "全面") + "越好)"),
    ("reply.longer", "{ZNEG}{ZSO}" + _BRIEF),
    ("reply.longer", "{ZTOO}" + _BRIEF + "了?"),
    ("reply.longer", "多" + _any("说", "写", "讲", "解释") + "{ZBIT}?"),
    ("reply.longer", "展开" + _any("说说", "讲讲", "讲", "说", "解释") + "?"),
    ("reply.longer", "(?:不够|没有?)" + _any("详细", "具体", "深入")),
    ("reply.concise", _any("简洁", "简短", "简明扼要", "言简意赅", "简明", "精简")),
    ("reply.detailed", _any("详细", "详尽", "详实")),
    ("reply.normal_length", _any("正常", "普通", "默认", "适中", "中等", "一般") + "的?" +
     _any("长度", "篇幅", "详细程度")),
    ("reply.normal_length", _any("长度", "篇幅", "长短") + "适中|不长不短"),
    ("reply.normal_length", "恢复(?:正常|默认)的?(?:长度|篇幅)"),
    # --- tone ---------------------------------------------------------------------------
    *_tone("reply.formal", _FORMAL),
    *_tone("reply.casual", _CASUAL),
    *_tone("reply.friendly", _FRIENDLY),
    ("reply.neutral", _any("用", "以", "换成", "改成", "改用", "恢复", "恢复成", "改回") + "?" +
     _NEUTRAL + "的?{TONE}"),
    ("reply.neutral", "{TONE}" + _any("要", "恢复", "改回", "改成", "换成", "改为", "变成") + "?"
     + _NEUTRAL),
    ("reply.less_formal", "{ZNEG}{ZSO}" + _STIFF),
    ("reply.less_formal", "{ZTOO}" + _STIFF + "了?"),
    ("reply.less_casual", "{ZNEG}{ZSO}" + _LOOSE),
    ("reply.less_casual", "{ZTOO}" + _LOOSE + "了?"),
    # --- language -----------------------------------------------------------------------
    ("reply.chinese", _SWITCH_TO + _ZH_NAME + _SAY),
    ("reply.chinese", _ZH_NAME + _any("回答", "回复", "答复", "交流")),
    ("reply.english", _SWITCH_TO + _EN_NAME + _SAY),
    ("reply.english", _EN_NAME + _any("回答", "回复", "答复", "交流")),
    ("reply.match_language", _any("跟", "和", "与", "按照?", "根据", "随着", "跟随", "看") + "我"
     + _any("说话", "说", "用", "使用", "写", "提问", "发消息") + "?的语言" + _any("保持一致",
     "一致", "相同", "一样", "来", "回答", "回复") + "?"),
    ("reply.match_language", "我(?:用|说|写)什么语言(?:你)?就(?:用|说|回)什么(?:语言)?"),
    ("reply.match_language", "(?:自动|自己)" + _any("选择", "判断", "识别", "切换", "匹配") +
     "(?:回复)?语言"),
    ("reply.match_language", "语言(?:跟随|跟着|随)我|(?:用|说)我(?:说|用|写)的(?:那种)?语言"),
    ("reply.match_language", "(?:回复)?语言" + _any("设为", "改成", "改为", "设置为") + "?自动"),
    ("reply.not_language", _any("不要", "别", "不用", "不许", "不准") + "(?:再)?" + _any("用",
     "说", "讲", "使用") + "(?P<name>英文|英语|中文|汉语|english)(?:回答|回复)?"),
    # --- format -------------------------------------------------------------------------
    ("reply.bullets", _any("用", "使用", "以", "改成", "换成", "改用") + "?" + _any("要点",
     "列表", "条目", "项目符号", "清单") + "的?" + _any("形式", "格式", "方式") + "?(?:来)?" +
     _any("回答", "回复", "列出", "写", "呈现") + "?"),
    ("reply.bullets", "分(?:点|条)" + _any("回答", "回复", "列出", "说", "写", "作答") + "?"),
    ("reply.bullets", "列(?:出)?(?:要点|清单)|一条一条地?(?:列出来|写|说)"),
    ("reply.plain", _any("用", "使用", "改成", "换成", "改用") + "?纯文(?:本|字)的?(?:格式|形式)?"),
    ("reply.plain", _any("用", "写成", "改成") + "?" + _any("整段", "段落", "大段") +
     "的?(?:形式|文字)?"),
    ("reply.plain", _any("不要", "别", "不用", "去掉") + "(?:任何|花哨的)?(?:格式|排版)"),
    ("reply.markdown", _any("用", "使用", "改成", "换成", "改用", "以") + "?markdown的?" +
     _any("格式", "排版", "形式") + "?"),
    ("reply.markdown", "(?:用|加上?)(?:标题|小标题)(?:和列表)?"),
    ("reply.no_bullets", _any("不要", "别", "不用", "去掉", "不许") + "(?:再)?(?:用|使用)?" +
     _any("列表", "分点", "要点", "项目符号", "条目", "清单", "分条")),
    ("reply.no_markdown", _any("不要", "别", "不用", "去掉", "不许") + "(?:再)?(?:用|使用)?" +
     "markdown(?:格式|排版)?"),
    # --- memory -------------------------------------------------------------------------
    ("memory.off", _any("别", "不要", "不用", "停止", "不许", "不准") + "(?:再)?" + _any("记住?",
     "记录", "记忆", "存", "保存") + _any("我的?事情?", "任何东西", "任何事", "东西", "我说的话?",
     "关于我的" + _THINGS + "?", "我的(?:信息|资料)", "这些") + "?"),
    ("memory.off", _any("关闭", "关掉", "停用", "禁用", "暂停", "关了") + _MEMORY),
    ("memory.off", "把" + _MEMORY + _any("关掉", "关闭", "关了", "停用")),
    ("memory.on", _any("开启", "打开", "恢复", "启用", "重新开启", "重新打开") + _MEMORY),
    ("memory.on", "把" + _MEMORY + _any("打开", "开启", "恢复", "开了")),
    ("memory.on", _any("可以", "重新", "继续", "开始") + _any("记住?", "记录") +
     _any("我的?事情?", "东西", "事情", "我说的话") + "?"),
    ("memory.on", "记住我的?事情?"),
    ("memory.stricter", "只" + _any("记住?", "记录", "保存") + "(?:你)?" +
     "(?:(?P<strong>很|非常|十分|百分之百|百分百|特别|完全)|比较)?" + _any("确定", "肯定",
     "有把握", "确信") + "的" + _THINGS + "?"),
    ("memory.stricter", _any("提高", "调高", "提升", "加大") + "(?:记忆)?的?(?:置信度)?阈值"),
    ("memory.stricter", "记(?:忆|东西)要?(?:(?P<strong>非常|十分|特别)|更)?" + _any("谨慎",
     "严格", "挑剔", "保守") + "{ZBIT}?"),
    ("memory.stricter", "少记{ZBIT}?(?:东西|事情)?"),
    ("memory.looser", _any("降低", "调低", "放宽", "减小") + "(?:记忆)?的?(?:置信度)?阈值"),
    ("memory.looser", "多记{ZBIT}?(?:东西|事情)?"),
    ("memory.looser", "记(?:忆|东西)(?:可以)?更?" + _any("宽松", "放松", "随意") + "{ZBIT}?"),
    ("memory.threshold", "把?" + _any("提高", "调高", "降低", "调低", "设置") + "?" + _any("记忆",
     "置信度", "记忆置信度") + "?的?(?:阈值|门槛)" + _any("提高到", "降低到", "降到", "提到",
     "到", "至", *_SET_WORDS) + "?{ZFRAC}"),
    ("memory.top_k", _any("最多", "至多", "只") + "?" + _any("回忆", "召回", "参考", "用", "使用",
     "检索", "调取", "查") + _any("最多", "至多") + "?{ZNUM}条(?:相关)?记忆"),
    ("memory.top_k", "记忆" + _any("条数", "数量", "召回数", "top_?k") + _any(*_SET_WORDS,
     "限制在", "限制为") + "?{ZNUM}条?"),
    # --- tools --------------------------------------------------------------------------
    ("tools.disable", _NEG_DO + "(?:再)?(?:去)?" + _USE + "?{T}"),
    ("tools.disable", _any("停用", "禁用", "关掉", "关闭", "关了", "屏蔽") + "(?:掉)?{T}"),
    ("tools.disable", "把{T}" + _any("停用", "禁用", "关掉", "关闭", "关了", "屏蔽") + "掉?"),
    ("tools.disable", "{T}" + _any("就", "也", "以后", "先") + "?" + _any("不要", "别", "不准",
     "不许", "不用", "不能") + "(?:再)?" + _USE),
    ("tools.enable", _any("重新", "再次", "恢复", "继续") + _any("启用", "使用", "用", "开启",
     "打开", "调用") + "?{T}"),
    ("tools.enable", _any("启用", "开启", "打开", "解禁") + "(?:使用)?{T}"),
    ("tools.enable", _any("可以", "能", "允许") + "(?:再|重新)?" + _USE + "{T}了?"),
    ("tools.enable", "把{T}" + _any("打开", "开启", "恢复", "启用", "重新打开")),
    ("tools.enable", "再?" + _USE + "{T}"),
    ("approvals.ask_every_tool", "(?:每次)?" + _USE + "?" + _any("任何", "所有", "每个",
     "每一个") + "工具" + _any("之前", "以前", "前") + _any("都", "要", "必须", "得", "请")
     + "?先?" + _ASK_ME),
    ("approvals.stop_asking_every_tool", _USE + "?" + _any("任何", "所有") + "工具" + _any("之前",
     "前") + "?" + _any("不用", "不需要", "不必") + "(?:再)?问我了?"),
    ("tools.ask_first", "(?:每次|在)?" + _USE + "?{T}" + _any("之前", "以前", "前") + _any("都",
     "要", "必须", "得", "请", "一定要") + "?先?" + _ASK_ME),
    ("tools.ask_first", "(?:每次)?" + _USE + "{T}" + _any("都", "要", "必须", "得") + "先?" +
     _ASK_ME),
    ("tools.ask_first", "{T}" + _any("都", "要", "必须", "得", "需要") + "先?" + _ASK_ME),
    ("tools.ask_first", "先问我" + _any("再", "才能", "才可以", "然后再") + _USE + "?{T}"),
    ("tools.stop_asking", _USE + "?{T}" + _any("之前", "以前", "前", "时", "的时候") + "?就?" +
     _any("不用", "不需要", "不必", "无需", "别", "不要") + "(?:再)?" + _any("问我",
     "征求我的?同意", "让我确认", "跟我确认", "确认", "审批") + "了?"),
    ("tools.stop_asking", _any("不用", "不需要", "不必", "无需", "别", "不要") + "(?:再)?" +
     "(?:问我|确认)(?:就|直接)?(?:可以)?" + _USE + "{T}"),
    ("tools.max_steps", "(?:工具)?" + _any("最多", "至多", "不超过", "上限", "最多只") +
     _any("用", "调用", "走", "执行", "使用") + "?{ZNUM}" + _any("步", "次工具调用", "次工具",
     "次调用")),
    ("tools.max_steps", "工具(?:最多|至多)只?" + _USE + "?{ZNUM}次"),
    ("tools.max_steps", "(?:工具)?(?:调用)?步数(?:上限)?" + _any(*_SET_WORDS, "限制在",
     "限制为") + "?{ZNUM}步?"),
    # --- routing ------------------------------------------------------------------------
    ("routing.cloud_forbid", _any("永远不要", "绝对不要", "千万别", "决不", *_NEG_WORDS) +
     "(?:再)?" + _any("用", "使用", "调用", "走", "上", "回退到", "切到") + "?{CLOUD}"),
    ("routing.cloud_forbid", _any("关闭", "关掉", "禁用", "停用") + _CLOUD_SWITCH),
    ("routing.cloud_forbid", _ONLY_LOCAL + "|数据不要?(?:出|离开)(?:本机|本地)"),
    ("routing.cloud_forbid", "(?:所有|一切)?都?在本地(?:运行|处理|跑)"),
    ("routing.cloud_allow", _any("可以", "能", "允许", "准许") + _any("用", "使用", "调用",
     "回退到", "切到") + "?{CLOUD}"),
    ("routing.cloud_allow", _any("开启", "打开", "启用") + _CLOUD_SWITCH),
    ("routing.cloud_allow", "(?:本地|本地模型)" + _any("不行", "搞不定", "不够用", "处理不了") +
     "(?:的话|时)?就?" + _any("用", "使用", "切到", "回退到") + "{CLOUD}"),
    ("routing.cloud_allow", "(?:用|使用){CLOUD}(?:也行|也可以|没关系)?"),
    ("routing.model", _any("用", "使用", "换成", "换用", "切换到", "切换成", "改用", "换") +
     "(?:模型)?{ZMODEL}模型"),
    ("routing.model", _any("用", "使用", "换成", "换用", "切换到", "改用") + "模型{ZMODEL}"),
    ("routing.model", "模型" + _any("换成", "改成", "改为", "设为", "设成", "切换到", "切换成",
     "用", "使用") + "{ZMODEL}"),
    ("routing.model", _any("用", "使用", "换回", "恢复", "改回", "切回") + "(?P<name>默认)模型"),
    # --- approvals ----------------------------------------------------------------------
    ("approvals.ttl", "审批(?:请求)?在?{ZDUR}" + _EXPIRE_AFTER + _any("过期", "失效", "作废",
     "超时")),
    ("approvals.ttl", "审批(?:请求)?的?" + _any("有效期", "过期时间", "时限", "期限", "超时时间")
     + _SET_TO + "?{ZDUR}"),
    ("approvals.member_write_allow", "(?:允许|让)?{ZM}(?:可以)?(?:直接|随便|自由)?" + _NOTE +
     "时?" + _MEMBER_NOTE_OK),
    ("approvals.member_write_allow", "(?:允许|让){ZM}(?:直接|自己|自由)" + _NOTE),
    ("approvals.member_write_allow", "{ZM}(?:可以)?直接" + _NOTE),
    ("approvals.member_write_ask", "{ZM}" + _NOTE + "(?:前|之前|时)?" + _MEMBER_NOTE_ASK),
    ("approvals.member_write_ask", "{ZM}" + _any("要", "需要", "必须", "得") + "先?(?:经过)?" +
     _any("审批", "批准", "我同意") + _any("才能", "才可以", "再") + _NOTE),
    ("approvals.member_write_ask", _any("不要", "别", "不许") + "让{ZM}(?:直接|随便)" + _NOTE),
    # --- members ------------------------------------------------------------------------
    ("members.tools_allow", "(?:允许|让){ZM}(?:可以)?(?:用|使用)工具"),
    ("members.tools_allow", "{ZM}" + _any("可以", "能", "能够", "也能", "也可以") +
     "(?:用|使用)工具"),
    ("members.tools_forbid", _any("不允许", "不让", "禁止", "别让", "不要让", "不准", "不许") +
     "{ZM}(?:用|使用)(?:任何)?工具"),
    ("members.tools_forbid", "{ZM}" + _any("不能", "不可以", "不准", "不许", "禁止", "不得") +
     "(?:用|使用)(?:任何)?工具"),
    ("members.see_tools", "(?:让|允许){ZM}(?:可以|能)?看(?:到|见)工具"),
    ("members.see_tools", "{ZM}(?:可以|能|也能)看(?:到|见)工具"),
    ("members.see_tools", "(?:向|对|给){ZM}(?:显示|展示|公开)工具"),
    ("members.hide_tools", "(?:对|向|给){ZM}隐藏工具|把工具(?:对|向){ZM}隐藏(?:起来)?"),
    ("members.hide_tools", _any("不要", "别", "不", "不许") + "(?:让|给){ZM}看(?:到|见)?工具"),
    ("members.hide_tools", "{ZM}" + _any("看不到", "看不见", "不能看到?", "不可以看") + "工具"),
    ("members.hide_tools", "(?:不要|别)(?:向|对|给){ZM}(?:显示|展示)工具"),
    # --- auth ---------------------------------------------------------------------------
    ("auth.token_ttl", "{TOKEN}在?{ZDUR}" + _EXPIRE_AFTER + "(?:过期|失效)"),
    ("auth.token_ttl", "{TOKEN}的?" + _any("有效期", "过期时间", "寿命", "期限") + _SET_TO +
     "?{ZDUR}"),
    ("auth.token_no_expiry", "{TOKEN}" + _any("永不", "永远不", "永远都不", "不要", "不会", "别",
     "不") + "(?:过期|失效)"),
    ("auth.token_no_expiry", "{TOKEN}" + _any("不设", "没有", "取消") + "(?:过期时间|有效期)"),
]
# fmt: on


_VERB = r"(?:不要|别|停用|禁用|关掉|关闭|停止|不准|不许)(?:再)?(?:用|使用|调用)?"
_REVIVE = r"(?:启用|重新启用|打开|开启|恢复)(?:使用)?"
_ASCII_NAME, _CJK_NAME = r"(?P<name>[A-Za-z][\w.\-]*)", r"(?P<name>[\u4e00-\u9fff]{1,8}?)"
UNKNOWN_TOOL: list[tuple[str, str]] = [
    ("tools.disable", _VERB + _ASCII_NAME),
    ("tools.disable", _VERB + _CJK_NAME + "(?:工具|插件)"),
    ("tools.enable", _REVIVE + _ASCII_NAME),
    ("tools.enable", _REVIVE + _CJK_NAME + "工具"),
    (
        "tools.ask_first",
        "(?:用|使用|调用)?" + _ASCII_NAME + "(?:工具)?(?:之前|前)(?:都|要)?先?问我",
    ),
]

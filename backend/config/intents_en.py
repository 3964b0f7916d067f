"""English rules for the preference compiler: patterns, tool aliases and filler words.

Invariants:
- Each rule is `(intent id, pattern)`; a pattern holds at most one `{T}` (the tools it names)
  and at most one intensity macro, so its named groups are unique.
- Matching is case-insensitive on whole words; negation words ("don't", "not", "never",
  "stop", "no") and intensity words ("much", "a bit", "too") are never fillers, so a rule
  must consume them or the sentence is refused.
- Negation is part of a rule, never a flag: "don't be so verbose" is its own rule for
  `reply.shorter`, "don't be brief" one for `reply.longer`.
"""

from __future__ import annotations

_NUMBER_WORDS = (
    "zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    "fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|ninety"
)

MACROS: dict[str, str] = {
    "{INT}": (
        r"(?:(?:(?P<slight>a (?:little |tiny |wee )?bit|a little|a touch|a tad|slightly|"
        r"somewhat|marginally)|(?P<strong>much|way|a lot|far|lots|significantly|considerably|"
        r"drastically|dramatically|a great deal)|even) )?"
    ),
    "{TOO}": (
        r"(?:(?P<strong>way|much|far|really|massively) |(?P<slight>a (?:little |tiny )?bit|"
        r"a little|slightly|somewhat|kind of|kinda) )?too "
    ),
    "{NEG}": (
        r"(?:(?:don'?t|do not|never|no need to|you (?:don'?t|do not) (?:need|have) to) "
        r"(?:be )?|(?:stop|quit) (?:being )?|not )"
    ),
    "{SO}": r"(?:(?:so|that|too|as|overly|this|such) )?",
    "{SUBJ}": (
        r"(?:(?:you(?:'re| are)|(?:your )?(?:replies|answers|responses)(?: are)?|"
        r"(?:it|that|this)(?:'s| is| was)) )?"
    ),
    "{SPEAK}": (
        r"(?:reply|respond|answer|talk|speak|write|chat|communicate)(?: to me| back| with me)?"
        r"(?: only| always)?"
    ),
    "{MEMBERS}": (
        r"(?:(?:the |family |other |household )?(?:members|users|guests)|non-owners|"
        r"everyone else)"
    ),
    "{NUM}": rf"(?P<num>\d+|{_NUMBER_WORDS})",
    "{FRAC}": r"(?P<num>\d*\.?\d+ ?(?:%|percent)?)",
    "{DUR}": (
        rf"(?P<num>\d+(?:\.\d+)?|an?|half an?|{_NUMBER_WORDS}) ?(?P<unit>seconds?|secs?|"
        r"minutes?|mins?|hours?|hrs?|h|days?|d|weeks?|wks?|months?)"
    ),
    "{MODEL}": (
        r"(?P<name>(?!(?:local|cloud|same|other|best|better|faster|smarter|smaller|bigger|"
        r"larger|new|old|that|this|another|different|a|an|the|one|my|your)(?![\w.\-]))"
        r"[A-Za-z0-9][A-Za-z0-9._:/\-]{0,63})"
    ),
}

_SHORT = r"(?:verbose|wordy|long[- ]winded|long|detailed|lengthy|rambling)"
_BRIEF = r"(?:brief|short|terse|curt|concise|succinct|sparse|thin|shallow)"
_FORMAL = r"(?:formal|stiff|uptight|stuffy|corporate|robotic|professional|serious)"
_CASUAL = r"(?:casual|informal|chatty|familiar|jokey|flippant|friendly|cute)"
_BULLETS = r"(?:bullet(?:ed)?[- ]?points?|bullets|bullet(?:ed)? lists?|lists)"
_USE_OR_ASK = r"(?:you )?(?:use |using |call |calling |run |running )?"
_NOTES = r"(?:write|writing|save|saving|take|taking|make|making) (?:local )?(?:notes|files)"
_CLOUD = r"(?:the |a )?cloud(?: models?| fallback| services?| apis?| providers?| llms?)?"
_SIGN_IN = r"(?:(?:login|auth|access|api|session|sign-?in) )?tokens?"

# fmt: off
RULES: list[tuple[str, str]] = [
    # --- reply length -------------------------------------------------------------------
    ("reply.shorter", r"{INT}(?:shorter|briefer|terser|more (?:concise|brief|succinct|terse|"
     r"compact|to the point)|less (?:wordy|verbose|long[- ]winded|detailed|lengthy|long|"
     r"rambling)|(?:with )?(?:less|fewer) (?:detail|details|words|text))"),
    ("reply.shorter", r"{SUBJ}{TOO}" + _SHORT),
    ("reply.shorter", r"you (?:talk|write|say|ramble) (?:way |far )?too much|too much "
     r"(?:detail|text|information|info)"),
    ("reply.shorter", r"{NEG}{SO}" + _SHORT),
    ("reply.shorter", r"(?:don'?t|do not|never) (?:write|give me|send(?: me)?) (?:such |so )?"
     r"(?:long|lengthy|wordy) (?:replies|answers|responses|messages|essays|paragraphs)"),
    ("reply.shorter", r"(?:don'?t|do not|never|stop|quit) (?:ramble|rambling|waffle|waffling|"
     r"padding)|(?:get|cut) (?:straight )?to the (?:point|chase)|(?:less|no|cut the) fluff"),
    ("reply.longer", r"{INT}(?:longer|more (?:detailed|thorough|in[- ]depth|elaborate|"
     r"comprehensive|complete|verbose|expansive)|(?:with )?more (?:detail|details|depth|"
     r"explanation|context))"),
    ("reply.longer", r"(?:go into|give(?: me)?|add|include|provide|offer) {INT}more (?:detail|"
     r"details|depth|context|explanation|examples)"),
    ("reply.longer", r"(?:elaborate|explain(?: things)?|expand|go deeper) {INT}more|elaborate"),
    ("reply.longer", r"{SUBJ}{TOO}" + _BRIEF),
    ("reply.longer", r"not (?:enough detail|detailed enough|long enough|thorough enough)|"
     r"(?:too little|not much) detail"),
    ("reply.longer", r"{NEG}{SO}" + _BRIEF),
    ("reply.concise", r"(?:(?:very|super|really|extremely) )?(?:concise|brief|short|terse|"
     r"succinct|to the point|short and sweet)(?: (?:replies|answers|responses|messages))?"),
    ("reply.detailed",
     r"(?:(?:very|really|super|extremely) )?(?:(?:detailed|thorough|in[- ]depth|"
     r"comprehensive|in (?:full |great )?detail|at length|exhaustive)(?: (?:replies|answers|"
     r"responses|explanations))?|long (?:replies|answers|responses|explanations))"),
    ("reply.normal_length", r"(?:normal|medium|moderate|regular|default|standard|average|"
     r"balanced|usual)[- ]?(?:length|sized?|verbosity|amount of detail|level of detail)|"
     r"not too (?:long|short),? (?:(?:n?or|and|but) )?(?:not )?too (?:short|long)|"
     r"back to (?:normal|the default|the usual) length"),
    # --- tone ---------------------------------------------------------------------------
    ("reply.formal", r"{INT}(?:more )?(?:formal|professional|businesslike|polished)(?: tone|"
     r" register| language| style| voice)?|formally|professionally|more serious|in a "
     r"(?:formal|professional) (?:tone|way|manner|register|style)"),
    ("reply.casual", r"{INT}(?:more )?(?:casual|informal|relaxed|laid[- ]back|chill|"
     r"conversational|easygoing|easy-going)(?: tone| style| language| voice)?|casually|"
     r"loosen up|in a (?:casual|relaxed|informal) (?:tone|way|manner|style)"),
    ("reply.friendly", r"{INT}(?:more (?:friendly|warm|kind|nice|cheerful|approachable|"
     r"personable)|friendly|friendlier|warmer|kinder|nicer)(?: tone| voice)?|warmly|"
     r"(?:in )?a (?:friendly|warm|kind|cheerful|nice) (?:tone|way|manner|voice)|like a friend"),
    ("reply.neutral", r"(?:(?:a|an|in a|in an) )?(?:neutral|normal|default|standard|regular|"
     r"plain|even|balanced|matter-of-fact) (?:tone|voice|register)|neutral|"
     r"matter[- ]of[- ]fact|back to (?:a |the )?(?:normal|default|neutral) tone"),
    ("reply.less_formal", r"{INT}less " + _FORMAL),
    ("reply.less_formal", r"{NEG}{SO}" + _FORMAL),
    ("reply.less_formal", r"{SUBJ}{TOO}" + _FORMAL),
    ("reply.less_casual", r"{INT}less " + _CASUAL),
    ("reply.less_casual", r"{NEG}{SO}" + _CASUAL),
    ("reply.less_casual", r"{SUBJ}{TOO}" + _CASUAL),
    # --- language -----------------------------------------------------------------------
    ("reply.english", r"(?:{SPEAK} )?in english|(?:use|switch (?:back )?to|speak|prefer) "
     r"english|english (?:only|replies|answers)"),
    ("reply.chinese", r"(?:{SPEAK} )?in (?:simplified )?(?:chinese|mandarin)|(?:use|switch "
     r"(?:back )?to|speak|prefer) (?:chinese|mandarin)|(?:chinese|mandarin) (?:only|replies|"
     r"answers)"),
    ("reply.match_language", r"(?:{SPEAK} )?in (?:the (?:same )?language (?:that )?i "
     r"(?:write|speak|use|type|ask)(?: in)?|(?:whatever|whichever|the) language i (?:use|"
     r"write in|speak|type in|ask in)|the same language(?: as (?:me|my messages?|i do|i use|"
     r"the question))?|my language)"),
    ("reply.match_language", r"(?:match|mirror|follow|use) (?:my|the user'?s) language|"
     r"auto(?:matically)? (?:pick|choose|detect|match) (?:the )?language|(?:set )?(?:the )?"
     r"language to auto"),
    ("reply.not_language", r"(?:don'?t|do not|never|stop|no) (?:(?:reply|respond|answer|talk|"
     r"speak|write)(?:ing)? (?:to me )?)?(?:in |using |use )?(?P<name>english|chinese|"
     r"mandarin)"),
    # --- format -------------------------------------------------------------------------
    ("reply.bullets", r"(?:(?:use|with|in|as|into) )?(?:bullet(?:ed)?[- ]?points?|bullets|"
     r"bullet(?:ed)? lists?|a (?:bulleted |short )?list|lists|point form)"),
    ("reply.plain", r"plain(?: text)?|(?:without|no) (?:any |special )?formatting|(?:just |"
     r"only )?(?:plain )?prose|in (?:full )?paragraphs|unformatted"),
    ("reply.markdown", r"(?:(?:use|with|in|as) )?markdown(?: formatting| format)?|with "
     r"(?:headings|headers)(?: and (?:lists|bullets))?|rich formatting"),
    ("reply.no_bullets", r"(?:no (?:more )?|without |(?:don'?t|do not|never|stop) (?:use |"
     r"using )?(?:any )?)" + _BULLETS + r"|{SUBJ}too many " + _BULLETS),
    ("reply.no_markdown", r"(?:no (?:more )?|without |(?:don'?t|do not|never|stop) (?:use |"
     r"using )?(?:any )?)markdown(?: formatting)?"),
    # --- memory (before tools: "stop saving memories" is about memory) ----------------
    ("memory.off", r"(?:don'?t|do not|never|stop|no longer) (?:remember(?:ing)?|memori[sz]"
     r"(?:e|ing)|stor(?:e|ing) memories|sav(?:e|ing) memories|keep(?:ing)? memories)(?: "
     r"(?:anything|things|stuff|what i (?:say|tell you)|about me|me|anything about me|"
     r"things about me|my stuff))?"),
    ("memory.off", r"(?:turn off|disable|switch off|pause|deactivate|stop using|don'?t use) "
     r"(?:the |your )?memory|turn (?:the |your )?memory off|no (?:more )?memory"),
    ("memory.on", r"(?:turn on|enable|switch on|resume|reactivate|turn back on) (?:the |your )?"
     r"memory|turn (?:the |your )?memory (?:back )?on|use (?:the |your )?memory again"),
    ("memory.on", r"(?:(?:start|resume|go back to) remembering|(?:you can |you may |feel "
     r"free to )?remember) (?:things|stuff)(?: about me)?(?: again)?"),
    ("memory.stricter", r"only remember (?:things |stuff |what |facts )?(?:that |when |if )?"
     r"(?:you(?:'re| are)|you feel) (?:(?P<strong>very|really|absolutely|completely|100%|"
     r"quite) )?(?:sure|certain|confident)(?: about| of)?"),
    ("memory.stricter", r"be (?:(?P<strong>much|a lot) )?(?:more careful|pickier|more selective|"
     r"stricter|more conservative) (?:about|with) (?:what you remember|memories|memory|"
     r"remembering)"),
    ("memory.stricter", r"(?:(?:raise|increase|bump up|tighten) (?:the )?|(?:a )?higher )"
     r"(?:(?:memory|confidence) )*threshold|remember (?:less|fewer things)"),
    ("memory.looser", r"be (?:(?P<strong>much|a lot) )?(?:less (?:picky|strict|selective|"
     r"careful|conservative)|more relaxed) (?:about|with) (?:what you remember|memories|"
     r"memory|remembering)"),
    ("memory.looser", r"(?:(?:lower|decrease|reduce|relax|loosen) (?:the )?|(?:a )?lower )"
     r"(?:(?:memory|confidence) )*threshold|remember more(?: things| stuff| freely| easily|"
     r" readily)?"),
    ("memory.threshold", r"(?:(?:set|change|lower|raise|put|make|adjust) (?:the )?)?"
     r"(?:(?:memory|confidence|remembering) )*threshold(?: to| at| of| =|=| is|:)? ?{FRAC}"),
    ("memory.threshold", r"only remember (?:things |stuff )?(?:with |above |at )(?:a )?"
     r"(?:confidence|certainty)(?: of| above| over| at least)? {FRAC}"),
    ("memory.top_k", r"(?:recall|use|look at|consider|retrieve|pull up|bring up|fetch) "
     r"(?:at most |up to |only |no more than )?{NUM} (?:memories|memory items|remembered "
     r"things)"),
    ("memory.top_k", r"(?:set )?(?:the )?(?:memory )?top[ _-]?k (?:to |of |at |=)?{NUM}"),
    # --- tools --------------------------------------------------------------------------
    ("tools.disable", r"(?:stop|quit|cease) (?:using|calling|running) {T}"),
    ("tools.disable", r"(?:don'?t|do not|never|no longer) (?:use|call|run) {T}"),
    ("tools.disable", r"(?:disable|turn off|switch off|deactivate|block) {T}"),
    ("tools.disable", r"turn {T} off"),
    ("tools.disable", r"no (?:more )?{T}"),
    ("tools.disable", r"(?:stop|don'?t|do not|never|no longer) {T}"),
    ("tools.enable", r"(?:use|start using|resume using|go back to using) {T} again"),
    ("tools.enable", r"(?:start|resume|go back to|get back to) using {T}"),
    ("tools.enable", r"(?:re-?enable|enable|turn on|switch on|reactivate|unblock|allow) {T}"),
    ("tools.enable", r"turn {T} (?:back )?on"),
    ("tools.enable", r"(?:you can|you may|feel free to|it'?s (?:ok|okay|fine) to|go ahead and) "
     r"(?:use )?{T}(?: again)?"),
    ("tools.enable", r"use {T}"),
    ("approvals.ask_every_tool", r"(?:always )?(?:ask|check with) (?:me )?(?:first )?before "
     r"(?:using|you use|calling|running) (?:any|every|all(?: of)?(?: the| your)?) tools?"),
    ("approvals.ask_every_tool", r"(?:ask|check with) (?:me )?(?:first )?before "
     r"(?:any|every) tool"),
    ("approvals.stop_asking_every_tool", r"(?:stop|quit) asking (?:me )?before (?:using )?"
     r"(?:any|every|all(?: the)?) tools?"),
    ("tools.ask_first", r"(?:always )?(?:ask|check with|confirm with) (?:me )?(?:first )?before "
     + _USE_OR_ASK + "{T}"),
    ("tools.ask_first", r"(?:always )?ask (?:me )?for (?:my )?(?:approval|permission|"
     r"confirmation|ok) before " + _USE_OR_ASK + "{T}"),
    ("tools.ask_first", r"(?:require|need|get) (?:my )?(?:approval|permission|confirmation) "
     r"(?:before|for|to use) (?:using )?{T}"),
    ("tools.ask_first", r"(?:don'?t|do not|never) (?:use )?{T} without (?:asking|checking with|"
     r"my approval|my permission)(?: me)?(?: first)?"),
    ("tools.stop_asking", r"(?:stop|quit) asking (?:me )?(?:for (?:my )?(?:approval|permission|"
     r"confirmation) )?before " + _USE_OR_ASK + "{T}"),
    ("tools.stop_asking", r"(?:don'?t|do not|no need to|you don'?t need to|never) ask (?:me )?"
     r"(?:first )?before " + _USE_OR_ASK + "{T}"),
    ("tools.stop_asking", r"(?:use )?{T} without asking(?: me)?(?: first)?"),
    ("tools.stop_asking", r"no (?:approval|confirmation|permission) (?:needed |required )?"
     r"(?:for|before) (?:using )?{T}"),
    ("tools.max_steps", r"(?:at most|no more than|up to|max(?:imum)?(?: of)?|limit (?:yourself "
     r")?to|cap (?:it )?at) {NUM} (?:tool )?(?:steps|tool calls|calls|tool uses)"),
    ("tools.max_steps", r"(?:set )?(?:the )?(?:max(?:imum)?|limit (?:on )?(?:the )?) ?(?:number "
     r"of )?(?:tool )?steps (?:to |at |=|of )?{NUM}"),
    ("tools.max_steps", r"limit (?:the )?(?:tool )?steps to {NUM}"),
    # --- routing ------------------------------------------------------------------------
    ("routing.cloud_forbid", r"(?:never|don'?t|do not|stop|no longer) (?:use|using|fall back to|"
     r"falling back to|go to|call|send (?:anything|stuff|data|requests) to) " + _CLOUD),
    ("routing.cloud_forbid", r"no (?:more )?cloud(?: fallback| models?)?|(?:disable|turn off|"
     r"forbid|block|disallow|switch off) " + _CLOUD),
    ("routing.cloud_forbid", r"(?:stay|keep (?:it|everything|things)|run|remain) local(?: only)?"
     r"|(?:only|just) (?:use |run )?(?:the )?local(?: models?)?|local(?: models?)? only|"
     r"keep (?:my |all )?data (?:local|on (?:this|my) (?:machine|device|computer))"),
    ("routing.cloud_allow", r"(?:(?:you can|you may|feel free to|it'?s (?:ok|okay|fine) to|go "
     r"ahead and) )?(?:use|fall back to) " + _CLOUD + r"(?: (?:when|if) (?:needed|necessary|"
     r"you (?:need to|must|have to)))?"),
    ("routing.cloud_allow", r"(?:allow|enable|turn on|permit) " + _CLOUD + r"|cloud fallback is "
     r"(?:ok|okay|fine|allowed)"),
    ("routing.model", r"(?:use|switch to|change to|go with|try|pick) (?:the )?model {MODEL}"),
    ("routing.model", r"(?:use|switch to|change to|go with|try|pick) (?:the )?{MODEL} model"),
    ("routing.model", r"(?:set|switch|change) (?:the )?model to {MODEL}"),
    # --- approvals ----------------------------------------------------------------------
    ("approvals.ttl",
     r"(?:make |let )?approvals?(?: requests)? (?:should |must |will )?(?:expire|"
     r"time out|lapse|last|be valid)(?: after| in| for| within)? {DUR}"),
    ("approvals.ttl", r"(?:set )?(?:the )?approval (?:ttl|timeout|expiry|lifetime|window|"
     r"validity) (?:to |of |at |=|is )?{DUR}"),
    ("approvals.member_write_allow", r"(?:let |allow )?{MEMBERS} (?:can |may |are allowed to |"
     r"should be able to |to )?" + _NOTES + r" without (?:asking|approval|permission|my "
     r"approval|my permission|asking me)"),
    ("approvals.member_write_allow", r"{MEMBERS} (?:don'?t|do not|no longer) need (?:my )?"
     r"(?:approval|permission|to ask) (?:to|for|before) " + _NOTES),
    ("approvals.member_write_ask", r"{MEMBERS} (?:must|should|need to|have to) (?:ask|get "
     r"(?:my )?approval|get (?:my )?permission|check with me) (?:before|to|for) " + _NOTES),
    ("approvals.member_write_ask", r"{MEMBERS} (?:need|require) (?:my )?(?:approval|permission) "
     r"(?:to|for|before) " + _NOTES),
    ("approvals.member_write_ask", r"(?:don'?t|do not|never) let {MEMBERS} " + _NOTES +
     r" without (?:asking|approval|permission)"),
    # --- members ------------------------------------------------------------------------
    ("members.tools_allow", r"{MEMBERS} (?:can|may|are allowed to|should be able to) use "
     r"(?:the )?tools|(?:let|allow) {MEMBERS} (?:to )?use (?:the )?tools"),
    ("members.tools_forbid", r"{MEMBERS} (?:can'?t|cannot|can not|may not|mustn'?t|must not|"
     r"shouldn'?t|should not|are not allowed to|aren'?t allowed to) use (?:the |any )?tools"),
    ("members.tools_forbid", r"(?:don'?t|do not|never) (?:let|allow) {MEMBERS} (?:to )?use "
     r"(?:the |any )?tools|(?:stop|prevent|block|keep) {MEMBERS} from using (?:the |any )?tools"
     r"|no tools for {MEMBERS}"),
    ("members.see_tools", r"{MEMBERS} (?:can|may|should be able to) see (?:the )?tools|"
     r"(?:show|reveal) (?:the )?tools to {MEMBERS}|let {MEMBERS} see (?:the )?tools"),
    ("members.hide_tools", r"hide (?:the )?tools from {MEMBERS}|{MEMBERS} (?:can'?t|cannot|"
     r"can not|shouldn'?t|should not|may not|must not) see (?:the |any )?tools"),
    ("members.hide_tools", r"(?:don'?t|do not|never) (?:show|reveal) (?:the |any )?tools to "
     r"{MEMBERS}|(?:don'?t|do not|never) let {MEMBERS} see (?:the |any )?tools"),
    # --- auth ---------------------------------------------------------------------------
    ("auth.token_ttl", _SIGN_IN + r" (?:should |must |will )?(?:expire|last|be valid|live|time "
     r"out)(?: after| in| for| within| every)? {DUR}"),
    ("auth.token_ttl", r"(?:set |make )?(?:the )?token (?:lifetime|ttl|expiry|validity|duration|"
     r"life ?time) (?:to |of |at |=|is )?{DUR}"),
    ("auth.token_ttl", r"log (?:people|users|everyone|members|us|me) out (?:after|every) {DUR}"),
    ("auth.token_no_expiry", _SIGN_IN + r" (?:should |must |will )?(?:never|not|no longer) expire|"
     r"(?:don'?t|do not|never) (?:let )?(?:the )?tokens expire|(?:no|remove the|disable) token "
     r"(?:expiry|expiration|lifetime|ttl)"),
]
# fmt: on


# Rules that only explain a refusal: a tool-shaped request naming no tool we know.
UNKNOWN_TOOL: list[tuple[str, str]] = [
    ("tools.disable", r"(?:stop|quit) (?:using|calling) (?:the )?{NAME}"),
    ("tools.disable", r"(?:don'?t|do not|never|no longer) (?:use|call) (?:the )?{NAME}"),
    ("tools.disable", r"(?:disable|turn off|deactivate) (?:the )?{NAME}"),
    ("tools.enable", r"(?:re-?enable|enable|turn on|start using|resume using) (?:the )?{NAME}"),
    ("tools.enable", r"use (?:the )?{NAME} (?:tool )?again"),
    ("tools.ask_first", r"ask (?:me )?(?:first )?before (?:using |you use )?(?:the )?{NAME}"),
    ("tools.stop_asking", r"stop asking (?:me )?before (?:using )?(?:the )?{NAME}"),
]
NAME = r"(?P<name>[a-z0-9][\w.\-]*(?: [a-z0-9][\w.\-]*){0,2})"

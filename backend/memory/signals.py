"""What a memory's words say about it, in English and Chinese: whether it is high impact
(identity, health, money, credentials), whether it is hedged, and which values it asserts.

Invariants:
- Pure functions of the text; no model. They err on the side of asking: a sentence that
  merely mentions a bank or a doctor is high impact, because a wrong "yes" costs one click
  and a wrong "no" stores something sensitive unreviewed.
- `values` are the parts two statements about the same thing must share to be the same
  fact ("7:40" vs "8:10", "Berlin" vs "Paris", "not"): two similar texts whose values
  differ contradict each other; with equal values they are duplicates.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "IMPACT_CATEGORIES",
    "estimated_confidence",
    "high_impact",
    "is_credential",
    "normalized",
    "values",
    "words",
]

IMPACT_CATEGORIES = ("identity", "health", "money", "credentials")

_IMPACT: dict[str, re.Pattern[str]] = {
    "identity": re.compile(
        r"\b(passport (number|no\.?|#)|social security|ssn|national (id|insurance)|"
        r"id (card )?number|identity (card|number|document)|driver'?s licen[cs]e|"
        r"date of birth|born on|tax (id|number)|home address)\b"
        r"|身份证|护照号|社保号|出生日期|驾照号|住址",
        re.IGNORECASE,
    ),
    "health": re.compile(
        r"\b(diagnos\w*|allerg\w*|medication|medicine|prescri\w*|illness|disease|diabet\w*|"
        r"asthma|depress\w*|anxiety|blood (type|pressure|sugar)|pregnan\w*|surgery|"
        r"therap(y|ist)|symptoms?|cancer|hiv|insulin|my doctor|dose|disorder|"
        r"mental health|health condition)\b"
        r"|过敏|生病|疾病|病情|药|诊断|怀孕|手术|血型|血压|抑郁|焦虑|症状|医生说",
        re.IGNORECASE,
    ),
    "money": re.compile(
        r"\b(bank\w*|account number|iban|routing number|sort code|credit card|debit card|"
        r"card number|salary|income|loan|mortgage|debts?|invest\w*|savings|net worth|"
        r"stocks?|crypto\w*|bitcoin|wallet|paycheck|pension)\b"
        r"|工资|收入|银行|信用卡|借记卡|贷款|房贷|存款|欠款|债务|投资|理财|股票|账户",
        re.IGNORECASE,
    ),
    "credentials": re.compile(
        r"\b(passwords?|passcodes?|passphrases?|pin( code| number)?|api[ _-]?keys?|"
        r"access tokens?|secret (key|code)|2fa|otp|recovery codes?|seed phrase|"
        r"private key|login|security (code|question)|cvv)\b"
        r"|密码|口令|验证码|密钥|私钥|助记词",
        re.IGNORECASE,
    ),
}
_HEDGES = re.compile(
    r"\b(i think|i guess|i believe|maybe|might|perhaps|probably|possibly|not sure|"
    r"i'?m not certain|could be|apparently|supposedly|rumou?r)\b"
    r"|可能|也许|大概|好像|似乎|不确定|听说|估计",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"\b(not|no|never|don'?t|doesn'?t|isn'?t|aren'?t|won'?t|no longer)\b|不|没", re.IGNORECASE
)
_NUMBER = re.compile(r"\d+(?:[:.,/\-]\d+)*")
_CAPITALISED = re.compile(r"\b[A-Z][a-zA-Z\-]+")
_WORD = re.compile(r"[a-z0-9]+|[\u3400-\u9fff]", re.IGNORECASE)
# Capitalised only because they start a sentence; names and months are values.
_SENTENCE_START_WORDS = (
    "i my our the a an we he she they it this that his her their your you in on at "
    "when where what who how please remember note"
)
_CAPITALISED_FUNCTION_WORDS = frozenset(_SENTENCE_START_WORDS.split())


def normalized(text: str) -> str:
    """Case-, width- and spacing-insensitive form for exact-duplicate checks."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[^\w\s:./\-]", " ", folded).split())


def words(text: str) -> set[str]:
    """Lower-case words (CJK: single characters)."""
    return {w.lower() for w in _WORD.findall(unicodedata.normalize("NFKC", text))}


def high_impact(text: str) -> list[str]:
    """The high-impact categories the text touches, in `IMPACT_CATEGORIES` order."""
    folded = unicodedata.normalize("NFKC", text)
    return [name for name in IMPACT_CATEGORIES if _IMPACT[name].search(folded)]


def is_credential(impact: list[str]) -> bool:
    """Whether the text may hold a secret (kept out of the ledger and of prompts)."""
    return "credentials" in impact


def estimated_confidence(text: str, origin: str) -> float:
    """A confidence for a write that gave none: what the owner states plainly is sure; hedged
    statements and what tools or the model produced are not."""
    base = {"user": 0.9, "tool": 0.6}.get(origin, 0.5)
    return min(base, 0.5) if _HEDGES.search(text) else base


def values(text: str) -> frozenset[str]:
    """Numbers, names and negation the text asserts."""
    folded = unicodedata.normalize("NFKC", text)
    found = {n.rstrip(".,") for n in _NUMBER.findall(folded)}
    found |= {
        w.lower()
        for w in _CAPITALISED.findall(folded)
        if w.lower() not in _CAPITALISED_FUNCTION_WORDS
    }
    if _NEGATION.search(folded):
        found.add("¬")
    return frozenset(found)

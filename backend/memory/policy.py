"""The candidate policy of SPEC §7: what a memory write becomes.

In order:
1. A near-duplicate of an active item merges into it (a confirmation), and of a pending
   candidate merges into that candidate: repeated facts never pile up.
2. Otherwise it becomes a *candidate* the owner reviews when any of these hold: it came
   from a tool or the model (`origin` other than `user`: outside content never becomes
   trusted memory unreviewed), a member wrote it, its confidence is below the configured
   threshold, it is high impact (identity, health, money, credentials), or it contradicts an
   active item (the candidate names the item it would supersede).
3. Otherwise it is stored as an item.

Similarity combines the embedding's cosine with word overlap, so the policy holds for a
real sentence model and for the lexical mock alike; the asserted values (`signals.values`)
separate "the same fact again" from "a different value for the same thing".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from backend.memory.signals import normalized, values, words

__all__ = ["DUPLICATE_SIMILARITY", "RELATED_SIMILARITY", "Decision", "Neighbour", "decide"]

DUPLICATE_SIMILARITY = 0.95
"""Cosine at or above which two texts asserting the same values are one fact."""
RELATED_SIMILARITY = 0.75
"""Cosine at or above which two texts are about the same thing."""
_RELATED_OVERLAP = 0.5
_STOP_WORDS = (
    "a an the is are was were be been am i my our we you your to of in on at for and or it "
    "this that with as by from me us do does did have has had will would"
)
_STOP = frozenset(_STOP_WORDS.split())

Action = Literal["merge_item", "merge_candidate", "store", "candidate"]


@dataclass(frozen=True, slots=True)
class Neighbour:
    """An existing item or pending candidate close to the new text."""

    id: str
    text: str
    score: float


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a write, and why."""

    action: Action
    target: str | None = None
    reasons: list[str] = field(default_factory=list)
    supersedes: str | None = None


def _content_words(text: str) -> set[str]:
    return {w for w in words(text) - _STOP if not w.isdigit()}


def _overlap(a: str, b: str) -> float:
    """Jaccard overlap of the content words (numbers are values, compared apart)."""
    wa, wb = _content_words(a), _content_words(b)
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / len(wa | wb)


def _differences(a: str, b: str) -> tuple[set[str], set[str]]:
    wa, wb = _content_words(a), _content_words(b)
    return wa - wb, wb - wa


def is_duplicate(text: str, other: Neighbour) -> bool:
    """The same fact, perhaps worded a little differently: equal values, and either nearly
    the same embedding or at most one word added on one side ("is kept in the shed")."""
    if normalized(text) == normalized(other.text):
        return True
    if values(text) != values(other.text):
        return False
    only_new, only_old = _differences(text, other.text)
    one_sided = (not only_old and len(only_new) <= 1) or (not only_new and len(only_old) <= 1)
    return other.score >= DUPLICATE_SIMILARITY or one_sided


def contradicts(text: str, other: Neighbour) -> bool:
    """About the same thing, asserting something else: different values ("7:40" / "8:10"),
    or a word or two swapped for others ("blue" / "green")."""
    related = other.score >= RELATED_SIMILARITY or _overlap(text, other.text) >= _RELATED_OVERLAP
    if not related:
        return False
    only_new, only_old = _differences(text, other.text)
    swapped = bool(only_new and only_old) and len(only_new) <= 2 and len(only_old) <= 2
    return values(text) != values(other.text) or swapped


def decide(
    text: str,
    *,
    origin: str,
    confidence: float,
    threshold: float,
    impact: list[str],
    by_owner: bool,
    items: list[Neighbour],
    candidates: list[Neighbour],
) -> Decision:
    """The policy above; `items` and `candidates` are the nearest ones, best first."""
    for item in items:
        if is_duplicate(text, item):
            return Decision("merge_item", item.id)
    for cand in candidates:
        if is_duplicate(text, cand):
            return Decision("merge_candidate", cand.id)
    reasons: list[str] = []
    if origin != "user":
        reasons.append(f"origin_{origin}")
    if not by_owner:
        reasons.append("written_by_member")
    if confidence < threshold:
        reasons.append("low_confidence")
    reasons += [f"high_impact:{c}" for c in impact]
    supersedes = next((i.id for i in items if contradicts(text, i)), None)
    if supersedes is not None:
        reasons.append("contradicts_existing")
    if reasons:
        return Decision("candidate", reasons=reasons, supersedes=supersedes)
    return Decision("store")

"""The candidate policy and the signals it reads, as pure functions."""

from __future__ import annotations

import pytest

from backend.memory.policy import Decision, Neighbour, decide
from backend.memory.signals import estimated_confidence, high_impact, normalized, values


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My online banking password is Tulip-7781", ["money", "credentials"]),
        ("My passport number is X1234567", ["identity"]),
        ("I am allergic to penicillin", ["health"]),
        ("My salary is 4,200 a month", ["money"]),
        ("我的银行卡密码是 123456", ["money", "credentials"]),
        ("我对花生过敏", ["health"]),
        ("我的身份证号是 110101199003071234", ["identity"]),
        ("The boiler was serviced in October.", []),
        ("My passport expires in 2031.", []),
        ("I take the 7:40 train to work.", []),
        ("Our neighbour Ana feeds the fish when we travel.", []),
        ("我喜欢喝绿茶", []),
    ],
)
def test_high_impact_categories(text: str, expected: list[str]) -> None:
    assert high_impact(text) == expected


def test_hedged_statements_are_less_sure() -> None:
    assert estimated_confidence("I think my sister might be moving to Berlin", "user") <= 0.5
    assert estimated_confidence("我妹妹可能要搬去柏林", "user") <= 0.5
    assert estimated_confidence("My sister lives in Berlin", "user") >= 0.9
    assert estimated_confidence("My sister lives in Berlin", "model") < 0.7
    assert estimated_confidence("My sister lives in Berlin", "tool") < 0.7


def test_values_are_numbers_names_and_negation() -> None:
    assert values("I take the 7:40 train to work.") == {"7:40"}
    assert values("Our neighbour Ana feeds the fish.") == {"ana"}
    assert values("The boiler was serviced in October.") == {"october"}
    assert "¬" in values("I don't eat meat")
    assert "¬" in values("我不吃肉")
    assert values("My sister lives in Berlin") != values("My sister lives in Paris")


def test_normalized_ignores_case_spacing_and_punctuation() -> None:
    assert normalized("  The Garden hose is in the SHED! ") == normalized(
        "the garden hose is in the shed"
    )


def _decision(text: str, **kw: object) -> Decision:
    """The policy's decision for a plain fact from the owner, with `kw` changed."""
    args: dict[str, object] = {
        "origin": "user",
        "confidence": 0.95,
        "threshold": 0.7,
        "impact": [],
        "by_owner": True,
        "items": [],
        "candidates": [],
        **kw,
    }
    return decide(text, **args)  # type: ignore[arg-type]


def _decide(text: str, **kw: object) -> str:
    return _decision(text, **kw).action


def test_a_plain_fact_from_the_owner_is_stored() -> None:
    assert _decide("The garden hose is in the shed.") == "store"


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"origin": "model"}, "origin_model"),
        ({"origin": "tool"}, "origin_tool"),
        ({"by_owner": False}, "written_by_member"),
        ({"confidence": 0.3}, "low_confidence"),
        ({"impact": ["health"]}, "high_impact:health"),
    ],
)
def test_what_needs_review_becomes_a_candidate(kw: dict[str, object], reason: str) -> None:
    decision = _decision("Something to remember.", **kw)
    assert decision.action == "candidate"
    assert reason in decision.reasons


def test_the_same_fact_merges_into_the_item() -> None:
    known = Neighbour("mem_1", "I take the 7:40 train to work.", 0.97)
    decision = _decision("I take the 7:40 train to work", confidence=0.9, items=[known])
    assert (decision.action, decision.target) == ("merge_item", "mem_1")


def test_a_different_value_for_the_same_thing_is_a_contradiction() -> None:
    known = Neighbour("mem_1", "I take the 7:40 train to work.", 0.93)
    decision = _decision("I take the 8:10 train to work.", items=[known])
    assert decision.action == "candidate"
    assert decision.supersedes == "mem_1"
    assert "contradicts_existing" in decision.reasons


def test_an_unrelated_item_is_neither_duplicate_nor_contradiction() -> None:
    other = Neighbour("mem_1", "The garden hose is in the shed.", 0.12)
    assert _decide("I take the 8:10 train to work.", items=[other]) == "store"


def test_a_repeat_of_a_pending_candidate_merges_into_it() -> None:
    pending = Neighbour("cand_1", "I think my sister might be moving to Berlin", 0.99)
    decision = _decision(
        "I think my sister might be moving to Berlin.", confidence=0.3, candidates=[pending]
    )
    assert (decision.action, decision.target) == ("merge_candidate", "cand_1")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("The garden hose is in the shed.", "The garden hose is kept in the shed."),
        ("My passport expires in 2031.", "my passport expires in 2031"),
    ],
)
def test_rewordings_that_add_nothing_are_duplicates(old: str, new: str) -> None:
    assert _decide(new, items=[Neighbour("mem_1", old, 0.8)]) == "merge_item"


@pytest.mark.parametrize(
    ("old", "new", "score"),
    [
        ("My favourite colour is blue.", "My favourite colour is green.", 0.6),
        ("My sister lives in Berlin", "My sister lives in Paris", 0.63),
        ("I eat meat", "I don't eat meat", 0.84),
    ],
)
def test_swapped_words_are_contradictions(old: str, new: str, score: float) -> None:
    decision = _decision(new, items=[Neighbour("mem_1", old, score)])
    assert (decision.action, decision.supersedes) == ("candidate", "mem_1")


def test_two_likes_are_not_a_contradiction() -> None:
    assert _decide("I like coffee", items=[Neighbour("mem_1", "I like tea", 0.737)]) == "store"

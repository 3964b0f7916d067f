"""Hypothesis strategies shared by the property tests: preference texts of every kind, and
configurations and principals for the tool policy; and how a direct tool call is decided."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from backend.auth.principal import MEMBER, OWNER, Principal
from backend.config.schema import StewardConfig, seed
from backend.errors import Forbidden
from backend.tools.call_config import policy_from
from backend.tools.policy import Decision, decide
from backend.tools.registry import Risk

TABLE: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "config" / "preference_sentences.json").read_text("utf-8")
)
TOOLS: list[str] = TABLE["tools"]
SENTENCES: list[str] = sorted(
    {
        row["text"]
        for key in ("patches", "nothing_to_change", "not_understood")
        for row in TABLE[key]
    }
)
CURRENTS: list[dict[str, Any]] = [
    row["current"]
    for key in ("patches", "nothing_to_change")
    for row in TABLE[key]
    if "current" in row
]
_JOINERS = [" and ", ", ", "; ", " but ", "，", "，而且", "。", " ", "\n", " also "]
_NOISE = ["please", "from now on", "请", "以后", "!", "?", "不要", "don't", "more", "更", "much"]


PATCH_SENTENCES: list[str] = sorted({row["text"] for row in TABLE["patches"]})


def _requests() -> st.SearchStrategy[str]:
    """One to three sentences that each compile alone, joined: mostly patches."""
    pieces = st.lists(st.sampled_from(PATCH_SENTENCES), min_size=1, max_size=3)
    joiners = st.sampled_from([" and ", ", ", "; ", "，", "。"])
    return st.builds(lambda parts, joiner: joiner.join(parts), pieces, joiners)


def _cjk() -> st.SearchStrategy[str]:
    return st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), max_size=40)


def _mixed() -> st.SearchStrategy[str]:
    """Sentences from the public table, joined and sprinkled with noise."""
    pieces = st.lists(st.sampled_from(SENTENCES + _NOISE), min_size=1, max_size=4)
    return st.builds(lambda parts, joiner: joiner.join(parts), pieces, st.sampled_from(_JOINERS))


preference_texts: st.SearchStrategy[str] = st.one_of(
    _mixed(),
    st.text(max_size=80),
    _cjk(),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=300, max_size=2000),
    st.builds(lambda s, n: s * n, st.sampled_from(SENTENCES), st.integers(1, 60)),
)


def _with(overrides: dict[str, dict[str, Any]]) -> dict[str, Any]:
    config = seed()
    for section, fields in overrides.items():
        config[section].update(fields)
    return config


current_configs: st.SearchStrategy[dict[str, Any]] = st.one_of(
    st.just(seed()), st.sampled_from(CURRENTS).map(_with)
)

principals: st.SearchStrategy[Principal] = st.builds(
    Principal, st.just("usr_1"), st.just("someone"), st.sampled_from([OWNER, MEMBER])
)

tool_names = st.sampled_from(TOOLS)


@st.composite
def configs(draw: st.DrawFn) -> StewardConfig:
    """Any valid configuration as far as the tool policy reads it."""
    data = seed()
    data["tools"]["disabled"] = draw(st.lists(tool_names, unique=True, max_size=3))
    data["tools"]["always_ask"] = draw(st.lists(tool_names, unique=True, max_size=3))
    data["approvals"]["member_local_write"] = draw(st.sampled_from(["ask", "allow"]))
    data["approvals"]["ask_before_every_tool"] = draw(st.booleans())
    data["approvals"]["ttl_seconds"] = draw(st.integers(60, 30 * 24 * 3600))
    data["members"]["can_use_tools"] = draw(st.booleans())
    return StewardConfig.model_validate(data)


# Texts that mostly compile to a patch, for the properties of patches.
patch_texts: st.SearchStrategy[str] = st.one_of(_requests(), _requests(), preference_texts)


def decided(cfg: StewardConfig, principal: Principal, tool: str, risk: Risk) -> Decision | None:
    """How a direct call of `tool` (of `risk`) is decided under `cfg`; None when the config
    refuses it outright. The agent loop builds its policy from the same fields."""
    try:
        policy = policy_from(cfg, principal, tool, 3600.0)
    except Forbidden:
        return None
    return decide(
        risk,
        principal,
        always_ask=tool in policy["always_ask"],
        member_local_write=policy["member_local_write"],
    )

"""Properties of the preference compiler (backend/config/compiler.py) over arbitrary text:
English, Chinese, random unicode, long strings, and mixtures of the public table's sentences.

- It returns a patch or raises one of its own documented refusals, nothing else.
- A patch applied to the config it was compiled against validates against the schema, and
  every operation changes something.
- Its risk grade is the highest section grade among the paths it touches.
- Reverting its field changes (as a rollback does) restores the original config exactly.
- No patch, on any configuration, lets an external write run without the owner's approval.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from backend.auth.principal import MEMBER, OWNER, Principal
from backend.config.compiler import (
    CompiledPatch,
    NothingToChange,
    NotUnderstood,
    compile_preference,
)
from backend.config.jsonpatch import apply_patch
from backend.config.layers import apply_changes, field_changes
from backend.config.schema import RISK_ORDER, SECTION_RISK, StewardConfig
from backend.tools.policy import Decision
from backend.tools.registry import Risk
from tests.properties.strategies import (
    TOOLS,
    current_configs,
    decided,
    patch_texts,
    preference_texts,
)

ASK = Decision.NEEDS_APPROVAL
FAST = settings(
    derandomize=True,
    database=None,
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def compiled(text: str, current: dict[str, Any]) -> CompiledPatch | None:
    """The patch for `text`, or None for a documented refusal (anything else propagates)."""
    try:
        return compile_preference(text, current, tools=TOOLS)
    except NotUnderstood as exc:
        refusal: tuple[str, list[str]] = (exc.message, exc.examples)
    except NothingToChange as exc:
        refusal = (exc.message, exc.intents)
    message, detail = refusal
    assert message, text  # the refusal explains itself
    assert detail, text
    return None


def a_patch(text: str, current: dict[str, Any]) -> CompiledPatch:
    """The patch for `text`; the example is discarded when it is refused."""
    patch = compiled(text, current)
    assume(patch is not None)
    assert patch is not None
    return patch


@FAST
@given(preference_texts, current_configs)
def test_any_text_compiles_or_is_refused_in_the_documented_way(
    text: str, current: dict[str, Any]
) -> None:
    untouched = copy.deepcopy(current)
    compiled(text, current)
    assert current == untouched


@FAST
@given(patch_texts, current_configs)
def test_every_patch_validates_and_changes_what_it_says(text: str, current: dict[str, Any]) -> None:
    patch = a_patch(text, current)
    assert patch.ops
    applied = apply_patch(current, patch.ops)
    StewardConfig.model_validate(applied)
    changes = field_changes(current, applied)
    assert {c["path"] for c in changes} == {d["path"] for d in patch.diff}
    for d in patch.diff:
        assert d["before"] != d["after"]


@FAST
@given(patch_texts, current_configs)
def test_a_patch_is_graded_by_the_riskiest_section_it_touches(
    text: str, current: dict[str, Any]
) -> None:
    patch = a_patch(text, current)
    sections = {op["path"].strip("/").split("/")[0] for op in patch.ops}
    expected = max((SECTION_RISK[s] for s in sections), key=RISK_ORDER.__getitem__)
    assert patch.risk == expected


@FAST
@given(patch_texts, current_configs)
def test_reverting_a_patch_restores_the_config_exactly(text: str, current: dict[str, Any]) -> None:
    patch = a_patch(text, current)
    applied = apply_patch(current, patch.ops)
    assert apply_changes(applied, patch.diff, key="before") == current
    assert apply_changes(applied, field_changes(current, applied), key="before") == current


@FAST
@given(st.lists(patch_texts, min_size=1, max_size=4), current_configs)
def test_no_patch_lets_an_external_write_run_unapproved(
    texts: list[str], current: dict[str, Any]
) -> None:
    config = current
    for text in texts:  # patches committed one after another
        patch = compiled(text, config)
        if patch is not None:
            config = apply_patch(config, patch.ops)
    cfg = StewardConfig.model_validate(config)
    for role in (OWNER, MEMBER):
        principal = Principal("usr_1", "someone", role)
        for tool in ("send_message", "http_post"):
            assert decided(cfg, principal, tool, Risk.EXTERNAL_WRITE) in (None, ASK)

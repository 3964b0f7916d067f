"""Properties of the tool policy (backend/tools/policy.py) and of the configuration a direct
call runs under (backend/tools/call_config.py), over every combination of role, tool risk
and approval settings.

- An external write never runs without the owner's approval.
- A read-only tool runs at once unless the config asks first.
- The owner runs a local write at once unless the config asks first; a member does only
  when the config says `member_local_write: allow` and nothing asks first.
- `always_ask` and `ask_before_every_tool` only ever add consent; a member is never allowed
  what the owner is not.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.auth.principal import MEMBER, OWNER, Principal
from backend.config.schema import StewardConfig
from backend.errors import Forbidden
from backend.tools.call_config import policy_from
from backend.tools.policy import Decision, decide
from backend.tools.registry import Risk
from tests.properties.strategies import configs, decided, principals, tool_names

FAST = settings(derandomize=True, database=None, max_examples=400, deadline=None)
RUN, ASK = Decision.RUN, Decision.NEEDS_APPROVAL
risks = st.sampled_from(list(Risk))
local_write_settings = st.sampled_from(["ask", "allow"])


@FAST
@given(risks, principals, st.booleans(), local_write_settings)
def test_the_decision_follows_the_documented_table(
    risk: Risk, principal: Principal, always_ask: bool, member_local_write: str
) -> None:
    got = decide(risk, principal, always_ask=always_ask, member_local_write=member_local_write)
    if risk == Risk.EXTERNAL_WRITE or always_ask:
        expected = ASK
    elif risk == Risk.READ_ONLY:
        expected = RUN
    else:
        expected = RUN if principal.is_owner or member_local_write == "allow" else ASK
    assert got == expected


@FAST
@given(principals, st.booleans(), local_write_settings)
def test_an_external_write_always_needs_approval(
    principal: Principal, always_ask: bool, mlw: str
) -> None:
    got = decide(Risk.EXTERNAL_WRITE, principal, always_ask=always_ask, member_local_write=mlw)
    assert got == ASK


@FAST
@given(risks, principals, local_write_settings)
def test_asking_first_only_adds_consent(
    risk: Risk, principal: Principal, member_local_write: str
) -> None:
    asked = decide(risk, principal, always_ask=True, member_local_write=member_local_write)
    plain = decide(risk, principal, always_ask=False, member_local_write=member_local_write)
    assert asked == ASK
    assert plain == ASK or risk != Risk.EXTERNAL_WRITE


@FAST
@given(risks, st.booleans(), local_write_settings)
def test_a_member_is_never_allowed_more_than_the_owner(
    risk: Risk, always_ask: bool, member_local_write: str
) -> None:
    owner = decide(
        risk,
        Principal("o", "o", OWNER),
        always_ask=always_ask,
        member_local_write=member_local_write,
    )
    member = decide(
        risk,
        Principal("m", "m", MEMBER),
        always_ask=always_ask,
        member_local_write=member_local_write,
    )
    assert not (member == RUN and owner == ASK)


@FAST
@given(configs(), principals, tool_names, risks)
def test_config_settings_hold_for_every_combination(
    cfg: StewardConfig, principal: Principal, tool: str, risk: Risk
) -> None:
    got = decided(cfg, principal, tool, risk)
    barred = not principal.is_owner and not cfg.members.can_use_tools
    if barred or tool in cfg.tools.disabled:
        assert got is None
        return
    assert got is not None
    asks_first = cfg.approvals.ask_before_every_tool or tool in cfg.tools.always_ask
    if risk == Risk.EXTERNAL_WRITE or asks_first:
        assert got == ASK
    elif risk == Risk.READ_ONLY or principal.is_owner:
        assert got == RUN
    else:
        assert got == (RUN if cfg.approvals.member_local_write == "allow" else ASK)


@FAST
@given(configs(), principals, tool_names)
def test_the_approval_ttl_never_exceeds_either_limit(
    cfg: StewardConfig, principal: Principal, tool: str
) -> None:
    try:
        policy = policy_from(cfg, principal, tool, 3600.0)
    except Forbidden:
        return
    assert policy["approval_ttl_s"] == min(cfg.approvals.ttl_seconds, 3600.0)

"""The execution policy (SPEC §5), enforced in code outside the model.

- `read_only` runs at once.
- `local_write` runs at once for the owner and needs the owner's approval for a member.
- `external_write` always needs the owner's approval. No configuration below L3 and nothing
  a model or a tool's output says can change that: this function does not read either.
"""

from __future__ import annotations

from enum import StrEnum

from backend.auth.principal import Principal
from backend.tools.registry import Risk


class Decision(StrEnum):
    """What the policy says about one call."""

    RUN = "run"
    NEEDS_APPROVAL = "needs_approval"


def decide(
    risk: Risk,
    principal: Principal,
    *,
    always_ask: bool = False,
    member_local_write: str = "ask",
) -> Decision:
    """Whether `principal` may run a tool of `risk` now, or must wait for the owner.

    The config can only add consent (`always_ask`, an L2 setting) or, at L3, let members
    write locally without asking; it can never let an external write run unapproved."""
    if risk == Risk.EXTERNAL_WRITE or always_ask:
        return Decision.NEEDS_APPROVAL
    if risk == Risk.READ_ONLY:
        return Decision.RUN
    if principal.is_owner or member_local_write == "allow":
        return Decision.RUN
    return Decision.NEEDS_APPROVAL

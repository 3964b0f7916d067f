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


def decide(risk: Risk, principal: Principal) -> Decision:
    """Whether `principal` may run a tool of `risk` now, or must wait for the owner."""
    if risk == Risk.READ_ONLY:
        return Decision.RUN
    if risk == Risk.LOCAL_WRITE and principal.is_owner:
        return Decision.RUN
    return Decision.NEEDS_APPROVAL

"""The configuration a direct tool call (`POST /v1/tools:execute`) runs under.

Invariants:
- A direct call gets exactly the choices the agent loop applies to a model's calls
  (`backend.agent.loop`): calling the API instead of asking the agent sidesteps none of them.
- The config is the caller's effective one: their conversation's when they name one they may
  see, else their own scope's (which includes the global layer).
- A tool in `tools.disabled` is refused (403 `tool_disabled`), for the owner too; a member is
  refused every tool when `members.can_use_tools` is off (403 `tools_not_allowed`).
- `tools.always_ask` and `approvals.ask_before_every_tool` hold the call for the owner's
  approval; `approvals.member_local_write` and the approval TTL pass through unchanged.
- External writes need the owner's approval whatever this returns: `backend.tools.policy`
  decides that without reading the config.
"""

from __future__ import annotations

from typing import Any

from backend.auth.principal import Principal
from backend.config.schema import StewardConfig
from backend.errors import Forbidden
from backend.services import Services

__all__ = ["call_policy", "policy_from"]


def policy_from(
    cfg: StewardConfig, principal: Principal, tool: str, max_ttl_s: float
) -> dict[str, Any]:
    """The policy for one call of `tool` by `principal` under `cfg`, or `Forbidden`."""
    if not principal.is_owner and not cfg.members.can_use_tools:
        raise Forbidden(
            "The owner's configuration does not let members use tools.",
            code="tools_not_allowed",
        )
    if tool in cfg.tools.disabled:
        raise Forbidden(
            f"The tool '{tool}' is turned off in the configuration; the owner can turn it "
            "back on (e.g. propose 'use it again').",
            code="tool_disabled",
        )
    ask = cfg.approvals.ask_before_every_tool or tool in cfg.tools.always_ask
    return {
        "always_ask": {tool} if ask else set(),
        "member_local_write": cfg.approvals.member_local_write,
        "approval_ttl_s": min(cfg.approvals.ttl_seconds, max_ttl_s),
    }


def call_policy(
    services: Services, principal: Principal, tool: str, conversation_id: str | None
) -> dict[str, Any]:
    """The policy for a direct call, from the caller's effective configuration."""
    with services.db.read() as s:
        conv = services.tasks.conversation(s, conversation_id) if conversation_id else None
        visible = conv is not None and principal.may_see(conv.user_id)
        eff = services.config.for_user(s, principal.user_id, conversation_id if visible else None)
    return policy_from(eff.config, principal, tool, services.settings.approval_ttl_s)

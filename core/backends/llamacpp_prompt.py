"""How a chat request becomes the arguments of llama-cpp-python's `create_chat_completion`.

Invariants:
- A GGUF that carries a chat template is prompted with it (llama-cpp-python's own choice).
- One without is prompted as a plain transcript (`transcript_chat_handler`): system and
  developer text first, then `User: ...` / `Assistant: ...` lines, ending with an open
  `Assistant:`; generation stops where the model starts the next `User:` or `Assistant:` line.
  The bundled Gemma 3 270M is a base (not instruction-tuned) model without a template; in the
  Gemma turn format (`<start_of_turn>user ...`) it only echoes the question, while as a
  transcript it answers ("User: What is the capital of Japan?" -> "The capital of Japan is
  Tokyo.").
- Tool results are shown as user lines; tool definitions are never shown: the llamacpp backend
  does not declare tool support, so with `tool_choice` "auto" the model answers in text.
- Sampling parameters the request leaves out keep llama-cpp-python's defaults (temperature
  0.2, top_p 0.95); `max_tokens` left out means "until the context window is full".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from core.schemas import ChatCompletionRequest, Message

if TYPE_CHECKING:
    from llama_cpp.llama_chat_format import ChatFormatterResponse, LlamaChatCompletionHandler
    from llama_cpp.llama_types import ChatCompletionRequestMessage

__all__ = ["TRANSCRIPT_STOPS", "completion_args", "transcript_chat_handler", "transcript_prompt"]

USER, ASSISTANT = "User:", "Assistant:"
TRANSCRIPT_STOPS = [f"\n{USER}", f"\n{ASSISTANT}"]


def completion_args(request: ChatCompletionRequest) -> dict[str, Any]:
    """Keyword arguments of `Llama.create_chat_completion` for `request` (without `stream`)."""
    args: dict[str, Any] = {
        "messages": llama_messages(request.messages),
        "stop": request.stop_sequences,
        "max_tokens": request.token_limit,
    }
    for key in ("temperature", "top_p", "seed"):
        value = getattr(request, key)
        if value is not None:
            args[key] = value
    return args


def llama_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """OpenAI-shaped message dicts, with `developer` spelled `system` as templates expect."""
    out: list[dict[str, Any]] = []
    for m in messages:
        d: dict[str, Any] = {
            "role": "system" if m.role == "developer" else m.role,
            "content": m.text,
        }
        if m.name:
            d["name"] = m.name
        if m.tool_calls:
            d["tool_calls"] = [tc.model_dump() for tc in m.tool_calls]
        if m.tool_call_id:
            d["tool_call_id"] = m.tool_call_id
        out.append(d)
    return out


def _line(message: Mapping[str, Any], tool_names: Mapping[str, str]) -> str:
    role, text = message["role"], message.get("content") or ""
    if role == "assistant":
        calls = [
            f"[called tool {c['function']['name']} with {c['function']['arguments']}]"
            for c in message.get("tool_calls") or ()
        ]
        return f"{ASSISTANT} " + "\n".join([text, *calls] if text else calls)
    if role == "tool":
        name = tool_names.get(message.get("tool_call_id") or "") or message.get("name") or "call"
        return f"{USER} Result of tool {name}:\n{text}"
    return f"{USER} {text}"


def transcript_prompt(messages: Sequence[Mapping[str, Any]]) -> str:
    """The transcript prompt for `messages`, ending with an open `Assistant:` line."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system" and m["content"])
    tool_names = {
        c["id"]: c["function"]["name"] for m in messages for c in m.get("tool_calls") or ()
    }
    lines = [_line(m, tool_names) for m in messages if m["role"] != "system"]
    head = f"{system}\n\n" if system else ""
    return head + "".join(f"{line}\n" for line in lines) + ASSISTANT


def transcript_chat_handler() -> LlamaChatCompletionHandler:
    """A llama-cpp-python chat handler that prompts with `transcript_prompt`."""
    from llama_cpp.llama_chat_format import (
        ChatFormatterResponse,
        chat_formatter_to_chat_completion_handler,
    )

    def transcript_format(
        *, messages: list[ChatCompletionRequestMessage], **_: Any
    ) -> ChatFormatterResponse:
        # llama-cpp-python adds the BOS token when it tokenizes (added_special=False).
        return ChatFormatterResponse(
            prompt=transcript_prompt(messages), stop=list(TRANSCRIPT_STOPS)
        )

    return chat_formatter_to_chat_completion_handler(transcript_format)

"""Wire schemas of the OpenAI-compatible API: validated requests, typed response shapes.

Requests are pydantic models (strict about unknown arguments, as the OpenAI API is); the
responses are plain dicts typed with `TypedDict` so they serialise straight to JSON.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired, TypedDict

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.errors import InvalidRequest


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextPart(_Strict):
    type: Literal["text"]
    text: str


class FunctionCall(_Strict):
    name: str
    arguments: str = "{}"


class ToolCall(_Strict):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(BaseModel):
    """One chat message. Content may be a string or a list of text parts."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    @property
    def text(self) -> str:
        """The message's text, parts joined."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content)


class FunctionDef(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
    description: str | None = None
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    strict: bool | None = None


class ToolDef(_Strict):
    type: Literal["function"] = "function"
    function: FunctionDef


class NamedToolChoiceFunction(_Strict):
    name: str


class NamedToolChoice(_Strict):
    type: Literal["function"] = "function"
    function: NamedToolChoiceFunction


ToolChoice = Literal["none", "auto", "required"] | NamedToolChoice


class StreamOptions(_Strict):
    include_usage: bool = False


class ChatCompletionRequest(_Strict):
    """`POST /v1/chat/completions`. Arguments OpenAI defines but Core does not act on are
    accepted and ignored; arguments nobody defines are refused, as OpenAI refuses them."""

    model: Annotated[str, Field(min_length=1)]
    messages: Annotated[list[Message], Field(min_length=1)]
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: Annotated[int | None, Field(gt=0)] = None
    max_completion_tokens: Annotated[int | None, Field(gt=0)] = None
    temperature: Annotated[float | None, Field(ge=0, le=2)] = None
    top_p: Annotated[float | None, Field(ge=0, le=1)] = None
    stop: str | list[str] | None = None
    n: Annotated[int | None, Field(ge=1)] = None
    seed: int | None = None
    tools: list[ToolDef] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    # Defined by OpenAI; accepted and ignored by Core.
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None
    response_format: dict[str, Any] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    service_tier: str | None = None
    reasoning_effort: str | None = None

    @field_validator("stop")
    @classmethod
    def _stop_list(cls, v: str | list[str] | None) -> str | list[str] | None:
        if isinstance(v, list) and len(v) > 4:
            raise ValueError("at most 4 stop sequences")
        return v

    @property
    def stop_sequences(self) -> list[str]:
        """Stop sequences as a list, empty strings dropped."""
        if self.stop is None:
            return []
        seqs = [self.stop] if isinstance(self.stop, str) else self.stop
        return [s for s in seqs if s]

    @property
    def token_limit(self) -> int | None:
        """The completion token limit, from either spelling."""
        return self.max_completion_tokens or self.max_tokens


class EmbeddingRequest(_Strict):
    """`POST /v1/embeddings`."""

    model: Annotated[str, Field(min_length=1)]
    input: str | Annotated[list[str], Field(min_length=1, max_length=2048)]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None
    user: str | None = None

    @property
    def inputs(self) -> list[str]:
        """Inputs as a list."""
        return [self.input] if isinstance(self.input, str) else list(self.input)


# --- responses -------------------------------------------------------------------------


class Usage(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ToolCallOut(TypedDict):
    id: str
    type: Literal["function"]
    function: dict[str, str]


class AssistantMessage(TypedDict):
    role: Literal["assistant"]
    content: str | None
    tool_calls: NotRequired[list[ToolCallOut]]


FinishReason = Literal["stop", "length", "tool_calls"]


def validation_problem(exc: ValidationError) -> InvalidRequest:
    """Turn a pydantic validation error into one readable `InvalidRequest`."""
    errors = exc.errors(include_url=False)
    parts: list[str] = []
    first_param: str | None = None
    for err in errors[:8]:
        loc = ".".join(str(p) for p in err["loc"] if p not in ("body",))
        first_param = first_param or loc or None
        if err["type"] == "extra_forbidden":
            parts.append(f"Unrecognized request argument supplied: {loc}")
        elif err["type"] == "missing":
            parts.append(f"Missing required parameter: '{loc}'")
        else:
            parts.append(f"Invalid value for '{loc}': {err['msg']}")
    if len(errors) > 8:
        parts.append(f"... and {len(errors) - 8} more")
    code = "unknown_parameter" if errors[0]["type"] == "extra_forbidden" else "invalid_request"
    return InvalidRequest("; ".join(parts), param=first_param, code=code)

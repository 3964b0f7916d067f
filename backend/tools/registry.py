"""The tool registry: a `@tool` decorator declares a tool with its name, risk grade and
description; its JSON Schema is derived from the function's typed parameters.

Invariants:
- A tool's `risk` is one of `read_only`, `local_write`, `external_write`, fixed at
  declaration; nothing at run time (configuration below L3, a model, a tool's output) lowers it.
- Arguments are validated against the schema before a tool runs (missing or mistyped ones
  are refused, each named; unknown extra ones are dropped); the function receives
  validated, typed values.
- Names are unique across sources; a later source cannot shadow an earlier one.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

__all__ = [
    "ArgumentsInvalid",
    "Risk",
    "ToolContext",
    "ToolRegistry",
    "ToolSpec",
    "tool",
]


class Risk(StrEnum):
    """How much consent a tool needs."""

    READ_ONLY = "read_only"
    LOCAL_WRITE = "local_write"
    EXTERNAL_WRITE = "external_write"


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What a tool may know about the call: who asked, where, its workspace, the event that
    started it (provenance for what it writes) and Edge's memory."""

    user_id: str
    role: str
    conversation_id: str | None
    task_id: str | None
    tool_call_id: str
    workspace: Any = None
    settings: Any = None
    event_id: str | None = None
    memory: Any = None


class ArgumentsInvalid(Exception):
    """The arguments do not match the tool's schema; `errors` lists each violation."""

    def __init__(self, tool: str, errors: list[dict[str, str]]):
        super().__init__(f"arguments for {tool} are invalid")
        self.tool = tool
        self.errors = errors


Handler = Callable[..., Any]


@dataclass(slots=True)
class ToolSpec:
    """A registered tool."""

    name: str
    risk: Risk
    description: str
    schema: dict[str, Any]
    source: str
    handler: Handler
    model: type[BaseModel] | None = None
    wants_context: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self, args: Any) -> dict[str, Any]:
        """Validated arguments, or `ArgumentsInvalid` listing every violation."""
        if not isinstance(args, dict):
            raise ArgumentsInvalid(self.name, [{"field": "args", "message": "must be an object"}])
        if self.model is None:
            return args
        try:
            return self.model.model_validate(args).model_dump(exclude_unset=True)
        except ValidationError as exc:
            errors = [
                {"field": ".".join(str(p) for p in e["loc"]) or "args", "message": e["msg"]}
                for e in exc.errors(include_url=False)
            ]
            raise ArgumentsInvalid(self.name, errors) from None

    async def call(self, args: dict[str, Any], ctx: ToolContext) -> Any:
        """Run the handler (sync handlers in a thread) with validated arguments."""
        kwargs = dict(args)
        if self.wants_context:
            kwargs["ctx"] = ctx
        if inspect.iscoroutinefunction(self.handler):
            return await self.handler(**kwargs)
        return await asyncio.to_thread(self.handler, **kwargs)

    def public(self) -> dict[str, Any]:
        """The Tool resource."""
        return {
            "name": self.name,
            "risk": str(self.risk),
            "description": self.description,
            "schema": self.schema,
            "source": self.source,
        }

    def openai(self) -> dict[str, Any]:
        """The tool as an OpenAI function definition."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": f"{self.description} (risk: {self.risk})",
                "parameters": self.schema,
            },
        }


def _model_for(func: Handler, name: str) -> tuple[type[BaseModel], bool]:
    hints = get_type_hints(func)
    fields: dict[str, Any] = {}
    wants_context = False
    for param in inspect.signature(func).parameters.values():
        if param.name == "ctx":
            wants_context = True
            continue
        annotation = hints.get(param.name, Any)
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (annotation, default)
    model = create_model(f"{name}_args", __config__=ConfigDict(extra="ignore"), **fields)
    return model, wants_context


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    return schema


def tool(name: str, risk: Risk | str, description: str) -> Callable[[Handler], Handler]:
    """Declare a tool. The function's typed parameters become its JSON Schema; a parameter
    named `ctx` receives the `ToolContext`. Registration happens when a registry loads the
    module (`ToolRegistry.add_module`)."""

    def decorate(func: Handler) -> Handler:
        model, wants_context = _model_for(func, name)
        func.__steward_tool__ = ToolSpec(  # type: ignore[attr-defined]
            name=name,
            risk=Risk(risk),
            description=description,
            schema=_schema(model),
            source="builtin",
            handler=func,
            model=model,
            wants_context=wants_context,
        )
        return func

    return decorate


AsyncHandler = Callable[..., Awaitable[Any]]


class ToolRegistry:
    """Every tool this process knows, by name."""

    def __init__(self) -> None:
        self._tools: dict[str, ToolSpec] = {}

    def add(self, spec: ToolSpec) -> None:
        """Register `spec`; a name already taken by another source is refused."""
        existing = self._tools.get(spec.name)
        if existing is not None and existing.source != spec.source:
            raise ValueError(
                f"tool '{spec.name}' from {spec.source} clashes with the one from "
                f"{existing.source}; rename one of them"
            )
        self._tools[spec.name] = spec

    def add_module(self, module: Any, source: str = "builtin") -> list[str]:
        """Register every `@tool` function of a module; returns their names."""
        names = []
        for value in vars(module).values():
            spec = getattr(value, "__steward_tool__", None)
            if isinstance(spec, ToolSpec):
                spec.source = source
                self.add(spec)
                names.append(spec.name)
        return names

    def remove_source(self, source: str) -> None:
        """Forget every tool from `source` (before a source is scanned again)."""
        self._tools = {n: s for n, s in self._tools.items() if s.source != source}

    def get(self, name: str) -> ToolSpec | None:
        return self._tools.get(name)

    def all(self) -> list[ToolSpec]:
        return sorted(self._tools.values(), key=lambda s: s.name)

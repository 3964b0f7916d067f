"""JSON Patch (RFC 6902) over JSON Pointers (RFC 6901), for configuration documents.

Invariants:
- `apply_patch` never mutates its input: it works on a deep copy and returns it. Values
  taken from an operation are copied too, so the result shares nothing with the caller.
- Operations apply in order and all-or-nothing: the first bad operation raises `PatchError`
  naming its index, its `op` and its `path`, and no partial result escapes.
- Pointers follow RFC 6901 exactly: `""` is the whole document, every other pointer starts
  with `/`, `~1` means `/` and `~0` means `~` (in that order), array indices are `0` or a
  number without leading zeros, and `-` (one past the end) is only valid as the target of
  `add`, `move` or `copy`.
- `test` compares as JSON does: `true` is not `1`, `1` equals `1.0`, object key order does
  not matter, array order does.
"""

from __future__ import annotations

import copy
import re
from typing import Any

__all__ = ["PatchError", "apply_patch", "json_equal", "parse_pointer"]

_INDEX = re.compile(r"^(0|[1-9][0-9]*)$")
_NEEDS = {
    "add": ("value",),
    "remove": (),
    "replace": ("value",),
    "test": ("value",),
    "move": ("from",),
    "copy": ("from",),
}


class PatchError(ValueError):
    """A JSON Patch that cannot be applied; the message says which operation and why."""


def parse_pointer(pointer: str) -> list[str]:
    """The reference tokens of an RFC 6901 JSON Pointer (`""` is the whole document)."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f"'{pointer}' is not a JSON Pointer: it must be empty or start with '/'")
    tokens = pointer[1:].split("/")
    for token in tokens:
        if re.search(r"~(?![01])", token):
            raise PatchError(f"'{pointer}' has a '~' not followed by 0 or 1 (write ~0 for '~')")
    return [t.replace("~1", "/").replace("~0", "~") for t in tokens]


def apply_patch(doc: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    """A copy of `doc` with the operations `ops` applied in order.

    Raises `PatchError` if any operation is malformed, points somewhere that does not exist,
    or is a `test` that fails.
    """
    if not isinstance(ops, list):
        raise PatchError("a JSON Patch is a list of operations")
    result: Any = copy.deepcopy(doc)
    for index, op in enumerate(ops):
        try:
            result = _apply_one(result, op)
        except PatchError as exc:
            raise PatchError(f"operation {index} {_describe(op)}: {exc}") from None
    if not isinstance(result, dict):
        raise PatchError("the patched document is no longer an object")
    return result


def _describe(op: object) -> str:
    if isinstance(op, dict):
        return f"({op.get('op')!s} {op.get('path')!s})"
    return "(not an object)"


def _apply_one(doc: Any, op: object) -> Any:
    if not isinstance(op, dict):
        raise PatchError("an operation must be an object")
    name = op.get("op")
    if not isinstance(name, str) or name not in _NEEDS:
        raise PatchError(f"unknown op {name!r}; use one of {', '.join(_NEEDS)}")
    path = op.get("path")
    if not isinstance(path, str):
        raise PatchError("'path' must be a string")
    for member in _NEEDS[name]:
        if member not in op:
            raise PatchError(f"'{name}' needs a '{member}' member")
    tokens = parse_pointer(path)
    if name == "add":
        return _add(doc, tokens, copy.deepcopy(op["value"]))
    if name == "remove":
        return _remove(doc, tokens)[0]
    if name == "replace":
        _get(doc, tokens)  # the target must exist
        return _replace(doc, tokens, copy.deepcopy(op["value"]))
    if name == "test":
        actual = _get(doc, tokens)
        if not json_equal(actual, op["value"]):
            raise PatchError(f"test failed: the value is {actual!r}, not {op['value']!r}")
        return doc
    source = op["from"]
    if not isinstance(source, str):
        raise PatchError("'from' must be a string")
    from_tokens = parse_pointer(source)
    if name == "move":
        if source == path:
            return doc
        if tokens[: len(from_tokens)] == from_tokens:
            raise PatchError(f"cannot move '{source}' into its own child '{path}'")
        doc, value = _remove(doc, from_tokens)
        return _add(doc, tokens, value)
    return _add(doc, tokens, copy.deepcopy(_get(doc, from_tokens)))


def _get(doc: Any, tokens: list[str]) -> Any:
    node = doc
    for depth, token in enumerate(tokens):
        node = _child(node, token, "/".join(tokens[: depth + 1]))
    return node


def _child(node: Any, token: str, where: str) -> Any:
    if isinstance(node, dict):
        if token not in node:
            raise PatchError(f"'/{where}' does not exist")
        return node[token]
    if isinstance(node, list):
        return node[_index(node, token, where, allow_end=False)]
    raise PatchError(f"'/{where}' goes inside a value that is neither an object nor a list")


def _index(node: list[Any], segment: str, where: str, *, allow_end: bool) -> int:
    if segment == "-":
        if allow_end:
            return len(node)
        raise PatchError(f"'/{where}': '-' (past the end) names no existing element")
    if not _INDEX.match(segment):
        raise PatchError(f"'/{where}': '{segment}' is not a list index")
    index = int(segment)
    limit = len(node) if allow_end else len(node) - 1
    if index > limit:
        raise PatchError(f"'/{where}': index {index} is out of range for a list of {len(node)}")
    return index


def _add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _get(doc, tokens[:-1])
    where = "/".join(tokens)
    if isinstance(parent, dict):
        parent[tokens[-1]] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, tokens[-1], where, allow_end=True), value)
    else:
        raise PatchError(f"the parent of '/{where}' is neither an object nor a list")
    return doc


def _remove(doc: Any, tokens: list[str]) -> tuple[Any, Any]:
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _get(doc, tokens[:-1])
    where = "/".join(tokens)
    if isinstance(parent, dict):
        if tokens[-1] not in parent:
            raise PatchError(f"'/{where}' does not exist")
        return doc, parent.pop(tokens[-1])
    if isinstance(parent, list):
        return doc, parent.pop(_index(parent, tokens[-1], where, allow_end=False))
    raise PatchError(f"the parent of '/{where}' is neither an object nor a list")


def _replace(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _get(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, list):
        parent[int(last)] = value
    else:
        parent[last] = value
    return doc


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON defines it (booleans are not numbers; key order is irrelevant)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b

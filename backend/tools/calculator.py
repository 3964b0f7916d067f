"""A safe arithmetic evaluator for the `calculator` tool.

Invariants:
- Nothing is ever passed to `eval` or `exec`: the expression is only parsed (`ast.parse`
  builds a tree and runs nothing) and the tree is walked node by node. Only number literals,
  `+ - * / // % **`, unary `+ -`, parentheses, the functions in `FUNCTIONS` (called by name,
  positional arguments only) and the constants in `CONSTANTS` are allowed; any other node is
  refused with `CalculatorError`.
- Work is bounded before it is done: the text is at most `MAX_LENGTH` characters, nesting
  at most `MAX_DEPTH` levels (a flat chain such as `1 + 2 + 3` is one level), and a power
  whose result would exceed `MAX_MAGNITUDE` is refused from its logarithm before Python
  computes it. Every intermediate and final value is a finite int or float no larger than
  `MAX_MAGNITUDE`.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

__all__ = ["CONSTANTS", "FUNCTIONS", "CalculatorError", "evaluate"]

MAX_LENGTH = 500
MAX_DEPTH = 50
MAX_MAGNITUDE = 1e300
_MAX_LOG10 = math.log10(MAX_MAGNITUDE)
_MAX_ROUND_DIGITS = 300

Number = int | float


class CalculatorError(ValueError):
    """The expression is not one the calculator evaluates; the message says why."""


_BINARY: dict[type[ast.operator], Callable[[Number, Number], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_UNARY: dict[type[ast.unaryop], Callable[[Number], Number]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}


def _round(value: Number, ndigits: Number | None = None) -> Number:
    # `round(5, -10**8)` computes 10**(10**8) internally: bound the digits first.
    if ndigits is None:
        return round(value)
    if not isinstance(ndigits, int) or abs(ndigits) > _MAX_ROUND_DIGITS:
        raise ValueError(
            f"the number of digits must be a whole number from -{_MAX_ROUND_DIGITS} "
            f"to {_MAX_ROUND_DIGITS}"
        )
    return round(value, ndigits)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": math.sqrt,
    "log": math.log,
    "log10": math.log10,
    "exp": math.exp,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "abs": abs,
    "round": _round,
    "min": min,
    "max": max,
    "floor": math.floor,
    "ceil": math.ceil,
}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}

_ALLOWED = (
    "use numbers, + - * / // % **, parentheses, the constants pi and e, and the functions "
    + ", ".join(sorted(FUNCTIONS))
)


def evaluate(expression: str) -> Number:
    """The value of `expression`, or `CalculatorError` saying what is wrong with it."""
    if len(expression) > MAX_LENGTH:
        raise CalculatorError(
            f"the expression is {len(expression)} characters long; the limit is {MAX_LENGTH}"
        )
    text = expression.strip()
    if not text:
        raise CalculatorError("the expression is empty")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise CalculatorError(f"'{_short(text)}' is not an arithmetic expression") from None
    try:
        return _eval(tree.body, 0)
    except RecursionError:  # MAX_LENGTH already bounds this; a last guard, not the limit
        raise CalculatorError("the expression is nested too deeply") from None


def _eval(node: ast.AST, depth: int) -> Number:
    if depth > MAX_DEPTH:
        raise CalculatorError(f"the expression is nested more than {MAX_DEPTH} levels deep")
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CalculatorError(f"{value!r} is not a number; {_ALLOWED}")
        return _checked(value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        return _power(_eval(node.left, depth), _eval(node.right, depth + 1))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        # A left operand stays at its parent's depth, so a flat chain `1 + 2 + ... + 250` is
        # one level however long; nesting (brackets on the right, unary signs, calls) counts.
        left, right = _eval(node.left, depth), _eval(node.right, depth + 1)
        try:
            return _checked(_BINARY[type(node.op)](left, right))
        except ZeroDivisionError:
            raise CalculatorError("division by zero") from None
        except OverflowError:
            raise CalculatorError("the result is too large") from None
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand, depth + 1))
    if isinstance(node, ast.Name) and node.id in CONSTANTS:
        return CONSTANTS[node.id]
    if isinstance(node, ast.Call):
        return _call(node, depth)
    raise CalculatorError(f"'{_short(ast.unparse(node))}' is not allowed: {_ALLOWED}")


def _call(node: ast.Call, depth: int) -> Number:
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
        raise CalculatorError(f"'{_short(ast.unparse(node.func))}' is not a known function")
    name = node.func.id
    if node.keywords:
        raise CalculatorError(f"{name}() takes positional arguments only")
    args = [_eval(a, depth + 1) for a in node.args]
    try:
        return _checked(FUNCTIONS[name](*args))
    except (ValueError, TypeError, OverflowError) as exc:
        raise CalculatorError(f"{name}(): {exc}") from None


def _power(base: Number, exponent: Number) -> Number:
    # Refuse from logarithms first: `10 ** 10 ** 6` must not be computed to be refused.
    growing = base != 0 and exponent > 0 and abs(base) != 1
    if growing and exponent * math.log10(abs(base)) > _MAX_LOG10:
        raise CalculatorError(f"the result is larger than {MAX_MAGNITUDE:g}")
    try:
        return _checked(operator.pow(base, exponent))
    except ZeroDivisionError:
        raise CalculatorError("zero cannot be raised to a negative power") from None
    except OverflowError:
        raise CalculatorError(f"the result is larger than {MAX_MAGNITUDE:g}") from None


def _checked(value: Any) -> Number:
    if isinstance(value, complex):
        raise CalculatorError("the result is a complex number, which is not supported")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CalculatorError("the result is not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise CalculatorError("the result is not a finite number")
    if abs(value) > MAX_MAGNITUDE:
        raise CalculatorError(f"the result is larger than {MAX_MAGNITUDE:g}")
    return value


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""A tiny third-party tool plugin, as a package would ship one: `@tool` functions in a module
that a `steward.tools` entry point names (the whole module, or one function)."""

from __future__ import annotations

from backend.tools.registry import tool


@tool("shout", "read_only", "Return the text in capitals.")
def shout(text: str) -> str:
    return text.upper()


@tool("word_count", "read_only", "Count the words in a text.")
def word_count(text: str) -> int:
    return len(text.split())


def helper(text: str) -> str:
    """Not a tool: an entry point naming it is refused."""
    return text

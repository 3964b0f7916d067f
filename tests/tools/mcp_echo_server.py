"""A real MCP server for the tests, run over stdio with `sys.executable`: `echo`, `add`,
`stats`, `fail` (always an error result), `env` (reads its environment), `pid`, and `grow`
(adds a `shout` tool at run time, so a rescan has something new to find)."""

from __future__ import annotations

import os
import sys

from mcp.server.fastmcp import FastMCP

server = FastMCP(sys.argv[1] if len(sys.argv) > 1 else "echo", log_level="WARNING")


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool()
def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


@server.tool()
def stats(text: str) -> dict[str, int]:
    """Count the characters and words of a text."""
    return {"chars": len(text), "words": len(text.split())}


@server.tool()
def fail(message: str) -> str:
    """Always fail with the message."""
    raise ValueError(message)


@server.tool()
def env(name: str) -> str:
    """The value of an environment variable in the server's process ('' when unset)."""
    return os.environ.get(name, "")


@server.tool()
def pid() -> int:
    """This server's process id."""
    return os.getpid()


def shout(text: str) -> str:
    """Return the text in capitals."""
    return text.upper()


@server.tool()
def grow() -> str:
    """Offer one more tool, `shout`, from now on."""
    server.add_tool(shout)
    return "shout added"


if __name__ == "__main__":
    server.run()

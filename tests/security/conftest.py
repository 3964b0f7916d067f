"""Fixtures for the security suite: an Edge seen by its owner and a member (the `world` of
tests/approvals), and readers of its security log."""

from __future__ import annotations

import http.client
import json
import re
from pathlib import Path
from typing import Any

import httpx

from tests.approvals.conftest import World, world

__all__ = ["World", "anonymous", "concrete", "raw_request", "security_lines", "world"]


def security_lines(data_dir: Path) -> list[dict[str, Any]]:
    """The security log's entries, oldest first (none if there is no file yet)."""
    path = data_dir / "security.log"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def anonymous(client: httpx.Client, **headers: str) -> httpx.Client:
    """A client for the same Edge without the owner's token (the caller closes it)."""
    return httpx.Client(base_url=client.base_url, headers=headers, timeout=30)


def concrete(path: str, ids: dict[str, str] | None = None, default: str = "x_1") -> str:
    """An OpenAPI path with its `{param}`s filled from `ids` (or `default`)."""
    return re.sub(r"\{([^}]+)\}", lambda m: (ids or {}).get(m.group(1), default), path)


def raw_request(
    base_url: str | httpx.URL, method: str, target: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Send `target` exactly as written (no client-side `..` resolution or escaping);
    returns the status, the headers (lower-cased names) and the body."""
    url = httpx.URL(str(base_url))
    conn = http.client.HTTPConnection(url.host, url.port, timeout=30)
    try:
        conn.request(method, target, headers=headers or {})
        response = conn.getresponse()
        found = {k.lower(): v for k, v in response.getheaders()}
        return response.status, found, response.read()
    finally:
        conn.close()

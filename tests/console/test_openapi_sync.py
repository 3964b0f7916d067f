"""The Console's typed API client is generated from `frontend/openapi.json`; that file must be
Edge's live schema, or the client's types describe an API that no longer exists."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

from backend.openapi_schema import schema_text

SCHEMA = Path(__file__).resolve().parents[2] / "frontend" / "openapi.json"


def test_frontend_openapi_json_is_the_live_schema() -> None:
    assert SCHEMA.exists(), (
        f"{SCHEMA} is missing: run scripts/openapi.sh to write it from Edge's live schema."
    )
    live = schema_text()
    saved = SCHEMA.read_text(encoding="utf-8")
    if saved != live:
        diff = "".join(
            list(
                difflib.unified_diff(
                    saved.splitlines(keepends=True),
                    live.splitlines(keepends=True),
                    "frontend/openapi.json",
                    "live schema",
                )
            )[:80]
        )
        raise AssertionError(
            "frontend/openapi.json differs from Edge's live schema: an API route changed. "
            "Run scripts/openapi.sh (it rewrites the file and the Console's generated types) "
            "and commit both.\n" + diff
        )


def test_the_schema_lists_the_routes_the_console_uses() -> None:
    paths = set(json.loads(schema_text())["paths"])
    for path in (
        "/v1/me",
        "/v1/conversations",
        "/v1/agent/messages",
        "/v1/agent/tasks",
        "/v1/approvals",
        "/v1/tools",
        "/v1/memory/query",
    ):
        assert path in paths, path

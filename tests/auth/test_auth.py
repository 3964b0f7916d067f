"""Authentication: every route but /health needs a valid bearer token; tokens are stored
hashed; the owner is created once, with a generated token printed once."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.agent.api import create_app
from tests.agent.conftest import OWNER_TOKEN, EdgeFactory, edge_settings
from tests.databases import is_postgres, query
from tests.servers import serve

PROTECTED = [
    ("POST", "/v1/agent/messages"),
    ("GET", "/v1/agent/tasks"),
    ("GET", "/v1/agent/tasks/task_x"),
    ("POST", "/v1/agent/tasks/task_x:cancel"),
    ("GET", "/v1/agent/tasks/task_x/events"),
    ("GET", "/v1/agent/lanes"),
    ("GET", "/v1/audit/conversations/conv_x/timeline"),
    ("GET", "/v1/audit/verify"),
    ("POST", "/v1/audit/render"),
    ("POST", "/v1/memory/write"),
    ("POST", "/v1/memory/query"),
    ("GET", "/v1/memory/items"),
    ("DELETE", "/v1/memory/items/mem_x"),
    ("GET", "/v1/memory/candidates"),
    ("POST", "/v1/memory/candidates/cand_x:approve"),
]


def _routes(app_schema: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", "x_1", path))
        for path, methods in app_schema["paths"].items()
        for method in methods
        if path != "/health"
    ]


def test_every_route_in_the_schema_needs_a_token(edge: httpx.Client) -> None:
    routes = _routes(httpx.get(str(edge.base_url) + "/openapi.json").json())
    assert len(routes) >= 30
    for method, path in routes:
        r = httpx.request(method, str(edge.base_url) + path, json={"text": "x"})
        assert r.status_code == 401, (method, path, r.status_code)


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_route_needs_a_valid_token(edge: httpx.Client, method: str, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        r = httpx.request(method, str(edge.base_url) + path, headers=headers, json={"text": "x"})
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json()["code"] in ("missing_token", "bad_token")


def test_health_is_open(edge: httpx.Client) -> None:
    assert httpx.get(str(edge.base_url) + "/health").status_code == 200


def _everything_stored(database_url: str) -> bytes:
    """Every byte the database holds: the SQLite file, or each PostgreSQL row as text."""
    if not is_postgres(database_url):
        return Path(database_url.removeprefix("sqlite:///")).read_bytes()
    tables = query(
        database_url,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    )
    assert len(tables) > 5, tables
    rows: list[tuple[object, ...]] = []
    for (name,) in tables:  # names from the database's own catalogue
        rows += query(database_url, f"SELECT CAST(t AS text) FROM {name} t")  # noqa: S608
    return repr(rows).encode()


def test_tokens_are_stored_hashed(make_edge: EdgeFactory, database_url: str) -> None:
    with make_edge() as client:
        assert client.get("/v1/agent/tasks").status_code == 200
    stored = _everything_stored(database_url)
    assert OWNER_TOKEN.encode() not in stored
    assert b"owner" in stored  # the search saw the stored rows
    rows = query(database_url, "SELECT token_hash FROM api_tokens")
    assert [len(h) for (h,) in rows] == [64]


def test_generated_owner_token_is_printed_once_and_works(
    tmp_path: Path, core_url: str, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = edge_settings(
        tmp_path / "data", core_url, owner_token=None, database_url=database_url
    )
    with serve(create_app(settings)) as url:
        pass
    printed = capsys.readouterr().err
    token = next(w for w in printed.split() if w.startswith("stw_"))
    with serve(create_app(settings)) as url:
        r = httpx.get(url + "/v1/agent/tasks", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
    assert "stw_" not in capsys.readouterr().err  # not printed again on the next start
    ledger = query(database_url, "SELECT payload FROM ledger_events")
    assert ledger
    assert all(token not in payload for (payload,) in ledger)


def test_steward_users_token_replaces_a_lost_token(
    tmp_path: Path, core_url: str, database_url: str
) -> None:
    import os
    import subprocess
    import sys

    steward = str(Path(sys.executable).parent / "steward")
    settings = edge_settings(tmp_path / "data", core_url, database_url=database_url)
    with serve(create_app(settings)):
        pass  # first start: the owner exists with OWNER_TOKEN
    env = {
        **os.environ,
        "STEWARD_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": database_url,
    }
    out = subprocess.run(
        [steward, "users", "token", "owner"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    new_token = out.stdout.strip()
    assert new_token.startswith("stw_")
    with serve(create_app(settings)) as url:
        old = httpx.get(url + "/v1/me", headers={"Authorization": f"Bearer {OWNER_TOKEN}"})
        new = httpx.get(url + "/v1/me", headers={"Authorization": f"Bearer {new_token}"})
    assert old.status_code == 401
    assert new.json()["role"] == "owner"

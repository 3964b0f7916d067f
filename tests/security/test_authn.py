"""Authentication on every route, and the security log that records each refusal: no token,
a wrong one, a revoked one. The log names the request and the reason, never the token."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from backend.cli import app as steward
from tests.agent.conftest import OWNER_TOKEN
from tests.security.conftest import World, anonymous, concrete, security_lines

WRONG = "stw_this-token-was-never-issued-0000000000"
CREDENTIALS = {
    "missing_token": {},
    "bad_token": {"Authorization": f"Bearer {WRONG}"},
    "basic": {"Authorization": "Basic b3duZXI6cGFzc3dvcmQ="},
}


def schema_routes(world: World) -> list[tuple[str, str]]:
    """(method, concrete path) of every operation in Edge's OpenAPI schema but /health."""
    paths = world.owner.get("/openapi.json").json()["paths"]
    return [
        (method.upper(), concrete(path))
        for path, methods in paths.items()
        for method in methods
        if path != "/health"
    ]


@pytest.mark.parametrize("credential", sorted(CREDENTIALS))
def test_every_route_refuses_a_request_without_a_valid_token(world: World, credential: str) -> None:
    routes = schema_routes(world)
    assert len(routes) >= 30
    with anonymous(world.owner, **CREDENTIALS[credential]) as client:
        for method, path in routes:
            r = client.request(method, path, json={"text": "x"})
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.headers["content-type"] == "application/problem+json"
    logged = [e for e in security_lines(world.data_dir) if e["status"] == 401]
    assert {(e["method"], e["path"]) for e in logged} == set(routes)
    assert all(e["principal_id"] is None and e["client"] == "127.0.0.1" for e in logged)


def test_a_revoked_token_is_refused_and_its_replacement_works(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = world.owner.post("/v1/users", json={"name": "sam"}).json()
    old = created["token"]
    with anonymous(world.owner, Authorization=f"Bearer {old}") as sam:
        assert sam.get("/v1/me").json()["name"] == "sam"
        monkeypatch.setenv("STEWARD_DATA_DIR", str(world.data_dir))
        result = CliRunner().invoke(steward, ["users", "token", "sam"])
        assert result.exit_code == 0, result.output
        new = result.stdout.strip().splitlines()[-1]
        refused = sam.get("/v1/agent/tasks")
    assert refused.status_code == 401
    assert refused.json()["code"] == "bad_token"
    with anonymous(world.owner, Authorization=f"Bearer {new}") as renewed:
        assert renewed.get("/v1/me").json()["user_id"] == created["user_id"]
    [entry] = [e for e in security_lines(world.data_dir) if e["path"] == "/v1/agent/tasks"]
    assert entry["reason"] == "bad_token"
    assert entry["method"] == "GET"


def test_a_refusal_is_logged_with_who_asked_and_why(world: World) -> None:
    r = world.member.post("/v1/tools:rescan")
    assert r.status_code == 403
    [entry] = security_lines(world.data_dir)
    assert set(entry) == {"time", "method", "path", "client", "principal_id", "status", "reason"}
    assert entry["principal_id"] == world.member_id
    assert (entry["method"], entry["path"], entry["status"]) == ("POST", "/v1/tools:rescan", 403)
    assert entry["reason"] == "owner_only"
    assert entry["client"] == "127.0.0.1"
    assert entry["time"].endswith("Z")


def test_the_security_log_never_holds_a_token(world: World) -> None:
    member_token = world.member.headers["authorization"].removeprefix("Bearer ")
    with anonymous(world.owner, Authorization=f"Bearer {WRONG}") as wrong:
        wrong.get("/v1/agent/tasks", params={"token": WRONG})
    world.member.post("/v1/users", json={"name": "eve"})
    world.member.get("/v1/users", params={"access_token": member_token})
    text = (world.data_dir / "security.log").read_text(encoding="utf-8")
    assert len(text.splitlines()) == 3
    for secret in (WRONG, member_token, OWNER_TOKEN, "stw_"):
        assert secret not in text

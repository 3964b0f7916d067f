"""Roles and object-level access on every route of the OpenAPI schema, so a route added
later is covered without editing this file: a member is refused every owner-only operation,
and every route with an id in its path hides the owner's objects from a member."""

from __future__ import annotations

import re
from typing import Any

from tests.agent.polling import send, wait_task
from tests.security.conftest import World, concrete, raw_request, security_lines

# SPEC §5: only the owner approves, rejects, commits, rolls back, rescans, deletes, or
# manages users. Matched by the operation's shape, not by a list of today's routes.
_OWNER_ACTION = re.compile(r":(approve|reject|commit|rollback|rescan)$")
# GET routes whose answer is the same for everyone by design.
_SHARED = {"/v1/me", "/v1/tools", "/v1/conversations", "/openapi.json"}


def owner_only(method: str, path: str) -> bool:
    """Whether SPEC §5 reserves this operation to the owner."""
    return bool(method == "DELETE" or _OWNER_ACTION.search(path) or path.startswith("/v1/users"))


def operations(world: World) -> list[tuple[str, str]]:
    paths: dict[str, Any] = world.owner.get("/openapi.json").json()["paths"]
    return [(m.upper(), p) for p, methods in paths.items() for m in methods if p != "/health"]


def test_a_member_is_refused_every_owner_only_operation(world: World) -> None:
    reserved = [(m, p) for m, p in operations(world) if owner_only(m, p)]
    assert len(reserved) >= 10, reserved
    for method, path in reserved:
        r = world.member.request(method, concrete(path), json={"name": "eve", "reason": "x"})
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        assert r.json()["code"] == "owner_only"
    logged = {(e["method"], e["path"]) for e in security_lines(world.data_dir)}
    assert logged == {(m, concrete(p)) for m, p in reserved}


def owners_objects(world: World) -> dict[str, str]:
    """One object of each kind, all the owner's, by the path parameter that names it."""
    owner = world.owner
    sent = send(owner, "the owner's private question")
    wait_task(owner, sent["task_id"])
    held = owner.post(
        "/v1/tools:execute", json={"tool": "send_message", "args": {"to": "a", "text": "b"}}
    ).json()
    # The owner's own scope: the global config is everyone's by design.
    scope = "user:" + owner.get("/v1/me").json()["user_id"]
    proposed = owner.post(
        "/v1/config/patches:propose", json={"text": "more concise", "scope": scope}
    ).json()
    committed = owner.post(f"/v1/config/patches/{proposed['patch_id']}:commit").json()
    again = owner.post(
        "/v1/config/patches:propose", json={"text": "more formal", "scope": scope}
    ).json()
    stored = owner.post(
        "/v1/memory/write", json={"text": "The owner likes green tea", "confidence": 0.99}
    ).json()
    guessed = owner.post("/v1/memory/write", json={"text": "The owner's PIN is 4711"}).json()
    assert (stored["status"], guessed["status"]) == ("stored", "candidate"), (stored, guessed)
    return {
        "task_id": sent["task_id"],
        "conversation_id": sent["conversation_id"],
        "approval_id": held["approval_id"],
        "tool_call_id": held["tool_call_id"],
        "patch_id": again["patch_id"],
        "revision_id": committed["revision_id"],
        "memory_id": stored["memory"]["memory_id"],
        "candidate_id": guessed["candidate"]["candidate_id"],
    }


def test_a_member_never_reaches_an_owners_object(world: World) -> None:
    ids = owners_objects(world)
    with_ids = [(m, p) for m, p in operations(world) if "{" in p]
    params = {name for _, p in with_ids for name in re.findall(r"\{([^}]+)\}", p)}
    assert params <= set(ids), f"add an object for {params - set(ids)} to owners_objects"
    for method, path in with_ids:
        url = concrete(path, ids)
        owner_view = world.owner.get(url) if method == "GET" else None
        r = world.member.request(method, url, json={"reason": "x", "confirm": True})
        expected = 403 if owner_only(method, path) else 404
        assert r.status_code == expected, (method, url, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        for value in ids.values():
            assert value not in r.text or value in url, (method, url, r.text)
        if owner_view is not None:
            assert owner_view.status_code == 200, (url, owner_view.text)
    # Nothing the member tried changed anything.
    assert world.owner.get(f"/v1/approvals/{ids['approval_id']}").json()["status"] == "pending"
    assert world.owner.get(f"/v1/memory/items/{ids['memory_id']}").status_code == 200
    assert world.hook.count() == 0


def test_listings_show_a_member_nothing_of_the_owners(world: World) -> None:
    ids = owners_objects(world)
    listed = [
        p
        for m, p in operations(world)
        if m == "GET" and "{" not in p and p not in _SHARED and not owner_only(m, p)
    ]
    assert len(listed) >= 6, listed
    for path in listed:
        r = world.member.get(path)
        assert r.status_code in (200, 422), (path, r.status_code, r.text)
        for value in ids.values():
            assert value not in r.text, (path, value)


def test_paths_with_dot_segments_reach_no_other_route(world: World) -> None:
    """Nothing normalises `..` in a path: it never turns a member's request into an owner
    route, and never answers with another object."""
    for raw in (
        "/v1/agent/tasks/../../users",
        "/v1/agent/tasks/..%2F..%2Fusers",
        "/v1/memory/items/..%2f..%2fusers",
        "/v1/approvals/%2e%2e",
    ):
        auth = {"Authorization": world.member.headers["authorization"]}
        status, headers, body = raw_request(world.member.base_url, "GET", raw, auth)
        assert status == 404, (raw, status, body)
        assert headers["content-type"] == "application/problem+json"

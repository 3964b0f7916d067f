"""A member in the Console: signed in as themselves, shown no owner-only action (approve,
reject, commit, roll back, approve a memory, delete one), and refused by the server anyway."""

from __future__ import annotations

import json
import secrets

from playwright.sync_api import Page, expect

from tests.console.conftest import Steward, shot
from tests.console.ui import conversation_from_url, get_json, poll, sign_in, tid


def test_a_member_sees_no_owner_actions_and_the_server_refuses_them(
    page: Page, steward: Steward
) -> None:
    sign_in(page, steward.member_token)
    whoami = tid(page, "whoami")
    expect(whoami).to_contain_text(steward.member_name)
    expect(whoami).to_contain_text("member")

    # Chat: the member's own external write waits for the owner; no buttons to decide it.
    page.goto("/chat/")
    tid(page, "new-conversation").click()
    args = {"to": "bob", "text": "member asks"}
    box = tid(page, "chat-input")
    box.fill(f"Tell Bob [[tool:send_message {json.dumps(args)}]]")
    box.press("Enter")
    expect(tid(page, "approval-card")).to_be_visible()
    expect(tid(page, "tool-call").first).to_have_attribute("data-status", "pending_approval")
    expect(tid(page, "approval-approve")).to_have_count(0)
    expect(tid(page, "approval-reject")).to_have_count(0)
    conversation_id = conversation_from_url(page)
    shot(page, "member-chat")

    # Approvals: listed, not decidable.
    page.goto("/approvals/")
    expect(tid(page, "approval-row").first).to_be_visible()
    expect(tid(page, "approval-approve")).to_have_count(0)
    expect(tid(page, "approval-reject")).to_have_count(0)
    mine = poll(
        lambda: get_json(steward.member, "/v1/approvals", status="pending")["data"],
        lambda rows: any(a["conversation_id"] == conversation_id for a in rows),
        "the member's pending approval",
    )
    approval = next(a for a in mine if a["conversation_id"] == conversation_id)

    # Config: a member may look and propose, never commit or roll back.
    page.goto("/config/")
    expect(tid(page, "config-effective")).to_be_visible()
    # Loaded (rows, or the empty state: a member sees only revisions of their own scopes),
    # so an absent button is really absent.
    expect(tid(page, "revision-row").or_(tid(page, "state-empty")).first).to_be_visible()
    expect(tid(page, "config-commit")).to_have_count(0)
    expect(tid(page, "revision-rollback")).to_have_count(0)
    shot(page, "member-config")

    # Memory: what a member writes waits for the owner; no approve, no delete.
    tag = "mb" + secrets.token_hex(3)
    written = steward.member.post(
        "/v1/memory/write", json={"text": f"The {tag} gate code changed on Monday."}
    )
    assert written.status_code in (201, 202), written.text
    page.goto("/memory/")
    expect(tid(page, "candidate-row").filter(has_text=tag)).to_be_visible()
    expect(tid(page, "candidate-approve")).to_have_count(0)
    expect(tid(page, "candidate-reject")).to_have_count(0)
    expect(tid(page, "memory-item-delete")).to_have_count(0)
    shot(page, "member-memory")

    # And the server refuses each owner action from the member's token.
    m = steward.member
    revision = get_json(steward.owner, "/v1/config/revisions", limit=1)["data"][0]
    patch = m.post("/v1/config/patches:propose", json={"text": "be more concise"})
    refusals = {
        "approve": m.post(f"/v1/approvals/{approval['approval_id']}:approve", json={}),
        "reject": m.post(f"/v1/approvals/{approval['approval_id']}:reject", json={}),
        "rollback": m.post(f"/v1/config/revisions/{revision['revision_id']}:rollback"),
        "users": m.post("/v1/users", json={"name": "intruder"}),
    }
    if patch.status_code == 201:
        refusals["commit"] = m.post(f"/v1/config/patches/{patch.json()['patch_id']}:commit")
    if written.json().get("candidate"):
        cand = written.json()["candidate"]["candidate_id"]
        refusals["candidate"] = m.post(f"/v1/memory/candidates/{cand}:approve")
    items = get_json(steward.owner, "/v1/memory/items")["data"]
    if items:
        refusals["delete"] = m.delete(f"/v1/memory/items/{items[0]['memory_id']}")
    for action, r in refusals.items():
        assert r.status_code == 403, (action, r.status_code, r.text)
        assert r.json()["code"] == "owner_only", (action, r.json())
    assert get_json(steward.owner, f"/v1/approvals/{approval['approval_id']}")["status"] == (
        "pending"
    )
    steward.owner.post(f"/v1/approvals/{approval['approval_id']}:reject", json={"reason": "test"})

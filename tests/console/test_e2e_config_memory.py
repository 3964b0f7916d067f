"""Preferences and memory in the Console: a preference in plain words becomes a diff with a
risk grade, is committed as a revision and rolled back; a sensitive fact waits as a
candidate, is approved in the page and then found by a query with its score."""

from __future__ import annotations

import re
import secrets
from typing import Any

from playwright.sync_api import Page, expect

from tests.console.conftest import OWNER_TOKEN, Steward, shot
from tests.console.ui import get_json, poll, sign_in, tid


def _effective(steward: Steward) -> dict[str, Any]:
    body: dict[str, Any] = get_json(steward.owner, "/v1/config/effective")
    return body


def test_a_preference_is_committed_then_rolled_back(page: Page, steward: Steward) -> None:
    before = _effective(steward)
    assert before["config"]["reply"]["verbosity"] != "concise"
    revisions_before = len(get_json(steward.owner, "/v1/config/revisions", limit=500)["data"])
    sign_in(page, OWNER_TOKEN)
    page.goto("/config/")
    expect(tid(page, "config-effective")).to_contain_text("verbosity")
    expect(tid(page, "revision-row")).to_have_count(revisions_before)

    tid(page, "config-preference-input").fill("be more concise")
    tid(page, "config-propose").click()
    expect(tid(page, "config-diff")).to_contain_text(re.compile(r"reply.verbosity"))
    expect(tid(page, "config-diff")).to_contain_text("concise")
    expect(tid(page, "config-risk")).to_contain_text("L1")
    shot(page, "config-proposed")
    assert _effective(steward)["revision"] == before["revision"]  # nothing changes yet

    tid(page, "config-commit").click()
    committed = poll(
        lambda: _effective(steward),
        lambda e: e["revision"] != before["revision"],
        "a new revision in force",
    )
    assert committed["config"]["reply"]["verbosity"] == "concise"
    expect(tid(page, "revision-row")).to_have_count(revisions_before + 1)
    expect(tid(page, "revision-row").first).to_contain_text(committed["revision"])
    expect(tid(page, "config-effective")).to_contain_text("concise")
    shot(page, "config-committed")

    tid(tid(page, "revision-row").first, "revision-rollback").click()
    restored = poll(
        lambda: _effective(steward),
        lambda e: e["revision"] not in (before["revision"], committed["revision"]),
        "the rollback's revision in force",
    )
    assert restored["config"] == before["config"]
    newest = get_json(steward.owner, "/v1/config/revisions", limit=1)["data"][0]
    assert newest["kind"] == "rollback"
    expect(tid(page, "revision-row")).to_have_count(revisions_before + 2)
    shot(page, "config-rolled-back")


def test_a_candidate_approved_in_the_page_is_then_found(page: Page, steward: Steward) -> None:
    tag = "zx" + secrets.token_hex(3)
    fact = f"My {tag} blood pressure medication is lisinopril, 10 mg every morning."
    written = steward.owner.post("/v1/memory/write", json={"text": fact, "confidence": 0.95})
    assert written.status_code in (201, 202), written.text
    assert written.json()["status"] == "candidate", written.json()
    candidate_id = written.json()["candidate"]["candidate_id"]

    sign_in(page, OWNER_TOKEN)
    page.goto("/memory/")
    row = tid(page, "candidate-row").filter(has_text=tag)
    expect(row).to_be_visible()
    shot(page, "memory-candidates")
    tid(row, "candidate-approve").click()
    expect(tid(page, "candidate-row").filter(has_text=tag)).to_have_count(0)
    candidate = poll(
        lambda: get_json(steward.owner, f"/v1/memory/candidates/{candidate_id}"),
        lambda c: c["status"] != "pending",
        "the candidate decided",
    )
    assert candidate["status"] == "approved", candidate

    tid(page, "memory-query-input").fill(f"what blood pressure medication do I take {tag}")
    tid(page, "memory-query-submit").click()
    best = tid(page, "memory-result").first
    expect(best).to_contain_text(fact)
    score = tid(best, "memory-score").inner_text().strip()
    assert 0.0 < float(score) <= 1.0, score
    api = steward.owner.post(
        "/v1/memory/query", json={"text": f"blood pressure medication {tag}", "top_k": 3}
    ).json()
    assert api["data"][0]["text"] == fact
    shot(page, "memory-query")

    item = tid(page, "memory-item-row").filter(has_text=tag)
    expect(item).to_be_visible()
    tid(item, "memory-item-delete").click()
    expect(tid(page, "memory-item-row").filter(has_text=tag)).to_have_count(0)
    gone = steward.owner.post(
        "/v1/memory/query", json={"text": f"blood pressure medication {tag}", "top_k": 3}
    ).json()
    assert all(tag not in r["text"] for r in gone["data"])

"""Memory through Edge's HTTP API (SPEC §7): the candidate policy, review, deletion, query,
provenance and the ledger, on a real Edge with a real Core (mock backend)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from backend.ledger.store import LedgerStore
from backend.storage.db import Database
from backend.storage.models import LedgerEvent
from tests.agent.conftest import EdgeFactory
from tests.memory.conftest import Memory

FACTS = [
    "The boiler was serviced in October.",
    "My passport expires in 2031.",
    "The garden hose is in the shed.",
    "I take the 7:40 train to work.",
    "Our neighbour Ana feeds the fish when we travel.",
]


def memory_events(database_url: str) -> list[dict[str, Any]]:
    db = Database(database_url)
    try:
        with db.read() as s:
            rows = s.scalars(
                select(LedgerEvent)
                .where(LedgerEvent.type == "MemoryEvent")
                .order_by(LedgerEvent.seq)
            ).all()
            assert LedgerStore().verify(s).ok
            return [
                {"event_id": r.event_id, "actor": r.actor_id, **json.loads(r.payload)} for r in rows
            ]
    finally:
        db.dispose()


def test_plain_facts_are_stored_and_found_best_first(memory: Memory) -> None:
    for fact in FACTS:
        r = memory.write(fact, confidence=0.95, kind="fact")
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "stored"
    found = memory.query("where is the garden hose", top_k=3)
    assert found[0]["text"] == FACTS[2]
    scores = [x["score"] for x in found]
    assert scores == sorted(scores, reverse=True)
    assert all(-1.0 <= s <= 1.0 for s in scores)
    assert {"memory_id", "text", "kind", "confidence", "origin", "source_event_id"} <= set(found[0])


def test_a_stored_item_keeps_its_provenance(memory: Memory) -> None:
    r = memory.write("The garden hose is in the shed.", source="import")
    item = r.json()["memory"]
    assert item["origin"] == "user"
    assert item["source"] == "import"
    assert item["written_by"] == memory.owner.get("/v1/me").json()["user_id"]
    events = memory_events(memory.database_url)
    stored = [e for e in events if e["phase"] == "stored"]
    assert stored[-1]["memory_id"] == item["memory_id"]
    assert item["source_event_id"] == stored[-1]["event_id"]


def test_a_credential_goes_to_candidates_and_stays_out_of_the_ledger(memory: Memory) -> None:
    r = memory.write("My online banking password is Tulip-7781", confidence=0.99)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "candidate"
    assert "high_impact:credentials" in body["reasons"]
    assert not any("Tulip" in x["text"] for x in memory.query("online banking password", 5))
    ledger = json.dumps(memory_events(memory.database_url))
    assert "Tulip-7781" not in ledger
    cand = memory.candidates()[0]
    assert cand["text"] == "My online banking password is Tulip-7781"


def test_low_confidence_is_a_candidate_until_the_owner_approves(memory: Memory) -> None:
    r = memory.write("I think my sister might be moving to Berlin", confidence=0.3)
    assert r.json()["status"] == "candidate"
    assert "low_confidence" in r.json()["reasons"]
    assert not memory.texts("is my sister moving to Berlin")
    (cand,) = [c for c in memory.candidates() if "Berlin" in c["text"]]
    r = memory.owner.post(
        f"/v1/memory/candidates/{cand['candidate_id']}:approve", json={"reason": "true"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"
    assert r.json()["memory_id"]
    assert memory.texts("is my sister moving to Berlin")[0].endswith("Berlin")
    again = memory.owner.post(f"/v1/memory/candidates/{cand['candidate_id']}:approve")
    assert again.status_code == 409
    assert again.json()["code"] == "candidate_decided"


def test_a_hedged_write_without_confidence_is_a_candidate(memory: Memory) -> None:
    r = memory.write("I think the car insurance renews in May")
    assert r.json()["status"] == "candidate"


def test_a_rejected_candidate_is_never_found(memory: Memory) -> None:
    cand = memory.write("Maybe I like jazz", confidence=0.2).json()["candidate"]
    r = memory.owner.post(f"/v1/memory/candidates/{cand['candidate_id']}:reject")
    assert r.status_code == 200
    assert r.json()["status"] == "rejected"
    assert memory.candidates() == []
    assert [c["candidate_id"] for c in memory.candidates(status="rejected")] == [
        cand["candidate_id"]
    ]
    assert not memory.texts("do I like jazz")


def test_writing_the_same_fact_again_merges(memory: Memory) -> None:
    first = memory.write("My passport expires in 2031.", confidence=0.95).json()
    before = len(memory.items())
    again = memory.write("my passport expires in 2031", confidence=0.99)
    assert again.status_code == 200
    body = again.json()
    assert body["status"] == "merged"
    assert body["memory"]["memory_id"] == first["memory"]["memory_id"]
    assert body["memory"]["confirmations"] == 2
    assert len(memory.items()) == before


def test_a_contradiction_names_the_item_it_would_supersede(memory: Memory) -> None:
    old = memory.write("I take the 7:40 train to work.").json()["memory"]
    r = memory.write("I take the 8:10 train to work.")
    body = r.json()
    assert body["status"] == "candidate", body
    assert "contradicts_existing" in body["reasons"]
    cand = body["candidate"]
    assert cand["supersedes"] == old["memory_id"]
    assert cand["superseded_item"]["text"] == "I take the 7:40 train to work."
    r = memory.owner.post(f"/v1/memory/candidates/{cand['candidate_id']}:approve")
    assert r.status_code == 200
    assert memory.texts("which train do I take to work", top_k=5) == [
        "I take the 8:10 train to work."
    ]
    (superseded,) = memory.items(status="superseded")
    assert superseded["memory_id"] == old["memory_id"]
    assert superseded["superseded_by"] == r.json()["memory_id"]


def test_a_deleted_item_never_comes_back(make_edge: EdgeFactory, memory: Memory) -> None:
    item = memory.write("The garden hose is in the shed.").json()["memory"]
    r = memory.owner.delete(f"/v1/memory/items/{item['memory_id']}", params={"reason": "moved"})
    assert r.status_code == 200
    assert r.json()["status"] == "deleted"
    assert not memory.texts("where is the garden hose", top_k=5)
    assert memory.items() == []
    assert memory.owner.delete(f"/v1/memory/items/{item['memory_id']}").status_code == 200
    deleted = [e for e in memory_events(memory.database_url) if e["phase"] == "deleted"]
    assert len(deleted) == 1
    assert deleted[0]["reason"] == "moved"
    # A second process on the same database, which indexed the item before its deletion
    # was visible to it, still never returns it.
    with make_edge(data_dir=memory.data_dir) as other:
        r = other.post("/v1/memory/query", json={"text": "where is the garden hose"})
        assert r.json()["data"] == []


def test_another_process_on_the_same_database_finds_new_items(
    make_edge: EdgeFactory, memory: Memory
) -> None:
    memory.write(FACTS[0])
    with make_edge(data_dir=memory.data_dir) as other:
        assert other.post("/v1/memory/query", json={"text": "boiler serviced"}).json()["data"]
        memory.write(FACTS[4])
        found = other.post("/v1/memory/query", json={"text": "who feeds the fish"}).json()
        assert found["data"][0]["text"] == FACTS[4]
        gone = memory.items()[0]["memory_id"]
        memory.owner.delete(f"/v1/memory/items/{gone}")
        texts = [
            x["text"]
            for x in other.post(
                "/v1/memory/query", json={"text": "who feeds the fish", "top_k": 10}
            ).json()["data"]
        ]
        assert FACTS[4] not in texts


def test_filters_narrow_a_query(memory: Memory) -> None:
    memory.write("I prefer window seats on trains.", kind="preference")
    memory.write("The train to Lyon leaves at 9:15.", kind="fact")
    found = memory.query("trains", top_k=5, filters={"kind": "preference"})
    assert [x["kind"] for x in found] == ["preference"]


def test_members_write_candidates_and_see_only_their_own(memory: Memory) -> None:
    memory.write("The garden hose is in the shed.")
    r = memory.write("I like my tea without sugar.", client=memory.member)
    assert r.status_code == 202
    assert "written_by_member" in r.json()["reasons"]
    cand = r.json()["candidate"]
    assert memory.query("garden hose", client=memory.member) == []
    assert memory.items(client=memory.member) == []
    owner_item = memory.items()[0]["memory_id"]
    assert memory.member.get(f"/v1/memory/items/{owner_item}").status_code == 404
    for path in (
        f"/v1/memory/candidates/{cand['candidate_id']}:approve",
        f"/v1/memory/candidates/{cand['candidate_id']}:reject",
    ):
        assert memory.member.post(path).status_code == 403
    assert memory.member.delete(f"/v1/memory/items/{owner_item}").status_code == 403
    approved = memory.owner.post(f"/v1/memory/candidates/{cand['candidate_id']}:approve")
    assert approved.status_code == 200
    assert [x["text"] for x in memory.query("tea sugar", client=memory.member)] == [
        "I like my tea without sugar."
    ]
    assert all("tea" not in x["text"] for x in memory.query("tea sugar"))


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/memory/query", {"text": "x", "top_k": -3}),
        ("/v1/memory/query", {"text": "x", "top_k": 0}),
        ("/v1/memory/query", {"text": "   "}),
        ("/v1/memory/query", {"text": "x", "filters": {"colour": "red"}}),
        ("/v1/memory/write", {"text": ""}),
        ("/v1/memory/write", {"text": "x", "confidence": 2}),
        ("/v1/memory/write", {"text": "x", "kind": "Not A Kind"}),
        ("/v1/memory/write", {"text": "x", "origin": "god"}),
        ("/v1/memory/write", {"text": "x", "surprise": True}),
        ("/v1/memory/write", {"text": "x" * 2001}),
        ("/v1/memory/write", {"text": 42}),
        # Only symbols: the embedding model has nothing to place (a zero vector).
        ("/v1/memory/write", {"text": "\x1e)"}),
        ("/v1/memory/query", {"text": "\U000ca63f"}),
    ],
)
def test_bad_input_is_a_clear_422(memory: Memory, path: str, body: dict[str, Any]) -> None:
    r = memory.owner.post(path, json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["detail"]


def test_unknown_ids_are_404(memory: Memory) -> None:
    assert memory.owner.get("/v1/memory/items/mem_nope").status_code == 404
    assert memory.owner.delete("/v1/memory/items/mem_nope").status_code == 404
    assert memory.owner.post("/v1/memory/candidates/cand_nope:approve").status_code == 404
    assert memory.owner.post("/v1/memory/candidates/cand_nope:reject").status_code == 404


def test_memory_turned_off_refuses_writes(memory: Memory) -> None:
    r = memory.owner.post("/v1/config/patches:propose", json={"text": "stop remembering things"})
    assert r.status_code == 201, r.text
    patch = r.json()["patch_id"]
    assert memory.owner.post(f"/v1/config/patches/{patch}:commit").status_code == 201
    r = memory.write("The garden hose is in the shed.")
    assert r.status_code == 409
    assert r.json()["code"] == "memory_disabled"


def test_every_change_is_a_memory_event(memory: Memory) -> None:
    memory.write(FACTS[0])
    memory.write(FACTS[0])
    cand = memory.write("Maybe the dentist is on Friday", confidence=0.2).json()["candidate"]
    memory.owner.post(f"/v1/memory/candidates/{cand['candidate_id']}:approve")
    phases = [e["phase"] for e in memory_events(memory.database_url)]
    assert phases == ["stored", "merged", "candidate_proposed", "candidate_approved"]

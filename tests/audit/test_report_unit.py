"""The report and integrity builders as pure functions over hand-made events: event types
and phases the agent does not record yet still show up."""

from __future__ import annotations

from typing import Any

from backend.audit.integrity import integrity, neighbour_seqs
from backend.audit.render_html import render_html
from backend.audit.render_markdown import render_markdown
from backend.audit.report import task_report
from backend.ledger.events import SYSTEM, Actor, StoredEvent
from backend.ledger.hashing import GENESIS, event_hash

OWNER = Actor("usr_1", "owner")


Spec = tuple[str, dict[str, Any], Actor, int | str | None]


def _chain(specs: list[Spec]) -> list[StoredEvent]:
    """Events linked as the ledger links them; the last item of a spec is the cause: the
    index of an earlier event, an event id from elsewhere, or None."""
    events: list[StoredEvent] = []
    prev = GENESIS
    for seq, (type_, payload, actor, cause) in enumerate(specs, 1):
        event_id, ts = f"evt_{seq}", f"2026-01-01T00:00:0{seq}.000000Z"
        causation_id = events[cause].event_id if isinstance(cause, int) else cause
        envelope = {
            "event_id": event_id,
            "seq": seq,
            "ts": ts,
            "type": type_,
            "conversation_id": "conv_1",
            "task_id": "task_1",
            "actor": actor.as_dict(),
            "causation_id": causation_id,
            "payload": payload,
            "prev_hash": prev,
        }
        digest = event_hash(prev, envelope)
        events.append(
            StoredEvent(
                event_id=event_id,
                seq=seq,
                ts=ts,
                type=type_,
                conversation_id="conv_1",
                task_id="task_1",
                actor=actor,
                causation_id=causation_id,
                payload=payload,
                prev_hash=prev,
                hash=digest,
            )
        )
        prev = digest
    return events


def _links(events: list[StoredEvent]) -> dict[int, tuple[str, str]]:
    return {e.seq: (e.prev_hash, e.hash) for e in events}


EVENTS = _chain(
    [
        ("InputEvent", {"text": "hi"}, OWNER, None),
        ("RouteEvent", {"backend": "llamacpp", "model": "big", "reason": "default"}, SYSTEM, 0),
        ("FallbackEvent", {"reason": "llamacpp timed out", "to": "mock"}, SYSTEM, 1),
        ("ShinyNewEvent", {"phase": "sparkled"}, SYSTEM, 2),
        (
            "TaskEvent",
            {"status": "failed", "from": "running", "reason": "gave up"},
            SYSTEM,
            "evt_x",
        ),
    ]
)


def test_fallbacks_and_unknown_types_are_kept() -> None:
    r = task_report(EVENTS, integrity(EVENTS, _links(EVENTS)))
    [fallback] = r["route"]["fallbacks"]
    assert fallback["reason"] == "llamacpp timed out"
    assert fallback["payload"]["to"] == "mock"
    summaries = {e["type"]: e["summary"] for e in r["timeline"]}
    assert summaries["FallbackEvent"] == "fallback: llamacpp timed out"
    assert summaries["ShinyNewEvent"] == "ShinyNewEvent sparkled"
    assert r["task"]["status"] == "failed"
    assert "llamacpp timed out" in render_markdown(r)
    assert "llamacpp timed out" in render_html(r)


def test_tree_roots_events_caused_from_outside() -> None:
    events = _chain(
        [
            ("InputEvent", {"text": "hi"}, OWNER, None),
            ("PlanEvent", {"steps": []}, SYSTEM, 0),
            ("ApprovalEvent", {"phase": "approved"}, OWNER, "evt_of_another_task"),
            ("ToolCallEvent", {"phase": "started"}, OWNER, 2),
        ]
    )
    tree = task_report(events, integrity(events, _links(events)))["tree"]
    assert [(n["type"], [c["type"] for c in n["children"]]) for n in tree] == [
        ("InputEvent", ["PlanEvent"]),
        ("ApprovalEvent", ["ToolCallEvent"]),
    ]


def test_integrity_verifies_and_names_a_missing_predecessor() -> None:
    events = _chain(
        [
            ("InputEvent", {"text": "a"}, OWNER, None),
            ("InputEvent", {"text": "b"}, OWNER, None),
            ("InputEvent", {"text": "c"}, OWNER, None),
        ]
    )
    links = _links(events)
    assert neighbour_seqs(events[1:2]) == {1, 3}
    assert integrity(events, links) == {"verified": True, "checked": 3, "first_broken": None}
    del links[1]
    result = integrity(events[1:], links)
    assert result["verified"] is False
    assert result["first_broken"]["seq"] == 2
    assert "seq 1" in result["first_broken"]["reason"]
    assert "missing" in result["first_broken"]["reason"]

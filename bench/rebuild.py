"""`steward ledger rebuild` on a synthetic ledger, against the floor of reading it at all.

Run: `uv run --no-sync python -m bench.rebuild [--events 200000]`.

The ledger is synthesised into a fresh, migrated SQLite file as Edge would write it: users,
the config seed, tasks with input, plan, route, recall and completion, read-only tool calls,
tool calls held for approval and approved, memory writes (config patches and memory
candidates are left out: they are rare beside tasks). Rows are chained with the real
`canonical`, `redact` and `event_hash` (what `LedgerStore.append` does, without a
transaction per event). The state tables are then filled from one rebuild, so the timed
rebuild compares against an equal live state, as on a healthy install.

The floor is what any rebuild must do: read the same `ledger_events` rows with raw sqlite3
and `json.loads` each payload. The rebuild also verifies every hash, reduces, bulk-writes a
fresh database and compares it with the live one; each phase is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from backend.ledger.hashing import GENESIS, canonical, event_hash
from backend.ledger.projection import TABLES
from backend.ledger.rebuild import rebuild
from backend.ledger.redact import redact
from backend.storage.db import Database

OWNER = {"id": "usr_owner", "role": "owner"}
SYSTEM = {"id": "system", "role": "system"}
_COLUMNS = (
    "seq, event_id, ts, type, conversation_id, task_id, actor_id, actor_role, "
    "causation_id, payload, prev_hash, hash"
)
_INSERT = f"INSERT INTO ledger_events ({_COLUMNS}) VALUES ({', '.join('?' * 12)})"  # noqa: S608


def _task(n: int, ts: str) -> Iterator[tuple[str, dict[str, Any], dict[str, str], str, str]]:
    """The events of one task: (type, payload, actor, conversation, task)."""
    conv, task = f"conv_{n % 500:06d}", f"task_{n:08d}"
    yield (
        "InputEvent",
        {"text": f"question {n}", "message_id": f"msg_in{n:08d}", "at": ts},
        OWNER,
        conv,
        task,
    )
    yield "TaskEvent", {"status": "queued", "from": None}, OWNER, conv, task
    yield (
        "TaskEvent",
        {"status": "running", "from": "queued", "attempt": 1, "at": ts},
        SYSTEM,
        conv,
        task,
    )
    plan = {"steps": ["read", "ask", "tools", "reply"], "history_messages": 4, "attempt": 1}
    yield "PlanEvent", plan, SYSTEM, conv, task
    route = {"backend": "mock", "model": "mock-1", "reason": "Core's default"}
    yield "RouteEvent", route, SYSTEM, conv, task
    yield "MemoryEvent", {"phase": "recalled", "memory_ids": [], "scores": []}, SYSTEM, conv, task
    if n % 3 == 0:
        call = f"{task}:call_1"
        base = {"tool_call_id": call, "tool": "web_search", "risk": "read_only"}
        yield (
            "ToolCallEvent",
            {
                **base,
                "phase": "requested",
                "args": {"query": f"q{n}"},
                "decision": "run",
                "model_call_id": "m1",
                "step": 1,
                "at": ts,
            },
            SYSTEM,
            conv,
            task,
        )
        yield "ToolCallEvent", {**base, "phase": "started", "at": ts}, SYSTEM, conv, task
        yield (
            "ToolCallEvent",
            {**base, "phase": "completed", "result": {"hits": [n]}, "duration_ms": 1.5, "at": ts},
            SYSTEM,
            conv,
            task,
        )
    if n % 7 == 0:
        call, approval = f"{task}:call_2", f"apr_{n:08d}"
        base = {"tool_call_id": call, "tool": "send_message", "risk": "external_write"}
        yield (
            "ToolCallEvent",
            {
                **base,
                "phase": "requested",
                "args": {"to": "ann", "text": "hi"},
                "decision": "needs_approval",
                "model_call_id": "m2",
                "step": 2,
                "at": ts,
            },
            SYSTEM,
            conv,
            task,
        )
        ask = {
            "phase": "requested",
            "approval_id": approval,
            **base,
            "decided_by": None,
            "reason": None,
            "at": ts,
            "expires_at": ts,
        }
        yield "ApprovalEvent", ask, SYSTEM, conv, task
        yield "TaskEvent", {"status": "waiting_approval", "from": "running"}, SYSTEM, conv, task
        yes = {**ask, "phase": "approved", "decided_by": "usr_owner", "reason": "ok"}
        yield "ApprovalEvent", yes, OWNER, conv, task
        yield "ToolCallEvent", {**base, "phase": "started", "at": ts}, OWNER, conv, task
        yield (
            "ToolCallEvent",
            {**base, "phase": "completed", "result": {"sent": True}, "duration_ms": 3.0, "at": ts},
            SYSTEM,
            conv,
            task,
        )
        yield (
            "TaskEvent",
            {"status": "queued", "from": "waiting_approval", "phase": "resumed"},
            SYSTEM,
            conv,
            task,
        )
        yield (
            "TaskEvent",
            {"status": "running", "from": "queued", "attempt": 2, "at": ts},
            SYSTEM,
            conv,
            task,
        )
    if n % 5 == 0:
        memory = {
            "phase": "stored",
            "memory_id": f"mem_{n:08d}",
            "text": f"fact {n}",
            "text_sha256": f"{n:064d}",
            "kind": "fact",
            "confidence": 0.9,
            "origin": "user",
            "impact": [],
            "source": None,
        }
        yield "MemoryEvent", memory, OWNER, conv, task
    usage = {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52}
    yield (
        "CompletionEvent",
        {"text": f"answer {n}", "finish_reason": "stop", "usage": usage},
        SYSTEM,
        conv,
        task,
    )
    yield (
        "TaskEvent",
        {"status": "completed", "from": "running", "at": ts, "config_revision": "rev_seed"},
        SYSTEM,
        conv,
        task,
    )


def _events(
    count: int,
) -> Iterator[tuple[str, dict[str, Any], dict[str, str], str | None, str | None]]:
    ts = "2026-11-25T00:00:00.000000Z"
    yield (
        "UserEvent",
        {"phase": "created", "user_id": "usr_owner", "name": "owner", "role": "owner", "at": ts},
        SYSTEM,
        None,
        None,
    )
    yield (
        "PatchEvent",
        {
            "phase": "seeded",
            "revision_id": "rev_seed",
            "seed": {"reply": {"verbosity": "normal"}},
            "at": ts,
        },
        SYSTEM,
        None,
        None,
    )
    n, made = 0, 2
    while made < count:
        for event in _task(n, ts):
            yield event
            made += 1
        n += 1


def synthesise(path: Path, count: int) -> int:
    """A migrated database at `path` holding about `count` chained events; returns how many."""
    db = Database(f"sqlite:///{path}")
    db.migrate()
    db.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    prev, rows, seq = GENESIS, [], 0
    ts = "2026-11-25T00:00:00.000000Z"
    for seq, (type_, payload, actor, conv, task) in enumerate(_events(count), start=1):
        payload = redact(payload)
        envelope = {
            "event_id": f"evt_{seq:012d}",
            "seq": seq,
            "ts": ts,
            "type": type_,
            "conversation_id": conv,
            "task_id": task,
            "actor": actor,
            "causation_id": None,
            "payload": payload,
            "prev_hash": prev,
        }
        digest = event_hash(prev, envelope)
        rows.append(
            (
                seq,
                envelope["event_id"],
                ts,
                type_,
                conv,
                task,
                actor["id"],
                actor["role"],
                None,
                canonical(payload),
                prev,
                digest,
            )
        )
        prev = digest
        if len(rows) == 10_000:
            conn.executemany(_INSERT, rows)
            rows = []
    if rows:
        conn.executemany(_INSERT, rows)
    conn.execute("UPDATE ledger_head SET seq = ?, hash = ?, ts = ? WHERE id = 1", (seq, prev, ts))
    conn.execute("COMMIT")
    conn.close()
    return seq


def adopt(live: Path, rebuilt: Path) -> None:
    """Make `live`'s state tables those of `rebuilt` (a healthy install's live state)."""
    conn = sqlite3.connect(live, isolation_level=None)
    conn.execute("ATTACH DATABASE ? AS r", (str(rebuilt),))
    conn.execute("BEGIN")
    for spec in TABLES:
        conn.execute(f"INSERT INTO main.{spec.name} SELECT * FROM r.{spec.name}")  # noqa: S608
    conn.execute("COMMIT")
    conn.close()


def floor(path: Path) -> tuple[int, float]:
    """Raw sqlite3 read of every event and `json.loads` of its payload."""
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    n = 0
    for row in conn.execute(f"SELECT {_COLUMNS} FROM ledger_events ORDER BY seq"):  # noqa: S608
        json.loads(row[9])
        n += 1
    conn.close()
    return n, time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="steward-bench-rebuild-") as tmp:
        live = Path(tmp) / "edge.db"
        started = time.perf_counter()
        count = synthesise(live, args.events)
        print(f"{count} events synthesised in {time.perf_counter() - started:.1f}s")
        db = Database(f"sqlite:///{live}")
        first = rebuild(db, Path(tmp) / "first.db")
        adopt(live, Path(tmp) / "first.db")
        floors, reports = [], []
        for i in range(args.rounds):
            floors.append(floor(live)[1])
            reports.append(rebuild(db, Path(tmp) / f"round{i}.db"))
        db.dispose()
    best = min(reports, key=lambda r: sum(r.seconds.values()))
    assert best.equal, best.differences[:5]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load}; best of {args.rounds}"
    )
    print(f"rows: {', '.join(f'{k} {v}' for k, v in first.rows.items())}\n")
    s = best.seconds
    total = sum(s.values())
    lines = [
        ("floor: sqlite3 read + json.loads", min(floors)),
        ("rebuild: read + verify chain", s["read_verify"]),
        ("rebuild: reduce", s["reduce"]),
        ("rebuild: write fresh database", s["write"]),
        ("rebuild: reduce + write", s["reduce"] + s["write"]),
        ("rebuild: compare with live", s["compare"]),
        ("rebuild: total", total),
    ]
    print(f"| {'phase':<36} | {'seconds':>8} | {'events/s':>10} |")
    print(f"|{'-' * 38}|{'-' * 10}:|{'-' * 11}:|")
    for name, secs in lines:
        print(f"| {name:<36} | {secs:>8.3f} | {count / secs:>10,.0f} |")


if __name__ == "__main__":
    main()

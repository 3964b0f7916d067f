"""The hash check of a ledger read row by row, fast: shared by `steward ledger rebuild`'s
reading and by the second process that checks a SQLite ledger beside the rebuild.

Invariants:
- Exactly what `LedgerStore.verify` accepts is accepted: the fast path hashes the envelope
  text as SQLite (or `envelope_text`) assembles it around the stored payload, which
  `LedgerStore.append` stores canonical; only if that hash does not match is the payload
  re-canonicalised and hashed the slow way.
- `first_broken` reads the file read-only, up to the head the caller saw: events are never
  changed once written, so a rebuild's snapshot and this process see the same events.
- Only the standard library and `backend.ledger.hashing`, so a fresh process starts fast.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from json.encoder import encode_basestring
from typing import Any

from backend.ledger.hashing import GENESIS, event_hash

__all__ = ["BATCH_SQL", "SQLITE_ENVELOPE", "envelope_text", "first_broken", "hash_matches"]


def _q(value: str | None) -> str:
    # A string or null as `canonical` writes it (ensure_ascii=False), without json.dumps'
    # per-call encoder: this runs nine times per event.
    return "null" if value is None else str(encode_basestring(value))


_FIELDS = (
    "seq, event_id, ts, type, conversation_id, task_id, actor_id, actor_role, causation_id, "
    "payload, prev_hash, hash"
)
# SQLite assembles each event's canonical envelope itself, so Python only hashes it: the
# envelope's keys in sorted order, strings quoted by json_quote. Where SQLite's quoting
# differs from `canonical`'s (control characters), the hash will not match and the exact
# check decides.
SQLITE_ENVELOPE = (
    """'{"actor":{"id":' || json_quote(actor_id) || ',"role":' || json_quote(actor_role)"""
    """ || '},"causation_id":' || json_quote(causation_id)"""
    """ || ',"conversation_id":' || json_quote(conversation_id)"""
    """ || ',"event_id":' || json_quote(event_id) || ',"payload":' || payload"""
    """ || ',"prev_hash":' || json_quote(prev_hash) || ',"seq":' || seq"""
    """ || ',"task_id":' || json_quote(task_id) || ',"ts":' || json_quote(ts)"""
    """ || ',"type":' || json_quote(type) || '}'"""
)
# Rows from seq `?` on: the twelve columns, then `{envelope}` (text, or NULL).
BATCH_SQL = " ".join(
    (
        "SELECT",
        _FIELDS + ",",
        "{envelope}",
        "FROM ledger_events WHERE seq >= ? ORDER BY seq LIMIT ?",
    )
)


def envelope_text(row: tuple[Any, ...]) -> str:
    """The canonical envelope of a row whose payload is stored canonical."""
    seq, event_id, ts, type_, conv, task, actor_id, actor_role, cause, payload = row[:10]
    return (
        f'{{"actor":{{"id":{_q(actor_id)},"role":{_q(actor_role)}}},'
        f'"causation_id":{_q(cause)},"conversation_id":{_q(conv)},'
        f'"event_id":{_q(event_id)},"payload":{payload},'
        f'"prev_hash":{_q(row[10])},"seq":{int(seq)},"task_id":{_q(task)},'
        f'"ts":{_q(ts)},"type":{_q(type_)}}}'
    )


def hash_matches(row: tuple[Any, ...]) -> bool:
    """Whether the row's hash is `event_hash` of its envelope (`row[12]`: its text as
    assembled around the stored payload, or None to assemble it here)."""
    prev_hash, stored_hash = row[10], row[11]
    text = row[12] if len(row) > 12 and row[12] is not None else envelope_text(row)
    if hashlib.sha256(f"{prev_hash}{text}".encode()).hexdigest() == stored_hash:
        return True
    try:
        payload = json.loads(row[9])
    except json.JSONDecodeError:
        return False
    envelope = {
        "event_id": row[1],
        "seq": row[0],
        "ts": row[2],
        "type": row[3],
        "conversation_id": row[4],
        "task_id": row[5],
        "actor": {"id": row[6], "role": row[7]},
        "causation_id": row[8],
        "payload": payload,
        "prev_hash": prev_hash,
    }
    return bool(event_hash(prev_hash, envelope) == stored_hash)


def first_broken(
    path: str, head_seq: int, head_hash: str, batch: int = 5000
) -> dict[str, Any] | None:
    """Walk the SQLite ledger at `path` up to `head_seq`: None if every link and hash holds
    and the last hash is `head_hash`, else where it first breaks (as `ChainBroken` says)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        sql = BATCH_SQL.format(envelope=SQLITE_ENVELOPE)
        prev_hash, expected = GENESIS, 1
        while expected <= head_seq:
            rows = conn.execute(sql, (expected, min(batch, head_seq - expected + 1))).fetchall()
            for r in rows:
                where = {"seq": r[0], "event_id": r[1]}
                if r[0] != expected:
                    return where | {"reason": f"event {expected} is missing"}
                if r[10] != prev_hash or not hash_matches(r):
                    return where | {"reason": "the event's hash does not verify"}
                prev_hash, expected = r[11], r[0] + 1
            if not rows:
                break
    finally:
        conn.close()
    if expected - 1 != head_seq or prev_hash != head_hash:
        reason = f"the chain head says seq {head_seq}, but {expected - 1} events verify"
        return {"seq": head_seq, "event_id": None, "reason": reason}
    return None

"""A task's server-sent events (SPEC §3): token deltas while the answer streams, the whole
story for a late client, resumption with `Last-Event-ID`, well-formed frames with increasing
ids, and problems for unknown tasks and missing tokens.

A real Edge on loopback, read over real HTTP connections with httpx streaming; the only fake
is the model, a Core that streams `part0 part1 ...` and can be held between chunks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.agent.conftest import EdgeFactory
from tests.agent.polling import send, timeline, wait_task
from tests.fakes.slow_core import SlowCoreState, slow_core_app
from tests.servers import serve

# A stream that stops answering fails the test after this long instead of hanging it.
READ_TIMEOUT_S = 5.0
CHUNKS = 20


@dataclass(frozen=True, slots=True)
class Frame:
    """One SSE event: its `id:`, `event:` and `data:` (parsed JSON)."""

    id: str
    event: str
    data: dict[str, Any]

    @property
    def key(self) -> tuple[int, int]:
        """The id as (ledger seq, delta number) for ordering; a ledger event's number is 0."""
        seq, _, n = self.id.partition(".")
        return int(seq), int(n or 0)


def sse_frames(response: httpx.Response) -> Iterator[Frame]:
    """Parse an SSE body strictly: every event has one `id:`, `event:` and `data:` line, the
    data is JSON, comments and `retry:` are allowed, nothing else is."""
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if line == "":
            if set(fields) == {"retry"}:
                assert fields["retry"].isdigit(), fields
            elif fields:
                assert set(fields) == {"id", "event", "data"}, f"incomplete frame {fields}"
                yield Frame(fields["id"], fields["event"], json.loads(fields["data"]))
            fields = {}
            continue
        if line.startswith(":"):
            continue  # a comment (keepalive)
        name, sep, value = line.partition(":")
        assert sep, f"not an SSE line: {line!r}"
        assert name in ("id", "event", "data", "retry"), f"not an SSE field: {line!r}"
        assert name not in fields, f"two {name!r} lines in one frame"
        fields[name] = value.removeprefix(" ")
    assert not fields, f"the stream ended inside a frame: {fields}"


def check_frames(frames: list[Frame], task_id: str, *, after: int = 0) -> None:
    """Ids increase; a ledger frame's id is its seq and its event its type; a delta's id is
    `<last ledger seq>.<n>`; everything belongs to `task_id` and comes after `after`."""
    last_seq = after
    keys = [f.key for f in frames]
    assert keys == sorted(set(keys)), f"ids do not strictly increase: {[f.id for f in frames]}"
    for f in frames:
        assert f.data["task_id"] == task_id
        if f.event == "delta":
            assert f.id == f"{last_seq}.{f.data['index']}", f
            assert isinstance(f.data["text"], str)
        else:
            assert f.id == str(f.data["seq"]), f
            assert f.event == f.data["type"], f
            assert f.data["seq"] > after
            assert {"event_id", "ts", "hash", "prev_hash", "payload"} <= set(f.data)
            last_seq = f.data["seq"]


def _events_url(task_id: str) -> str:
    return f"/v1/agent/tasks/{task_id}/events"


def _expected_reply(chunks: int = CHUNKS) -> str:
    return "".join(f"part{i} " for i in range(chunks))


@pytest.fixture
def core() -> Iterator[tuple[str, SlowCoreState]]:
    """A fake Core streaming 20 chunks 50 ms apart, its gate open (set) until a test holds it."""
    gate = threading.Event()
    gate.set()
    state = SlowCoreState(chunks=CHUNKS, chunk_delay_s=0.05, gate=gate)
    with serve(slow_core_app(state)) as url:
        yield url, state


@pytest.fixture
def edge_on_core(
    make_edge: EdgeFactory, core: tuple[str, SlowCoreState]
) -> Iterator[tuple[httpx.Client, SlowCoreState]]:
    url, state = core
    with make_edge(core_base_url=url, workers=2) as client:
        yield client, state


def _gate(state: SlowCoreState) -> threading.Event:
    assert state.gate is not None
    return state.gate


def test_deltas_arrive_before_the_completion_is_recorded(
    edge_on_core: tuple[httpx.Client, SlowCoreState],
) -> None:
    edge, core = edge_on_core
    sent = send(edge, "Stream your answer to me.")
    task_id = sent["task_id"]
    frames: list[Frame] = []
    with edge.stream("GET", _events_url(task_id), timeout=READ_TIMEOUT_S) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["cache-control"] == "no-cache"
        stream = sse_frames(r)
        for frame in stream:
            frames.append(frame)
            if frame.event == "delta":
                break
        _gate(core).clear()  # hold the rest of the answer while we look
        assert frames[-1].data["text"] == "part0 "
        assert edge.get(f"/v1/agent/tasks/{task_id}").json()["status"] == "running"
        recorded = [e["type"] for e in timeline(edge, sent["conversation_id"])]
        assert "CompletionEvent" not in recorded
        assert "CompletionEvent" not in [f.event for f in frames]
        _gate(core).set()
        frames += stream  # to the end of the stream, which must come
    check_frames(frames, task_id)
    events = [f.event for f in frames]
    first_delta, completion = events.index("delta"), events.index("CompletionEvent")
    assert first_delta < completion
    assert events[completion + 1 :] == ["TaskEvent"], "the stream ends after the terminal event"
    assert frames[-1].data["payload"]["status"] == "completed"
    reply = frames[completion].data["payload"]["text"]
    assert reply == _expected_reply()
    streamed = "".join(f.data["text"] for f in frames if f.event == "delta")
    assert len(streamed) > len("part0 ")
    assert reply.startswith(streamed), "deltas are the reply's beginning, in order, once each"


def test_late_client_gets_the_whole_story_and_the_stream_ends(
    edge_on_core: tuple[httpx.Client, SlowCoreState],
) -> None:
    edge, core = edge_on_core
    core.chunks, core.chunk_delay_s = 3, 0.0
    sent = send(edge, "Hello there.")
    assert wait_task(edge, sent["task_id"])["status"] == "completed"
    with edge.stream("GET", _events_url(sent["task_id"]), timeout=READ_TIMEOUT_S) as r:
        assert r.status_code == 200
        frames = list(sse_frames(r))
    check_frames(frames, sent["task_id"])
    assert [f.event for f in frames] == [
        "InputEvent",
        "TaskEvent",
        "TaskEvent",
        "PlanEvent",
        "RouteEvent",
        "MemoryEvent",
        "CompletionEvent",
        "TaskEvent",
    ]
    statuses = [f.data["payload"]["status"] for f in frames if f.event == "TaskEvent"]
    assert statuses == ["queued", "running", "completed"]
    assert frames[6].data["payload"]["text"] == _expected_reply(3)
    # The frames are the ledger's events, hashes and all.
    assert [f.data for f in frames] == timeline(edge, sent["conversation_id"])


def test_resume_after_a_ledger_event_sends_only_what_followed(
    edge_on_core: tuple[httpx.Client, SlowCoreState],
) -> None:
    edge, core = edge_on_core
    core.chunks, core.chunk_delay_s = 3, 0.0
    sent = send(edge, "Hello again.")
    task_id = sent["task_id"]
    wait_task(edge, task_id)
    with edge.stream("GET", _events_url(task_id), timeout=READ_TIMEOUT_S) as r:
        full = list(sse_frames(r))
    plan = next(i for i, f in enumerate(full) if f.event == "PlanEvent")
    resume_at = full[plan].id
    headers = {"Last-Event-ID": resume_at}
    with edge.stream("GET", _events_url(task_id), headers=headers, timeout=READ_TIMEOUT_S) as r:
        assert r.status_code == 200
        resumed = list(sse_frames(r))
    check_frames(resumed, task_id, after=int(resume_at))
    assert resumed == full[plan + 1 :]
    assert [f.event for f in resumed] == [
        "RouteEvent",
        "MemoryEvent",
        "CompletionEvent",
        "TaskEvent",
    ]
    with edge.stream(
        "GET", _events_url(task_id), params={"after": resume_at}, timeout=READ_TIMEOUT_S
    ) as r:
        assert list(sse_frames(r)) == resumed, "`?after=` resumes like Last-Event-ID"


def test_resume_after_a_delta_neither_repeats_nor_skips_deltas(
    edge_on_core: tuple[httpx.Client, SlowCoreState],
) -> None:
    edge, core = edge_on_core
    sent = send(edge, "Tell me in parts.")
    task_id = sent["task_id"]
    first: list[Frame] = []
    with edge.stream("GET", _events_url(task_id), timeout=READ_TIMEOUT_S) as r:
        for frame in sse_frames(r):
            first.append(frame)
            if sum(f.event == "delta" for f in first) == 2:
                break
        _gate(core).clear()  # the client goes away mid-answer; the answer is held
    last = first[-1]
    assert last.event == "delta"
    assert edge.get(f"/v1/agent/tasks/{task_id}").json()["status"] == "running"
    with edge.stream(
        "GET", _events_url(task_id), headers={"Last-Event-ID": last.id}, timeout=READ_TIMEOUT_S
    ) as r:
        assert r.status_code == 200
        _gate(core).set()
        second = list(sse_frames(r))
    check_frames(first, task_id)
    check_frames(second, task_id, after=last.key[0])
    assert last.key < second[0].key
    assert "delta" in [f.event for f in second]
    completion = next(f for f in second if f.event == "CompletionEvent")
    streamed = "".join(f.data["text"] for f in first + second if f.event == "delta")
    assert completion.data["payload"]["text"] == _expected_reply()
    assert completion.data["payload"]["text"].startswith(streamed)
    assert len(streamed) > len("part0 part1 ")
    assert second[-1].event == "TaskEvent"
    assert second[-1].data["payload"]["status"] == "completed"


def test_resume_after_the_terminal_event_ends_at_once(
    edge_on_core: tuple[httpx.Client, SlowCoreState],
) -> None:
    # Browsers' EventSource reconnects whenever a stream ends, sending the last id it saw:
    # the terminal event's. That reconnection must end too, not idle with keepalives forever.
    edge, core = edge_on_core
    core.chunks, core.chunk_delay_s = 2, 0.0
    sent = send(edge, "Short one.")
    wait_task(edge, sent["task_id"])
    terminal = timeline(edge, sent["conversation_id"])[-1]
    assert terminal["payload"]["status"] == "completed"
    headers = {"Last-Event-ID": str(terminal["seq"])}
    with edge.stream("GET", _events_url(sent["task_id"]), headers=headers, timeout=2.0) as r:
        assert r.status_code in (200, 204)  # 204 also tells EventSource to stop reconnecting
        assert list(sse_frames(r)) == []


def _problem(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["detail"]


def test_unknown_task_is_404_and_missing_or_bad_token_is_401(
    edge_on_core: tuple[httpx.Client, SlowCoreState],
) -> None:
    edge, _ = edge_on_core
    _problem(edge.get(_events_url("task_nope")), 404, "task_not_found")
    sent = send(edge, "Whose is this?")
    url = _events_url(sent["task_id"])
    with httpx.Client(base_url=edge.base_url, timeout=READ_TIMEOUT_S) as anonymous:
        _problem(anonymous.get(url), 401, "missing_token")
        _problem(anonymous.get(url, headers={"Authorization": "Bearer nope"}), 401, "bad_token")

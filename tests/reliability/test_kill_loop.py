"""Edge killed with SIGKILL at random moments of a mixed workload, a hundred times: no message
is lost, no tool call runs twice, no lane ever runs two tasks at once, and the ledger still
verifies and explains the whole state (SPEC §3, §9).

One real Core (mock backend, replies streamed slowly enough to be caught mid-way), one
webhook standing in for the outside world, and Edge as a real process on one SQLite file,
started and killed over and over (forked from a zygote that imported Edge once, so a start
takes a fraction of a second instead of the seconds an import takes). The workload runs in a
thread while the test picks the moment to kill: messages (every third asks for
`send_message`, an external write that needs the owner's approval), approvals of whatever is
pending, preference patches committed, and memory writes. A request cut off by the kill is
retried after the restart with the same `Idempotency-Key`, as a client would.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.api import create_app as create_core
from core.settings import CoreSettings
from tests.agent.conftest import OWNER_TOKEN
from tests.agent.polling import timeline
from tests.agent.processes import EdgeProcess, EdgeProcesses, Zygote, edge_env, wait_until
from tests.databases import sqlite_url
from tests.fakes.webhook import Webhook, webhook
from tests.ledger.rebuilt import assert_rebuilds_equal
from tests.servers import serve

KILLS = 100
LANES = [f"lane-{n}" for n in range(3)]
FINISHED = ("completed", "failed", "cancelled")


@pytest.fixture
def slow_mock_core() -> Iterator[str]:
    """The real Core on its mock backend, pacing streamed replies so kills land mid-reply."""
    with serve(create_core(CoreSettings(backend="mock", mock_stream_delay_s=0.01))) as url:
        yield url


class Workload:
    """What the client meant to do, and what Edge said to each request."""

    def __init__(self) -> None:
        self.messages: dict[str, tuple[str, str]] = {}  # idempotency key -> (lane, text)
        self.accepted: set[str] = set()  # keys Edge answered 202 to
        self.patches = 0
        self.committed = 0  # commits Edge acknowledged
        self.remembered = 0  # memory writes Edge acknowledged
        self.sent = 0
        self.rng = random.Random(20261125)

    def next_message(self, client: httpx.Client) -> None:
        self.sent += 1
        self.message(client, self.sent)

    def message(self, client: httpx.Client, n: int) -> None:
        lane = LANES[n % len(LANES)]
        key = f"msg-{n}"
        text = f"message {n}"
        if n % 3 == 0:
            args = {"to": "ann", "text": f"note {n}"}
            text += f" [[tool:send_message {json.dumps(args)}]]"
        self.messages[key] = (lane, text)
        self.send(client, key)

    def send(self, client: httpx.Client, key: str) -> None:
        lane, text = self.messages[key]
        r = client.post(
            "/v1/agent/messages",
            json={"text": text, "conversation_id": lane},
            headers={"Idempotency-Key": key},
        )
        assert r.status_code == 202, r.text
        self.accepted.add(key)

    def resend_unanswered(self, client: httpx.Client) -> None:
        """Send again what a kill cut off before Edge answered."""
        for key in self.messages.keys() - self.accepted:
            self.send(client, key)

    def approve_pending(self, client: httpx.Client) -> None:
        pending = client.get("/v1/approvals", params={"status": "pending", "limit": 100})
        for approval in pending.json()["data"]:
            r = client.post(f"/v1/approvals/{approval['approval_id']}:approve", json={})
            assert r.status_code in (200, 409), r.text  # 409: decided meanwhile

    def patch(self, client: httpx.Client) -> None:
        text = "be more concise" if self.patches % 2 == 0 else "be more detailed"
        proposed = client.post("/v1/config/patches:propose", json={"text": text})
        self.patches += 1
        if proposed.status_code == 201:
            patch_id = proposed.json()["patch_id"]
            r = client.post(f"/v1/config/patches/{patch_id}:commit", json={})
            assert r.status_code in (201, 409), r.text  # 409: a kill left a stale proposal
            self.committed += r.status_code == 201

    def remember(self, client: httpx.Client) -> None:
        n = self.remembered
        body = {"text": f"Fact number {n}: the folder number {n} is in drawer {n * 7 % 11}."}
        r = client.post("/v1/memory/write", json=body)
        assert r.status_code in (200, 201, 202), r.text
        self.remembered += 1

    def run(self, client: httpx.Client, burst: int) -> None:
        """One burst of four steps of mixed work, each burst starting with a different kind,
        so the kill lands in every kind; stops quietly when Edge dies under it."""
        steps = [self.next_message, self.approve_pending, self.remember, self.patch]
        try:
            for k in range(4):
                steps[(burst + k) % 4](client)
        except httpx.TransportError:
            pass  # the kill: what was cut off is retried after the next start


def _start(edges: EdgeProcesses, env: dict[str, str], i: int, zygote: Zygote) -> EdgeProcess:
    edge = edges.new(f"edge-{i:03d}", env, zygote)
    edge.start(timeout=60)
    return edge


def _all_tasks(client: httpx.Client) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/agent/tasks", params=params).json()
        tasks += page["data"]
        cursor = page["next_cursor"]
        if not cursor:
            return tasks


def _lane_overlaps(events: list[dict[str, Any]]) -> list[str]:
    """Moments when a second task of the lane started running while one still was."""
    running: set[str] = set()
    overlaps = []
    for e in events:
        if e["type"] != "TaskEvent" or e["payload"].get("phase") == "cancel_requested":
            continue
        task, status = e["task_id"], e["payload"]["status"]
        if status == "running":
            if running - {task}:
                overlaps.append(f"seq {e['seq']}: {task} ran beside {sorted(running)}")
            running.add(task)
        else:
            running.discard(task)
    return overlaps


def _posts_by_note(hook: Webhook) -> Counter[str]:
    with hook.lock:
        return Counter(json.loads(r["body"])["text"] for r in hook.received)


def test_a_hundred_kills_lose_nothing_and_run_nothing_twice(
    tmp_path: Path, slow_mock_core: str
) -> None:
    work = Workload()
    zygote = Zygote()
    with webhook() as hook, EdgeProcesses(tmp_path) as edges, closing(zygote):
        env = edge_env(
            tmp_path / "data",
            slow_mock_core,
            workers=2,
            max_attempts=1000,
            lease_seconds=60,
            webhook_url=hook.url,
        )
        headers = {"Authorization": f"Bearer {OWNER_TOKEN}"}
        for i in range(KILLS):
            edge = _start(edges, env, i, zygote)
            with httpx.Client(base_url=edge.base_url, headers=headers, timeout=5) as client:
                work.resend_unanswered(client)
                burst = threading.Thread(target=work.run, args=(client, i), daemon=True)
                burst.start()
                # The kill lands at a random moment of the burst (or just after it).
                time.sleep(work.rng.uniform(0.0, 0.8))
                edge.kill9()
                burst.join(timeout=10)
                assert not burst.is_alive(), "a request hung after Edge was killed"

        final = _start(edges, env, KILLS, zygote)
        with final.client(timeout=15) as client:
            work.resend_unanswered(client)

            def settled() -> bool:
                work.approve_pending(client)
                return all(t["status"] in FINISHED for t in _all_tasks(client))

            wait_until(settled, "every task finished", timeout=120, every=0.2)
            tasks = _all_tasks(client)
            by_text = Counter(t["input"] for t in tasks)
            intended = {text for _, text in work.messages.values()}
            assert set(by_text) == intended, "a message was lost or one appeared from nowhere"
            assert max(by_text.values()) == 1, "a retried message made a second task"
            assert {t["status"] for t in tasks} == {"completed"}, Counter(
                t["status"] for t in tasks
            )

            posts = _posts_by_note(hook)
            assert posts, "no external write ever ran: the workload did not exercise approvals"
            assert max(posts.values()) == 1, f"a tool call ran twice: {posts.most_common(3)}"

            for lane in LANES:
                overlaps = _lane_overlaps(timeline(client, lane))
                assert not overlaps, f"{lane}: {overlaps[:3]}"
            assert work.committed >= 5, "the workload hardly exercised preference patches"
            assert work.remembered >= 5, "the workload hardly exercised memory"
            revisions = client.get("/v1/config/revisions", params={"limit": 200}).json()
            commits = [r for r in revisions["data"] if r["kind"] == "commit"]
            assert len(commits) >= work.committed, "an acknowledged commit was lost"
            verify = client.get("/v1/audit/verify").json()
            assert verify["ok"] is True, verify
        final.terminate()
        assert_rebuilds_equal(sqlite_url(tmp_path / "data"))

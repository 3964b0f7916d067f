"""The model server's circuit breaker in the Console's sidebar: "ready" while Core answers;
after Core refuses enough calls, "unreachable" with the time of the next try and the last
error behind a keyboard-operable disclosure; and "Edge unreachable" once Edge itself is gone.

The healthy case uses the package's Steward (`steward up --backend mock`). The unhealthy one
starts an Edge alone, as `steward up` starts it, whose Core address is a closed port."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from backend.supervisor import ServerSpec, Supervisor
from tests.console.conftest import (
    OUT,
    OWNER_TOKEN,
    PHONE,
    Steward,
    _fail_unbuilt,
    browser_page,
    shot,
)
from tests.console.ui import get_json, messages, poll, sign_in, tid
from tests.servers import free_port

# The time of day of an ISO timestamp in the browser's time zone, as HH:MM:SS.
CLOCK_TIME = """(iso) => {
  const d = new Date(iso), two = (n) => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}"""
NEXT_TRY = re.compile(r"^Model server unreachable — next try at \d\d:\d\d:\d\d$")


@dataclass
class DeadCoreEdge:
    url: str
    owner: httpx.Client
    supervisor: Supervisor


@pytest.fixture
def dead_core_edge() -> Iterator[DeadCoreEdge]:
    """An Edge serving the Console whose Core is a closed port; two refused calls open its
    breaker for 60 s (long enough to look at it)."""
    _fail_unbuilt()
    data_dir = Path(tempfile.mkdtemp(prefix="steward-console-breaker-"))
    env = {
        "STEWARD_DATA_DIR": str(data_dir),
        "STEWARD_OWNER_TOKEN": OWNER_TOKEN,
        "STEWARD_CONSOLE_DIR": str(OUT),
        "CORE_BASE_URL": f"http://127.0.0.1:{free_port()}",
        "STEWARD_CORE_RETRIES": "0",
        "STEWARD_CORE_BREAKER_THRESHOLD": "2",
        "STEWARD_CORE_BREAKER_COOLDOWN_S": "60",
        "STEWARD_CORE_HEALTH_INTERVAL_S": "0.5",
    }
    spec = ServerSpec("Edge", "backend.agent.api:app", "127.0.0.1", free_port(), env)
    supervisor = Supervisor(print)
    try:
        supervisor.start(spec)
        supervisor.wait_healthy(spec, 90)
        with httpx.Client(
            base_url=spec.url, headers={"Authorization": f"Bearer {OWNER_TOKEN}"}, timeout=30
        ) as owner:
            yield DeadCoreEdge(spec.url, owner, supervisor)
    finally:
        supervisor.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def dead_core_page(browser: Browser, dead_core_edge: DeadCoreEdge) -> Iterator[Page]:
    """A fresh browser context at 1280 px on that Edge."""
    with browser_page(browser, dead_core_edge.url) as p:
        yield p


def _core(client: httpx.Client) -> dict[str, Any]:
    core: dict[str, Any] = get_json(client, "/health")["core"]
    return core


def _wait_failures(client: httpx.Client, n: int) -> None:
    poll(lambda: _core(client)["consecutive_failures"], lambda f: f >= n, f"Core failure {n}")


def test_the_sidebar_says_the_model_server_is_ready(page: Page, steward: Steward) -> None:
    assert _core(steward.owner)["breaker"] == "closed"
    sign_in(page, OWNER_TOKEN)
    page.goto("/tasks/")
    status = tid(page, "model-status")
    expect(status).to_have_attribute("data-state", "ready")
    expect(tid(page, "model-status-text")).to_have_text("Model server: ready")
    toggle = tid(page, "model-status-toggle")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(tid(page, "model-status-core")).to_have_attribute("data-breaker", "closed")
    expect(tid(page, "model-status-no-fallback")).to_be_visible()
    shot(page, "model-status-ready")
    page.set_viewport_size(PHONE)
    expect(tid(page, "model-status-text")).to_be_visible()
    shot(page, "model-status-ready")


def test_the_sidebar_says_when_the_model_server_will_be_tried_again(
    dead_core_page: Page, dead_core_edge: DeadCoreEdge
) -> None:
    page, edge = dead_core_page, dead_core_edge
    sign_in(page, OWNER_TOKEN)
    page.goto("/chat/")
    expect(tid(page, "model-status")).to_have_attribute("data-state", "ready")

    # Two messages, two refused calls: the breaker opens.
    tid(page, "new-conversation").click()
    for n, said in enumerate(["Are you there?", "Hello again?"], start=1):
        box = tid(page, "chat-input")
        box.fill(said)
        box.press("Enter")
        expect(messages(page, "user")).to_have_count(n)
        _wait_failures(edge.owner, n)
    core = poll(lambda: _core(edge.owner), lambda c: c["breaker"] == "open", "an open breaker")
    assert core["retry_at"], core
    assert core["last_error"], core

    # Polled every 5 s: the sidebar follows, with the next try in the reader's time zone.
    text = tid(page, "model-status-text")
    expect(tid(page, "model-status")).to_have_attribute("data-state", "unreachable")
    expect(text).to_have_text(NEXT_TRY)
    local = page.evaluate(CLOCK_TIME, core["retry_at"])
    expect(text).to_have_text(f"Model server unreachable — next try at {local}")

    # The last error: in the title, and behind a disclosure a keyboard opens.
    toggle = tid(page, "model-status-toggle")
    expect(toggle).to_have_attribute("title", core["last_error"])
    expect(tid(page, "model-status-detail")).to_have_count(0)
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(tid(page, "model-status-core")).to_have_attribute("data-breaker", "open")
    expect(tid(page, "model-status-core-error")).to_have_text(core["last_error"])
    shot(page, "model-status-unreachable")
    page.set_viewport_size(PHONE)
    expect(text).to_be_visible()
    expect(tid(page, "model-status-core-error")).to_be_visible()
    shot(page, "model-status-unreachable")
    page.keyboard.press("Enter")
    expect(tid(page, "model-status-detail")).to_have_count(0)

    # Edge itself gone: the sidebar says so rather than showing a stale state.
    edge.supervisor.stop()
    expect(tid(page, "model-status")).to_have_attribute("data-state", "edge-unreachable")
    expect(text).to_have_text("Edge unreachable — retrying")

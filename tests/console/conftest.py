"""Fixtures for the Console's end-to-end tests: Steward started as a user starts it
(`steward up --backend mock`, real Core and Edge processes on loopback, Edge serving the
built `frontend/out`), its owner and a member, and headless Debian Chromium driven by
Playwright. Screenshots of each page go to `test-artifacts/console/`."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    ViewportSize,
    expect,
    sync_playwright,
)

from tests.fakes.webhook import Webhook, webhook
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
# The export under test: the repository's build, or another one named by STEWARD_CONSOLE_DIR.
OUT = Path(os.environ.get("STEWARD_CONSOLE_DIR") or ROOT / "frontend" / "out")
SHOTS = ROOT / "test-artifacts" / "console"
STEWARD = str(Path(sys.executable).parent / "steward")
OWNER_TOKEN = "stw_console-e2e-owner-token-000000000000"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = ViewportSize(width=1280, height=860)
PHONE = ViewportSize(width=390, height=844)
# Deadlines for every expectation and action: generous, because two cores run Core, Edge and
# Chromium at once; a passing expectation returns as soon as it holds.
DEADLINE_MS = 15_000
expect.set_options(timeout=DEADLINE_MS)
# Slow enough that a reply visibly streams (and the Console can subscribe before it ends).
STREAM_DELAY_S = "0.03"


@dataclass
class Steward:
    """A running Steward: Edge's URL, API clients as the owner and as a member."""

    url: str
    owner: httpx.Client
    member: httpx.Client
    member_token: str
    member_name: str
    hook: Webhook
    output: list[str] = field(default_factory=list)


def _fail_unbuilt() -> None:
    if not (OUT / "index.html").is_file():
        pytest.fail(
            f"The Console is not built: {OUT / 'index.html'} is missing. Build it with "
            "`cd frontend && npm ci && npm run build` (./scripts/test.sh and ./scripts/up.sh "
            "do this themselves).",
            pytrace=False,
        )


def _start(data_dir: Path, hook: Webhook) -> tuple[subprocess.Popen[str], str, list[str]]:
    core_port, edge_port = free_port(), free_port()
    env = {
        **os.environ,
        "STEWARD_OWNER_TOKEN": OWNER_TOKEN,
        "STEWARD_CONSOLE_DIR": str(OUT),
        "STEWARD_WEBHOOK_URL": hook.url,
        "CORE_MOCK_STREAM_DELAY_S": STREAM_DELAY_S,
    }
    proc = subprocess.Popen(
        [
            STEWARD,
            "up",
            "--backend",
            "mock",
            "--core-port",
            str(core_port),
            "--edge-port",
            str(edge_port),
            "--data-dir",
            str(data_dir),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        start_new_session=True,
    )
    assert proc.stdout is not None
    stream = proc.stdout
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(stream.readline, "")), daemon=True).start()
    deadline = time.monotonic() + 90
    while "Press Ctrl-C to stop." not in "".join(lines):
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(proc)
            raise RuntimeError("steward up did not start:\n" + "".join(lines))
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{edge_port}", lines


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="package")
def steward() -> Iterator[Steward]:
    """Steward on the mock backend, serving the built Console, shared by this package's
    tests (the browser too: Playwright's sync API marks an event loop running in this thread
    while it lives, so it must be gone before any asyncio test elsewhere)."""
    _fail_unbuilt()
    data_dir = Path(tempfile.mkdtemp(prefix="steward-console-e2e-"))
    with webhook() as hook:
        proc, url, lines = _start(data_dir, hook)
        try:
            owner = httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {OWNER_TOKEN}"}, timeout=30
            )
            created = owner.post("/v1/users", json={"name": "mia"})
            assert created.status_code == 201, created.text
            token = created.json()["token"]
            member = httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
            )
            yield Steward(url, owner, member, token, "mia", hook, lines)
            owner.close()
            member.close()
        finally:
            _stop(proc)
            shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="package")
def playwright_session() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    """Headless Debian Chromium (STEWARD_CHROMIUM names another binary); never a download."""
    executable = os.environ.get("STEWARD_CHROMIUM", "/usr/bin/chromium")
    if not Path(executable).is_file():
        pytest.fail(
            f"Chromium is missing at {executable}: apt-get install chromium (./scripts/test.sh "
            "installs it when run as root), or set STEWARD_CHROMIUM.",
            pytrace=False,
        )
    b = playwright_session.chromium.launch(
        executable_path=executable, headless=True, args=CHROMIUM_ARGS
    )
    yield b
    b.close()


@dataclass
class PageProblems:
    """What went wrong inside the page: uncaught errors and CSP violations."""

    errors: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.errors.append(f"CSP: {message.text}")

    def on_page_error(self, error: Any) -> None:
        self.errors.append(f"uncaught: {error}")


@contextmanager
def browser_page(browser: Browser, url: str) -> Iterator[Page]:
    """A fresh browser context (empty localStorage) at 1280 px on the Edge at `url`. Fails
    if the page throws or breaks its Content-Security-Policy."""
    context = browser.new_context(base_url=url, viewport=DESKTOP)
    context.set_default_timeout(DEADLINE_MS)
    problems = PageProblems()
    p = context.new_page()
    p.on("console", problems.on_console)
    p.on("pageerror", problems.on_page_error)
    p.on("dialog", lambda dialog: dialog.accept())  # a "Roll back?" confirm says yes
    yield p
    context.close()
    assert not problems.errors, "\n".join(problems.errors)


@pytest.fixture
def page(browser: Browser, steward: Steward) -> Iterator[Page]:
    """A fresh browser context (empty localStorage) at 1280 px on Steward's Edge. The test
    fails if the page throws or breaks its Content-Security-Policy."""
    with browser_page(browser, steward.url) as p:
        yield p


def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as test-artifacts/console/<name>-<width>.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    path = SHOTS / f"{name}-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

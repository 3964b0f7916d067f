"""`steward up` starts real servers, the smoke test passes against them, Ctrl-C stops them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
STEWARD = str(Path(sys.executable).parent / "steward")
SMOKE_TOKEN = "stw_smoke-test-owner-token-0123456789"


def _wait_for_line(proc: subprocess.Popen[str], needle: str, timeout: float) -> str:
    """Collect the process's output (on a thread) until `needle` appears; return it."""
    assert proc.stdout is not None
    stream = proc.stdout
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(stream.readline, "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = "".join(lines)
        if needle in seen:
            return seen
        if proc.poll() is not None and not reader.is_alive():
            break
        time.sleep(0.05)
    raise AssertionError(f"never saw {needle!r}; output so far:\n{''.join(lines)}")


@pytest.fixture
def steward_up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int, int]]:
    port, edge_port = free_port(), free_port()
    proc = subprocess.Popen(
        [
            STEWARD,
            "up",
            "--backend",
            "mock",
            "--core-port",
            str(port),
            "--edge-port",
            str(edge_port),
            "--data-dir",
            str(tmp_path),
        ],
        env={**os.environ, "STEWARD_OWNER_TOKEN": SMOKE_TOKEN},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        yield proc, port, edge_port
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_up_prints_urls_passes_smoke_and_stops_on_ctrl_c(
    steward_up: tuple[subprocess.Popen[str], int, int],
) -> None:
    proc, port, edge_port = steward_up
    out = _wait_for_line(proc, "Press Ctrl-C to stop.", timeout=60)
    assert f"http://127.0.0.1:{port}/v1" in out
    assert f"http://127.0.0.1:{edge_port}" in out
    smoke = subprocess.run(
        ["bash", str(ROOT / "scripts" / "smoke_test.sh")],
        env={
            **os.environ,
            "CORE_BASE_URL": f"http://127.0.0.1:{port}",
            "EDGE_URL": f"http://127.0.0.1:{edge_port}",
            "STEWARD_TOKEN": SMOKE_TOKEN,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    assert "0 failed" in smoke.stdout
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=20) == 0
    for freed in (port, edge_port):
        with socket.socket() as s:
            # Nothing listens any more: the server really stopped. (SO_REUSEADDR, as servers
            # set it, so connections closing in TIME_WAIT do not count.)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", freed))
            s.listen()


def test_up_explains_a_taken_port(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run(
            [
                STEWARD,
                "up",
                "--backend",
                "mock",
                "--core-port",
                str(port),
                "--data-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert r.returncode == 1
    assert f"{port}" in r.stderr
    assert "--core-port" in r.stderr


def test_up_refuses_a_public_address_without_a_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CORE_API_KEY"}
    r = subprocess.run(
        [STEWARD, "up", "--host", "0.0.0.0", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )
    assert r.returncode == 2
    assert "CORE_API_KEY" in r.stderr


def test_help_explains_every_command() -> None:
    r = subprocess.run([STEWARD, "--help"], capture_output=True, text=True, timeout=30, check=True)
    for command in ("up", "version"):
        assert command in r.stdout
    r = subprocess.run(
        [STEWARD, "up", "--help"], capture_output=True, text=True, timeout=30, check=True
    )
    assert "--backend" in r.stdout


def test_servers_die_with_a_killed_supervisor(
    steward_up: tuple[subprocess.Popen[str], int, int],
) -> None:
    proc, port, edge_port = steward_up
    _wait_for_line(proc, "Press Ctrl-C to stop.", timeout=60)
    proc.kill()  # SIGKILL to the supervisor alone: no chance to clean up
    proc.wait()
    deadline = time.monotonic() + 20
    for freed in (port, edge_port):
        while True:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", freed))
                    break
                except OSError:
                    assert time.monotonic() < deadline, f"a server on {freed} outlived steward"
                    time.sleep(0.1)

"""Edge as a real subprocess (`python -m uvicorn backend.agent.api:app`, or `steward worker`),
for tests that kill it with SIGKILL, restart it on the same data dir, or run several on one
database.

Each process runs in its own session (process group), so `kill9` takes down exactly the
server it started. Its stdout and stderr go to a log file under the test's tmp dir;
`EdgeProcesses`, used as a context manager in the test body, stops every process it started
when the block ends and, if the block failed, attaches the tail of every log to the error.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Protocol

import httpx

from tests.agent.conftest import OWNER_TOKEN
from tests.servers import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
# Settings of the test runner's own environment must not leak into the servers under test.
_SCRUBBED_PREFIXES = ("STEWARD_", "CORE_", "DATABASE_URL")
LOG_TAIL_CHARS = 6000


def edge_env(data_dir: Path, core_base_url: str, **settings: Any) -> dict[str, str]:
    """The environment of an Edge process: this one's, minus Steward settings, plus
    `data_dir`, `core_base_url`, the test owner token, a fast poll, and `settings` as
    `STEWARD_<NAME>` variables (`workers=2` -> `STEWARD_WORKERS=2`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_PREFIXES)}
    values: dict[str, Any] = {"poll_interval_s": 0.1, **settings}
    env.update({f"STEWARD_{name.upper()}": str(value) for name, value in values.items()})
    env["STEWARD_DATA_DIR"] = str(data_dir)
    env["STEWARD_OWNER_TOKEN"] = OWNER_TOKEN
    env["CORE_BASE_URL"] = core_base_url
    env["PYTHONUNBUFFERED"] = "1"
    return env


class EdgeProcess:
    """One Edge server process on a loopback port. Not started until `start()`."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path):
        self.name = name
        self.env = env
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{name}.log"
        self.proc: _Process | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} was never started"
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def spawn(self) -> None:
        """Start the process without waiting for it to serve (see `wait_healthy`)."""
        assert not self.alive(), f"{self.name} is already running"
        self._log = self.log_path.open("ab")
        self._log.write(f"\n--- start {self.name} on port {self.port} ---\n".encode())
        self._log.flush()
        self.proc = subprocess.Popen(
            self.command(),
            cwd=REPO_ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "backend.agent.api:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "info",
            "--no-access-log",
        ]

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Poll `/health` until it answers 200; fail at the deadline or if the process exits."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if not self.alive():
                    code = self.proc.returncode if self.proc else None
                    raise RuntimeError(
                        f"{self.name} exited with {code} before serving:\n{self.log_tail()}"
                    )
                try:
                    r = client.get("/health")
                    if r.status_code == 200:
                        return
                    last = f"{r.status_code} {r.text[:200]}"
                except httpx.TransportError as exc:
                    last = repr(exc)
                time.sleep(0.05)
        raise TimeoutError(
            f"{self.name} not healthy within {timeout}s (last: {last}):\n{self.log_tail()}"
        )

    def start(self, timeout: float = 30.0) -> None:
        """Start the process and wait until it serves."""
        self.spawn()
        self.wait_healthy(timeout)

    def kill9(self) -> None:
        """SIGKILL the process group: no shutdown, no cleanup, as a crash or power cut."""
        assert self.proc is not None
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._close_log()

    def terminate(self, timeout: float = 10.0) -> None:
        """SIGTERM (graceful shutdown); SIGKILL if it does not exit within `timeout`."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._close_log()

    def client(self, timeout: float = 15.0) -> httpx.Client:
        """An HTTP client for this process, as the owner."""
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {OWNER_TOKEN}"},
            timeout=timeout,
        )

    def log_tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        if not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace")
        return text[-chars:]

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


class WorkerProcess(EdgeProcess):
    """`steward worker`: runs tasks, serves no HTTP; ready once it says so in its log."""

    READY = "running up to"

    def __init__(self, name: str, env: dict[str, str], log_dir: Path, concurrency: int = 2):
        super().__init__(name, env, log_dir)
        self.concurrency = concurrency
        self._ready_mark = 0

    def spawn(self) -> None:
        self._ready_mark = self.log_path.stat().st_size if self.log_path.exists() else 0
        super().spawn()

    def command(self) -> list[str]:
        code = "from backend.cli import main; main()"
        return [sys.executable, "-c", code, "worker", "--concurrency", str(self.concurrency)]

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Wait until the worker logs that it runs; fail if it exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                code = self.proc.returncode if self.proc else None
                raise RuntimeError(f"{self.name} exited with {code}:\n{self.log_tail()}")
            with self.log_path.open("rb") as log:
                log.seek(self._ready_mark)
                if self.READY.encode() in log.read():
                    return
            time.sleep(0.05)
        raise TimeoutError(f"{self.name} not running within {timeout}s:\n{self.log_tail()}")


class _Process(Protocol):
    """What `EdgeProcess` needs of a process: `subprocess.Popen`, or a zygote's child."""

    pid: int
    returncode: int | Any

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...


class _Forked:
    """A child of the zygote, with the part of `Popen`'s interface `EdgeProcess` uses (the
    zygote reaps it, so its exit status is not known: a dead child reads -9)."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = -signal.SIGKILL
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = time.monotonic() + (timeout if timeout is not None else 3600)
        while (code := self.poll()) is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"edge pid {self.pid}", timeout or 0)
            time.sleep(0.01)
        return code


class Zygote:
    """`tests.agent.zygote` running: Edge imported once, each start a fork of it."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_PREFIXES)}
        env["OPENBLAS_NUM_THREADS"] = "1"  # no BLAS thread pool in the process that forks
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.agent.zygote"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def fork(self, port: int, log: Path, env: dict[str, str]) -> _Forked:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"port": port, "log": str(log), "env": env}) + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError(f"the Edge zygote exited with {self.proc.wait()}")
        return _Forked(int(answer))

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


class ForkedEdgeProcess(EdgeProcess):
    """An `EdgeProcess` forked from a `Zygote` instead of started afresh."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path, zygote: Zygote):
        super().__init__(name, env, log_dir)
        self.zygote = zygote

    def spawn(self) -> None:
        assert not self.alive(), f"{self.name} is already running"
        with self.log_path.open("ab") as log:
            log.write(f"\n--- start {self.name} (forked) on port {self.port} ---\n".encode())
        self.proc = self.zygote.fork(self.port, self.log_path, self.env)


def wait_until(
    check: Callable[[], bool], what: str, timeout: float = 20.0, every: float = 0.05
) -> None:
    """Poll `check` until it is true; fail the test at the deadline, naming `what`."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout}s waiting for {what}")
        time.sleep(every)


class EdgeProcesses:
    """The Edge processes of one test. Use as `with EdgeProcesses(tmp_path) as edges:`; at
    the end every process is stopped, and a failure carries the tail of each log."""

    def __init__(self, tmp_path: Path):
        self.log_dir = tmp_path / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.all: list[EdgeProcess] = []

    def worker(self, name: str, env: dict[str, str], concurrency: int = 2) -> WorkerProcess:
        """A `steward worker` process (not started yet)."""
        process = WorkerProcess(name, env, self.log_dir, concurrency)
        self.all.append(process)
        return process

    def new(self, name: str, env: dict[str, str], zygote: Zygote | None = None) -> EdgeProcess:
        """A process (not started yet) logging to `<tmp>/logs/<name>.log`; forked from
        `zygote` if given."""
        process = (
            ForkedEdgeProcess(name, env, self.log_dir, zygote)
            if zygote
            else EdgeProcess(name, env, self.log_dir)
        )
        self.all.append(process)
        return process

    def __enter__(self) -> EdgeProcesses:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for process in self.all:
            process.terminate()
        if exc is not None:
            for process in self.all:
                exc.add_note(f"--- log of {process.name} ({process.log_path}) ---")
                exc.add_note(process.log_tail())

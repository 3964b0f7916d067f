"""Start Steward's servers as child processes, wait until each is healthy, stop them all.

Each server runs as `python -m uvicorn <app>` in its own process so a crash in one is
visible and the others are stopped with it. Output goes to the terminal, prefixed by nothing:
uvicorn's own log lines name the server.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx


def _die_with_parent() -> None:
    """In the child before exec: on Linux, receive SIGTERM when the supervisor dies, even by
    SIGKILL, so no server outlives `steward up`."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class LaunchError(RuntimeError):
    """A server could not be started; the message says how to fix it."""


@dataclass
class ServerSpec:
    """One server to run."""

    name: str
    app: str
    host: str
    port: int
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def ensure_port_free(host: str, port: int, what: str, flag: str) -> None:
    """Raise `LaunchError` with a fix if `host:port` is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError as exc:
            raise LaunchError(
                f"{what} cannot listen on {host}:{port}: {exc.strerror}. Another process "
                f"(perhaps a running Steward) holds the port: stop it, or pass {flag} <port>."
            ) from None


class Supervisor:
    """Runs child servers; stops all of them when one exits or on Ctrl-C / SIGTERM."""

    def __init__(self, echo: Callable[[str], None]):
        self.echo = echo
        self.children: list[tuple[ServerSpec, subprocess.Popen[bytes]]] = []

    def start(self, spec: ServerSpec) -> None:
        """Spawn `spec` as a child process."""
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            spec.app,
            "--host",
            spec.host,
            "--port",
            str(spec.port),
            "--log-level",
            "warning",
            "--no-access-log",
            # The TCP peer is who asked: an X-Forwarded-For from a local process must not
            # rewrite it (uvicorn trusts one from 127.0.0.1 by default).
            "--no-proxy-headers",
        ]
        env = {**os.environ, **spec.env}
        proc = subprocess.Popen(cmd, env=env, preexec_fn=_die_with_parent)
        self.children.append((spec, proc))

    def wait_healthy(self, spec: ServerSpec, timeout: float, progress_every: float = 5.0) -> None:
        """Poll `spec`'s /health until it answers 200, showing progress while it loads."""
        proc = next(p for s, p in self.children if s is spec)
        started = time.monotonic()
        next_note = started + progress_every
        with httpx.Client(timeout=2.0) as client:
            while True:
                code = proc.poll()
                if code is not None:
                    raise LaunchError(
                        f"{spec.name} exited with status {code} while starting; its error is "
                        "printed above."
                    )
                try:
                    if client.get(spec.url + "/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                now = time.monotonic()
                if now - started > timeout:
                    raise LaunchError(f"{spec.name} did not become healthy within {timeout:.0f}s.")
                if now >= next_note:
                    self.echo(f"  ... still waiting for {spec.name} ({now - started:.0f}s)")
                    next_note = now + progress_every
                time.sleep(0.1)

    def run_until_stopped(self) -> int:
        """Block until a child exits or a stop signal arrives; then stop every child."""
        stopping = False

        def on_signal(signum: int, _: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        exit_code = 0
        while not stopping:
            for spec, proc in self.children:
                code = proc.poll()
                if code is not None:
                    self.echo(f"{spec.name} stopped (exit status {code}); stopping the others.")
                    exit_code = code or 1
                    stopping = True
            time.sleep(0.2)
        self.stop()
        return exit_code

    def stop(self, grace: float = 10.0) -> None:
        """Terminate every child, then kill any that outlive `grace` seconds."""
        for _, proc in self.children:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + grace
        for _, proc in self.children:
            remaining = max(0.1, deadline - time.monotonic())
            try:
                proc.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

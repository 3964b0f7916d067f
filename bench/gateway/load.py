"""Closed-loop HTTP load with wrk: a Lua script POSTs the chat body, and reports numbers as JSON.

wrk runs with `--latency`; its `done` hook prints one machine-readable line (requests, duration,
error counts, latency percentiles in microseconds) so nothing depends on wrk's text layout.
A streamed response counts as one request whose latency ends with its last chunk.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_MARKER = "@@bench-gateway "

_DONE_HOOK = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,'
    .. '"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f,'
    .. '"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"max_us":%.0f,"mean_us":%.1f}\\n',
    MARKER, summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
"""


class LoadError(Exception):
    """wrk could not run, or printed no result."""


@dataclass(frozen=True)
class LoadResult:
    """One wrk run against one server in one mode."""

    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    errors: dict[str, int]

    @property
    def error_count(self) -> int:
        """Socket errors, timeouts and non-2xx/3xx answers together."""
        return sum(self.errors.values())


def find_wrk() -> str:
    """Path of the wrk binary, or a `LoadError` saying how to install it."""
    path = shutil.which("wrk")
    if path is None:
        raise LoadError("wrk is not on PATH; install it with `apt-get install wrk`")
    return path


def write_script(path: Path, body: bytes, headers: dict[str, str]) -> Path:
    """Write the wrk Lua script that POSTs `body` with `headers` and reports as JSON."""
    text = body.decode()
    if "]]" in text:
        raise LoadError("request body contains ']]', which a Lua long string cannot hold")
    lines = [
        'wrk.method = "POST"',
        f"wrk.body = [[{text}]]",
        *(f"wrk.headers[{_lua_str(k)}] = {_lua_str(v)}" for k, v in headers.items()),
        f"MARKER = {_lua_str(_MARKER)}",
        _DONE_HOOK,
    ]
    path.write_text("\n".join(lines))
    return path


def _lua_str(value: str) -> str:
    return json.dumps(value)  # a JSON string of printable ASCII is a valid Lua string literal


def run_wrk(
    wrk: str,
    url: str,
    script: Path,
    *,
    connections: int,
    threads: int,
    duration_s: int,
    timeout_s: int = 10,
) -> LoadResult:
    """Run wrk once and return its numbers; raise `LoadError` if it fails or reports nothing."""
    argv = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration_s}s",
        f"--timeout={timeout_s}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=duration_s + timeout_s + 30, check=False
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(_MARKER)), None)
    if proc.returncode != 0 or line is None:
        output = (proc.stdout + proc.stderr).strip()[-2000:]
        raise LoadError(f"wrk exited with {proc.returncode} and no result:\n{output}")
    raw: dict[str, Any] = json.loads(line[len(_MARKER) :])
    duration = raw["duration_us"] / 1e6
    return LoadResult(
        requests=int(raw["requests"]),
        duration_s=duration,
        rps=raw["requests"] / duration if duration > 0 else 0.0,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        mean_ms=raw["mean_us"] / 1000,
        errors={key: int(raw[key]) for key in ("connect", "read", "write", "status", "timeout")},
    )

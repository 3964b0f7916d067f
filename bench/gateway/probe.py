"""A minimal blocking HTTP/1.1 client over a raw socket, for exact client-side timings.

It keeps one connection alive across requests, decodes `Content-Length` and chunked bodies, and
timestamps the moment the first SSE `data:` bytes arrive. It serves three things: waiting for a
server to be ready, checking that its chat completions are well formed before any load is put
on it, and measuring streaming time to first chunk (TTFC) with no client library in the way.
"""

from __future__ import annotations

import json
import math
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

_RECV_BYTES = 65536
CHAT_PATH = "/v1/chat/completions"


class ProbeError(Exception):
    """A server's answer was not what an OpenAI-compatible chat endpoint must send."""


@dataclass(frozen=True)
class Answer:
    """One HTTP response and its client-side timings (nanoseconds from request sent)."""

    status: int
    headers: dict[str, str]
    body: bytes
    first_data_ns: int | None
    total_ns: int


class Connection:
    """One keep-alive HTTP/1.1 connection to a loopback server."""

    def __init__(self, host: str, port: int, timeout_s: float = 30.0) -> None:
        self._host = host
        self._port = port
        self._timeout_s = timeout_s
        self._sock: socket.socket | None = None
        self._buf = bytearray()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the socket if open; the next request reconnects."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._buf.clear()

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """Send one request and read its whole response, noting when `data:` first arrives."""
        sock = self._connect()
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self._host}:{self._port}",
            f"Content-Length: {len(body)}",
        ]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        wire = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        start = time.perf_counter_ns()
        sock.sendall(wire)
        status, response_headers = self._read_head()
        body_parts: list[bytes] = []
        first_data_ns: int | None = None
        seen = b""
        for part in self._read_body(response_headers):
            body_parts.append(part)
            if first_data_ns is None:
                seen = seen[-8:] + part
                if b"data:" in seen:
                    first_data_ns = time.perf_counter_ns() - start
        total_ns = time.perf_counter_ns() - start
        if response_headers.get("connection", "").lower() == "close":
            self.close()
        return Answer(status, response_headers, b"".join(body_parts), first_data_ns, total_ns)

    def _connect(self) -> socket.socket:
        if self._sock is None:
            sock = socket.create_connection((self._host, self._port), timeout=self._timeout_s)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock = sock
            self._buf.clear()
        return self._sock

    def _fill(self) -> None:
        assert self._sock is not None
        data = self._sock.recv(_RECV_BYTES)
        if not data:
            self.close()
            raise ConnectionError("server closed the connection mid-response")
        self._buf += data

    def _read_until(self, marker: bytes) -> bytes:
        while (at := self._buf.find(marker)) < 0:
            self._fill()
        line = bytes(self._buf[:at])
        del self._buf[: at + len(marker)]
        return line

    def _read_exact(self, size: int) -> bytes:
        while len(self._buf) < size:
            self._fill()
        data = bytes(self._buf[:size])
        del self._buf[:size]
        return data

    def _read_head(self) -> tuple[int, dict[str, str]]:
        head = self._read_until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        try:
            status = int(head[0].split(" ", 2)[1])
        except (IndexError, ValueError):
            raise ProbeError(f"not an HTTP status line: {head[0]!r}") from None
        headers: dict[str, str] = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers

    def _read_body(self, headers: Mapping[str, str]) -> Iterator[bytes]:
        """Yield the decoded body in the pieces it arrives in."""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            while True:
                size = int(self._read_until(b"\r\n").split(b";", 1)[0], 16)
                if size == 0:
                    while self._read_until(b"\r\n"):  # trailers, then the blank line
                        pass
                    return
                data = self._read_exact(size)
                self._read_until(b"\r\n")
                yield data
        elif "content-length" in headers:
            yield self._read_exact(int(headers["content-length"]))
        else:  # no framing: the body runs to the end of the connection
            if self._buf:
                yield bytes(self._buf)
                self._buf.clear()
            assert self._sock is not None
            while data := self._sock.recv(_RECV_BYTES):
                yield data
            self.close()


def chat_body(model: str, *, stream: bool) -> bytes:
    """The request body every server gets: one user message, optionally streamed."""
    payload: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": "Say hello"}],
    }
    if stream:
        payload["stream"] = True
    return json.dumps(payload, separators=(",", ":")).encode()


def chat_headers(api_key: str | None) -> dict[str, str]:
    """Headers of a chat completion request, with the bearer key when the server needs one."""
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def is_ready(host: str, port: int, path: str) -> bool:
    """Whether GET `path` answers 200 now (connection refused or reset: not yet)."""
    try:
        with Connection(host, port, timeout_s=5.0) as conn:
            return conn.request("GET", path, headers={"Connection": "close"}).status == 200
    except (OSError, ProbeError):
        return False


def check_chat(host: str, port: int, model: str, api_key: str | None) -> None:
    """Raise `ProbeError` unless both a plain and a streamed completion are well formed."""
    headers = chat_headers(api_key)
    with Connection(host, port) as conn:
        plain = conn.request("POST", CHAT_PATH, chat_body(model, stream=False), headers)
        _expect(plain, "non-streaming")
        try:
            content = json.loads(plain.body)["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise ProbeError(
                f"non-streaming body is not a chat.completion: {_snip(plain.body)}"
            ) from None
        if not isinstance(content, str) or not content:
            raise ProbeError(f"non-streaming reply has no content: {_snip(plain.body)}")

        streamed = conn.request("POST", CHAT_PATH, chat_body(model, stream=True), headers)
        _expect(streamed, "streaming")
        if not streamed.headers.get("content-type", "").startswith("text/event-stream"):
            raise ProbeError(
                f"streaming content-type is {streamed.headers.get('content-type')!r}, "
                "expected text/event-stream"
            )
        events = [
            line[len(b"data:") :].strip()
            for line in streamed.body.split(b"\n")
            if line.startswith(b"data:")
        ]
        if len(events) < 2 or events[-1] != b"[DONE]":
            raise ProbeError(f"stream does not end in data: [DONE]: {_snip(streamed.body)}")
        try:
            first = json.loads(events[0])
        except ValueError:
            raise ProbeError(f"first SSE event is not JSON: {_snip(events[0])}") from None
        if first.get("object") != "chat.completion.chunk":
            raise ProbeError(f"first SSE event is not a chat.completion.chunk: {_snip(events[0])}")


def _expect(answer: Answer, what: str) -> None:
    if answer.status != 200:
        raise ProbeError(f"{what} request answered HTTP {answer.status}: {_snip(answer.body)}")


def _snip(data: bytes, limit: int = 300) -> str:
    text = data.decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit] + "…"


@dataclass(frozen=True)
class TtfcResult:
    """Streaming time to first `data:` chunk over sequential requests on one connection."""

    samples: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float


def measure_ttfc(
    host: str,
    port: int,
    model: str,
    api_key: str | None,
    *,
    requests: int,
    warmup: int,
) -> TtfcResult:
    """Time `requests` sequential streaming completions after `warmup` untimed ones."""
    body = chat_body(model, stream=True)
    headers = chat_headers(api_key)
    samples_ns: list[int] = []
    with Connection(host, port) as conn:
        for i in range(warmup + requests):
            answer = conn.request("POST", CHAT_PATH, body, headers)
            if answer.status != 200 or answer.first_data_ns is None:
                raise ProbeError(
                    f"streaming request {i + 1} answered HTTP {answer.status} "
                    f"without a data: chunk: {_snip(answer.body)}"
                )
            if i >= warmup:
                samples_ns.append(answer.first_data_ns)
    ms = sorted(ns / 1e6 for ns in samples_ns)
    return TtfcResult(
        samples=len(ms),
        p50_ms=percentile(ms, 50),
        p99_ms=percentile(ms, 99),
        mean_ms=sum(ms) / len(ms),
        min_ms=ms[0],
        max_ms=ms[-1],
    )


def percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending, non-empty list."""
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]

"""The two sides of the llamacpp benchmark and one timed request on each.

Both sides get the same messages and parameters and the same prompt format (`Direct` installs
the chat handler Core's engine picks for a GGUF, so both sides prompt with identical tokens).
A `Sample` is one request: completion tokens, seconds from sending it to its last byte, and
seconds to its first content (streaming only).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from llama_cpp import Llama

from core.backends.llamacpp_prompt import transcript_chat_handler

HOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Request:
    """The one chat request every sample sends."""

    messages: list[dict[str, str]]
    max_tokens: int

    def params(self) -> dict[str, Any]:
        """Parameters of the request (temperature 0: both sides generate the same tokens)."""
        return {"messages": self.messages, "max_tokens": self.max_tokens, "temperature": 0}


@dataclass(frozen=True)
class Sample:
    """One timed request."""

    tokens: int
    seconds: float
    first_content_s: float | None
    text: str

    @property
    def tokens_per_s(self) -> float:
        """Completion tokens over the whole request's wall time."""
        return self.tokens / self.seconds


class Direct:
    """llama-cpp-python in this process: `Llama.create_chat_completion`, no server."""

    def __init__(self, model: Path, n_ctx: int, n_threads: int | None) -> None:
        self.llm = Llama(model_path=str(model), n_ctx=n_ctx, n_threads=n_threads, verbose=False)
        if "tokenizer.chat_template" not in self.llm.metadata:
            self.llm.chat_handler = transcript_chat_handler()

    def complete(self, request: Request) -> Sample:
        """One non-streaming completion."""
        started = time.perf_counter()
        out: Any = self.llm.create_chat_completion(**request.params())
        seconds = time.perf_counter() - started
        text = out["choices"][0]["message"]["content"] or ""
        return Sample(out["usage"]["completion_tokens"], seconds, None, text)

    def stream(self, request: Request, tokens: int) -> Sample:
        """One streaming completion; llama reports no usage when streaming, so `tokens` is the
        count of the same (deterministic) completion made without streaming."""
        started = time.perf_counter()
        first: float | None = None
        pieces: list[str] = []
        chunks: Any = self.llm.create_chat_completion(**request.params(), stream=True)
        for chunk in chunks:
            content = chunk["choices"][0]["delta"].get("content")
            if content:
                first = first if first is not None else time.perf_counter() - started
                pieces.append(content)
        return Sample(tokens, time.perf_counter() - started, first, "".join(pieces))

    def close(self) -> None:
        """Free the model."""
        self.llm.close()


class CoreClient:
    """Requests to a running Core over HTTP, on one keep-alive connection."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=600)

    def complete(self, request: Request) -> Sample:
        """One non-streaming completion."""
        body = {"model": "default", **request.params()}
        started = time.perf_counter()
        r = self.http.post("/v1/chat/completions", json=body)
        seconds = time.perf_counter() - started
        r.raise_for_status()
        out = r.json()
        text = out["choices"][0]["message"]["content"] or ""
        return Sample(out["usage"]["completion_tokens"], seconds, None, text)

    def stream(self, request: Request) -> Sample:
        """One streaming completion, read to `[DONE]`; tokens from its usage chunk."""
        body = {
            "model": "default",
            **request.params(),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        started = time.perf_counter()
        first: float | None = None
        pieces: list[str] = []
        tokens = 0
        with self.http.stream("POST", "/v1/chat/completions", json=body) as r:
            r.raise_for_status()
            for line in r.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line.removeprefix("data: "))
                if chunk.get("usage"):
                    tokens = chunk["usage"]["completion_tokens"]
                content = chunk["choices"][0]["delta"].get("content") if chunk["choices"] else None
                if content:
                    first = first if first is not None else time.perf_counter() - started
                    pieces.append(content)
        return Sample(tokens, time.perf_counter() - started, first, "".join(pieces))

    def close(self) -> None:
        """Close the connection."""
        self.http.close()


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def core_server(
    model: Path, n_ctx: int, n_threads: int | None, log_path: Path, timeout_s: float
) -> Iterator[str]:
    """Core on the llamacpp backend as its own process group; yields its base URL when ready."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORE_")}
    env.update(CORE_BACKEND="llamacpp", CORE_MODEL_PATH=str(model), CORE_N_CTX=str(n_ctx))
    if n_threads is not None:
        env["CORE_N_THREADS"] = str(n_threads)
    argv = [sys.executable, "-m", "uvicorn", "core.api:app", "--host", HOST, "--port", str(port)]
    argv += ["--log-level", "warning", "--no-access-log"]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            argv,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://{HOST}:{port}"
        _wait_ready(url, proc, log_path, timeout_s)
        yield url
    finally:
        _stop(proc)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log_path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        with suppress(httpx.HTTPError):
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-20:]
            raise RuntimeError(
                f"Core did not become ready (exit code {proc.poll()}); last lines of {log_path}:\n"
                + "\n".join("    " + line for line in tail)
            )
        time.sleep(0.2)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

"""The llamacpp backend's one inference thread, and its bridge to the event loop.

Invariants:
- Every call into llama runs on one dedicated thread, one at a time, in submission order
  (FIFO): a llama context is not thread-safe, so concurrent requests queue instead of racing
  or failing.
- Each call carries a `Job`. A job cancelled before it starts never runs; a running one sees
  `job.cancelled` and stops at its next token.
- A stream's items cross from the thread to the event loop (`call_soon_threadsafe` into an
  `asyncio.Queue`) as they are produced, and every stream ends: after the job's last item with
  the job's own exception if it raised one, or with `BackendUnavailable` if it never ran.
  Closing the stream early cancels its job.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from core.errors import BackendUnavailable

__all__ = ["Job", "Worker"]

T = TypeVar("T")

_SHUTTING_DOWN = "Core's llamacpp backend is shutting down; retry against a running Core."


class Job:
    """One request as the worker sees it: a cancel flag and llama's token counts."""

    __slots__ = ("_cancelled", "completion_tokens", "prompt_tokens")

    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self.prompt_tokens = 0
        self.completion_tokens = 0

    def cancel(self) -> None:
        """Ask the job to stop (at its next token, or before it starts)."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        """Whether `cancel` was called."""
        return self._cancelled.is_set()


class Worker:
    """Runs callables one at a time, in submission order, on one dedicated thread."""

    def __init__(self, name: str = "llamacpp") -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._jobs: dict[Future[Any], Job] = {}
        self._running = 0

    def depth(self) -> tuple[int, int]:
        """(jobs waiting, jobs running)."""
        with self._lock:
            return len(self._jobs) - self._running, self._running

    def submit(self, fn: Callable[[], T], job: Job) -> Future[T]:
        """Queue `fn` behind every job submitted before it."""

        def run() -> T:
            with self._lock:
                self._running += 1
            try:
                return fn()
            finally:
                with self._lock:
                    self._running -= 1

        try:
            future = self._executor.submit(run)
        except RuntimeError:  # submitted after shutdown
            raise BackendUnavailable(_SHUTTING_DOWN) from None
        with self._lock:
            self._jobs[future] = job
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            self._jobs.pop(future, None)

    async def call(self, fn: Callable[[], T], job: Job) -> T:
        """Run `fn` on the worker and wait for its result; cancelling the wait cancels `job`."""
        future = self.submit(fn, job)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            job.cancel()
            raise

    async def stream(
        self, produce: Callable[[Callable[[T], None]], None], job: Job
    ) -> AsyncGenerator[T, None]:
        """Run `produce(emit)` on the worker and yield what it emits, as it emits it."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[bool, Any]] = asyncio.Queue()

        def put(item: tuple[bool, Any]) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                job.cancel()

        future = self.submit(lambda: produce(lambda value: put((False, value))), job)
        future.add_done_callback(lambda f: put((True, f)))
        try:
            while True:
                finished, item = await queue.get()
                if not finished:
                    yield item
                    continue
                if item.cancelled():
                    raise BackendUnavailable(_SHUTTING_DOWN)
                if (exc := item.exception()) is not None:
                    raise exc
                return
        finally:
            job.cancel()
            future.cancel()

    async def aclose(self) -> None:
        """Cancel every job, wait for the running one to stop, and end the thread."""
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel()
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)

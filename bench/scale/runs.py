"""Running a claim loop in several processes at once, and what a run measured."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier
from typing import Any

import numpy as np

# (url, process name, start barrier) -> (claim latencies in ms, items finished)
ClaimLoop = Callable[[str, str, Barrier], tuple[list[float], int]]


@dataclass(frozen=True)
class ClaimRun:
    """`processes` processes claimed and finished `done` items in `seconds`."""

    processes: int
    done: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.done / self.seconds

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")


def _child(loop: ClaimLoop, url: str, name: str, barrier: Barrier, out: Any) -> None:
    out.put(loop(url, name, barrier))


def run_processes(loop: ClaimLoop, url: str, processes: int) -> ClaimRun:
    """Run `loop` in `processes` fresh processes, timed from the moment all are connected
    and ready until the last one finds nothing left."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes + 1)
    out = ctx.Queue()
    children = [
        ctx.Process(target=_child, args=(loop, url, f"bench-{i}", barrier, out))
        for i in range(processes)
    ]
    for child in children:
        child.start()
    barrier.wait(timeout=120)
    started = time.perf_counter()
    results = [out.get(timeout=600) for _ in children]
    seconds = time.perf_counter() - started
    for child in children:
        child.join(timeout=30)
        if child.exitcode != 0:
            raise RuntimeError(f"a benchmark process exited with {child.exitcode}")
    latencies = [ms for lat, _ in results for ms in lat]
    return ClaimRun(processes, sum(n for _, n in results), seconds, latencies)

"""CPU accounting from /proc: how busy the machine was, and how much of it was someone else.

On two cores any other busy process skews a run. Around each measurement the harness takes a
`Snapshot` of the whole machine's busy time, the server's process group and the finished
children of this process (wrk), and reports the remainder as foreign load, in cores.
On a system without /proc every figure is None and nothing is judged.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")

# Cores that processes outside the benchmark may use during a measurement before it is flagged.
FOREIGN_WARN_CORES = 0.10


@dataclass(frozen=True)
class Snapshot:
    """Cumulative CPU seconds at one instant."""

    at_s: float
    machine_busy_s: float | None
    server_s: float | None
    own_s: float


@dataclass(frozen=True)
class Usage:
    """CPU used during one interval, in cores (1.0 = one core busy the whole time)."""

    server_cores: float | None
    client_cores: float
    foreign_cores: float | None


def _machine_busy_s() -> float | None:
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    # user nice system idle ...: process time only, as that is all a process group is charged;
    # interrupt and steal time stay out of both sides.
    user, nice, system = (int(v) for v in fields[:3])
    return (user + nice + system) / _TICKS


def _group_cpu_s(pgid: int) -> float | None:
    total = 0.0
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:
        return None
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # Fields after the parenthesised command: state ppid pgrp ... utime(12) stime(13).
        rest = stat[stat.rfind(")") + 2 :].split()
        if int(rest[2]) == pgid:
            total += (int(rest[11]) + int(rest[12])) / _TICKS
    return total


def _own_s() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def snapshot(server_pgid: int | None) -> Snapshot:
    """CPU counters now; `server_pgid` is the process group of the server under load."""
    return Snapshot(
        at_s=time.monotonic(),
        machine_busy_s=_machine_busy_s(),
        server_s=_group_cpu_s(server_pgid) if server_pgid is not None else None,
        own_s=_own_s(),
    )


def usage(before: Snapshot, after: Snapshot) -> Usage:
    """What the server, this process with its children, and everything else used in between."""
    wall = max(after.at_s - before.at_s, 1e-9)
    client = (after.own_s - before.own_s) / wall
    server = None
    if before.server_s is not None and after.server_s is not None:
        server = (after.server_s - before.server_s) / wall
    foreign = None
    if (
        before.machine_busy_s is not None
        and after.machine_busy_s is not None
        and server is not None
    ):
        busy = (after.machine_busy_s - before.machine_busy_s) / wall
        foreign = max(0.0, busy - server - client)
    return Usage(server_cores=server, client_cores=client, foreign_cores=foreign)


def wait_for_quiet(
    server_pgid: int,
    *,
    threshold_cores: float,
    limit_s: float,
    window_s: float = 1.0,
) -> float | None:
    """Wait, up to `limit_s`, for a `window_s` in which others use under `threshold_cores`.

    Returns the foreign load of the last window (None without /proc); call it while the
    server is idle, so that whatever the machine does meanwhile is someone else's.
    """
    deadline = time.monotonic() + limit_s
    while True:
        before = snapshot(server_pgid)
        time.sleep(window_s)
        foreign = usage(before, snapshot(server_pgid)).foreign_cores
        if foreign is None or foreign < threshold_cores or time.monotonic() >= deadline:
            return foreign

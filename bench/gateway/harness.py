"""One benchmark run: each server in turn is started, checked, loaded with wrk, probed, stopped.

Servers run one at a time so none competes with another for the two cores; wrk and the TTFC
client run in this process's group and end with it. Progress goes to stdout as it happens.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.gateway import cpu, report
from bench.gateway.load import LoadError, find_wrk, run_wrk, write_script
from bench.gateway.probe import (
    CHAT_PATH,
    ProbeError,
    chat_body,
    chat_headers,
    check_chat,
    measure_ttfc,
)
from bench.gateway.report import MODE_TITLES, MODES, Mode, ServerResult
from bench.gateway.servers import (
    HOST,
    MODEL,
    Running,
    ServerDiedError,
    ServerSpec,
    ServerStartError,
    build_spec,
    running,
)


@dataclass(frozen=True)
class Options:
    """What one run measures and how hard it pushes."""

    servers: tuple[str, ...]
    duration_s: int
    warmup_s: int
    connections: int
    wrk_threads: int
    ttfc_requests: int
    ttfc_warmup: int
    start_timeout_s: float
    quiet_wait_s: float
    json_path: Path | None


class Progress:
    """Timestamped progress lines on stdout."""

    def __init__(self) -> None:
        self._start = time.monotonic()

    def __call__(self, message: str) -> None:
        elapsed = time.monotonic() - self._start
        print(f"[gateway {elapsed:6.1f}s] {message}", flush=True)


def run(options: Options) -> int:
    """Benchmark every server in `options`, print the report; 0 if all were measured, else 1."""
    say = Progress()
    wrk = find_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    per_server = 2 * (options.warmup_s + options.duration_s)
    say(
        f"servers: {', '.join(options.servers)}; {options.connections} connections, "
        f"wrk -t{options.wrk_threads}, {options.warmup_s} s warm-up + {options.duration_s} s "
        f"per mode; about {per_server} s of load per server plus start-up and TTFC"
    )
    say(f"server logs, config and wrk scripts in {workdir}")

    results: dict[str, ServerResult] = {}
    for name in options.servers:
        results[name] = _bench_server(name, options, wrk, workdir, say)

    print()
    print(report.render(results), flush=True)
    if options.json_path is not None:
        data = report.to_json(results, _settings(options), describe_machine(wrk))
        report.write_json(options.json_path, data)
        say(f"results written to {options.json_path}")

    failed = [name for name, result in results.items() if result.error]
    if failed:
        say(f"incomplete: {', '.join(failed)} failed (see above)")
        return 1
    return 0


def _bench_server(
    name: str, options: Options, wrk: str, workdir: Path, say: Progress
) -> ServerResult:
    spec = build_spec(name, workdir)
    result = ServerResult(name=name, title=spec.title)
    say(f"{name}: starting {spec.title} on {spec.base_url}")
    try:
        with running(spec, options.start_timeout_s) as server:
            result.startup_s = server.startup_s
            say(f"{name}: ready after {server.startup_s:.1f} s; checking its chat completions")
            try:
                _measure(spec, server, options, wrk, workdir, result, say)
            except (ProbeError, LoadError, OSError) as exc:
                death = server.death()
                if death is None:
                    raise
                raise ServerDiedError(death) from exc
    except (ServerStartError, ServerDiedError, ProbeError, LoadError, OSError) as exc:
        result.error = str(exc)
        say(f"{name}: FAILED: {exc}")
    return result


def _measure(
    spec: ServerSpec,
    server: Running,
    options: Options,
    wrk: str,
    workdir: Path,
    result: ServerResult,
    say: Progress,
) -> None:
    """Check one ready server's answers, load it in both modes, then time its first chunks."""
    check_chat(HOST, spec.port, MODEL, spec.api_key)
    for mode in MODES:
        _measure_load(spec, server, mode, options, wrk, workdir, result, say)
    _wait_for_quiet(spec.name, server, options, say)
    say(f"{spec.name}: streaming TTFC: {options.ttfc_requests} sequential requests")
    before = cpu.snapshot(server.pgid)
    ttfc = measure_ttfc(
        HOST,
        spec.port,
        MODEL,
        spec.api_key,
        requests=options.ttfc_requests,
        warmup=options.ttfc_warmup,
    )
    result.ttfc = ttfc
    result.cpu["ttfc"] = cpu.usage(before, cpu.snapshot(server.pgid))
    say(
        f"{spec.name}: TTFC p50 {ttfc.p50_ms:.3f} ms, p99 {ttfc.p99_ms:.3f} ms"
        f"{_cpu_note(result.cpu['ttfc'])}; stopping"
    )


def _measure_load(
    spec: ServerSpec,
    server: Running,
    mode: Mode,
    options: Options,
    wrk: str,
    workdir: Path,
    result: ServerResult,
    say: Progress,
) -> None:
    """Warm up, then measure one mode with wrk; record its numbers and CPU use in `result`."""
    script = write_script(
        workdir / f"{spec.name}-{mode}.lua",
        chat_body(MODEL, stream=mode == "stream"),
        chat_headers(spec.api_key),
    )
    url = spec.base_url + CHAT_PATH
    title = MODE_TITLES[mode]
    _wait_for_quiet(spec.name, server, options, say)
    say(f"{spec.name}: {title}: warm-up {options.warmup_s} s")
    run_wrk(
        wrk,
        url,
        script,
        connections=options.connections,
        threads=options.wrk_threads,
        duration_s=options.warmup_s,
    )
    say(f"{spec.name}: {title}: measuring {options.duration_s} s")
    before = cpu.snapshot(server.pgid)
    load = run_wrk(
        wrk,
        url,
        script,
        connections=options.connections,
        threads=options.wrk_threads,
        duration_s=options.duration_s,
    )
    usage = cpu.usage(before, cpu.snapshot(server.pgid))
    death = server.death()
    if death is not None:
        raise ServerDiedError(death)  # its numbers describe a crash, not a server
    result.load[mode] = load
    result.cpu[mode] = usage
    say(
        f"{spec.name}: {title}: {load.rps:,.1f} req/s, p50 {load.p50_ms:.2f} ms, "
        f"p99 {load.p99_ms:.2f} ms, {load.requests:,} requests{_cpu_note(usage)}"
    )
    if load.error_count:
        errors = ", ".join(f"{k} {v}" for k, v in load.errors.items() if v)
        result.error = f"wrk saw errors in {title} mode: {errors}"
        say(f"{spec.name}: {title}: WARNING: {result.error}")


def _wait_for_quiet(name: str, server: Running, options: Options, say: Progress) -> None:
    """Hold off while other processes keep the machine busy, up to `options.quiet_wait_s`."""
    if options.quiet_wait_s <= 0:
        return
    foreign = cpu.wait_for_quiet(server.pgid, threshold_cores=cpu.FOREIGN_WARN_CORES, limit_s=0)
    if foreign is None or foreign < cpu.FOREIGN_WARN_CORES:
        return
    say(
        f"{name}: other processes use {foreign:.2f} cores; waiting up to "
        f"{options.quiet_wait_s:.0f} s for the machine to go quiet"
    )
    foreign = cpu.wait_for_quiet(
        server.pgid, threshold_cores=cpu.FOREIGN_WARN_CORES, limit_s=options.quiet_wait_s
    )
    if foreign is not None and foreign >= cpu.FOREIGN_WARN_CORES:
        say(f"{name}: still {foreign:.2f} cores busy elsewhere; measuring anyway")


def _cpu_note(usage: cpu.Usage) -> str:
    note = ""
    if usage.server_cores is not None:
        note += f"; server {usage.server_cores:.2f} cores, client {usage.client_cores:.2f}"
    if usage.foreign_cores is not None and usage.foreign_cores > cpu.FOREIGN_WARN_CORES:
        note += (
            f"; WARNING: other processes used {usage.foreign_cores:.2f} cores meanwhile, "
            "so this number is skewed; rerun on a quiet machine"
        )
    return note


def _settings(options: Options) -> dict[str, Any]:
    data = asdict(options)
    data["json_path"] = str(options.json_path) if options.json_path else None
    return data


def describe_machine(wrk: str) -> dict[str, Any]:
    """CPU, memory, OS and the versions of everything measured, for the JSON record."""
    cpu = "unknown"
    mem_gib: float | None = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / 1024**2, 1)
                break
    except OSError:
        pass
    wrk_version = subprocess.run(
        [wrk, "-v"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    versions: dict[str, str | None] = {}
    for package in ("steward", "fastapi", "starlette", "uvicorn", "uvloop", "httptools", "litellm"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "wrk": wrk_version[0].strip() if wrk_version else None,
        "packages": versions,
    }

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

from bench.gateway import report
from bench.gateway.load import LoadError, find_wrk, run_wrk, write_script
from bench.gateway.probe import ProbeError, chat_body, chat_headers, check_chat, measure_ttfc
from bench.gateway.report import MODE_TITLES, MODES, ServerResult
from bench.gateway.servers import HOST, MODEL, ServerStartError, build_spec, running


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


def _bench_server(name: str, options: Options, wrk: str, workdir: Path, say: Progress) -> ServerResult:
    spec = build_spec(name, workdir)
    result = ServerResult(name=name, title=spec.title)
    say(f"{name}: starting {spec.title} on {spec.base_url}")
    try:
        with running(spec, options.start_timeout_s) as startup_s:
            result.startup_s = startup_s
            say(f"{name}: ready after {startup_s:.1f} s; checking its chat completions")
            check_chat(HOST, spec.port, MODEL, spec.api_key)
            url = f"{spec.base_url}/v1/chat/completions"
            for mode in MODES:
                stream = mode == "stream"
                script = write_script(
                    workdir / f"{name}-{mode}.lua",
                    chat_body(MODEL, stream=stream),
                    chat_headers(spec.api_key),
                )
                title = MODE_TITLES[mode]
                say(f"{name}: {title}: warm-up {options.warmup_s} s")
                run_wrk(
                    wrk,
                    url,
                    script,
                    connections=options.connections,
                    threads=options.wrk_threads,
                    duration_s=options.warmup_s,
                )
                say(f"{name}: {title}: measuring {options.duration_s} s")
                load = run_wrk(
                    wrk,
                    url,
                    script,
                    connections=options.connections,
                    threads=options.wrk_threads,
                    duration_s=options.duration_s,
                )
                result.load[mode] = load
                say(
                    f"{name}: {title}: {load.rps:,.1f} req/s, p50 {load.p50_ms:.2f} ms, "
                    f"p99 {load.p99_ms:.2f} ms, {load.requests:,} requests"
                )
                if load.error_count:
                    errors = ", ".join(f"{k} {v}" for k, v in load.errors.items() if v)
                    result.error = f"wrk saw errors in {title} mode: {errors}"
                    say(f"{name}: {title}: WARNING: {result.error}")
            say(f"{name}: streaming TTFC: {options.ttfc_requests} sequential requests")
            ttfc = measure_ttfc(
                HOST,
                spec.port,
                MODEL,
                spec.api_key,
                requests=options.ttfc_requests,
                warmup=options.ttfc_warmup,
            )
            result.ttfc = ttfc
            say(f"{name}: TTFC p50 {ttfc.p50_ms:.3f} ms, p99 {ttfc.p99_ms:.3f} ms; stopping")
    except (ServerStartError, ProbeError, LoadError, OSError) as exc:
        result.error = str(exc)
        say(f"{name}: FAILED: {exc}")
    return result


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

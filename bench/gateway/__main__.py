"""Command line of the gateway benchmark: `uv run --group bench python -m bench.gateway`.

Ctrl-C or SIGTERM stops the run; every server it started is stopped on the way out.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType

from bench.gateway.harness import Options, run
from bench.gateway.load import LoadError
from bench.gateway.servers import SERVER_NAMES


def _server_list(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in SERVER_NAMES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown server {', '.join(unknown) or '(none)'}; choose from {','.join(SERVER_NAMES)}"
        )
    return tuple(n for n in SERVER_NAMES if n in names)  # always floor, litellm, core order


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not positive")
    return value


def parse_args(argv: list[str] | None = None) -> Options:
    """Options from the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.gateway",
        description="Load Steward Core, LiteLLM proxy and a bare FastAPI floor with wrk "
        "(non-streaming and streaming chat completions) and measure streaming time to "
        "first chunk. Targets are reported as PASS/FAIL, never asserted.",
    )
    parser.add_argument(
        "--duration",
        type=_positive_int,
        default=10,
        help="seconds of measured load per server and mode (default 10)",
    )
    parser.add_argument(
        "--warmup",
        type=_positive_int,
        default=3,
        help="seconds of unmeasured wrk load before each measured run (default 3)",
    )
    parser.add_argument(
        "--connections", type=_positive_int, default=16, help="wrk connections (default 16)"
    )
    parser.add_argument(
        "--wrk-threads",
        type=_positive_int,
        default=1,
        help="wrk threads (default 1: on two "
        "cores it leaves one core to the server; see docs/BENCHMARKS.md)",
    )
    parser.add_argument(
        "--only",
        type=_server_list,
        default=SERVER_NAMES,
        metavar="NAMES",
        help="comma-separated servers to run, of floor,litellm,core (default all)",
    )
    parser.add_argument(
        "--ttfc-requests",
        type=_positive_int,
        default=200,
        help="sequential streaming requests timed for time to first chunk (default 200)",
    )
    parser.add_argument(
        "--ttfc-warmup",
        type=_positive_int,
        default=20,
        help="untimed streaming requests before those (default 20)",
    )
    parser.add_argument(
        "--start-timeout",
        type=float,
        default=120.0,
        help="seconds a server may take to become ready (default 120)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        help="before each measurement, wait up to this many seconds while other processes "
        "use more than 0.1 core (default 60; 0 never waits)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args(argv)
    if args.wrk_threads > args.connections:
        parser.error("--wrk-threads must not exceed --connections")
    return Options(
        servers=args.only,
        duration_s=args.duration,
        warmup_s=args.warmup,
        connections=args.connections,
        wrk_threads=args.wrk_threads,
        ttfc_requests=args.ttfc_requests,
        ttfc_warmup=args.ttfc_warmup,
        start_timeout_s=args.start_timeout,
        quiet_wait_s=args.quiet_wait,
        json_path=args.json,
    )


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 0 measured all, 1 something failed, 130 interrupted."""
    options = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    try:
        return run(options)
    except LoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; every server started was stopped", file=sys.stderr, flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())

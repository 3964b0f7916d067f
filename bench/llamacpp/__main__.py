"""Command line of the llamacpp benchmark: `uv run python -m bench.llamacpp`.

The model is the one Core would load from the same environment (`CORE_MODEL_PATH`, or the
bundled GGUF in `CORE_MODEL_DIR`, assembled first if needed); `CORE_N_CTX` and
`CORE_N_THREADS` apply to both sides. Ctrl-C or SIGTERM stops the run and the Core server.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from types import FrameType

from bench.llamacpp.runners import CoreClient, Direct, Request, Sample, core_server
from core.backends.llamacpp_model import ensure_model_file
from core.settings import CoreSettings

SIDES = ("direct", "core")
MODES = ("non-stream", "stream")
TARGET = 0.95  # Core's tokens/s at least 95% of direct
# The bundled base model keeps counting after this, so every request generates max_tokens.
PROMPT = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,"

Results = dict[tuple[str, str], list[Sample]]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not positive")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Options from the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.llamacpp",
        description="Tokens/s of a chat completion through Core's llamacpp backend (HTTP, "
        "non-streaming and streaming) against llama-cpp-python called directly.",
    )
    parser.add_argument("--reps", type=_positive_int, default=7, help="timed repetitions (7)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed repetitions first (1)")
    parser.add_argument(
        "--max-tokens", type=_positive_int, default=128, help="tokens per completion (128)"
    )
    parser.add_argument(
        "--start-timeout", type=float, default=120.0, help="seconds Core may take to load (120)"
    )
    return parser.parse_args(argv)


def _measure(
    side: str, mode: str, direct: Direct, core: CoreClient, request: Request, tokens: int
) -> Sample:
    if side == "direct":
        return direct.complete(request) if mode == "non-stream" else direct.stream(request, tokens)
    return core.complete(request) if mode == "non-stream" else core.stream(request)


def run(direct: Direct, core: CoreClient, request: Request, reps: int, warmup: int) -> Results:
    """Alternate the sides request by request; keep the timed samples."""
    results: Results = defaultdict(list)
    tokens = request.max_tokens  # of the greedy completion, from direct's non-streaming run
    for rep in range(-warmup, reps):
        order = SIDES if rep % 2 == 0 else SIDES[::-1]
        line: list[str] = []
        for mode in MODES:
            for side in order:
                sample = _measure(side, mode, direct, core, request, tokens)
                if (side, mode) == ("direct", "non-stream"):
                    tokens = sample.tokens
                line.append(f"{side} {mode} {sample.tokens_per_s:5.1f}")
                if rep >= 0:
                    results[(side, mode)].append(sample)
        label = f"warm-up {rep + warmup + 1}/{warmup}" if rep < 0 else f"rep {rep + 1}/{reps}"
        print(f"  {label}: " + ", ".join(line) + " tok/s", flush=True)
    return results


def report(results: Results) -> str:
    """The table: median tokens/s per side and mode, Core/direct, PASS/FAIL.

    The verdict uses the median of paired ratios: each repetition times the two sides back to
    back, so a burst of other work on the machine spoils one pair, not the whole comparison.
    """
    rows = [
        "| mode       | direct tok/s (median) | Core tok/s (median) | Core/direct (medians) "
        f"| Core/direct (paired median) | target >= {TARGET:.0%} |",
        "|------------|------:|------:|-------:|-------:|------|",
    ]
    for mode in MODES:
        d = [s.tokens_per_s for s in results[("direct", mode)]]
        c = [s.tokens_per_s for s in results[("core", mode)]]
        dm, cm = statistics.median(d), statistics.median(c)
        paired = statistics.median(ci / di for ci, di in zip(c, d, strict=True))
        verdict = "PASS" if paired >= TARGET else "FAIL"
        rows.append(
            f"| {mode:<10} | {dm:5.1f} | {cm:5.1f} | {cm / dm:6.1%} | {paired:6.1%} | {verdict} |"
        )
    ttfc = {
        side: statistics.median(s.first_content_s or 0.0 for s in results[(side, "stream")])
        for side in SIDES
    }
    rows.append(
        f"\nmedian time to first content (stream): direct {ttfc['direct'] * 1000:.0f} ms, "
        f"Core {ttfc['core'] * 1000:.0f} ms"
    )
    texts = {s.text.strip() for samples in results.values() for s in samples}
    counts = {s.tokens for samples in results.values() for s in samples}
    same = "yes" if len(texts) == 1 and len(counts) == 1 else "NO (results not comparable)"
    rows.append(f"same completion on every request: {same} ({', '.join(map(str, counts))} tokens)")
    return "\n".join(rows)


def _load_average() -> str:
    # Other work on the machine moves these numbers more than Core does; show how busy it was.
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    settings = CoreSettings(backend="llamacpp")
    model = ensure_model_file(settings).resolve()
    request = Request([{"role": "user", "content": PROMPT}], args.max_tokens)
    threads = settings.n_threads or "llama default"
    print(
        f"llamacpp benchmark: {model.name}, {args.max_tokens} tokens, temperature 0, "
        f"{args.reps} reps (+{args.warmup} warm-up), n_ctx {settings.n_ctx}, n_threads "
        f"{threads}, {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
        f"load average {_load_average()}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench-llamacpp-") as tmp:
        print("starting Core (uvicorn core.api:app, llamacpp backend) ...", flush=True)
        log = Path(tmp) / "core.log"
        with core_server(model, settings.n_ctx, settings.n_threads, log, args.start_timeout) as url:
            print(f"Core ready at {url}; loading the model in this process ...", flush=True)
            direct, core = Direct(model, settings.n_ctx, settings.n_threads), CoreClient(url)
            try:
                results = run(direct, core, request, args.reps, args.warmup)
            finally:
                direct.close()
                core.close()
    print(f"load average at the end (1/5/15 min): {_load_average()}")
    print()
    print(report(results))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)

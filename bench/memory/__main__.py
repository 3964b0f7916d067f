"""Command line of the memory benchmark: `uv run --group bench python -m bench.memory`.

Progress goes to stderr; the markdown table and the targets go to stdout.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys

import numpy as np
import usearch

from backend.memory.index import EXACT_THRESHOLD
from backend.memory.index_hnsw import CONNECTIVITY, DTYPE, EXPANSION_ADD, search_width
from bench.memory.data import DIM
from bench.memory.harness import Result, log, run
from bench.memory.peers import DEFAULT_PEERS, PEER_NAMES

# (size, p50 limit in ms) for Steward's default index, at recall@10 >= RECALL_TARGET.
TARGETS = ((100_000, 5.0), (1_000_000, 50.0))
RECALL_TARGET = 0.95
EXACT_ALTERNATIVE_MS = 20.0  # an exact index meets the 100k target within this instead


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of whole numbers") from None
    if not sizes or min(sizes) < 100:
        raise argparse.ArgumentTypeError("sizes must be at least 100 items each")
    return sizes


def _peers(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in PEER_NAMES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown peer {', '.join(unknown) or '(none)'}; choose from {','.join(PEER_NAMES)}"
        )
    return [n for n in PEER_NAMES if n in names]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Options from the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.memory",
        description="Query latency, recall@10, insert throughput and memory of Steward's "
        f"vector indexes (embedded, and pgvector in PostgreSQL) against NumPy brute force and "
        f"sqlite-vec, {DIM}-d embedding-like unit vectors. Targets are reported as PASS/FAIL, "
        "never asserted.",
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=[10_000, 100_000, 1_000_000],
        help="item counts, comma-separated (default 10000,100000,1000000)",
    )
    parser.add_argument(
        "--peers",
        type=_peers,
        default=list(DEFAULT_PEERS),
        help=f"which to run, of {','.join(PEER_NAMES)} (default {','.join(DEFAULT_PEERS)})",
    )
    parser.add_argument(
        "--queries",
        type=int,
        default=1000,
        help="timed queries per peer; brute-force peers run fewer at large sizes (default 1000)",
    )
    parser.add_argument("--seed", type=int, default=20240601, help="data seed (default 20240601)")
    parser.add_argument(
        "--pgvector-url",
        default=None,
        help="PostgreSQL database with the pgvector extension for the pgvector peer "
        "(default: start one from the pgserver wheel in a temporary directory)",
    )
    args = parser.parse_args(argv)
    if args.queries < 20:
        parser.error("--queries must be at least 20")
    return args


def _mib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / 2**20:,.0f}"


def table(results: list[Result]) -> str:
    """The results as one markdown table."""
    rows = [
        "| items | index | queries | p50 ms | p99 ms | recall@10 | insert items/s "
        "| RSS delta MiB | structure MiB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rows.append(
            f"| {r.size:,} | {r.peer} | {r.queries} | {r.p50_ms:.3f} | {r.p99_ms:.3f} "
            f"| {r.recall:.3f} | {r.insert_per_s:,.0f} | {_mib(r.rss_delta)} "
            f"| {_mib(r.structure)} |"
        )
    return "\n".join(rows)


def verdicts(results: list[Result]) -> list[str]:
    """PASS/FAIL of each target whose size was run."""
    lines = []
    for size, limit in TARGETS:
        found = [r for r in results if r.size == size and r.peer.startswith("Steward default")]
        if not found:
            continue
        r = found[0]
        exact = r.recall == 1.0 and r.p50_ms <= EXACT_ALTERNATIVE_MS
        ok = (r.p50_ms <= limit and r.recall >= RECALL_TARGET) or (size == 100_000 and exact)
        lines.append(
            f"- default index at {size:,} items: p50 {r.p50_ms:.3f} ms (target <= {limit:g} ms), "
            f"recall@10 {r.recall:.3f} (target >= {RECALL_TARGET}): {'PASS' if ok else 'FAIL'}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    args = parse_args(argv)
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    log(
        f"memory benchmark: {DIM}-d, sizes {', '.join(f'{s:,}' for s in args.sizes)}, "
        f"{os.cpu_count()} CPUs, load average {load}"
    )
    try:
        results = run(args.sizes, args.peers, args.queries, args.seed, args.pgvector_url)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    load_after = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(table(results))
    print()
    print(
        f"Python {platform.python_version()}, NumPy {np.__version__}, usearch "
        f"{usearch.__version__}; {os.cpu_count()} CPUs; load average {load} at the start, "
        f"{load_after} at the end."
    )
    print(
        f"Steward default: exact up to {EXACT_THRESHOLD:,} items, then HNSW (connectivity "
        f"{CONNECTIVITY}, expansion_add {EXPANSION_ADD}, expansion_search "
        f"{search_width(100_000)} at 100k and {search_width(1_000_000)} at 1M, {DTYPE} storage). "
        "Latency: one query at a time, k=10. RSS delta: resident memory "
        "after the build minus before; structure: the index's own bytes (NumPy matrix, "
        "usearch memory_usage, ExactIndex matrix + key array), the sqlite-vec database file, "
        "or the pgvector table with its indexes on disk (pg_total_relation_size)."
    )
    for line in verdicts(results):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

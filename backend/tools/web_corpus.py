"""The offline corpus behind `web_search`: a few dozen short documents bundled with Steward,
ranked with BM25. It never reaches the internet."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CORPUS = Path(__file__).parent / "data" / "corpus.json"
_WORD = re.compile(r"[a-z0-9]+")
_K1, _B = 1.5, 0.75


def _terms(text: str) -> list[str]:
    words = _WORD.findall(text.lower())
    return [w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words]


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    title: str
    text: str


class Corpus:
    """Documents and their BM25 index."""

    def __init__(self, documents: list[Document]):
        self.documents = documents
        self.terms = [Counter(_terms(d.title + " " + d.title + " " + d.text)) for d in documents]
        self.lengths = [sum(t.values()) for t in self.terms]
        self.average = sum(self.lengths) / max(len(self.lengths), 1)
        df: Counter[str] = Counter()
        for t in self.terms:
            df.update(t.keys())
        n = len(documents)
        self.idf = {term: math.log(1 + (n - f + 0.5) / (f + 0.5)) for term, f in df.items()}

    def search(self, query: str, limit: int) -> list[tuple[Document, float]]:
        """The best `limit` documents for `query`, best first (score > 0 only)."""
        words = set(_terms(query))
        scored = []
        for doc, terms, length in zip(self.documents, self.terms, self.lengths, strict=True):
            score = 0.0
            for w in words:
                tf = terms.get(w, 0)
                if tf:
                    norm = tf + _K1 * (1 - _B + _B * length / self.average)
                    score += self.idf[w] * tf * (_K1 + 1) / norm
            if score > 0:
                scored.append((doc, round(score, 3)))
        scored.sort(key=lambda pair: -pair[1])
        return scored[:limit]


@cache
def corpus() -> Corpus:
    """The bundled corpus, loaded once."""
    rows = json.loads(CORPUS.read_text())
    return Corpus([Document(r["id"], r["title"], r["text"]) for r in rows])

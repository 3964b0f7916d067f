"""The offline corpus behind `web_search`: a few dozen short documents bundled with Steward
(`data/corpus.json`), ranked with Okapi BM25 in pure Python.

Invariants:
- Search never reaches the network; it reads only the bundled file, loaded once.
- Every document has a unique `steward://corpus/<slug>` id, a title and a text.
- Ranking is deterministic: scores are BM25 over lower-cased, lightly stemmed words with
  English stop words dropped (titles count twice); ties keep corpus order; a document that
  shares no word with the query is never returned.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = ["CORPUS_FILE", "Corpus", "Document", "corpus"]

CORPUS_FILE = Path(__file__).parent / "data" / "corpus.json"
_K1, _B = 1.5, 0.75
_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    ]
)


def terms(text: str) -> list[str]:
    """The index terms of `text`: lower-case words, stop words dropped, crudely stemmed."""
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP]


def _stem(word: str) -> str:
    # Just enough to make "notes"/"note", "baking"/"bake", "cities"/"city" meet; not Porter.
    if len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if not word.endswith("ss"):
        for suffix in ("ing", "ed", "es", "ly", "s"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
    return word[:-1] if len(word) > 3 and word.endswith("e") else word


@dataclass(frozen=True, slots=True)
class Document:
    """One bundled document."""

    id: str
    title: str
    text: str


class Corpus:
    """Documents and their BM25 index."""

    def __init__(self, documents: list[Document]):
        ids = [d.id for d in documents]
        if len(set(ids)) != len(ids):
            raise ValueError("corpus document ids must be unique")
        self.documents = documents
        self._terms = [Counter(terms(f"{d.title} {d.title} {d.text}")) for d in documents]
        self._lengths = [sum(t.values()) for t in self._terms]
        self._average = sum(self._lengths) / max(len(self._lengths), 1)
        frequency: Counter[str] = Counter()
        for counted in self._terms:
            frequency.update(counted.keys())
        n = len(documents)
        self._idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in frequency.items()}

    def search(self, query: str, limit: int) -> list[tuple[Document, float]]:
        """The best `limit` documents for `query` with their scores, best first."""
        words = set(terms(query))
        scored: list[tuple[Document, float]] = []
        for doc, counted, length in zip(self.documents, self._terms, self._lengths, strict=True):
            score = 0.0
            norm = _K1 * (1 - _B + _B * length / self._average)
            for word in words:
                tf = counted.get(word, 0)
                if tf:
                    score += self._idf[word] * tf * (_K1 + 1) / (tf + norm)
            if score > 0:
                scored.append((doc, round(score, 3)))
        scored.sort(key=lambda pair: -pair[1])
        return scored[:limit]


def snippet(document: Document, query: str, limit: int = 300) -> str:
    """The sentences of `document` that share the most words with `query`, up to `limit`
    characters (the opening sentences when none do)."""
    wanted = set(terms(query))
    sentences = _SENTENCE.split(document.text)
    best = max(
        range(len(sentences)),
        key=lambda i: (len(wanted & set(terms(sentences[i]))), -i),
    )
    text = " ".join(sentences[best:])
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@cache
def corpus() -> Corpus:
    """The bundled corpus, loaded once per process."""
    rows = json.loads(CORPUS_FILE.read_text(encoding="utf-8"))
    return Corpus([Document(r["id"], r["title"], r["text"]) for r in rows])

"""Deterministic lexical embeddings: hashed word uni- and bigrams, unit length.

Texts that share words land near each other and unrelated texts near zero cosine, so
retrieval tests on the mock backend mean something. Each feature is hashed (BLAKE2b) to one
of `DIMENSIONS` buckets with a sign; CJK text contributes character uni- and bigrams.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re

DIMENSIONS = 384
_WORD = re.compile(r"[a-z0-9]+")
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]+")
_STOP_WORDS = (
    "a an and are as at be by do for from has have i in is it me my of on or our so that "
    "the their this to was we were what when where which who will with you your"
)
_STOP = frozenset(_STOP_WORDS.split())


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def features(text: str) -> list[tuple[str, float]]:
    """Weighted features of `text`."""
    lowered = text.lower()
    words = [_stem(w) for w in _WORD.findall(lowered) if w not in _STOP]
    feats: list[tuple[str, float]] = [(f"w:{w}", 1.0) for w in words]
    feats += [(f"b:{a}_{b}", 0.5) for a, b in itertools.pairwise(words)]
    for run in _CJK_RUN.findall(lowered):
        feats += [(f"c:{ch}", 0.6) for ch in run]
        feats += [(f"cb:{run[i : i + 2]}", 1.0) for i in range(len(run) - 1)]
    return feats


def embed_text(text: str, dimensions: int = DIMENSIONS) -> list[float]:
    """A unit-length vector for `text` (all zeros for text with no features)."""
    vec = [0.0] * dimensions
    for feat, weight in features(text):
        h = int.from_bytes(hashlib.blake2b(feat.encode(), digest_size=8).digest(), "big")
        vec[h % dimensions] += weight if (h >> 63) & 1 else -weight
    norm = math.sqrt(sum(x * x for x in vec))
    if norm == 0.0:
        return vec
    return [x / norm for x in vec]

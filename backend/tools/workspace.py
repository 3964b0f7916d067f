"""Writes confined to the workspace folder (what `notes_write` may touch on this computer).

Invariants:
- `resolve_in_workspace` returns a path strictly inside the real (symlink-free) workspace
  root, or raises `WorkspaceError`. Refused: empty names, NUL bytes, absolute or `~` paths,
  any `..` segment, and any symlink (a folder on the way or the file itself) that resolves
  outside the root. Symlinks that stay inside are followed.
- `write_file` never leaves a half-written file: it writes a temporary file next to the
  target, flushes it to disk and renames it over the target (`os.replace`, atomic on POSIX).
  Appending rewrites the whole file the same way. Content is at most `MAX_CONTENT_BYTES` per
  write and a file at most `MAX_FILE_BYTES`.
- The confinement is checked again on the folder the temporary file landed in, just before
  the rename, which narrows (but on a folder writable by someone else cannot close) the
  window for a symlink swapped in between the check and the write.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath

__all__ = [
    "MAX_CONTENT_BYTES",
    "MAX_FILE_BYTES",
    "WorkspaceError",
    "resolve_in_workspace",
    "write_file",
]

MAX_CONTENT_BYTES = 1024 * 1024
MAX_FILE_BYTES = 8 * 1024 * 1024


class WorkspaceError(ValueError):
    """The path or content is not allowed in the workspace; the message says why."""


def resolve_in_workspace(root: Path, relative: str) -> Path:
    """The absolute path of `relative` inside `root` (created if missing), or
    `WorkspaceError`."""
    if not relative or not relative.strip():
        raise WorkspaceError("the path is empty; give a file name such as notes/today.md")
    if "\x00" in relative:
        raise WorkspaceError("the path contains a NUL byte")
    # Backslashes are separators to a person on any system; treat them so, or `..\x` could
    # pass as one odd file name here and mean something else elsewhere.
    pure = PurePosixPath(relative.replace("\\", "/"))
    if pure.is_absolute() or relative.startswith("~"):
        raise WorkspaceError(
            f"'{relative}' is an absolute path; give a path relative to the workspace"
        )
    if ".." in pure.parts:
        raise WorkspaceError(f"'{relative}' uses '..'; give a path inside the workspace")
    if not pure.parts:
        raise WorkspaceError(f"'{relative}' names the workspace itself, not a file in it")
    root.mkdir(parents=True, exist_ok=True)
    real_root = root.resolve()
    resolved = real_root.joinpath(*pure.parts).resolve()  # follows every symlink on the way
    if not _inside(real_root, resolved):
        raise WorkspaceError(
            f"'{relative}' leads outside the workspace through a symlink; refusing to write"
        )
    return resolved


def write_file(root: Path, relative: str, content: str, *, append: bool = False) -> Path:
    """Write `content` to `relative` in the workspace, replacing the file atomically (or
    appending to it); returns the file's resolved path."""
    data = content.encode()
    if len(data) > MAX_CONTENT_BYTES:
        raise WorkspaceError(
            f"the content is {len(data)} bytes; one write takes at most {MAX_CONTENT_BYTES}"
        )
    path = resolve_in_workspace(root, relative)
    real_root = root.resolve()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise WorkspaceError(f"'{relative}' is a folder; give a file name inside it")
        if append and path.exists():
            data = path.read_bytes() + data
        if len(data) > MAX_FILE_BYTES:
            raise WorkspaceError(f"the file would grow past {MAX_FILE_BYTES} bytes")
        _replace(path, data, real_root)
    except (FileExistsError, NotADirectoryError):
        raise WorkspaceError(
            f"'{relative}' goes through a file as if it were a folder; pick another path"
        ) from None
    except OSError as exc:
        raise WorkspaceError(f"could not write '{relative}': {exc.strerror or exc}") from None
    return path


def _replace(path: Path, data: bytes, real_root: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".steward-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if not _inside(real_root, Path(tmp).resolve().parent / path.name):
            raise WorkspaceError("a folder on the path was replaced by a symlink; refusing")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _inside(root: Path, path: Path) -> bool:
    return path != root and root in path.parents

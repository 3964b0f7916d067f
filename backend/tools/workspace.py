"""Writes confined to the workspace folder: absolute paths, `..` that would leave it, NUL
bytes and symlinks that lead out are refused; files are replaced atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath

MAX_CONTENT_BYTES = 1024 * 1024


class WorkspaceError(ValueError):
    """The path or content is not allowed in the workspace; the message says why."""


def resolve_in_workspace(root: Path, relative: str) -> Path:
    """The absolute path of `relative` inside `root`, or `WorkspaceError`."""
    if not relative or not relative.strip():
        raise WorkspaceError("the path is empty")
    if "\x00" in relative:
        raise WorkspaceError("the path contains a NUL byte")
    pure = PurePosixPath(relative.replace("\\", "/"))
    if pure.is_absolute() or relative.startswith("~"):
        raise WorkspaceError(f"'{relative}' is absolute; give a path inside the workspace")
    if any(part == ".." for part in pure.parts):
        raise WorkspaceError(f"'{relative}' climbs out with '..'; give a path inside the workspace")
    root.mkdir(parents=True, exist_ok=True)
    real_root = root.resolve()
    target = real_root.joinpath(*pure.parts)
    resolved = target.resolve()  # follows every symlink on the way, the file's own included
    if resolved != real_root and real_root not in resolved.parents:
        raise WorkspaceError(f"'{relative}' leads outside the workspace through a symlink")
    if resolved == real_root:
        raise WorkspaceError("the path names the workspace itself, not a file in it")
    return resolved


def write_file(root: Path, relative: str, content: str, *, append: bool = False) -> Path:
    """Write `content` to `relative` in the workspace; replace atomically, or append."""
    data = content.encode()
    if len(data) > MAX_CONTENT_BYTES:
        raise WorkspaceError(f"the content is over {MAX_CONTENT_BYTES} bytes")
    path = resolve_in_workspace(root, relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    if append and path.exists():
        data = path.read_bytes() + data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".steward-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path

"""Workspace confinement: `notes_write` can only create files inside the workspace folder,
whatever the path says and whatever symlinks lie on the way; writes are atomic."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backend.tools.workspace import (
    MAX_CONTENT_BYTES,
    WorkspaceError,
    resolve_in_workspace,
    write_file,
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "workspace"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    path = tmp_path / "outside"
    path.mkdir()
    return path


@pytest.mark.parametrize(
    ("relative", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (".", "names the workspace itself"),
        ("a/..", "uses '..'"),
        ("../x", "uses '..'"),
        ("a/../../x", "uses '..'"),
        ("a/../b", "uses '..'"),
        ("..\\x", "uses '..'"),
        ("/etc/passwd", "absolute"),
        ("//server/share", "absolute"),
        ("\\etc\\passwd", "absolute"),
        ("~/x", "absolute"),
        ("a\x00b", "NUL byte"),
    ],
)
def test_paths_that_could_leave_the_workspace_are_refused(
    root: Path, relative: str, reason: str
) -> None:
    with pytest.raises(WorkspaceError, match=reason):
        resolve_in_workspace(root, relative)


def test_a_symlinked_folder_leading_out_is_refused(root: Path, outside: Path) -> None:
    root.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(WorkspaceError, match="symlink"):
        write_file(root, "link/evil.txt", "x")
    with pytest.raises(WorkspaceError, match="symlink"):
        write_file(root, "link/deeper/evil.txt", "x")
    assert list(outside.iterdir()) == []


def test_a_symlink_deeper_down_leading_out_is_refused(root: Path, outside: Path) -> None:
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "up").symlink_to(outside)
    with pytest.raises(WorkspaceError, match="symlink"):
        write_file(root, "a/b/up/evil.txt", "x")
    assert list(outside.iterdir()) == []


def test_a_symlinked_file_leading_out_is_refused(root: Path, outside: Path) -> None:
    root.mkdir()
    target = outside / "target.txt"
    target.write_text("original")
    (root / "existing").symlink_to(target)
    (root / "dangling").symlink_to(outside / "not-yet.txt")
    for name in ("existing", "dangling"):
        with pytest.raises(WorkspaceError, match="symlink"):
            write_file(root, name, "overwritten")
    assert target.read_text() == "original"
    assert not (outside / "not-yet.txt").exists()


def test_a_symlinked_workspace_and_links_inside_it_are_followed(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "notes").mkdir(parents=True)
    root = tmp_path / "ws"
    root.symlink_to(real)
    (real / "alias").symlink_to(real / "notes")
    written = write_file(root, "alias/a.md", "hi")
    assert written == (real / "notes" / "a.md").resolve()
    assert written.read_text() == "hi"


def test_nested_folders_are_created_inside(root: Path) -> None:
    written = write_file(root, "journal/2025/06/today.md", "dear diary\n")
    assert written == (root / "journal" / "2025" / "06" / "today.md").resolve()
    assert written.read_text() == "dear diary\n"
    assert resolve_in_workspace(root, "a//b/./c.md") == (root / "a" / "b" / "c.md").resolve()


def test_overwrite_replaces_and_append_adds(root: Path) -> None:
    path = write_file(root, "n.md", "one\n")
    write_file(root, "n.md", "two\n", append=True)
    assert path.read_text() == "one\ntwo\n"
    write_file(root, "n.md", "three\n")
    assert path.read_text() == "three\n"
    write_file(root, "fresh.md", "new\n", append=True)
    assert (root / "fresh.md").read_text() == "new\n"


def test_writes_leave_no_temporary_files(root: Path) -> None:
    write_file(root, "a/n.md", "x")
    write_file(root, "a/n.md", "y", append=True)
    assert sorted(p.name for p in (root / "a").iterdir()) == ["n.md"]


def test_a_failed_write_keeps_the_old_file_and_no_temporary(root: Path) -> None:
    path = write_file(root, "keep.md", "old")
    with pytest.raises(WorkspaceError, match="bytes"):
        write_file(root, "keep.md", "x" * (MAX_CONTENT_BYTES + 1))
    assert path.read_text() == "old"
    assert [p.name for p in root.iterdir()] == ["keep.md"]


def test_folders_and_files_in_the_way_are_explained(root: Path) -> None:
    (root / "folder").mkdir(parents=True)
    with pytest.raises(WorkspaceError, match="is a folder"):
        write_file(root, "folder", "x")
    write_file(root, "file.md", "x")
    with pytest.raises(WorkspaceError, match="through a file"):
        write_file(root, "file.md/child.md", "x")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_an_unwritable_folder_is_explained(root: Path) -> None:
    (root / "locked").mkdir(parents=True)
    (root / "locked").chmod(0o500)
    try:
        with pytest.raises(WorkspaceError, match="could not write"):
            write_file(root, "locked/n.md", "x")
    finally:
        (root / "locked").chmod(0o700)

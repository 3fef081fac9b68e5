"""Atomic file writes: a temporary name beside the target, fsync, then one rename.

Readers see the old file or the whole new one, never a part; two writers never share a temporary name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path


def temporary_name(target: Path) -> Path:
    """A hidden, unique name in the target's folder (same filesystem, so the rename is atomic)."""
    return target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.partial")


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_target(target: Path) -> Iterator[Path]:
    """Yield a temporary path to write (a file, or a folder); on success it replaces `target`.

    A folder replaces only a folder (a file never replaces a folder). On an exception the temporary is
    removed and `target` is left as it was.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(target)
    try:
        yield tmp
        if tmp.is_file():
            _fsync_file(tmp)
        if target.is_dir() and not target.is_symlink():
            if not tmp.is_dir():
                raise IsADirectoryError(f"{target} is a folder; a file does not replace it")
            shutil.rmtree(target)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        remove(tmp)


def write_bytes(target: Path, data: bytes) -> None:
    with atomic_target(target) as tmp:
        tmp.write_bytes(data)


def write_text(target: Path, text: str) -> None:
    write_bytes(target, text.encode("utf-8"))


def move(source: Path, target: Path) -> None:
    """Move a finished file into place: a rename on one filesystem, else copy beside the target first."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(source, target)
    except OSError:
        with atomic_target(target) as tmp:
            shutil.copyfile(source, tmp)
        source.unlink(missing_ok=True)
    _fsync_dir(target.parent)

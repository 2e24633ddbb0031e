"""Blobs as files under one directory, written atomically and fsynced."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from helpdesk.errors import NotFound
from helpdesk.storage import validate_key

# A key whose path runs through a file, or names a directory, holds no blob.
_NO_BLOB = (FileNotFoundError, IsADirectoryError, NotADirectoryError)


class LocalBlobStore:
    """A BlobStore over a local directory; a key is a relative path inside it."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, key: str, data: bytes) -> None:
        """Write `data` to a temporary file, fsync it, rename it over `key`, fsync the directory.

        A crash at any point leaves either the old bytes or the new ones, never a
        torn file; once this returns, the bytes survive a power cut.
        """
        path = self._path(key)
        _make_dirs(path.parent)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".put-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        _fsync_dir(path.parent)

    def get(self, key: str) -> bytes:
        """Return the bytes under `key`.

        Raises:
            NotFound: nothing is stored under `key`.
        """
        path = self._path(key)
        try:
            return path.read_bytes()
        except _NO_BLOB as exc:
            raise NotFound(f"blob {key!r} not found") from exc

    def open(self, key: str) -> BinaryIO:
        """Open the bytes under `key` for a streaming read.

        Raises:
            NotFound: nothing is stored under `key`.
        """
        path = self._path(key)
        try:
            return path.open("rb")
        except _NO_BLOB as exc:
            raise NotFound(f"blob {key!r} not found") from exc

    def delete(self, key: str) -> None:
        """Remove `key`; removing a missing key does nothing."""
        path = self._path(key)
        try:
            path.unlink()
        except _NO_BLOB:
            return
        _fsync_dir(path.parent)

    def exists(self, key: str) -> bool:
        """Tell whether `key` holds bytes."""
        return self._path(key).is_file()

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)


def _make_dirs(directory: Path) -> None:
    """Create `directory` and its missing parents, fsyncing each new entry's parent."""
    if directory.is_dir():
        return
    _make_dirs(directory.parent)
    with contextlib.suppress(FileExistsError):
        directory.mkdir()
    _fsync_dir(directory.parent)


def _fsync_dir(directory: Path) -> None:
    # A rename or a new entry is durable only once its directory is flushed.
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

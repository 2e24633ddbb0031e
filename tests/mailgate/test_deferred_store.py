"""Blob writes beside the pipeline: done and durable once settled, failures raised then."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from helpdesk.storage.local import LocalBlobStore
from mailgate.deferred_store import DeferredStore


class FullDisk(LocalBlobStore):
    """A store whose disk is full for one key."""

    def put(self, key: str, data: bytes) -> None:
        if key.endswith("full"):
            raise OSError(28, "No space left on device")
        super().put(key, data)


@pytest.fixture
def workers() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2) as pool:
        yield pool


def test_settled_writes_are_on_disk_and_seen_while_under_way(
    tmp_path: Path, workers: ThreadPoolExecutor
) -> None:
    local = LocalBlobStore(tmp_path)
    store = DeferredStore(local, workers)
    store.put("t1/ab/one", b"first")
    store.put("t1/cd/two", b"second")
    assert store.exists("t1/ab/one")
    assert store.get("t1/cd/two") == b"second"
    store.settle()
    assert (local.get("t1/ab/one"), local.get("t1/cd/two")) == (b"first", b"second")


def test_a_failed_write_is_raised_when_settling(
    tmp_path: Path, workers: ThreadPoolExecutor
) -> None:
    store = DeferredStore(FullDisk(tmp_path), workers)
    store.put("t1/ab/fine", b"kept")
    store.put("t1/ab/full", b"lost")
    with pytest.raises(OSError, match="No space left"):
        store.settle()
    assert store.get("t1/ab/fine") == b"kept"
    # Settled once, the writes are no longer waited for.
    store.settle()

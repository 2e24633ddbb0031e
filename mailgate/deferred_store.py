"""Blob writes of one message on a worker thread, waited for before its transaction commits.

Writing a blob durably is mostly waiting for the disk (fsync), and a message's
bytes are stored before the steps run; a worker thread writes them while this
one parses, decides and writes rows. `settle()` waits for every write and
raises the first failure, and is called before the commit that refers to the
blobs, so a committed row never names bytes that are not on disk.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

from helpdesk.storage import BlobStore


class DeferredStore:
    """A BlobStore whose puts run on `workers`; reads see the puts still under way."""

    def __init__(self, store: BlobStore, workers: ThreadPoolExecutor) -> None:
        self.store = store
        self.workers = workers
        self._pending: dict[str, Future[None]] = {}

    def put(self, key: str, data: bytes) -> None:
        """Start writing `data` under `key`; `settle()` tells whether it was stored."""
        self._pending[key] = self.workers.submit(self.store.put, key, data)

    def get(self, key: str) -> bytes:
        """Return the bytes under `key` once any write of it is done; raises NotFound."""
        self._wait(key)
        return self.store.get(key)

    def open(self, key: str) -> BinaryIO:
        """Open the bytes under `key` once any write of it is done; raises NotFound."""
        self._wait(key)
        return self.store.open(key)

    def delete(self, key: str) -> None:
        """Remove `key` once any write of it is done."""
        self._wait(key)
        self.store.delete(key)

    def exists(self, key: str) -> bool:
        """Tell whether `key` holds bytes, or is being written."""
        return key in self._pending or self.store.exists(key)

    def settle(self) -> None:
        """Wait for every write started here; raise the first that failed."""
        pending = list(self._pending.values())
        self._pending.clear()
        failure: BaseException | None = None
        for future in pending:
            error = future.exception()
            failure = failure or error
        if failure is not None:
            raise failure

    def _wait(self, key: str) -> None:
        future = self._pending.pop(key, None)
        if future is not None:
            future.result()

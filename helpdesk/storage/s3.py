"""Blobs as objects in an S3 bucket, under an optional prefix (boto3: here and in SES intake)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, BinaryIO

import boto3
from botocore.exceptions import ClientError

from helpdesk.errors import NotFound
from helpdesk.storage import validate_key

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer
    from botocore.response import StreamingBody
    from mypy_boto3_s3 import S3Client

# The codes S3 and its look-alikes answer for an object that is not there.
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_READ_BUFFER_BYTES = 1024 * 1024


class S3BlobStore:
    """A BlobStore over one bucket; keys land under `prefix/` when a prefix is set.

    Credentials come from boto3's usual chain (environment, config files,
    instance role) unless a ready `client` is handed in.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        client: S3Client | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url)

    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key`; S3 answers only once the object is durable."""
        self.client.put_object(Bucket=self.bucket, Key=self._object_key(key), Body=data)

    def get(self, key: str) -> bytes:
        """Return the bytes under `key`.

        Raises:
            NotFound: nothing is stored under `key`.
        """
        with self.open(key) as stream:
            return stream.read()

    def open(self, key: str) -> BinaryIO:
        """Open the bytes under `key` for a streaming read.

        Raises:
            NotFound: nothing is stored under `key`.
        """
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._object_key(key))
        except ClientError as exc:
            if _is_missing(exc):
                raise NotFound(f"blob {key!r} not found") from exc
            raise
        return io.BufferedReader(_BodyReader(response["Body"]), _READ_BUFFER_BYTES)

    def delete(self, key: str) -> None:
        """Remove `key`; S3 answers the same whether or not it existed."""
        self.client.delete_object(Bucket=self.bucket, Key=self._object_key(key))

    def exists(self, key: str) -> bool:
        """Tell whether `key` holds bytes."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._object_key(key))
        except ClientError as exc:
            if _is_missing(exc):
                return False
            raise
        return True

    def _object_key(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key


def _is_missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in _MISSING_CODES


class _BodyReader(io.RawIOBase):
    """A raw stream over boto's response body, so callers get a real BinaryIO."""

    def __init__(self, body: StreamingBody) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        # Reading through read() (not the raw socket) keeps botocore's check
        # that the whole advertised length arrived.
        chunk = self._body.read(len(view))
        view[: len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()

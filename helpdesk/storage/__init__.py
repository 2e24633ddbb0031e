"""Where attachment and raw-mail bytes live: one interface over local files or S3.

Layering exception: helpdesk/ imports no cloud SDK, except helpdesk/storage/s3.py,
which imports boto3. The S3 adapter is shared by every edge (gateway, workers,
web), so it lives beside the interface; nothing imports it unless an s3:// URL
is configured, because `open_blob_store` imports it inside the function.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from helpdesk.errors import ConfigError, ValidationError

if TYPE_CHECKING:
    from helpdesk.settings import Settings

__all__ = ["BlobStore", "check_storage_url", "content_key", "open_blob_store", "validate_key"]

# Keys become file paths and object names: a small alphabet, relative paths
# only, and no "..", so no key can ever reach outside the store's root.
_KEY_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
MAX_KEY_LENGTH = 512
_EXPECTED = "HELPDESK_STORAGE_URL: expected file:PATH or s3://BUCKET[/PREFIX]"
# S3's rules for new buckets: 3 to 63 lower-case letters, digits, dots and dashes.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


class BlobStore(Protocol):
    """Bytes by key; every backend validates keys and raises NotFound the same way."""

    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key` durably, replacing what was there."""

    def get(self, key: str) -> bytes:
        """Return the bytes under `key`; raises NotFound when there are none."""

    def open(self, key: str) -> BinaryIO:
        """Open the bytes under `key` for a streaming read; raises NotFound."""

    def delete(self, key: str) -> None:
        """Remove `key`; removing a missing key does nothing."""

    def exists(self, key: str) -> bool:
        """Tell whether `key` holds bytes."""


def validate_key(key: str) -> str:
    """Return `key` unchanged if it is a safe relative key.

    Raises:
        ValidationError: the key is empty, too long, absolute, uses "..", an empty
            segment or a character outside [A-Za-z0-9/_.-].
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationError("key", f"must be 1 to {MAX_KEY_LENGTH} characters")
    if ".." in key:
        raise ValidationError("key", "must not contain '..'")
    if not all(_KEY_SEGMENT.fullmatch(segment) for segment in key.split("/")):
        raise ValidationError(
            "key", "must be a relative path of [A-Za-z0-9_.-] segments, none hidden or empty"
        )
    return key


def content_key(tenant_id: int, sha256_hex: str) -> str:
    """Return the content-addressed key of a tenant's blob, like "t7/ab/cd/abcd…".

    The same bytes stored twice by one tenant share one key (and the space);
    two tenants never share a key, so deleting one's data never touches another's.

    Raises:
        ValidationError: the tenant id is not positive or the digest is not
            64 lower-case hexadecimal characters.
    """
    if tenant_id <= 0:
        raise ValidationError("tenant_id", "must be a positive id")
    if not _SHA256_HEX.fullmatch(sha256_hex):
        raise ValidationError("sha256_hex", "must be 64 lower-case hexadecimal characters")
    return f"t{tenant_id}/{sha256_hex[:2]}/{sha256_hex[2:4]}/{sha256_hex}"


def open_blob_store(
    settings_or_url: Settings | str, *, s3_endpoint_url: str | None = None
) -> BlobStore:
    """Open the store a storage URL names: `file:PATH` or `s3://BUCKET[/PREFIX]`.

    Given settings, their `storage_url` and `s3_endpoint_url` are used.

    Raises:
        ConfigError: the URL names no store we support.
    """
    if isinstance(settings_or_url, str):
        url, endpoint_url = settings_or_url, s3_endpoint_url
    else:
        url, endpoint_url = settings_or_url.storage_url, settings_or_url.s3_endpoint_url
    if url.startswith("file:"):
        from helpdesk.storage.local import LocalBlobStore

        return LocalBlobStore(_local_root(url))
    if url.startswith("s3://"):
        # Imported here so that boto3 is loaded only where S3 is configured.
        from helpdesk.storage.s3 import S3BlobStore

        bucket, prefix = _bucket_and_prefix(url)
        return S3BlobStore(bucket, prefix, endpoint_url=endpoint_url)
    raise ConfigError(_EXPECTED)


def check_storage_url(url: str) -> str:
    """Return `url` unchanged if `open_blob_store` can open it.

    Raises:
        ConfigError: the URL names no store we support; the message names
            HELPDESK_STORAGE_URL.
    """
    if url.startswith("file:"):
        _local_root(url)
    elif url.startswith("s3://"):
        _bucket_and_prefix(url)
    else:
        raise ConfigError(_EXPECTED)
    return url


def _local_root(url: str) -> Path:
    # The rest of the URL is a plain path, never percent-decoded, so that any
    # directory name (the default is built from HELPDESK_VAR_DIR) round-trips.
    rest = url[len("file:") :]
    if rest.startswith("//"):
        host, slash, path = rest[2:].partition("/")
        if host not in {"", "localhost"} or not slash:
            raise ConfigError("HELPDESK_STORAGE_URL: file URLs name a local path (file:///PATH)")
        rest = "/" + path
    if not rest:
        raise ConfigError("HELPDESK_STORAGE_URL: file: needs a path")
    return Path(rest)


def _bucket_and_prefix(url: str) -> tuple[str, str]:
    bucket, _, prefix = url[len("s3://") :].partition("/")
    prefix = prefix.strip("/")
    if not _BUCKET.fullmatch(bucket):
        raise ConfigError(f"HELPDESK_STORAGE_URL: {bucket!r} is not an S3 bucket name")
    if prefix:
        try:
            validate_key(prefix)
        except ValidationError as exc:
            raise ConfigError(f"HELPDESK_STORAGE_URL: bad prefix: {exc.message}") from exc
    return bucket, prefix

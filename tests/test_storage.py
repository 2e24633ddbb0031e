"""Blob storage: one behaviour on local files and on S3 (moto's server)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.exceptions import ClientError

from helpdesk.errors import ConfigError, NotFound, ValidationError
from helpdesk.settings import Settings
from helpdesk.storage import BlobStore, content_key, open_blob_store, validate_key
from helpdesk.storage.local import LocalBlobStore
from helpdesk.storage.s3 import S3BlobStore
from tests.servers import moto_server

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SHA = hashlib.sha256(b"an attachment").hexdigest()
UNSAFE_KEYS = [
    "",
    "../escape",
    "a/../../escape",
    "/etc/passwd",
    "a//b",
    "a/./b",
    "a/",
    ".hidden",
    "a\\..\\b",
    "a b",
    "t1/%2e%2e/x",
    "t1/ü",
    "a\x00b",
    "x" * 513,
]


@dataclass(frozen=True)
class MotoS3:
    endpoint_url: str
    bucket: str = "helpdesk-test"

    def client(self) -> S3Client:
        # Dummy credentials go to this client only, never into the process environment.
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def keys(self, prefix: str = "") -> list[str]:
        listing = self.client().list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for item in listing.get("Contents", []))


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    """Run moto's S3 server on an ephemeral loopback port, with one bucket."""
    with moto_server() as endpoint_url:
        s3 = MotoS3(endpoint_url)
        s3.client().create_bucket(Bucket=s3.bucket)
        yield s3


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    s3: MotoS3 = request.getfixturevalue("moto_s3")
    # Each test writes under its own prefix of the shared bucket.
    return S3BlobStore(s3.bucket, f"run-{uuid.uuid4().hex}", client=s3.client())


def test_stored_bytes_read_back_unchanged(store: BlobStore) -> None:
    data = bytes(range(256)) * 10
    store.put("t1/ab/cd/blob", data)
    assert store.exists("t1/ab/cd/blob")
    assert store.get("t1/ab/cd/blob") == data
    with store.open("t1/ab/cd/blob") as stream:
        assert stream.read() == data


def test_empty_blob_is_stored_and_distinct_from_a_missing_one(store: BlobStore) -> None:
    store.put("empty", b"")
    assert store.exists("empty")
    assert store.get("empty") == b""


def test_put_replaces_the_previous_bytes(store: BlobStore) -> None:
    store.put("key", b"first version, longer than the second")
    store.put("key", b"second")
    assert store.get("key") == b"second"


def test_missing_key_raises_not_found(store: BlobStore) -> None:
    assert not store.exists("t1/no/such")
    with pytest.raises(NotFound):
        store.get("t1/no/such")
    with pytest.raises(NotFound):
        store.open("t1/no/such")


def test_a_directory_of_keys_is_not_itself_a_blob(store: BlobStore) -> None:
    store.put("t1/ab/cd/blob", b"x")
    assert not store.exists("t1/ab")
    with pytest.raises(NotFound):
        store.get("t1/ab")
    store.delete("t1/ab")
    assert store.get("t1/ab/cd/blob") == b"x"


def test_delete_removes_the_blob_and_may_be_repeated(store: BlobStore) -> None:
    store.put("t1/gone", b"bytes")
    store.delete("t1/gone")
    store.delete("t1/gone")
    store.delete("t1/never-stored")
    assert not store.exists("t1/gone")
    with pytest.raises(NotFound):
        store.get("t1/gone")


def test_large_blob_is_read_back_in_bounded_chunks(store: BlobStore) -> None:
    data = hashlib.sha256(b"seed").digest() * (20 * 1024 * 1024 // 32)
    store.put("t1/large", data)
    digest, chunk_size, total = hashlib.sha256(), 1024 * 1024, 0
    with store.open("t1/large") as stream:
        while chunk := stream.read(chunk_size):
            assert len(chunk) <= chunk_size
            digest.update(chunk)
            total += len(chunk)
    assert total == 20 * 1024 * 1024
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("key", UNSAFE_KEYS)
def test_unsafe_keys_are_refused_by_every_operation(store: BlobStore, key: str) -> None:
    with pytest.raises(ValidationError):
        store.put(key, b"payload")
    with pytest.raises(ValidationError):
        store.get(key)
    with pytest.raises(ValidationError):
        store.open(key)
    with pytest.raises(ValidationError):
        store.exists(key)
    with pytest.raises(ValidationError):
        store.delete(key)


def test_traversal_key_writes_nothing_outside_the_root(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "root" / "blobs")
    with pytest.raises(ValidationError):
        store.put("../../escape", b"payload")
    assert not (tmp_path / "escape").exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == []


def test_local_put_leaves_only_the_blob_behind(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.put("t1/ab/blob", b"one")
    store.put("t1/ab/blob", b"two")
    files = [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()]
    assert files == ["blobs/t1/ab/blob"]
    assert (tmp_path / "blobs/t1/ab/blob").read_bytes() == b"two"


@pytest.mark.s3
def test_s3_objects_land_under_the_prefix(moto_s3: MotoS3) -> None:
    prefix = f"tenant-data-{uuid.uuid4().hex}/blobs"
    store = S3BlobStore(moto_s3.bucket, prefix + "/", client=moto_s3.client())
    store.put("t1/ab/cd/blob", b"bytes")
    assert moto_s3.keys(prefix.split("/")[0]) == [f"{prefix}/t1/ab/cd/blob"]
    assert not S3BlobStore(moto_s3.bucket, client=moto_s3.client()).exists("t1/ab/cd/blob")


@pytest.mark.s3
def test_s3_misconfiguration_is_not_mistaken_for_a_missing_blob(moto_s3: MotoS3) -> None:
    store = S3BlobStore("no-such-bucket", client=moto_s3.client())
    with pytest.raises(ClientError, match="NoSuchBucket"):
        store.get("t1/blob")


def test_content_key_fans_out_by_tenant_and_digest() -> None:
    key = content_key(7, SHA)
    assert key == f"t7/{SHA[:2]}/{SHA[2:4]}/{SHA}"
    assert validate_key(key) == key


def test_same_bytes_stored_twice_take_the_space_once(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    for _ in range(2):
        store.put(content_key(1, SHA), b"an attachment")
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1


def test_tenants_never_share_a_blob(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.put(content_key(1, SHA), b"an attachment")
    store.put(content_key(2, SHA), b"an attachment")
    store.delete(content_key(2, SHA))
    assert store.get(content_key(1, SHA)) == b"an attachment"


@pytest.mark.parametrize(
    ("tenant_id", "digest"),
    [(0, SHA), (-1, SHA), (1, SHA.upper()), (1, SHA[:-1]), (1, "../" + SHA[3:]), (1, "")],
)
def test_content_key_refuses_bad_tenant_or_digest(tenant_id: int, digest: str) -> None:
    with pytest.raises(ValidationError):
        content_key(tenant_id, digest)


def test_file_url_opens_a_local_store_at_that_path(tmp_path: Path) -> None:
    open_blob_store(f"file:{tmp_path / 'a'}").put("k", b"1")
    open_blob_store(f"file://{tmp_path / 'b'}").put("k", b"2")
    open_blob_store(f"file://localhost{tmp_path / 'c'}").put("k", b"3")
    contents = [(tmp_path / d / "k").read_bytes() for d in "abc"]
    assert contents == [b"1", b"2", b"3"]


def test_settings_storage_url_chooses_the_store(tmp_path: Path) -> None:
    settings = Settings.for_var_dir(tmp_path / "var", secret_key="k")
    open_blob_store(settings).put("t1/blob", b"bytes")
    assert (tmp_path / "var/attachments/t1/blob").read_bytes() == b"bytes"


@pytest.mark.parametrize(
    "url",
    ["gs://bucket/x", "attachments", "file:", "file://otherhost/x", "s3://", "s3://b/../x"],
)
def test_unsupported_storage_url_names_the_variable(url: str) -> None:
    with pytest.raises(ConfigError, match="HELPDESK_STORAGE_URL"):
        open_blob_store(url)


@pytest.mark.s3
@pytest.mark.usefixtures("aws_env")
def test_s3_url_from_settings_stores_in_that_bucket_under_its_prefix(
    moto_s3: MotoS3, tmp_path: Path
) -> None:
    prefix = f"settings-{uuid.uuid4().hex}"
    settings = Settings.for_var_dir(
        tmp_path,
        secret_key="k",
        storage_url=f"s3://{moto_s3.bucket}/{prefix}",
        s3_endpoint_url=moto_s3.endpoint_url,
    )
    open_blob_store(settings).put("t1/blob", b"bytes")
    assert moto_s3.keys(prefix) == [f"{prefix}/t1/blob"]


def test_local_storage_never_loads_boto3(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from helpdesk.storage import open_blob_store\n"
        f"open_blob_store('file:{tmp_path}').put('k', b'x')\n"
        "print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"

"""Amazon SES inbound: the "Received" notification read, and the message it names fetched."""

from __future__ import annotations

import base64
import binascii
import json
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

RECEIVED = "Received"


class SesMalformed(Exception):
    """The notification is not one SES writes for received mail: answer 400."""


class SesTooLarge(Exception):
    """The message is larger than HELPDESK_MAX_MESSAGE_BYTES: answer 413, it stays in S3."""


class SesUnavailable(Exception):
    """S3 did not hand over the message: answer 5xx so SNS retries."""


@dataclass(frozen=True)
class SesReceipt:
    """What SES received: the envelope, and either the message itself or where S3 keeps it."""

    mail_from: str
    recipients: tuple[str, ...]
    content: bytes | None = None
    bucket: str | None = None
    key: str | None = None


def topic_allowed(topic_arn: str, allowed: tuple[str, ...]) -> bool:
    """Whether notifications of `topic_arn` are taken: an exact entry, or one ending in "*".

    The SNS signature proves only that some topic published the message; a
    topic in a stranger's account could name any object our credentials can
    read, so only the operator's own topics are believed.
    """
    for entry in allowed:
        if entry.endswith("*"):
            if topic_arn.startswith(entry[:-1]):
                return True
        elif topic_arn == entry:
            return True
    return False


def read_notification(message: str) -> SesReceipt | None:
    """Read the JSON SES publishes; None for a notification that is no received mail.

    SES also publishes, for example, AMAZON_SES_SETUP_NOTIFICATION when a
    receipt rule is created; those carry no mail.

    Raises:
        SesMalformed: not JSON, or a Received notification without its mail.
    """
    try:
        document = json.loads(message)
    except ValueError as exc:
        raise SesMalformed("the SNS message is not an SES notification") from exc
    if not isinstance(document, dict):
        raise SesMalformed("the SNS message is not an SES notification")
    if document.get("notificationType") != RECEIVED:
        return None
    try:
        return _receipt(document)
    except (KeyError, TypeError, AttributeError) as exc:
        raise SesMalformed("a Received notification needs its mail, receipt and action") from exc


def _receipt(document: dict[str, Any]) -> SesReceipt:
    source = str(document["mail"]["source"])
    recipients = tuple(str(address) for address in document["receipt"]["recipients"])
    action = document["receipt"]["action"]
    if action["type"] == "S3":
        bucket, key = action["bucketName"], action["objectKey"]
        if not isinstance(bucket, str) or not isinstance(key, str):
            raise SesMalformed("the S3 action's bucketName and objectKey must be strings")
        return SesReceipt(source, recipients, bucket=bucket, key=key)
    if action["type"] == "SNS":
        return SesReceipt(source, recipients, content=_content(document, action))
    raise SesMalformed(f"an SES {action['type']} action carries no mail; use S3 or SNS")


def _content(document: dict[str, Any], action: dict[str, Any]) -> bytes:
    content = document["content"]
    if not isinstance(content, str):
        raise SesMalformed("the notification's content is not a string")
    if action.get("encoding") == "BASE64":
        try:
            return base64.b64decode(content, validate=True)
        except binascii.Error as exc:
            raise SesMalformed("the notification's content is not base64") from exc
    return content.encode("utf-8")


class S3Messages:
    """Fetches messages SES stored in S3; one boto3 client per region, made once."""

    def __init__(self, endpoint_url: str | None = None) -> None:
        self._endpoint_url = endpoint_url
        self._clients: dict[str, S3Client] = {}
        # Making boto3 clients from the default session is not thread-safe.
        self._lock = threading.Lock()

    def fetch(self, bucket: str, key: str, *, region: str, max_bytes: int) -> bytes:
        """Return the object's bytes.

        Raises:
            SesTooLarge: the object is larger than `max_bytes` (it is not read).
            SesUnavailable: S3 refused or failed.
        """
        # Imported here, as in helpdesk.storage: boto3 is loaded only where SES is used.
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._client(region).get_object(Bucket=bucket, Key=key)
            body = response["Body"]
            if response["ContentLength"] > max_bytes:
                body.close()
                raise SesTooLarge(f"s3://{bucket}/{key} is larger than {max_bytes} bytes")
            with body:
                data: bytes = body.read()
        except (BotoCoreError, ClientError, OSError) as exc:
            raise SesUnavailable(f"cannot fetch s3://{bucket}/{key}: {exc}") from exc
        return data

    def _client(self, region: str) -> S3Client:
        import boto3

        with self._lock:
            if region not in self._clients:
                self._clients[region] = boto3.client(
                    "s3", region_name=region, endpoint_url=self._endpoint_url
                )
            return self._clients[region]


def message_bytes(receipt: SesReceipt, *, region: str, s3: S3Messages, max_bytes: int) -> bytes:
    """Return the received message: from the notification itself or from S3.

    Raises:
        SesMalformed: the receipt names neither content nor an S3 object.
        SesTooLarge: the message is larger than `max_bytes`.
        SesUnavailable: S3 did not hand it over.
    """
    if receipt.content is not None:
        if len(receipt.content) > max_bytes:
            raise SesTooLarge(f"the message is larger than {max_bytes} bytes")
        return receipt.content
    if receipt.bucket is None or receipt.key is None:
        raise SesMalformed("the notification names neither content nor an S3 object")
    return s3.fetch(receipt.bucket, receipt.key, region=region, max_bytes=max_bytes)

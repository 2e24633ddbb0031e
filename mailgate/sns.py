"""Amazon SNS messages posted to us: read, their signatures verified, subscriptions confirmed.

The signature scheme is AWS's ("Verifying the signatures of Amazon SNS
messages" in the SNS developer guide): chosen fields joined as "Name\\nvalue\\n"
in a fixed order, signed with RSA by a certificate that SNS serves from an
sns.REGION.amazonaws.com address.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from helpdesk.clock import Clock, utcnow

NOTIFICATION = "Notification"
SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
UNSUBSCRIBE_CONFIRMATION = "UnsubscribeConfirmation"

# The signed fields of each message type, in the order AWS signs them.
_CONFIRMATION_FIELDS = (
    "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
)  # fmt: skip
SIGNED_FIELDS: dict[str, tuple[str, ...]] = {
    NOTIFICATION: ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    SUBSCRIPTION_CONFIRMATION: _CONFIRMATION_FIELDS,
    UNSUBSCRIBE_CONFIRMATION: _CONFIRMATION_FIELDS,
}
_OPTIONAL_FIELDS = frozenset({"Subject"})
# SignatureVersion 1 is SHA1withRSA, 2 is SHA256withRSA.
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}

# Only SNS's own hosts are trusted to serve certificates and confirm subscriptions;
# matched against the whole network location, so no user, port or look-alike passes.
_SNS_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?")
_PEM_PATH = re.compile(r"/[A-Za-z0-9._-]+\.pem")
_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:([a-z0-9-]+):[0-9]{12}:[A-Za-z0-9_.-]{1,256}")

FETCH_TIMEOUT_SECONDS = 10
MAX_FETCH_BYTES = 64 * 1024
_MAX_CACHED_CERTIFICATES = 64

Fetch = Callable[[str], bytes]


class SnsRejected(Exception):
    """The message is not signed by SNS, or names a host that is not SNS's: answer 403."""


class SnsMalformed(SnsRejected):
    """The body is not an SNS message at all: answer 400."""


class SnsUnavailable(Exception):
    """A certificate or the subscription URL could not be fetched: answer 5xx so SNS retries."""


@dataclass(frozen=True)
class SnsMessage:
    """One message SNS posted: its JSON fields, all strings."""

    fields: Mapping[str, str]

    @property
    def type(self) -> str:
        return self.fields["Type"]

    @property
    def message(self) -> str:
        return self.fields["Message"]

    @property
    def topic_arn(self) -> str:
        return self.fields["TopicArn"]

    @property
    def region(self) -> str:
        """Return the AWS region of the topic the message came through."""
        found = _TOPIC_ARN.fullmatch(self.topic_arn)
        if found is None:
            raise SnsMalformed("TopicArn is not an SNS topic ARN")
        return found.group(1)


def parse_message(body: bytes) -> SnsMessage:
    """Read the JSON SNS posts.

    Raises:
        SnsMalformed: not JSON, an unknown Type, or a field missing or not a string.
    """
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise SnsMalformed("the body is not JSON") from exc
    kind = document.get("Type") if isinstance(document, dict) else None
    if not isinstance(kind, str) or kind not in SIGNED_FIELDS:
        raise SnsMalformed("not an SNS message")
    required = (*SIGNED_FIELDS[kind], "Signature", "SignatureVersion", "SigningCertURL")
    fields = {name: document[name] for name in required if document.get(name) is not None}
    missing = [name for name in required if name not in fields and name not in _OPTIONAL_FIELDS]
    if missing or not all(isinstance(value, str) for value in fields.values()):
        raise SnsMalformed(f"an SNS {kind} needs {', '.join(required)} as strings")
    return SnsMessage(fields)


def string_to_sign(message: SnsMessage) -> bytes:
    """Return the bytes SNS signed: each signed field present, as "Name\\nvalue\\n"."""
    lines = []
    for name in SIGNED_FIELDS[message.type]:
        if name in message.fields:
            lines.append(f"{name}\n{message.fields[name]}\n")
    return "".join(lines).encode("utf-8")


def sns_url(url: str, *, certificate: bool = False) -> str:
    """Return `url` if it is an https URL of an SNS host (for a certificate, of a .pem).

    Raises:
        SnsRejected: any other URL.
    """
    parts = urlsplit(url)
    if parts.scheme != "https" or not _SNS_HOST.fullmatch(parts.netloc):
        raise SnsRejected("the URL is not on an Amazon SNS host")
    if certificate and (not _PEM_PATH.fullmatch(parts.path) or parts.query or parts.fragment):
        raise SnsRejected("the signing certificate URL is not an SNS certificate")
    return url


def fetch_location(url: str, endpoint_url: str | None) -> str:
    """Return where to fetch an SNS URL: itself, or its path and query on `endpoint_url`."""
    if endpoint_url is None:
        return url
    parts = urlsplit(url)
    query = f"?{parts.query}" if parts.query else ""
    return f"{endpoint_url.rstrip('/')}{parts.path or '/'}{query}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect could lead away from the SNS host that was checked.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def http_get(url: str) -> bytes:
    """Return the body of a short GET answered 200.

    Raises:
        SnsUnavailable: no answer in time, another status, or a body over MAX_FETCH_BYTES.
    """
    try:
        # The caller checked the URL: https on an SNS host, or the configured endpoint.
        with _OPENER.open(url, timeout=FETCH_TIMEOUT_SECONDS) as response:
            data: bytes = response.read(MAX_FETCH_BYTES + 1)
    except (OSError, ValueError) as exc:
        raise SnsUnavailable(f"cannot fetch {url}: {exc}") from exc
    if len(data) > MAX_FETCH_BYTES:
        raise SnsUnavailable(f"{url} answered more than {MAX_FETCH_BYTES} bytes")
    return data


class SnsVerifier:
    """Verifies SNS signatures, with signing certificates cached in memory by URL."""

    def __init__(
        self, endpoint_url: str | None = None, *, fetch: Fetch = http_get, clock: Clock = utcnow
    ) -> None:
        self._endpoint_url = endpoint_url
        self._fetch = fetch
        self._clock = clock
        self._certificates: dict[str, x509.Certificate] = {}

    def verify(self, message: SnsMessage) -> None:
        """Check that SNS signed the message.

        Raises:
            SnsRejected: a bad or unknown signature, or a certificate not from SNS.
            SnsUnavailable: the certificate could not be fetched.
        """
        algorithm = _HASHES.get(message.fields["SignatureVersion"])
        if algorithm is None:
            raise SnsRejected("unknown SignatureVersion")
        try:
            signature = base64.b64decode(message.fields["Signature"], validate=True)
        except binascii.Error as exc:
            raise SnsRejected("the signature is not base64") from exc
        key = self._public_key(message.fields["SigningCertURL"])
        try:
            key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm())
        except InvalidSignature as exc:
            raise SnsRejected("the signature does not match the message") from exc

    def confirm(self, message: SnsMessage) -> None:
        """Confirm a verified subscription by fetching its SubscribeURL.

        Raises:
            SnsRejected: the SubscribeURL is not on an SNS host.
            SnsUnavailable: SNS did not answer 200.
        """
        url = sns_url(message.fields["SubscribeURL"])
        self._fetch(fetch_location(url, self._endpoint_url))

    def _public_key(self, url: str) -> rsa.RSAPublicKey:
        certificate = self._certificates.get(url) or self._load(url)
        now = self._clock()
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise SnsRejected("the signing certificate is not valid now")
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise SnsRejected("the signing certificate holds no RSA key")
        return key

    def _load(self, url: str) -> x509.Certificate:
        data = self._fetch(fetch_location(sns_url(url, certificate=True), self._endpoint_url))
        try:
            certificate = x509.load_pem_x509_certificate(data)
        except ValueError as exc:
            raise SnsRejected("the signing certificate is not a PEM certificate") from exc
        if len(self._certificates) >= _MAX_CACHED_CERTIFICATES:
            self._certificates.clear()
        self._certificates[url] = certificate
        return certificate

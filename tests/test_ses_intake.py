"""SES inbound through SNS, against moto's server: moto itself signs and posts to our door."""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import json
import threading
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import Engine

from helpdesk.db import session_scope
from helpdesk.models import Mailbox
from helpdesk.principal import Operator
from helpdesk.services.mailboxes import credentials_box, issue_intake_secret
from helpdesk.settings import Settings
from mailgate.drain import drain_spool
from mailgate.ses import topic_allowed
from mailgate.sns import SnsMessage, SnsRejected, sns_url, string_to_sign
from mailgate.spool import Spool
from tests.certificates import self_signed
from tests.mailgate.desk import Desk, build_desk, mail
from tests.servers import http_post, moto_server, serve_wsgi

pytestmark = pytest.mark.s3

MAIL_DIR = Path(__file__).resolve().parent / "fixtures" / "mail"
REGION = "us-east-1"
ACCOUNT = "123456789012"
OUR_CERT_URL = f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-helpdesk-test.pem"
# The fields AWS signs, in its order (SNS developer guide, "Verifying message signatures"),
# written out here apart from mailgate.sns so that the two are checked against each other.
AWS_SIGNED_FIELDS = {
    "Notification": ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
    "SubscriptionConfirmation": [
        "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
    ],
}  # fmt: skip


def fixture_mail(name: str) -> bytes:
    return (MAIL_DIR / name).read_bytes()


# A test signing key: SNS's own is out of reach, and moto signs only with version 2.


@dataclass(frozen=True)
class SigningKey:
    key: rsa.RSAPrivateKey
    pem: bytes

    def sign(self, document: dict[str, str], version: str = "2") -> dict[str, str]:
        text = "".join(
            f"{name}\n{document[name]}\n"
            for name in AWS_SIGNED_FIELDS[document["Type"]]
            if name in document
        )
        # SignatureVersion 1 is SHA1withRSA: what SNS still sends unless told otherwise.
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303
        signature = self.key.sign(text.encode("utf-8"), padding.PKCS1v15(), algorithm)
        return document | {
            "SignatureVersion": version,
            "Signature": base64.b64encode(signature).decode("ascii"),
            "SigningCertURL": OUR_CERT_URL,
        }


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = self_signed(key, "sns.amazonaws.com", valid_for=dt.timedelta(days=30))
    return SigningKey(key, certificate.public_bytes(serialization.Encoding.PEM))


# A stand-in for https://sns.REGION.amazonaws.com, where HELPDESK_SNS_ENDPOINT_URL points.


@dataclass
class SnsHost:
    """Serves signing certificates (ours, or moto's), confirms subscriptions, records requests.

    moto's server keeps its certificates under its SNS API, which it tells apart
    from S3 only by a signed request; the relay signs the GET for it.
    """

    moto_url: str
    certificates: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    posted: list[bytes] = field(default_factory=list)

    def answer_get(self, path: str) -> tuple[int, bytes]:
        self.requests.append(path)
        if path.startswith("/?Action=ConfirmSubscription"):
            return 200, b"<ConfirmSubscriptionResponse/>"
        if path in self.certificates:
            return 200, self.certificates[path]
        if path.endswith(".pem"):
            return 200, self._from_moto(path)
        return 404, b""

    def _from_moto(self, path: str) -> bytes:
        signed = AWSRequest(method="GET", url=self.moto_url + path)
        SigV4Auth(Credentials("testing", "testing"), "sns", REGION).add_auth(signed)
        url = self.moto_url + path
        request = urllib.request.Request(url, headers=dict(signed.headers))  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            data: bytes = response.read()
        return data


def _handler(host: SnsHost) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = host.answer_get(self.path)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            # Subscribed to a topic, this captures what moto posts, signature and all.
            host.posted.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def sns_host(moto_url: str, signing_key: SigningKey) -> Iterator[tuple[SnsHost, str]]:
    host = SnsHost(moto_url, {"/" + OUR_CERT_URL.rsplit("/", 1)[1]: signing_key.pem})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(host))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield host, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class SesDoor:
    desk: Desk
    settings: Settings
    host: SnsHost
    host_url: str
    base_url: str
    mailbox_id: int
    secret: str

    @property
    def path(self) -> str:
        return f"/inbound/ses/{self.mailbox_id}"

    @property
    def subscription_url(self) -> str:
        """The URL an admin subscribes: our door, with the intake secret as basic auth."""
        return self.base_url.replace("://", f"://ses:{self.secret}@") + self.path

    @property
    def spool(self) -> Spool:
        return Spool(self.settings.spool_dir)

    def post(self, document: dict[str, str], password: str | None = None) -> tuple[int, Any]:
        token = base64.b64encode(f"ses:{password or self.secret}".encode()).decode()
        headers = {"Content-Type": "text/plain; charset=UTF-8", "Authorization": f"Basic {token}"}
        status, _, body = http_post(
            self.base_url + self.path, json.dumps(document).encode(), headers
        )
        return status, json.loads(body) if body else None


@pytest.fixture
def door(
    settings: Settings,
    engine: Engine,
    moto_url: str,
    sns_host: tuple[SnsHost, str],
    aws_env: None,
    make_app: Callable[[Settings], Flask],
) -> Iterator[SesDoor]:
    host, host_url = sns_host
    settings = Settings.for_var_dir(
        settings.var_dir,
        database_url=settings.database_url,
        secret_key=settings.secret_key,
        sns_endpoint_url=host_url,
        s3_endpoint_url=moto_url,
        ses_topic_arns=(f"arn:aws:sns:{REGION}:{ACCOUNT}:*",),
    )
    desk = build_desk(settings, engine)
    with session_scope(desk.sessions) as session:
        mailbox_id = session.scalars(
            select(Mailbox.id).where(Mailbox.address == "support@acme.test")
        ).one()
        box = credentials_box(settings.secret_key)
        secret = issue_intake_secret(session, Operator(), mailbox_id, box=box)
    with serve_wsgi(make_app(settings)) as base_url:
        yield SesDoor(desk, settings, host, host_url, base_url, mailbox_id, secret)


def aws_client(service: Literal["s3", "sns"], moto_url: str) -> Any:
    """A boto3 client of `service` ("s3", "sns") on moto, as the test's own AWS account."""
    # Dummy credentials go to the test's clients only, never into the process environment.
    return boto3.client(
        service,
        endpoint_url=moto_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def ses_received(
    action: dict[str, str],
    *,
    recipients: tuple[str, ...] = ("support@acme.test",),
    source: str = "ann@client.example",
    content: str | None = None,
) -> str:
    """Return the JSON SES publishes for received mail ("Notification contents" in SES's guide)."""
    document: dict[str, Any] = {
        "notificationType": "Received",
        "mail": {
            "timestamp": "2026-03-02T10:00:00.000Z",
            "source": source,
            "messageId": uuid.uuid4().hex,
            "destination": list(recipients),
            "headersTruncated": False,
            "headers": [],
            "commonHeaders": {"returnPath": source, "from": [source], "to": list(recipients)},
        },
        "receipt": {
            "timestamp": "2026-03-02T10:00:00.000Z",
            "processingTimeMillis": 312,
            "recipients": list(recipients),
            "spamVerdict": {"status": "PASS"},
            "virusVerdict": {"status": "PASS"},
            "spfVerdict": {"status": "PASS"},
            "dkimVerdict": {"status": "PASS"},
            "dmarcVerdict": {"status": "PASS"},
            "action": action,
        },
    }
    if content is not None:
        document["content"] = content
    return json.dumps(document)


def topic(moto_url: str) -> str:
    name = f"ses-in-{uuid.uuid4().hex[:8]}"
    arn: str = aws_client("sns", moto_url).create_topic(Name=name)["TopicArn"]
    return arn


def notification(
    message: str, topic_arn: str = f"arn:aws:sns:{REGION}:{ACCOUNT}:ses-in"
) -> dict[str, str]:
    return {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": topic_arn,
        "Subject": "Amazon SES Email Receipt Notification",
        "Message": message,
        "Timestamp": "2026-03-02T10:00:01.000Z",
    }


def inline(data: bytes, **kw: Any) -> str:
    action = {
        "type": "SNS",
        "topicArn": "arn:aws:sns:us-east-1:123456789012:ses-in",
        "encoding": "BASE64",
    }
    return ses_received(action, content=base64.b64encode(data).decode("ascii"), **kw)


# Through moto: it signs (version 2) and posts to the subscribed URL itself.


def test_mail_that_ses_put_in_s3_is_fetched_spooled_and_becomes_a_ticket(
    door: SesDoor, moto_url: str
) -> None:
    data = fixture_mail("rfc2047_utf8_subject_and_from.eml")
    bucket = f"ses-inbound-{uuid.uuid4().hex[:12]}"
    s3 = aws_client("s3", moto_url)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="inbound/4v3n7s", Body=data)
    topic_arn = topic(moto_url)
    sns = aws_client("sns", moto_url)
    sns.subscribe(TopicArn=topic_arn, Protocol="http", Endpoint=door.subscription_url)
    action = {
        "type": "S3",
        "topicArn": topic_arn,
        "bucketName": bucket,
        "objectKey": "inbound/4v3n7s",
    }
    sns.publish(TopicArn=topic_arn, Message=ses_received(action, source="zoe@example.net"))

    [entry] = door.spool.pending()
    assert entry.read_message() == data
    envelope = entry.read_envelope()
    assert (envelope.mail_from, envelope.rcpt_tos, envelope.transport) == (
        "zoe@example.net",
        ("support@acme.test",),
        "ses",
    )
    assert drain_spool(door.spool, door.desk.ingest) == 1
    [ticket] = door.desk.tickets(door.desk.acme)
    assert "Überweisung" in ticket.subject


def test_mail_carried_inside_the_notification_is_stored(door: SesDoor, moto_url: str) -> None:
    data = fixture_mail("gmail_inline_image_cid_related.eml")
    topic_arn = topic(moto_url)
    sns = aws_client("sns", moto_url)
    sns.subscribe(TopicArn=topic_arn, Protocol="http", Endpoint=door.subscription_url)
    sns.publish(TopicArn=topic_arn, Message=inline(data))
    [entry] = door.spool.pending()
    assert entry.read_message() == data


def test_tampered_message_signed_by_moto_is_403(door: SesDoor, moto_url: str) -> None:
    topic_arn = topic(moto_url)
    sns = aws_client("sns", moto_url)
    sns.subscribe(TopicArn=topic_arn, Protocol="http", Endpoint=door.host_url + "/capture")
    sns.publish(TopicArn=topic_arn, Message=inline(mail(subject="Genuine")))
    [captured] = door.host.posted
    genuine = json.loads(captured)
    forged = genuine | {"Message": inline(mail(subject="Forged"))}
    assert door.post(forged)[0] == 403
    assert door.spool.pending() == []
    assert door.post(genuine)[0] == 200
    assert b"Subject: Genuine" in door.spool.pending()[0].read_message()


# Credentials: SNS posts without them first and sends them after a Basic challenge.


def test_request_without_credentials_is_challenged_for_basic_auth(door: SesDoor) -> None:
    body = json.dumps(notification(inline(mail()))).encode()
    status, headers, _ = http_post(door.base_url + door.path, body, {})
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Basic realm="helpdesk"'
    assert door.spool.pending() == []


def test_wrong_password_is_401(door: SesDoor, signing_key: SigningKey) -> None:
    status, answer = door.post(signing_key.sign(notification(inline(mail()))), password="guess")
    assert status == 401
    assert answer["error"]["code"] == "unauthorized"
    assert door.spool.pending() == []


# Signed with our test key, to reach what moto does not send.


def test_subscription_confirmation_is_confirmed_by_fetching_its_subscribe_url(
    door: SesDoor, signing_key: SigningKey
) -> None:
    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:ses-in"
    token = "2336412f37fb687f5d51e6e2425c464de12884d6f8b0df6b4ad2ab5c5b1d1c8b"
    subscribe = (
        f"https://sns.{REGION}.amazonaws.com/?Action=ConfirmSubscription"
        f"&TopicArn={topic_arn}&Token={token}"
    )
    confirmation = {
        "Type": "SubscriptionConfirmation",
        "MessageId": str(uuid.uuid4()),
        "Token": token,
        "TopicArn": topic_arn,
        "Message": f"You have chosen to subscribe to the topic {topic_arn}.",
        "SubscribeURL": subscribe,
        "Timestamp": "2026-03-02T10:00:00.000Z",
    }
    assert door.post(signing_key.sign(confirmation)) == (200, {"status": "confirmed"})
    assert door.host.requests[-1] == subscribe.removeprefix(f"https://sns.{REGION}.amazonaws.com")


def test_subscribe_url_on_another_host_is_refused_and_not_fetched(
    door: SesDoor, signing_key: SigningKey
) -> None:
    confirmation = {
        "Type": "SubscriptionConfirmation",
        "MessageId": str(uuid.uuid4()),
        "Token": "t",
        "TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:ses-in",
        "Message": "confirm",
        "SubscribeURL": "https://attacker.example/?Action=ConfirmSubscription",
        "Timestamp": "2026-03-02T10:00:00.000Z",
    }
    assert door.post(signing_key.sign(confirmation))[0] == 403
    assert not any("ConfirmSubscription" in path for path in door.host.requests)


def test_signature_version_1_sha1_is_verified(door: SesDoor, signing_key: SigningKey) -> None:
    data = mail(subject="Signed with SHA1")
    signed = signing_key.sign(notification(inline(data)), version="1")
    assert door.post(signed | {"MessageId": "changed"})[0] == 403
    assert door.post(signed)[0] == 200
    assert door.spool.pending()[0].read_message() == data


@pytest.mark.parametrize(
    "cert_url",
    [
        "https://sns.us-east-1.amazonaws.com.attacker.example/SimpleNotificationService-x.pem",
        "https://attacker.example/SimpleNotificationService-x.pem",
        "https://sns.us-east-1.amazonaws.com@attacker.example/SimpleNotificationService-x.pem",
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-helpdesk-test.pem",
        "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-helpdesk-test.pem",
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-helpdesk-test.txt",
    ],
)
def test_certificate_outside_sns_hosts_is_refused_without_fetching(
    door: SesDoor, signing_key: SigningKey, cert_url: str
) -> None:
    signed = signing_key.sign(notification(inline(mail()))) | {"SigningCertURL": cert_url}
    assert door.post(signed)[0] == 403
    assert door.host.requests == []
    assert door.spool.pending() == []


def test_notification_without_mail_is_acknowledged_and_stores_nothing(
    door: SesDoor, signing_key: SigningKey
) -> None:
    setup = json.dumps({"notificationType": "AMAZON_SES_SETUP_NOTIFICATION", "receipt": {}})
    assert door.post(signing_key.sign(notification(setup))) == (200, {"status": "ignored"})
    assert door.spool.pending() == []


def test_missing_s3_object_is_5xx_so_sns_retries(door: SesDoor, signing_key: SigningKey) -> None:
    action = {"type": "S3", "bucketName": "no-such-bucket-here", "objectKey": "gone"}
    status, answer = door.post(signing_key.sign(notification(ses_received(action))))
    assert status == 503
    assert answer["error"]["code"] == "unavailable"
    assert door.spool.pending() == []


def test_recipients_are_kept_to_the_mailboxs_tenant(door: SesDoor, signing_key: SigningKey) -> None:
    recipients = ("help@globex.test", "billing@acme.test", "stranger@else.example")
    assert (
        door.post(signing_key.sign(notification(inline(mail(), recipients=recipients))))[0] == 200
    )
    assert door.spool.pending()[0].read_envelope().rcpt_tos == ("billing@acme.test",)


def test_mail_only_for_another_tenant_is_acknowledged_and_not_taken(
    door: SesDoor, signing_key: SigningKey
) -> None:
    only_others = notification(inline(mail(), recipients=("help@globex.test",)))
    assert door.post(signing_key.sign(only_others)) == (200, {"status": "ignored"})
    assert door.spool.pending() == []


def test_a_topic_outside_the_allowed_list_is_refused_before_anything_is_fetched(
    door: SesDoor, signing_key: SigningKey
) -> None:
    stranger = f"arn:aws:sns:{REGION}:999999999999:ses-in"
    status, body = door.post(signing_key.sign(notification(inline(mail()), topic_arn=stranger)))
    assert status == 403
    assert "HELPDESK_SES_TOPIC_ARNS" in body["error"]["message"]
    assert door.spool.pending() == []
    assert door.host.requests == []


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"Type": ["Notification"]}', b'{"Type": "Notification"}']
)
def test_body_that_is_no_sns_message_is_400(door: SesDoor, body: bytes) -> None:
    token = base64.b64encode(f"ses:{door.secret}".encode()).decode()
    status, _, answer = http_post(
        door.base_url + door.path, body, {"Authorization": f"Basic {token}"}
    )
    assert status == 400
    assert json.loads(answer)["error"]["code"] == "bad_request"


def test_unknown_mailbox_is_404_before_any_challenge(door: SesDoor) -> None:
    status, _, body = http_post(f"{door.base_url}/inbound/ses/999999", b"{}", {})
    assert status == 404
    assert json.loads(body) == {"error": {"code": "not_found", "message": "no such mailbox"}}


# The pure parts.


def test_string_to_sign_follows_aws_order_and_keeps_subject_when_present() -> None:
    document = {
        "Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:eu-west-1:1:t",
        "Subject": "Hello", "Message": "{}", "Timestamp": "2026-01-01T00:00:00.000Z",
        "SignatureVersion": "2", "Signature": "x", "SigningCertURL": OUR_CERT_URL,
    }  # fmt: skip
    expected = (
        "Message\n{}\nMessageId\nm-1\nSubject\nHello\n"
        "Timestamp\n2026-01-01T00:00:00.000Z\nTopicArn\narn:aws:sns:eu-west-1:1:t\n"
        "Type\nNotification\n"
    )
    assert string_to_sign(SnsMessage(document)) == expected.encode()
    without = {name: value for name, value in document.items() if name != "Subject"}
    assert b"Subject" not in string_to_sign(SnsMessage(without))


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123abc.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-0123abc.pem",
    ],
)
def test_sns_certificate_urls_of_every_region_are_accepted(url: str) -> None:
    assert sns_url(url, certificate=True) == url


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123abc.pem?x=1",
        "https://sns.eu-west-1.amazonaws.com/a/b.pem",
        "https://SNS.eu-west-1.amazonaws.com.evil/x.pem",
        "https://s3.eu-west-1.amazonaws.com/x.pem",
    ],
)
def test_other_certificate_urls_are_refused(url: str) -> None:
    with pytest.raises(SnsRejected):
        sns_url(url, certificate=True)


@pytest.mark.parametrize(
    ("topic_arn", "allowed", "taken"),
    [
        (
            "arn:aws:sns:eu-west-1:123456789012:ses-in",
            ("arn:aws:sns:eu-west-1:123456789012:ses-in",),
            True,
        ),
        (
            "arn:aws:sns:eu-west-1:123456789012:ses-in2",
            ("arn:aws:sns:eu-west-1:123456789012:ses-in",),
            False,
        ),
        ("arn:aws:sns:eu-west-1:123456789012:any", ("arn:aws:sns:eu-west-1:123456789012:*",), True),
        (
            "arn:aws:sns:eu-west-1:999999999999:any",
            ("arn:aws:sns:eu-west-1:123456789012:*",),
            False,
        ),
        ("arn:aws:sns:eu-west-1:123456789012:ses-in", (), False),
    ],
)
def test_only_listed_topics_or_prefixes_are_taken(
    topic_arn: str, allowed: tuple[str, ...], taken: bool
) -> None:
    assert topic_allowed(topic_arn, allowed) is taken

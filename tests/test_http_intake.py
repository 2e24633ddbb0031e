"""Signed HTTP intake: POST /inbound/ID stores exactly what was signed, and refuses the rest."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from helpdesk.crypto import SecretBox
from helpdesk.db import session_scope
from helpdesk.enums import Role
from helpdesk.errors import NotFound, PermissionDenied
from helpdesk.models import Mailbox
from helpdesk.principal import Operator
from helpdesk.services.mailboxes import (
    credentials_box,
    intake_secret,
    issue_intake_secret,
    update_mailbox,
)
from helpdesk.settings import Settings
from mailgate.drain import drain_spool
from mailgate.signed_intake import parse_recipients, signature, signature_header, verify
from mailgate.spool import Spool
from tests.factories import NOW, make_mailbox, make_staff, make_tenant
from tests.mailgate.desk import Desk, build_desk, mail
from tests.servers import http_post, serve_wsgi

BAD_SIGNATURE = {
    "error": {
        "code": "unauthorized",
        "message": "missing or bad signature, or a timestamp too far from now",
    }
}
NO_SUCH_MAILBOX = {"error": {"code": "not_found", "message": "no such mailbox"}}
TIMESTAMP, SIGNATURE = "X-Helpdesk-Timestamp", "X-Helpdesk-Signature"


@dataclass
class Door:
    """The desk of tests.mailgate.desk, with an intake secret on support@acme.test."""

    desk: Desk
    settings: Settings
    mailbox_id: int
    secret: str

    @property
    def spool(self) -> Spool:
        return Spool(self.settings.spool_dir)

    def mailbox_id_of(self, address: str) -> int:
        def find(session: Session) -> int:
            return session.scalars(select(Mailbox.id).where(Mailbox.address == address)).one()

        result: int = self.desk.run(find)
        return result


def signed_headers(secret: str, body: bytes, *, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    return {
        "X-Helpdesk-Timestamp": timestamp,
        "X-Helpdesk-Signature": signature_header(secret, timestamp, body),
    }


@pytest.fixture
def door(settings: Settings, engine: Engine) -> Door:
    desk = build_desk(settings, engine)
    box = credentials_box(settings.secret_key)
    with session_scope(desk.sessions) as session:
        mailbox_id = session.scalars(
            select(Mailbox.id).where(Mailbox.address == "support@acme.test")
        ).one()
        secret = issue_intake_secret(session, Operator(), mailbox_id, box=box)
    return Door(desk, settings, mailbox_id, secret)


@pytest.fixture
def client(door: Door, make_app: Callable[[Settings], Flask]) -> FlaskClient:
    return make_app(door.settings).test_client()


def post(client: FlaskClient, door: Door, body: bytes, **headers: str) -> tuple[int, object]:
    merged = signed_headers(door.secret, body) | headers
    response = client.post(f"/inbound/{door.mailbox_id}", data=body, headers=merged)
    return response.status_code, response.get_json()


# The signature recipe, as docs/mail.md shows it.


def test_signature_is_the_hex_hmac_sha256_of_timestamp_dot_body() -> None:
    # The same value `printf '1700000000.hello' | openssl dgst -sha256 -hmac example-secret` prints.
    expected = "d774cbc02be6524eb9cd7116df2c1711589fef7250a2c65734549d2af83ae576"
    assert signature("example-secret", "1700000000", b"hello") == expected
    assert signature_header("example-secret", "1700000000", b"hello") == f"v1={expected}"


def test_any_of_several_v1_signatures_may_match() -> None:
    good = signature("s", "1700000000", b"x")
    header = f"v1={'0' * 64}, v0=abc, v1={good.upper()}"
    assert verify("s", "1700000000", header, b"x", now=1_700_000_000)


@pytest.mark.parametrize(
    "header",
    ["", "v1=", "v2=" + "a" * 64, "v1=zz", "v1=ä" + "a" * 63, "sha256=" + "a" * 64],
)
def test_malformed_signature_headers_are_refused_without_error(header: str) -> None:
    assert not verify("s", "1700000000", header, b"x", now=1_700_000_000)


@pytest.mark.parametrize("timestamp", ["1699999699", "1700000301", "-1", "1.7e9", "", "٣"])
def test_timestamps_outside_five_minutes_or_not_digits_are_refused(timestamp: str) -> None:
    header = signature_header("s", timestamp, b"x") if timestamp.isascii() else "v1=" + "0" * 64
    assert not verify("s", timestamp, header, b"x", now=1_700_000_000)


def test_recipients_header_is_split_on_commas() -> None:
    assert parse_recipients(" a@x.test, <b@x.test>,, ") == ("a@x.test", "b@x.test")
    assert parse_recipients(None) == ()


# The intake secret, as a service.


def test_intake_secret_is_made_once_and_kept_encrypted(session: Session) -> None:
    tenant = make_tenant(session)
    mailbox = make_mailbox(session, tenant)
    box = SecretBox("test-secret-key", "mailbox-credentials")
    first = issue_intake_secret(session, Operator(), mailbox.id, box=box)
    assert issue_intake_secret(session, Operator(), mailbox.id, box=box) == first
    assert len(first) >= 43
    assert first.encode() not in (mailbox.intake_secret_encrypted or b"")
    assert intake_secret(mailbox, box) == first


def test_rotating_replaces_the_intake_secret(session: Session) -> None:
    tenant = make_tenant(session)
    mailbox = make_mailbox(session, tenant)
    box = SecretBox("test-secret-key", "mailbox-credentials")
    first = issue_intake_secret(session, Operator(), mailbox.id, box=box)
    second = issue_intake_secret(session, Operator(), mailbox.id, box=box, rotate=True)
    assert second != first
    assert intake_secret(mailbox, box) == second


def test_only_an_admin_of_the_tenant_sees_the_intake_secret(session: Session) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    mailbox = make_mailbox(session, tenant)
    box = SecretBox("test-secret-key", "mailbox-credentials")
    admin = make_staff(session, tenant, Role.ADMIN)
    assert issue_intake_secret(session, admin, mailbox.id, box=box)
    with pytest.raises(PermissionDenied):
        issue_intake_secret(session, make_staff(session, tenant, Role.AGENT), mailbox.id, box=box)
    with pytest.raises(NotFound):
        issue_intake_secret(session, make_staff(session, other, Role.ADMIN), mailbox.id, box=box)


# The door, through the Flask test client.


# urllib's default for a POST body is the form type: the bytes must stay untouched all the same.
@pytest.mark.parametrize(
    "content_type", ["message/rfc822", "application/x-www-form-urlencoded", "text/plain"]
)
def test_signed_message_is_stored_byte_for_byte_before_202(
    door: Door, client: FlaskClient, content_type: str
) -> None:
    body = mail(subject="Signed and sealed", body="a=1&b=2\n\nsee you\n")
    response = client.post(
        f"/inbound/{door.mailbox_id}",
        data=body,
        headers=signed_headers(door.secret, body),
        content_type=content_type,
    )
    assert response.status_code == 202
    [entry] = door.spool.pending()
    assert response.get_json() == {"id": entry.name}
    assert entry.read_message() == body
    envelope = entry.read_envelope()
    assert (envelope.mail_from, envelope.rcpt_tos, envelope.transport) == (
        "",
        ("support@acme.test",),
        "http",
    )
    # A machine door: no session cookie is set that CSRF protection could later hang on.
    assert "Set-Cookie" not in response.headers


def test_envelope_headers_name_the_sender_and_the_tenants_recipients(
    door: Door, client: FlaskClient
) -> None:
    status, _ = post(
        client,
        door,
        mail(),
        **{
            "X-Helpdesk-Mail-From": "bounces@client.example",
            "X-Helpdesk-Recipients": "billing@acme.test, support+a1b2@acme.test",
        },
    )
    assert status == 202
    envelope = door.spool.pending()[0].read_envelope()
    assert envelope.mail_from == "bounces@client.example"
    assert envelope.rcpt_tos == ("billing@acme.test", "support+a1b2@acme.test")


Tamper = Callable[[dict[str, str], bytes, str], dict[str, str]]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h, b, s: h | {"X-Helpdesk-Signature": "v1=" + "0" * 64}, id="forged"),
        pytest.param(lambda h, b, s: signed_headers("not the secret", b), id="wrong-secret"),
        pytest.param(lambda h, b, s: signed_headers(s, b, at=time.time() - 310), id="stale"),
        pytest.param(lambda h, b, s: signed_headers(s, b, at=time.time() + 310), id="future"),
        pytest.param(lambda h, b, s: signed_headers(s, b + b"x"), id="other-body"),
        pytest.param(lambda h, b, s: {SIGNATURE: h[SIGNATURE]}, id="no-timestamp"),
        pytest.param(lambda h, b, s: {TIMESTAMP: h[TIMESTAMP]}, id="no-signature"),
        pytest.param(lambda h, b, s: {}, id="no-headers"),
    ],
)  # fmt: skip
def test_bad_signatures_get_one_401_and_store_nothing(
    door: Door, client: FlaskClient, tamper: Tamper
) -> None:
    body = mail()
    headers = tamper(signed_headers(door.secret, body), body, door.secret)
    response = client.post(f"/inbound/{door.mailbox_id}", data=body, headers=headers)
    assert (response.status_code, response.get_json()) == (401, BAD_SIGNATURE)
    assert door.spool.pending() == []


def test_unknown_inactive_and_secretless_mailboxes_answer_the_same_404(
    door: Door, client: FlaskClient
) -> None:
    billing = door.mailbox_id_of("billing@acme.test")  # it has no intake secret
    answers = [client.post(f"/inbound/{billing}", data=b"x").get_json()]
    answers.append(client.post("/inbound/999999", data=b"x").get_json())
    with session_scope(door.desk.sessions) as session:
        update_mailbox(session, Operator(), door.mailbox_id, active=False, now=NOW)
    status, body = post(client, door, mail())
    assert (status, body) == (404, NO_SUCH_MAILBOX)
    assert answers == [NO_SUCH_MAILBOX, NO_SUCH_MAILBOX]
    assert door.spool.pending() == []


@pytest.mark.parametrize("recipient", ["help@globex.test", "nobody@acme.test"])
def test_recipient_outside_the_mailboxs_tenant_is_422(
    door: Door, client: FlaskClient, recipient: str
) -> None:
    headers = {"X-Helpdesk-Recipients": f"billing@acme.test, {recipient}"}
    status, body = post(client, door, mail(), **headers)
    assert status == 422
    assert isinstance(body, dict)
    assert body["error"]["code"] == "invalid"
    assert recipient in body["error"]["message"]
    assert door.spool.pending() == []


def test_empty_body_is_400(door: Door, client: FlaskClient) -> None:
    status, body = post(client, door, b"")
    assert status == 400
    assert isinstance(body, dict)
    assert body["error"]["code"] == "bad_request"


@pytest.mark.parametrize("door_path", ["/inbound/{id}", "/inbound/ses/{id}"])
def test_a_get_on_a_door_is_a_405_in_json_naming_the_allowed_methods(
    door: Door, client: FlaskClient, door_path: str
) -> None:
    # Werkzeug's routing refuses it before any view or blueprint handler runs.
    response = client.get(door_path.format(id=door.mailbox_id))
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert set(response.headers["Allow"].split(", ")) == {"OPTIONS", "POST"}


def test_message_over_the_size_limit_is_413_in_json(
    door: Door, make_app: Callable[[Settings], Flask]
) -> None:
    small = dataclasses.replace(door.settings, max_message_bytes=2_000)
    client = make_app(small).test_client()
    status, body = post(client, door, mail(body="x" * 3_000))
    assert status == 413
    assert isinstance(body, dict)
    assert body["error"]["code"] == "too_large"
    assert door.spool.pending() == []


def test_spool_that_cannot_store_answers_503_with_retry_after(
    door: Door, make_app: Callable[[Settings], Flask], tmp_path: Path
) -> None:
    blocked = tmp_path / "spool-is-a-file"
    blocked.write_text("not a directory")
    client = make_app(dataclasses.replace(door.settings, spool_dir=blocked)).test_client()
    body = mail()
    response = client.post(
        f"/inbound/{door.mailbox_id}", data=body, headers=signed_headers(door.secret, body)
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert response.get_json()["error"]["code"] == "unavailable"


def test_database_out_of_reach_answers_503_never_2xx(
    door: Door, make_app: Callable[[Settings], Flask], tmp_path: Path
) -> None:
    gone = dataclasses.replace(
        door.settings, database_url=f"sqlite:///{tmp_path}/no/such/dir/helpdesk.db"
    )
    status, _ = post(make_app(gone).test_client(), door, mail())
    assert status == 503
    assert door.spool.pending() == []


def test_posted_message_becomes_a_ticket_when_the_spool_is_drained(
    door: Door, client: FlaskClient
) -> None:
    status, _ = post(client, door, mail(subject="Scanner jams on page two"))
    assert status == 202
    assert drain_spool(door.spool, door.desk.ingest) == 1
    [ticket] = door.desk.tickets(door.desk.acme)
    assert ticket.subject == "Scanner jams on page two"
    assert door.desk.tickets(door.desk.globex) == []


# Over a real socket, served by waitress as in production.


def test_message_posted_over_a_socket_is_acknowledged_and_becomes_a_ticket(
    door: Door, make_app: Callable[[Settings], Flask]
) -> None:
    body = mail(subject="Posted over the wire").replace(b"\n", b"\r\n")
    headers = signed_headers(door.secret, body) | {"Content-Type": "message/rfc822"}
    with serve_wsgi(make_app(door.settings)) as base:
        url = f"{base}/inbound/{door.mailbox_id}"
        status, _, answered = http_post(url, body, headers)
        forged_status, _, _ = http_post(url, body, headers | {TIMESTAMP: "1"})
    assert (status, forged_status) == (202, 401)
    answer = json.loads(answered)
    [entry] = door.spool.pending()
    assert answer == {"id": entry.name}
    assert entry.read_message() == body
    assert entry.read_envelope().peer == "127.0.0.1"
    drain_spool(door.spool, door.desk.ingest)
    assert [t.subject for t in door.desk.tickets(door.desk.acme)] == ["Posted over the wire"]

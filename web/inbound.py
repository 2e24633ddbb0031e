"""POST /inbound/ID (signed raw mail) and /inbound/ses/ID (SES through SNS): mail into the spool.

Not under /api/v1 and no bearer token: each request is authenticated by the
mailbox's intake secret, as an HMAC signature or as SNS's basic auth.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from flask.blueprints import BlueprintSetupState
from sqlalchemy.exc import SQLAlchemyError

from helpdesk.clock import utcnow
from helpdesk.errors import ConfigError
from helpdesk.models import Mailbox
from helpdesk.services.mailboxes import (
    credentials_box,
    find_intake_mailbox,
    find_mailbox_for_address,
    intake_secret,
)
from mailgate.limits import SessionLimits
from mailgate.ses import (
    S3Messages,
    SesMalformed,
    SesTooLarge,
    SesUnavailable,
    message_bytes,
    read_notification,
    topic_allowed,
)
from mailgate.signed_intake import (
    MAIL_FROM_HEADER,
    RECIPIENTS_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    parse_recipients,
    verify,
)
from mailgate.sns import (
    NOTIFICATION,
    SUBSCRIPTION_CONFIRMATION,
    SnsMalformed,
    SnsMessage,
    SnsRejected,
    SnsUnavailable,
    SnsVerifier,
    parse_message,
)
from mailgate.spool import Envelope, Spool
from web.app import app_state, request_session
from web.errors import error_response

log = logging.getLogger(__name__)
# Machine-to-machine doors: no session cookie authenticates them, and they read
# or set no session. Whatever CSRF or session protection the web app gains
# must exempt this blueprint (with Flask-WTF: `csrf.exempt(inbound)`), or mail
# senders would be refused.
inbound = Blueprint("inbound", __name__)

EXTENSION = "helpdesk.inbound"
RETRY_AFTER_SECONDS = 60
# One answer for every signature failure: which part was wrong is no one's business.
BAD_SIGNATURE = "missing or bad signature, or a timestamp too far from now"
NO_SUCH_MAILBOX = "no such mailbox"
# As many as one SMTP session may name.
MAX_RECIPIENTS = SessionLimits.max_recipients


@dataclass(frozen=True)
class _Fetchers:
    """What the SES door keeps between requests: cached certificates and S3 clients."""

    sns: SnsVerifier
    s3: S3Messages


class IntakeRefused(Exception):
    """A request the door answers with a 4xx: status, code, message and headers."""

    def __init__(self, status: int, code: str, message: str, **headers: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


@inbound.record_once
def _install(state: BlueprintSetupState) -> None:
    app = cast(Flask, state.app)
    settings = app_state(app).settings
    app.extensions[EXTENSION] = _Fetchers(
        SnsVerifier(settings.sns_endpoint_url), S3Messages(settings.s3_endpoint_url)
    )


@inbound.post("/inbound/<int:mailbox_id>")
def signed(mailbox_id: int) -> tuple[Response, int]:
    """Store a raw message posted with the mailbox's HMAC signature; 202 once fsynced."""
    mailbox, secret = _intake_mailbox(mailbox_id)
    body = request.get_data(cache=False)
    headers = request.headers
    timestamp = headers.get(TIMESTAMP_HEADER)
    signature = headers.get(SIGNATURE_HEADER)
    if not verify(secret, timestamp, signature, body, now=time.time()):
        raise IntakeRefused(
            401, "unauthorized", BAD_SIGNATURE, WWW_Authenticate='Signature realm="helpdesk"'
        )
    if not body:
        raise IntakeRefused(400, "bad_request", "the body is empty: post the raw message")
    recipients = parse_recipients(headers.get(RECIPIENTS_HEADER))
    _check_recipients(mailbox, recipients)
    mail_from = headers.get(MAIL_FROM_HEADER, "").strip()
    return _store(body, mail_from, recipients or (mailbox.address,), "http", status=202)


@inbound.post("/inbound/ses/<int:mailbox_id>")
def ses(mailbox_id: int) -> tuple[Response, int]:
    """Take an SNS message for an SES receipt rule: confirm the subscription, or store the mail."""
    mailbox, secret = _intake_mailbox(mailbox_id)
    _require_basic_auth(secret)
    fetchers = _fetchers()
    message = parse_message(request.get_data(cache=False))
    if not topic_allowed(message.topic_arn, app_state().settings.ses_topic_arns):
        raise SnsRejected(f"topic {message.topic_arn} is not in HELPDESK_SES_TOPIC_ARNS")
    fetchers.sns.verify(message)
    if message.type == SUBSCRIPTION_CONFIRMATION:
        fetchers.sns.confirm(message)
        log.info(
            "confirmed the SNS subscription of mailbox %d to %s", mailbox_id, message.topic_arn
        )
        return jsonify(status="confirmed"), 200
    if message.type != NOTIFICATION:
        return jsonify(status="ignored"), 200
    return _store_ses_mail(mailbox, message, fetchers)


def _store_ses_mail(
    mailbox: Mailbox, message: SnsMessage, fetchers: _Fetchers
) -> tuple[Response, int]:
    receipt = read_notification(message.message)
    if receipt is None:
        return jsonify(status="ignored"), 200
    # Only this tenant's addresses: a receipt rule may name other tenants' mailboxes too.
    recipients = _tenant_recipients(mailbox, receipt.recipients)
    if not recipients:
        # Mail for another tenant's addresses never lands here, whatever the subscription.
        log.warning(
            "SES mail for %s is for no mailbox of mailbox %d's tenant; not taken",
            ", ".join(receipt.recipients),
            mailbox.id,
        )
        return jsonify(status="ignored"), 200
    max_bytes = app_state().settings.max_message_bytes
    data = message_bytes(receipt, region=message.region, s3=fetchers.s3, max_bytes=max_bytes)
    return _store(data, receipt.mail_from, recipients, "ses", status=200)


def _fetchers() -> _Fetchers:
    fetchers: _Fetchers = current_app.extensions[EXTENSION]
    return fetchers


def _intake_mailbox(mailbox_id: int) -> tuple[Mailbox, str]:
    """Return the mailbox and its intake secret; a missing, inactive or secretless one is 404."""
    mailbox = find_intake_mailbox(request_session(), mailbox_id)
    if mailbox is None:
        raise IntakeRefused(404, "not_found", NO_SUCH_MAILBOX)
    secret = intake_secret(mailbox, credentials_box(app_state().settings.secret_key))
    assert secret is not None  # noqa: S101 - find_intake_mailbox returns mailboxes with one
    return mailbox, secret


def _require_basic_auth(secret: str) -> None:
    # SNS sends the URL's credentials only after a 401 that asks for Basic.
    auth = request.authorization
    password = (auth.password or "") if auth is not None and auth.type == "basic" else ""
    if not hmac.compare_digest(password.encode("utf-8"), secret.encode("utf-8")):
        challenge = 'Basic realm="helpdesk"'
        raise IntakeRefused(401, "unauthorized", "credentials required", WWW_Authenticate=challenge)


def _check_recipients(mailbox: Mailbox, recipients: tuple[str, ...]) -> None:
    if len(recipients) > MAX_RECIPIENTS:
        message = f"at most {MAX_RECIPIENTS} recipients, as over SMTP"
        raise IntakeRefused(422, "invalid", message)
    allowed = set(_tenant_recipients(mailbox, recipients))
    for address in recipients:
        if address not in allowed:
            message = f"{RECIPIENTS_HEADER}: {address} is no mailbox of this tenant"
            raise IntakeRefused(422, "invalid", message)


def _tenant_recipients(mailbox: Mailbox, addresses: Iterable[str]) -> tuple[str, ...]:
    """Return the addresses that reach a mailbox of the mailbox's own tenant."""
    session = request_session()
    kept = []
    for address in addresses:
        found = find_mailbox_for_address(session, address)
        if found is not None and found.tenant_id == mailbox.tenant_id:
            kept.append(address)
    return tuple(kept)


def _store(
    data: bytes, mail_from: str, recipients: tuple[str, ...], transport: str, *, status: int
) -> tuple[Response, int]:
    """Write the message durably into the spool; answer `status` only once it is there."""
    envelope = Envelope(mail_from, recipients, transport, utcnow(), request.remote_addr or "")
    try:
        entry = Spool(app_state().settings.spool_dir).store(data, envelope)
    except OSError:
        log.exception("cannot store a message posted for %s", ", ".join(recipients))
        return _unavailable("the message could not be stored; try again later")
    log.info("accepted %s over %s for %s", entry.name, transport, ", ".join(recipients))
    return jsonify(id=entry.name), status


def _unavailable(message: str) -> tuple[Response, int]:
    response, status = error_response(503, "unavailable", message)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response, status


@inbound.errorhandler(IntakeRefused)
def _refused(exc: IntakeRefused) -> tuple[Response, int]:
    response, status = error_response(exc.status, exc.code, exc.message)
    for name, value in exc.headers.items():
        response.headers[name.replace("_", "-")] = value
    return response, status


@inbound.errorhandler(SnsMalformed)
@inbound.errorhandler(SesMalformed)
def _malformed(exc: Exception) -> tuple[Response, int]:
    log.info("refused an inbound request: %s", exc)
    return error_response(400, "bad_request", str(exc))


@inbound.errorhandler(SnsRejected)
def _forged(exc: SnsRejected) -> tuple[Response, int]:
    log.warning("refused an SNS message: %s", exc)
    return error_response(403, "forbidden", str(exc))


@inbound.errorhandler(SesTooLarge)
def _too_large(exc: SesTooLarge) -> tuple[Response, int]:
    # SNS does not retry a 4xx; the message stays in S3 for a person to fetch.
    log.error("not taken from SES: %s", exc)
    return error_response(413, "too_large", str(exc))


@inbound.errorhandler(SnsUnavailable)
@inbound.errorhandler(SesUnavailable)
def _fetch_failed(exc: Exception) -> tuple[Response, int]:
    log.error("inbound request deferred: %s", exc)
    return _unavailable("a resource the message needs could not be fetched; try again later")


@inbound.errorhandler(SQLAlchemyError)
@inbound.errorhandler(ConfigError)
def _database_failed(exc: Exception) -> tuple[Response, int]:
    # The database is away, or the secret key changed under stored secrets:
    # nothing was stored, and the sender keeps the message until we answer 2xx.
    log.error("inbound request deferred: %s", exc)
    return _unavailable("the helpdesk cannot take mail right now; try again later")

"""Who is calling the API: a bearer token (staff or client) or the web app's own session.

Bearer tokens need no CSRF protection: a browser never attaches them by
itself. The cookie session does, so every unsafe request authenticated by
cookie must carry the session's CSRF token in `X-CSRF-Token`.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

from flask import request
from flask import session as cookie
from sqlalchemy.orm import Session

from helpdesk.errors import PermissionDenied
from helpdesk.models import User
from helpdesk.principal import Client, PlatformAdmin, Principal, Staff
from helpdesk.services import client_tokens, tokens
from helpdesk.services.contacts import client_principal
from helpdesk.services.users import staff_principal
from web.api.core import Audience, RequestInvalid

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
# Keys of the signed session cookie that the sign-in pages set.
STAFF_KEY = "staff"
CLIENT_KEY = "client"
CSRF_KEY = "csrf"


class Unauthenticated(RequestInvalid):
    """No or bad credentials: 401 with a WWW-Authenticate challenge."""

    def __init__(self, message: str) -> None:
        super().__init__(401, "unauthorized", message)


def authenticate(session: Session, audience: Audience, *, now: datetime) -> Principal | None:
    """Return the caller as the endpoint's audience needs them.

    Raises:
        Unauthenticated: missing, malformed, unknown, revoked or expired credentials.
        RequestInvalid: a cookie-authenticated write without its CSRF token (403),
            or a caller of the wrong kind for the endpoint (403).
    """
    if audience is Audience.PUBLIC:
        return None
    principal = _caller(session, now=now)
    return _admitted(session, principal, audience)


def _caller(session: Session, *, now: datetime) -> Principal:
    header = request.headers.get("Authorization")
    if header is not None:
        return _bearer(session, header, now=now)
    principal = _cookie_principal(session)
    if principal is None:
        raise Unauthenticated("sign in, or send Authorization: Bearer TOKEN")
    if request.method not in SAFE_METHODS:
        _check_csrf()
    return principal


def _bearer(session: Session, header: str, *, now: datetime) -> Principal:
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated("use Authorization: Bearer TOKEN")
    secret = secret.strip()
    try:
        if secret.startswith(client_tokens.PREFIX):
            return client_tokens.authenticate_client_token(session, secret, now=now)
        return tokens.authenticate_api_token(session, secret, now=now)
    except PermissionDenied as exc:
        raise Unauthenticated(str(exc)) from exc


def _cookie_principal(session: Session) -> Principal | None:
    try:
        if STAFF_KEY in cookie:
            user_id, tenant_id = cookie[STAFF_KEY]
            return staff_principal(session, int(user_id), int(tenant_id))
        if CLIENT_KEY in cookie:
            return client_principal(session, int(cookie[CLIENT_KEY]))
    except (PermissionDenied, ValueError, TypeError) as exc:
        raise Unauthenticated("your session has ended; sign in again") from exc
    return None


def _check_csrf() -> None:
    expected = cookie.get(CSRF_KEY)
    given = request.headers.get(CSRF_HEADER, "")
    if not expected or not hmac.compare_digest(str(expected), given):
        raise RequestInvalid(403, "csrf_failed", f"send the session's CSRF token in {CSRF_HEADER}")


def csrf_token() -> str:
    """Return the session's CSRF token, creating it on first use."""
    if CSRF_KEY not in cookie:
        cookie[CSRF_KEY] = secrets.token_urlsafe(32)
    return str(cookie[CSRF_KEY])


def _admitted(session: Session, principal: Principal, audience: Audience) -> Principal:
    if audience is Audience.STAFF and isinstance(principal, Staff):
        return principal
    if audience is Audience.CLIENT and isinstance(principal, Client):
        return principal
    if audience is Audience.ANYONE and isinstance(principal, Staff | Client):
        return principal
    if audience is Audience.PLATFORM and isinstance(principal, Staff):
        user = session.get(User, principal.user_id)
        if user is not None and user.is_platform_admin:
            return PlatformAdmin(user_id=user.id)
    raise RequestInvalid(403, "forbidden", f"this endpoint is for {audience.value} callers")

"""Rate limits: per credential across the API, per address where abuse is cheap (sign-in)."""

from __future__ import annotations

import hashlib
from contextlib import AbstractContextManager

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from helpdesk.settings import Settings

EXTENSION = "helpdesk.limiter"
# Sign-in links cost a mail each: a few a minute per address is plenty.
SIGN_IN_LIMIT = "5 per minute;30 per hour"


def caller_key() -> str:
    """Limit by credential when one is sent, else by the client's address."""
    header = request.headers.get("Authorization", "")
    if header:
        return "token:" + hashlib.sha256(header.encode()).hexdigest()[:32]
    return "addr:" + get_remote_address()


def address_key() -> str:
    return "addr:" + get_remote_address()


def install(app: Flask, settings: Settings) -> None:
    """Give the app its own limiter; Redis holds the counters when the broker is Redis.

    One limit is shared by all of /api/v1 per credential (an integration that
    needs more should use the bulk endpoints); pages outside the API are not
    limited here.
    """
    limiter = Limiter(
        caller_key,
        app=app,
        application_limits=[settings.api_rate_limit],
        application_limits_exempt_when=lambda: not request.path.startswith("/api/"),
        storage_uri=settings.broker_url or "memory://",
        key_prefix="helpdesk-limits",
        headers_enabled=True,
        strategy="moving-window",
    )
    app.extensions[EXTENSION] = limiter


def limit_by_address(limit: str) -> AbstractContextManager[None]:
    """Apply an extra limit per client address around a block of a view."""
    limiter: Limiter = current_app.extensions[EXTENSION]
    return limiter.limit(limit, key_func=address_key)

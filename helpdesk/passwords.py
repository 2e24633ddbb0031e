"""Password hashing with Argon2id (RFC 9106), parameters from argon2-cffi's profile."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from helpdesk.errors import ValidationError

MIN_LENGTH = 10
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """Return the Argon2id hash of `password`.

    Raises:
        ValidationError: shorter than MIN_LENGTH characters.
    """
    if len(password) < MIN_LENGTH:
        raise ValidationError("password", f"use at least {MIN_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; false for a user without a password."""
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


def generate_password() -> str:
    """Return a one-time password that is easy to type and hard to guess (about 100 bits)."""
    return "-".join(secrets.token_urlsafe(6) for _ in range(3))

"""E-mail addresses as we store and compare them."""

from __future__ import annotations

import re

from helpdesk.errors import ValidationError

# Deliberately permissive (RFC 5321 allows much); strict enough to refuse what
# cannot be a mailbox: no spaces, one @, a dotted domain of sane labels.
_ADDRESS = re.compile(
    r"^[^\s@<>()\[\],;:\"]{1,64}@"
    r"(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$"
)


def normalize_email(value: str, field: str = "email") -> str:
    """Return the address trimmed and lower-cased.

    Mail systems treat the local part case-insensitively in practice, and one
    person must not become two contacts by a capital letter.

    Raises:
        ValidationError: the value is not an e-mail address.
    """
    address = value.strip().lower()
    if len(address) > 320 or not _ADDRESS.match(address):
        raise ValidationError(field, f"not an e-mail address: {value!r}")
    return address


def domain_of(address: str) -> str:
    """Return the domain part of a normalized address."""
    return address.rpartition("@")[2]

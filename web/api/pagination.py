"""Opaque, signed cursors for keyset pagination.

A cursor holds the sort key of the last item of a page. It is signed, so a
client cannot forge one (a garbled cursor is a clean 400, never a query on
odd values), and it is bound to the list it came from.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from web.api.core import RequestInvalid


class Cursors:
    """Encodes and decodes the cursors of one kind of list."""

    def __init__(self, secret_key: str, kind: str) -> None:
        self._serializer = URLSafeSerializer(secret_key, salt=f"helpdesk.cursor.{kind}")

    def encode(self, key: list[Any]) -> str:
        return self._serializer.dumps(key)

    def decode(self, cursor: str) -> list[Any]:
        """Raises:
        RequestInvalid: the cursor was not made by this list (400).
        """
        try:
            key = self._serializer.loads(cursor)
        except BadSignature as exc:
            raise RequestInvalid(400, "bad_cursor", "this cursor is invalid; start again") from exc
        if not isinstance(key, list):
            raise RequestInvalid(400, "bad_cursor", "this cursor is invalid; start again")
        return key

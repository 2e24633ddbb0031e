"""URL converters: numbers in paths stay within what the database can hold."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter, Map

# Ids and ticket numbers are 32-bit integers in the database: a larger number
# in a URL names nothing, so it does not match (404) instead of failing the query.
MAX_ID = 2**31 - 1


class BoundedInt(IntegerConverter):
    """`<int:…>` limited to 0..MAX_ID unless a rule asks for other bounds."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)

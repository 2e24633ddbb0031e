"""URL converters: numbers in paths stay within what the database can hold."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter, Map

# Ids and ticket numbers are 32-bit integers in the database: a larger number
# in a URL names nothing, so it does not match (404) instead of failing the query.
MAX_ID = 2**31 - 1


def digits_at_most(limit: int) -> str:
    """Return a regex for the decimal numbers 0..limit, without leading zeros.

    The range lives in the regex, not only in `to_python`, because Werkzeug
    decides between 404 and 405 by the regex alone: a number out of range must
    match no rule at all.
    """
    text = str(limit)
    shorter = f"[1-9]\\d{{0,{len(text) - 2}}}|0" if len(text) > 1 else ""
    branches = [shorter] if shorter else []
    for i, digit in enumerate(text):
        rest = len(text) - i - 1
        if int(digit) > (1 if i == 0 else 0):
            low = "1" if i == 0 else "0"
            branches.append(f"{text[:i]}[{low}-{int(digit) - 1}]\\d{{{rest}}}")
    branches.append(text)
    return "(?:" + "|".join(branches) + ")"


class BoundedInt(IntegerConverter):
    """`<int:…>` limited to 0..MAX_ID."""

    regex = digits_at_most(MAX_ID)

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)

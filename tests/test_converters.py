"""Path numbers: exactly 0..MAX_ID match, anything else matches no rule."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from web.converters import MAX_ID, digits_at_most


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=10**11))
def test_the_regex_matches_exactly_the_numbers_in_range(number: int, limit: int) -> None:
    pattern = re.compile(digits_at_most(limit))
    assert bool(pattern.fullmatch(str(number))) == (number <= limit)


def test_leading_zeros_and_the_edges() -> None:
    pattern = re.compile(digits_at_most(MAX_ID))
    assert pattern.fullmatch(str(MAX_ID))
    assert not pattern.fullmatch(str(MAX_ID + 1))
    assert pattern.fullmatch("0")
    assert not pattern.fullmatch("007")

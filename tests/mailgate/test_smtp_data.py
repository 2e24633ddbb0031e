"""A DATA body read a chunk at a time answers as if it were read a line at a time."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailgate.smtp_data import BodyReader, Refusal

# aiosmtpd's limit: a line holds at most 1001 bytes, its CRLF counted.
LINE_LIMIT = 1001


def line_at_a_time(
    stream: bytes, *, size_limit: int | None, line_limit: int
) -> tuple[Refusal | None, bytes, bytes] | None:
    """What RFC 5321 §4.5.2 and aiosmtpd make of `stream`: (refusal, body, what follows).

    None while the end line has not come.
    """
    lines: list[bytes] = []
    position, counted, refusal = 0, 0, None
    while True:
        end = stream.find(b"\r\n", position)
        if end < 0:
            return None
        line, position = stream[position : end + 2], end + 2
        if line == b".\r\n":
            body = b"" if refusal else b"".join(lines)
            return refusal, body, stream[position:]
        counted += len(line)
        if refusal is None and len(line) > line_limit:
            refusal = Refusal.LINE_TOO_LONG
        if refusal is None and size_limit is not None and counted > size_limit:
            refusal = Refusal.TOO_BIG
        lines.append(line[1:] if line.startswith(b".") else line)


def chunked(
    chunks: Iterable[bytes], *, size_limit: int | None, line_limit: int = LINE_LIMIT
) -> tuple[Refusal | None, bytes, bytes] | None:
    reader = BodyReader(size_limit=size_limit, line_limit=line_limit)
    chunks = list(chunks)
    for n, chunk in enumerate(chunks):
        if reader.feed(chunk):
            return reader.refusal, reader.body, reader.leftover + b"".join(chunks[n + 1 :])
    return None


def cut(stream: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(stream), *(point % (len(stream) + 1) for point in cuts)})
    return [stream[a:b] for a, b in itertools.pairwise(points)]


# The bytes that frame a body, so that streams are full of near-misses of the end line.
pieces = st.sampled_from(
    [b"\r", b"\n", b".", b"\r\n", b".\r\n", b"\r\n.", b"..", b"a", b"bc", b"x" * 9, b"\r\n.\r\n"]
)


@given(
    stream=st.lists(pieces, max_size=40).map(b"".join),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8),
    size_limit=st.one_of(st.none(), st.integers(min_value=0, max_value=40)),
    line_limit=st.integers(min_value=3, max_value=14),
)
def test_any_stream_in_any_chunks_reads_as_it_does_a_line_at_a_time(
    stream: bytes, cuts: list[int], size_limit: int | None, line_limit: int
) -> None:
    expected = line_at_a_time(stream, size_limit=size_limit, line_limit=line_limit)
    assert chunked(cut(stream, cuts), size_limit=size_limit, line_limit=line_limit) == expected


@given(
    stream=st.lists(pieces, max_size=40).map(b"".join),
    size_limit=st.one_of(st.none(), st.integers(min_value=0, max_value=40)),
    line_limit=st.integers(min_value=3, max_value=14),
)
def test_a_byte_at_a_time_reads_as_a_line_at_a_time(
    stream: bytes, size_limit: int | None, line_limit: int
) -> None:
    expected = line_at_a_time(stream, size_limit=size_limit, line_limit=line_limit)
    one_by_one = [stream[n : n + 1] for n in range(len(stream))]
    assert chunked(one_by_one, size_limit=size_limit, line_limit=line_limit) == expected


def test_the_dots_a_client_added_are_taken_out_and_what_follows_is_kept() -> None:
    stream = b"..\r\n.hidden\r\n...\r\nplain\r\n.\r\nQUIT\r\n"
    assert chunked([stream], size_limit=None) == (
        None,
        b".\r\nhidden\r\n..\r\nplain\r\n",
        b"QUIT\r\n",
    )


def test_a_body_of_only_the_end_line_is_empty() -> None:
    assert chunked([b".\r\n"], size_limit=100) == (None, b"", b"")


@pytest.mark.parametrize("split", [1, 2, 3, 4, 5, 6])
def test_an_end_line_split_between_chunks_is_found(split: int) -> None:
    stream = b"hello\r\n.\r\n"
    at = len(stream) - split
    assert chunked([stream[:at], stream[at:]], size_limit=None) == (None, b"hello\r\n", b"")


def test_the_end_is_only_a_dot_between_crlf_pairs() -> None:
    # A dot after a bare LF ends nothing: SMTP smuggling's trick.
    assert chunked([b"a\n.\nb\r\n.\n"], size_limit=None) is None


def test_a_line_may_hold_999_bytes_and_its_crlf() -> None:
    fits, over = b"x" * 999 + b"\r\n", b"x" * 1000 + b"\r\n"
    assert chunked([fits + b".\r\n"], size_limit=None) == (None, fits, b"")
    assert chunked([over + b".\r\n"], size_limit=None) == (Refusal.LINE_TOO_LONG, b"", b"")


def test_a_body_at_the_size_limit_fits_and_one_byte_more_does_not() -> None:
    body = b"12345678\r\n" * 10
    assert chunked([body + b".\r\n"], size_limit=100) == (None, body, b"")
    assert chunked([body + b"1\r\n.\r\n"], size_limit=100) == (Refusal.TOO_BIG, b"", b"")


def test_a_refused_body_is_read_to_its_end_without_being_kept() -> None:
    reader = BodyReader(size_limit=10, line_limit=LINE_LIMIT)
    for _ in range(1000):
        assert not reader.feed(b"y" * 998 + b"\r\n")
    assert len(reader._data) < 10  # what it holds while it reads on
    assert reader.feed(b".\r\nNOOP\r\n")
    assert (reader.refusal, reader.body, reader.leftover) == (Refusal.TOO_BIG, b"", b"NOOP\r\n")


def test_whichever_limit_a_body_breaks_first_is_the_reason() -> None:
    long_line = b"z" * 20 + b"\r\n"
    assert chunked([long_line + b"a" * 50 + b"\r\n.\r\n"], size_limit=30, line_limit=21) == (
        Refusal.LINE_TOO_LONG,
        b"",
        b"",
    )
    assert chunked([b"a" * 18 + b"\r\n" + long_line + b".\r\n"], size_limit=10, line_limit=21) == (
        Refusal.TOO_BIG,
        b"",
        b"",
    )


def test_a_line_that_never_ends_is_not_kept() -> None:
    reader = BodyReader(size_limit=None, line_limit=LINE_LIMIT)
    for _ in range(1000):
        assert not reader.feed(b"y" * 1000)
    assert len(reader._data) < 10  # what it holds while it reads on
    assert reader.feed(b"\r\n.\r\n")
    assert (reader.refusal, reader.body) == (Refusal.LINE_TOO_LONG, b"")

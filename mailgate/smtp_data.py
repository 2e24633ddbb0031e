"""A message body after DATA, read a chunk at a time (RFC 5321 §4.5.2).

aiosmtpd reads a body one line at a time, each line a step of the session's
coroutine: about 400 steps for a 100 KB mail, and most of a busy gateway's
event loop. `BodyReader` takes whatever the socket delivered, finds the end
of the body (a line holding only a dot) and checks the limits over whole
chunks with bytes methods, so that a chunk costs a few C calls, not a
coroutine step per line.

Its answers are aiosmtpd's, line for line:

- only CRLF ends a line, so only CRLF "." CRLF ends the body (a bare LF
  before the dot does not: SMTP smuggling);
- a line longer than the line limit (its CRLF counted) refuses the message;
  so does a body over the size limit, counted before the dots are taken out,
  its final dot line not counted; whichever comes first in the body is the
  reason. Either way the body is still read to its end, and not kept;
- each line's leading dot, added by the client, is taken out.
"""

from __future__ import annotations

import enum

END_OF_BODY = b"\r\n.\r\n"
CRLF = b"\r\n"


class Refusal(enum.Enum):
    """Why a body that was read to its end is refused."""

    LINE_TOO_LONG = "line too long"
    TOO_BIG = "too big"


class BodyReader:
    """Feed it the bytes that follow the 354 reply until `feed` says the body ended."""

    def __init__(self, *, size_limit: int | None, line_limit: int) -> None:
        # A CRLF stands before the body, so that a body that is only the end
        # line (".") is found by the same search as every other end.
        self._data = bytearray(CRLF)
        self._line_start = len(CRLF)  # where the line being read starts in _data
        self._size_limit = size_limit
        self._line_limit = line_limit
        self.refusal: Refusal | None = None
        self.body = b""
        # Bytes the client sent after the end of the body: its next commands.
        self.leftover = b""

    def feed(self, chunk: bytes) -> bool:
        """Take the next bytes of the stream; return True once the body has ended."""
        # An end split between two chunks began in the last four bytes.
        searched_from = max(0, len(self._data) - len(END_OF_BODY) + 1)
        self._data += chunk
        end = self._data.find(END_OF_BODY, searched_from)
        # The body runs to the CRLF that ends its last line.
        stop = end + len(CRLF) if end >= 0 else len(self._data)
        if self.refusal is None:
            self.refusal = self._check(stop)
        if end >= 0:
            self.leftover = bytes(self._data[end + len(END_OF_BODY) :])
            if self.refusal is None:
                self.body = bytes(self._data[:stop].replace(b"\r\n.", CRLF)[len(CRLF) :])
            self._data = bytearray()
            return True
        if self.refusal is not None:
            # A refused body is read to its end, not kept: only the bytes
            # that may begin the end line stay.
            del self._data[: -len(END_OF_BODY) + 1]
        return False

    def _check(self, stop: int) -> Refusal | None:
        """Why the lines from the current one up to `stop` refuse the body, if they do."""
        start = self._line_start
        *whole, partial = bytes(self._data[start:stop]).split(CRLF)
        self._line_start = stop - len(partial)
        too_long = self._first_too_long(whole, partial)
        too_big = self._first_over_size(start, whole)
        if too_long is None and too_big is None:
            return None
        # The first line that breaks a limit says why; one that breaks both is too long.
        if too_big is None or (too_long is not None and too_long <= too_big):
            return Refusal.LINE_TOO_LONG
        return Refusal.TOO_BIG

    def _first_too_long(self, whole: list[bytes], partial: bytes) -> int | None:
        """The index of the first line over the limit (len(whole) for the unended one), if any."""
        # A line may hold the limit in all, its CRLF counted. One that has not
        # ended may still lose a CR to its CRLF, so it is over only past the limit.
        longest = self._line_limit - len(CRLF)
        if max(map(len, whole), default=0) > longest:
            return next(n for n, line in enumerate(whole) if len(line) > longest)
        return len(whole) if len(partial) > self._line_limit else None

    def _first_over_size(self, start: int, whole: list[bytes]) -> int | None:
        """The index of the line that takes the body over the size limit, if one does."""
        # The size counts whole lines, before their dots are taken out.
        if self._size_limit is None or self._line_start - len(CRLF) <= self._size_limit:
            return None
        counted = start - len(CRLF)
        for n, line in enumerate(whole):
            counted += len(line) + len(CRLF)
            if counted > self._size_limit:
                return n
        raise AssertionError("the whole lines add up to more than the limit")  # pragma: no cover

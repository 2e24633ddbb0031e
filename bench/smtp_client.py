"""The load client of bench.ingest: a process of its own sending the mail mix over SMTP.

It runs apart from the servers it measures, so that its work does not share
their interpreter (the GIL). Started by `SmtpClient`, it generates the mix
once, then answers requests on its standard input, one JSON object a line:

    {"port": 2525, "connections": 16}  ->  {"seconds": 12.3, "accepted": 10000, "refused": []}

Each connection is a plain asyncio socket that takes the next mail of the mix
when its last one was answered (MAIL, RCPT, DATA, the dot-stuffed bytes), so
the mix arrives roughly in order. A session ends after `PER_SESSION` mails
and the connection is opened again, as real senders do, and as the
gateway's command limit (1,000 per session) requires.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from bench.mail_headers import SUPPORT
from bench.mail_mix import generate_mix

PER_SESSION = 200
# Room for the largest reply line and the largest mail a reader may buffer.
READ_LIMIT = 1 << 20


@dataclass(frozen=True)
class Wire:
    """One mail as the client says it: the envelope sender and the dot-stuffed DATA bytes."""

    sender: bytes
    data: bytes


@dataclass(frozen=True)
class ClientRun:
    """What one request of the client did: wall seconds and the replies to DATA."""

    seconds: float
    accepted: int
    refused: list[str]

    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0


class SmtpClient:
    """The client process, seen from the benchmark: start it, ask for runs, close it."""

    def __init__(self, count: int, seed: int) -> None:
        command = [sys.executable, "-m", "bench.smtp_client", "--n", str(count), f"--seed={seed}"]
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self._ready = False

    @property
    def pid(self) -> int:
        return self._process.pid

    def wait_ready(self) -> None:
        """Wait until the client generated its mails."""
        if not self._ready:
            self._answer()
            self._ready = True

    def run(self, port: int, connections: int) -> ClientRun:
        """Send the whole mix to `port` over `connections` connections; return what it took."""
        self.wait_ready()
        self._send({"port": port, "connections": connections})
        answer = self._answer()
        return ClientRun(answer["seconds"], answer["accepted"], answer["refused"])

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=30)

    def _send(self, request: dict[str, int]) -> None:
        stdin = self._stream(self._process.stdin)
        stdin.write(json.dumps(request) + "\n")
        stdin.flush()

    def _answer(self) -> dict[str, Any]:
        line = self._stream(self._process.stdout).readline()
        if not line:
            raise RuntimeError("the SMTP client process ended")
        return dict(json.loads(line))

    @staticmethod
    def _stream(stream: IO[str] | None) -> IO[str]:
        if stream is None:
            raise RuntimeError("the SMTP client process has no pipe")
        return stream


def wire_mails(count: int, seed: int) -> list[Wire]:
    """Return the mix as the client sends it."""
    mix = generate_mix(count, seed=seed)
    return [Wire(mail.sender.encode("ascii"), _dot_stuffed(mail.data)) for mail in mix]


def _dot_stuffed(data: bytes) -> bytes:
    # RFC 5321 §4.5.2: a line starting with a dot gets another one.
    body = data if data.endswith(b"\r\n") else data + b"\r\n"
    body = body.replace(b"\r\n.", b"\r\n..")
    if body.startswith(b"."):
        body = b"." + body
    return body + b".\r\n"


async def send_all(port: int, connections: int, mails: list[Wire]) -> ClientRun:
    """Send every mail over `connections` connections at once; return the outcome."""
    queue = iter(mails)
    refused: list[str] = []
    started = time.perf_counter()
    counts = await asyncio.gather(*(_connection(port, queue, refused) for _ in range(connections)))
    return ClientRun(time.perf_counter() - started, sum(counts), refused)


async def _connection(port: int, queue: Iterator[Wire], refused: list[str]) -> int:
    accepted, more = 0, True
    while more:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=READ_LIMIT)
        try:
            await _expect(reader, b"220")
            await _command(reader, writer, b"EHLO bench.test", b"250")
            for _ in range(PER_SESSION):
                mail = next(queue, None)
                if mail is None:
                    more = False
                    break
                accepted += await _deliver(reader, writer, mail, refused)
            await _command(reader, writer, b"QUIT", b"221")
        finally:
            writer.close()
    return accepted


async def _deliver(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, mail: Wire, refused: list[str]
) -> int:
    await _command(reader, writer, b"MAIL FROM:<" + mail.sender + b">", b"250")
    await _command(reader, writer, b"RCPT TO:<" + SUPPORT.encode() + b">", b"250")
    await _command(reader, writer, b"DATA", b"354")
    writer.write(mail.data)
    reply = await _reply(reader)
    if reply.startswith(b"250"):
        return 1
    refused.append(reply.decode("ascii", "replace").strip())
    return 0


async def _command(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: bytes, code: bytes
) -> None:
    writer.write(line + b"\r\n")
    await _expect(reader, code)


async def _expect(reader: asyncio.StreamReader, code: bytes) -> None:
    reply = await _reply(reader)
    if not reply.startswith(code):
        raise RuntimeError(f"expected {code.decode()}, got {reply!r}")


async def _reply(reader: asyncio.StreamReader) -> bytes:
    # A multi-line reply ("250-...") ends with its line that has a space after the code.
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("the server closed the connection")
        if line[3:4] != b"-":
            return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, required=True, help="mails in the mix")
    parser.add_argument("--seed", type=int, required=True, help="the mix's random seed")
    options = parser.parse_args()
    mails = wire_mails(options.n, options.seed)
    _answer({"ready": len(mails)})
    for line in sys.stdin:
        request = json.loads(line)
        run = asyncio.run(send_all(request["port"], request["connections"], mails))
        _answer({"seconds": run.seconds, "accepted": run.accepted, "refused": run.refused[:20]})


def _answer(document: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(document) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

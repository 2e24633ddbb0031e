"""The SMTP door under the issue's load, over real sockets, with the real fsyncing spool.

Every client connects from its own loopback address (Linux routes all of
127/8 to lo), so the server runs with its default limits, the per-client
connection limit included. The clients are asyncio streams. Where a latency
is measured against the issue's bound, the door and the clients each run in
a fresh process of their own, as a gateway and its senders do; elsewhere the
server runs in a thread of the test's process and shares its interpreter
lock with the clients, which makes those timings pessimistic.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from helpdesk.db import SessionFactory
from helpdesk.settings import Settings
from mailgate.limits import SessionLimits
from mailgate.spool import Spool
from tests.mailgate.smtp_helpers import (
    MAILBOX,
    MESSAGE,
    SENDER,
    AsyncClient,
    loopback,
    serving,
    serving_apart,
)

pytestmark = pytest.mark.slow

BIG = MESSAGE + (b"x" * 998 + b"\r\n") * 100  # about 100 KB
# File descriptors the busiest test needs: both ends of 1,201 connections, and room.
FILES_NEEDED = 4096
Behaviour = Callable[[AsyncClient], Coroutine[Any, Any, None]]


@pytest.fixture(autouse=True)
def enough_files() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < FILES_NEEDED:
        pytest.fail(f"these tests need {FILES_NEEDED} open files; `ulimit -Hn` is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, FILES_NEEDED), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def greeted(port: int, source: str) -> AsyncClient:
    client = await AsyncClient.connect(port, source)
    assert (await client.reply()).startswith(b"220 ")
    return client


async def in_data(port: int, source: str) -> AsyncClient:
    """A client that has greeted, named a sender and a recipient, and said DATA."""
    client = await greeted(port, source)
    for line in ("EHLO client.example", f"MAIL FROM:<{SENDER}>", f"RCPT TO:<{MAILBOX}>"):
        assert (await client.command(line)).startswith(b"250")
    assert (await client.command("DATA")).startswith(b"354")
    return client


async def send_timed(port: int, source: str, messages: int) -> list[float]:
    """Send `messages` big messages on one connection; seconds from DATA's end to 250."""
    client = await greeted(port, source)
    seconds = []
    try:
        assert (await client.command("EHLO client.example")).startswith(b"250")
        for _ in range(messages):
            assert (await client.command(f"MAIL FROM:<{SENDER}>")).startswith(b"250")
            assert (await client.command(f"RCPT TO:<{MAILBOX}>")).startswith(b"250")
            assert (await client.command("DATA")).startswith(b"354")
            # The clock starts once the final dot is handed to the socket.
            await client.send(BIG + b".\r\n")
            started = time.monotonic()
            assert (await client.reply()).startswith(b"250 2.0.0")
            seconds.append(time.monotonic() - started)
    finally:
        await client.close()
    return seconds


def two_hundred_senders(port: int) -> list[float]:
    """Send 10 big messages from each of 200 clients; every DATA-to-250 time, sorted."""

    async def run() -> list[list[float]]:
        return await asyncio.gather(*(send_timed(port, loopback(n), 10) for n in range(200)))

    return sorted(second for run in asyncio.run(run()) for second in run)


def test_two_hundred_senders_of_ten_big_messages_each_hear_250_within_a_second(
    smtp_settings: Settings, sessions: SessionFactory
) -> None:
    # The door and the senders run in processes of their own, as a gateway
    # and real senders do: what is timed is the door alone.
    spawn = multiprocessing.get_context("spawn")
    database_url = sessions.kw["bind"].url.render_as_string(hide_password=False)
    with (
        serving_apart(smtp_settings, database_url) as port,
        ProcessPoolExecutor(1, spawn) as senders,
    ):
        seconds = senders.submit(two_hundred_senders, port).result(timeout=300)
    stored = Spool(smtp_settings.spool_dir).pending()
    assert len(stored) == 2000
    assert stored[-1].read_message() == BIG
    p99 = seconds[int(len(seconds) * 0.99) - 1]
    print(f"end of DATA to 250: median {seconds[1000]:.3f} s, p99 {p99:.3f} s")
    assert p99 < 1.0


async def trickle(client: AsyncClient, lines: int, pause: float) -> bytes:
    """Send a body a line at a time, `pause` seconds apart; return the reply to its end."""
    for n in range(lines):
        await client.send(f"line {n} of a slow message\r\n".encode())
        await asyncio.sleep(pause)
    return await client.command(".")


async def one_normal_sender(port: int, source: str) -> tuple[float, float]:
    """Seconds from connecting to the greeting, and to the 250 for a small message."""
    started = time.monotonic()
    client = await greeted(port, source)
    greeted_after = time.monotonic() - started
    try:
        for line in ("EHLO client.example", f"MAIL FROM:<{SENDER}>", f"RCPT TO:<{MAILBOX}>"):
            assert (await client.command(line)).startswith(b"250")
        assert (await client.command("DATA")).startswith(b"354")
        await client.send(MESSAGE + b".\r\n")
        assert (await client.reply()).startswith(b"250 2.0.0")
    finally:
        await client.close()
    return greeted_after, time.monotonic() - started


def test_a_thousand_idle_and_two_hundred_trickling_clients_keep_no_sender_waiting(
    smtp_settings: Settings, sessions: SessionFactory
) -> None:
    async def run(port: int) -> tuple[tuple[float, float], list[bytes]]:
        # All at once: more than asyncio's default listen backlog of 100.
        idle = await asyncio.gather(*(greeted(port, loopback(n)) for n in range(1000)))
        slow = await asyncio.gather(*(in_data(port, loopback(1000 + n)) for n in range(200)))
        # A line every half second, for longer than the normal sender needs.
        trickling = asyncio.gather(*(trickle(client, 8, 0.5) for client in slow))
        await asyncio.sleep(0.5)
        timings = await one_normal_sender(port, loopback(1200))
        replies = await trickling
        for client in idle + slow:
            await client.close()
        return timings, replies

    with serving(smtp_settings, sessions) as port:
        (greeted_after, accepted_after), replies = asyncio.run(run(port))
    print(f"normal sender: 220 after {greeted_after:.3f} s, 250 after {accepted_after:.3f} s")
    assert greeted_after < 2.0
    assert accepted_after < 5.0
    assert all(reply.startswith(b"250 2.0.0") for reply in replies)
    assert len(Spool(smtp_settings.spool_dir).pending()) == 201


async def idle(client: AsyncClient) -> None:
    await asyncio.Event().wait()


async def chatty(client: AsyncClient) -> None:
    while True:
        await client.send(b"NOOP\r\n")
        await asyncio.sleep(0.2)


async def trickling(client: AsyncClient) -> None:
    await client.send(
        f"EHLO client.example\r\nMAIL FROM:<{SENDER}>\r\nRCPT TO:<{MAILBOX}>\r\nDATA\r\n".encode()
    )
    while True:
        await asyncio.sleep(0.2)
        await client.send(b"one more line\r\n")


async def lifetime(
    port: int, source: str, behave: Behaviour, limit: float
) -> tuple[float, bytes | None]:
    """Seconds until the server closed a client that behaves so, and all the server said.

    None for what was said when the server reset the connection.
    """
    client = await AsyncClient.connect(port, source)
    started = time.monotonic()
    behaviour = asyncio.create_task(behave(client))
    try:
        said = await asyncio.wait_for(client.closed_by_server(), limit)
    finally:
        behaviour.cancel()
        await asyncio.gather(behaviour, return_exceptions=True)
        await client.close()
    return time.monotonic() - started, said


BEHAVIOURS = [idle, chatty, trickling] * 100
SESSION_EXPIRED = b"421 4.4.2 Session lasted too long, closing\r\n"


def test_no_session_outlives_its_deadline_whatever_the_client_does(
    smtp_settings: Settings, sessions: SessionFactory
) -> None:
    # The idle timeout is longer than the deadline, so the deadline alone ends them.
    limits = SessionLimits(idle_timeout=60.0, session_deadline=2.0)
    slack = 1.0

    async def run(port: int) -> list[tuple[float, bytes | None]]:
        return await asyncio.gather(
            *(
                lifetime(port, loopback(n), behave, limits.session_deadline + 2 * slack)
                for n, behave in enumerate(BEHAVIOURS)
            )
        )

    with serving(smtp_settings, sessions, limits=limits) as port:
        ends = asyncio.run(run(port))
    longest = max(seconds for seconds, _ in ends)
    print(f"longest session: {longest:.3f} s")
    assert longest < limits.session_deadline + slack
    for behave, (_, said) in zip(BEHAVIOURS, ends, strict=True):
        if behave is idle:
            assert said is not None
            assert said.endswith(SESSION_EXPIRED)
        else:
            # Closing on a client's unread bytes resets the connection (that
            # is TCP), and the 421 may be lost with it.
            assert said is None or said.endswith(SESSION_EXPIRED)

"""Faults over real processes and sockets: a gateway killed, the database away, a full spool."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import smtplib
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from helpdesk.db import SessionFactory, make_engine, make_session_factory, session_scope
from helpdesk.models import Mailbox, Message, RawMessage
from helpdesk.principal import Operator
from helpdesk.services.mailboxes import credentials_box, update_mailbox
from mailgate.recipients import RECIPIENTS_TTL_SECONDS
from mailgate.spool import Spool, SpoolEntry
from tests.factories import NOW
from tests.mailgate.desk import mail
from tests.mailgate.dovecot import dovecot_server
from tests.mailgate.smtp_helpers import MAILBOX, SENDER, add_mailbox, mailbox_database
from tests.servers import (
    PostgresServer,
    free_port,
    migrated_database,
    private_postgres,
    wait_until,
)

pytestmark = pytest.mark.slow

HELPDESK = str(Path(sys.executable).parent / "helpdesk")
SECRET = "test-secret-key"
TRY_AGAIN = (451, "4.3.0")


class Door:
    """A `helpdesk` door command in a process of its own; what it logs goes to a file."""

    def __init__(self, env: dict[str, str], command: str, log: Path) -> None:
        self.env = env
        self.command = command
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, port: int | None = None, file_size_limit: int | None = None) -> None:
        """Start the command, and wait until `port` takes connections."""
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [HELPDESK, self.command],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                preexec_fn=None if file_size_limit is None else _limit_files(file_size_limit),
            )
        if port is not None:
            self._wait_for(port)

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or moved on."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def _wait_for(self, port: int) -> None:
        assert self.process is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text(errors="replace")
            with contextlib.suppress(OSError), smtplib.SMTP("127.0.0.1", port, timeout=2):
                return
            time.sleep(0.05)
        raise TimeoutError(f"helpdesk {self.command} did not listen on {port}")


def _limit_files(size: int) -> Callable[[], None]:
    def limit() -> None:
        # A write past the limit then fails with EFBIG instead of killing the
        # process with SIGXFSZ.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


class Site:
    """One installation: its environment, database, spool, and the doors started on it."""

    def __init__(self, tmp_path: Path, database_url: str, **variables: str) -> None:
        self.port = free_port()
        self.var = tmp_path / "var"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
        self.env.update(
            HELPDESK_VAR_DIR=str(self.var),
            HELPDESK_DATABASE_URL=database_url,
            HELPDESK_SECRET_KEY=SECRET,
            HELPDESK_SMTP_LISTEN=f"127.0.0.1:{self.port}",
            **variables,
        )
        self.spool = Spool(Path(self.env.get("HELPDESK_SPOOL_DIR", self.var / "spool")))
        self.engine = make_engine(database_url)
        self.sessions = make_session_factory(self.engine)
        self.doors: list[Door] = []

    def door(self, command: str = "smtp") -> Door:
        door = Door(self.env, command, self.var.parent / f"{command}-{len(self.doors)}.log")
        self.doors.append(door)
        return door

    def stored(self, message_id: str) -> tuple[int, int]:
        """How many raw messages and how many ticket messages carry this Message-ID."""
        bare = message_id.strip("<>")
        with session_scope(self.sessions) as session:
            raws = session.scalar(select(func.count()).where(RawMessage.message_id == bare))
            messages = session.scalar(select(func.count()).where(Message.message_id == bare))
        return raws or 0, messages or 0

    def waiting(self) -> list[SpoolEntry]:
        """Spool entries not processed yet."""
        return self.spool.entries("new") + self.spool.entries("processing")

    def close(self) -> None:
        for door in self.doors:
            door.stop()
        self.engine.dispose()


@pytest.fixture
def site(tmp_path: Path, sqlite_template: Path) -> Iterator[Site]:
    """An installation on SQLite with the mailbox MAILBOX."""
    with mailbox_database(sqlite_template, tmp_path) as _:
        place = Site(tmp_path, f"sqlite:///{tmp_path / 'helpdesk.db'}")
        try:
            yield place
        finally:
            place.close()


def wire(message_id: str, **fields: Any) -> bytes:
    """A mail to MAILBOX as it goes over the wire, every line ending in CRLF."""
    return mail(to=MAILBOX, message_id=message_id, **fields).replace(b"\n", b"\r\n")


def reply(port: int, *steps: tuple[str, str], data: bytes | None = None) -> tuple[int, str]:
    """Run the commands (and DATA, given `data`); return the first refusal or the last reply."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo()
        code, said = 0, b""
        for command, argument in steps:
            code, said = client.docmd(command, argument)
            if code >= 400:
                return code, said.decode()
        if data is not None:
            code, said = client.data(data)
        return code, said.decode()


def envelope_to(address: str = MAILBOX) -> tuple[tuple[str, str], ...]:
    return (("MAIL", f"FROM:<{SENDER}>"), ("RCPT", f"TO:<{address}>"))


# --- killed -9 ---------------------------------------------------------------


def test_a_gateway_killed_the_moment_it_said_250_makes_the_message_one_ticket_message(
    site: Site,
) -> None:
    door = site.door()
    door.start(port=site.port)
    message_id = "<killed-after-250@client.example>"
    client = smtplib.SMTP("127.0.0.1", site.port, timeout=30)
    client.ehlo()
    client.mail(SENDER)
    client.rcpt(MAILBOX)
    code, _ = client.data(wire(message_id))
    door.kill()
    client.close()
    assert code == 250
    # What the 250 promised is already a ticket message, or waits in the spool.
    assert site.stored(message_id)[1] == 1 or len(site.waiting()) == 1
    door.start(port=site.port)
    wait_until(lambda: site.stored(message_id) == (1, 1), 60, "one ticket message")
    wait_until(lambda: not site.waiting(), 30, "the spool drained")
    assert site.stored(message_id) == (1, 1)
    assert len(site.spool.entries("done")) == 1


def test_a_gateway_killed_in_the_middle_of_processing_stores_every_message_exactly_once(
    site: Site,
) -> None:
    door = site.door()
    door.start(port=site.port)
    ids = [f"<bulk-{n}@client.example>" for n in range(400)]
    # Given 400 messages accepted over 4 connections, faster than they are processed
    _send_over_four_connections(site.port, ids)
    # When the gateway is killed while it holds claimed entries
    wait_until(lambda: bool(site.spool.entries("processing")), 60, "entries in processing/")
    door.kill()
    stranded = {entry.name for entry in site.spool.entries("processing")}
    assert stranded
    # Then after a restart each message is stored exactly once
    door.start(port=site.port)
    wait_until(lambda: _messages(site) == len(ids), 180, "every message stored")
    wait_until(lambda: not site.waiting(), 60, "the spool drained")
    with session_scope(site.sessions) as session:
        per_id = select(Message.message_id, func.count()).group_by(Message.message_id)
        counts = {message_id: count for message_id, count in session.execute(per_id)}
        raws = session.scalar(select(func.count()).select_from(RawMessage))
    assert counts == {message_id.strip("<>"): 1 for message_id in ids}
    assert raws == len(ids)
    # The entries it left were taken back, the attempt counted, and processed again.
    retried = {entry.name for entry in site.spool.entries("done") if entry.attempts == 1}
    assert retried == stranded


def _send_over_four_connections(port: int, ids: list[str]) -> None:
    senders = [threading.Thread(target=_send_all, args=(port, ids[n::4])) for n in range(4)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()


def _send_all(port: int, ids: list[str]) -> None:
    # Each from a sender of its own: none is held by the hourly limit per sender.
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        for message_id in ids:
            sender = f"{message_id.strip('<>').split('@')[0]}@client.example"
            client.sendmail(sender, [MAILBOX], wire(message_id, sender=sender, subject=message_id))


def _messages(site: Site) -> int:
    with session_scope(site.sessions) as session:
        return session.scalar(select(func.count()).select_from(Message)) or 0


# --- the drain, a process of its own ------------------------------------------


def drains_of(pid: int) -> list[int]:
    """The drain processes a door started: its children that run multiprocessing's spawn."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # The field after the command's name, in parentheses, is the state, then the parent.
            parent = int(stat.read_text().rpartition(")")[2].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
            if parent == pid and b"spawn_main" in command:
                found.append(int(stat.parent.name))
    return found


def one_drain(door: Door, other_than: int | None = None) -> int:
    """Wait until the door has a single drain process, not `other_than`; return its pid."""
    assert door.process is not None
    pid = door.process.pid
    wait_until(
        lambda: len(drains := drains_of(pid)) == 1 and drains[0] != other_than,
        60,
        "one drain process beside the door",
    )
    return drains_of(pid)[0]


def alive(pid: int) -> bool:
    with contextlib.suppress(OSError):
        # A zombie has died; its parent only did not reap it yet.
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    return False


def test_a_drain_killed_mid_batch_is_started_again_and_the_door_answers_meanwhile(
    site: Site,
) -> None:
    door = site.door()
    door.start(port=site.port)
    drain = one_drain(door)
    ids = [f"<drain-killed-{n}@client.example>" for n in range(300)]
    _send_over_four_connections(site.port, ids)
    # When the drain process dies while it holds claimed entries
    wait_until(lambda: bool(site.spool.entries("processing")), 60, "entries in processing/")
    os.kill(drain, signal.SIGKILL)
    stranded = {entry.name for entry in site.spool.entries("processing")}
    assert stranded
    # Then the door, alive, still takes mail,
    late = "<while-the-drain-restarts@client.example>"
    assert reply(site.port, *envelope_to(), data=wire(late))[0] == 250
    # a new drain process starts, and every message is stored exactly once
    assert one_drain(door, other_than=drain) != drain
    everything = len(ids) + 1
    wait_until(lambda: _messages(site) == everything, 180, "every message stored")
    wait_until(lambda: not site.waiting(), 60, "the spool drained")
    with session_scope(site.sessions) as session:
        raws = session.scalar(select(func.count()).select_from(RawMessage))
        distinct = session.scalar(select(func.count(func.distinct(Message.message_id))))
    assert (raws, distinct) == (everything, everything)
    # The entries the dead drain held were taken back, the attempt counted.
    retried = {entry.name for entry in site.spool.entries("done") if entry.attempts == 1}
    assert retried == stranded
    assert "the ingest process exited (killed by SIGKILL)" in door.log.read_text()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_door_asked_to_stop_stops_its_drain_too(site: Site, signum: signal.Signals) -> None:
    door = site.door()
    door.start(port=site.port)
    drain = one_drain(door)
    message_id = f"<before-{signum.name}@client.example>"
    assert reply(site.port, *envelope_to(), data=wire(message_id))[0] == 250
    wait_until(lambda: site.stored(message_id) == (1, 1), 60, "the message stored")
    assert door.process is not None
    # A service manager signals the door; Ctrl-C in a terminal signals its
    # whole process group, the drain too.
    door.process.send_signal(signum)
    if signum == signal.SIGINT:
        os.kill(drain, signum)
    assert door.process.wait(timeout=90) == 0
    assert not alive(drain)
    assert "the ingest process exited" not in door.log.read_text()


def test_a_door_killed_takes_its_drain_with_it(site: Site) -> None:
    door = site.door()
    door.start(port=site.port)
    drain = one_drain(door)
    door.kill()
    # No orphan drain keeps filing mail from a spool nobody serves.
    wait_until(lambda: not alive(drain), 10, "the drain process gone")


# --- the database away -------------------------------------------------------


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test alone, so that it may be stopped and started."""
    with private_postgres("helpdesk-pg-faults-") as server:
        yield server


@pytest.mark.postgres
def test_the_database_away_answers_451_and_mail_accepted_meanwhile_lands_once_it_is_back(
    own_postgres: PostgresServer, tmp_path: Path
) -> None:
    database_url = migrated_database(own_postgres, "faults")
    site = Site(tmp_path, database_url)
    try:
        add_mailbox(site.sessions)
        site.door().start(port=site.port)
        early, late = "<during-outage@client.example>", "<after-outage@client.example>"
        with smtplib.SMTP("127.0.0.1", site.port, timeout=30) as client:
            # Given a sender whose recipient was accepted, and then the database stops
            client.ehlo()
            client.mail(SENDER)
            client.rcpt(MAILBOX)
            own_postgres.stop()
            # When the message comes: it is stored, the database is not needed for that
            assert client.data(wire(early))[0] == 250
        # Once the gateway's list of mailboxes is too old to trust, a new sender's
        # recipient cannot be looked up: come back later, not "no such user"
        time.sleep(RECIPIENTS_TTL_SECONDS)
        code, answer = reply(site.port, *envelope_to())
        assert (code, answer.split()[0]) == TRY_AGAIN
        time.sleep(1.0)
        assert [entry.read_message() for entry in site.waiting()] == [wire(early)]
        own_postgres.start()
        # The same sender's retry is accepted once the database is back
        assert reply(site.port, *envelope_to(), data=wire(late)) == (250, "2.0.0 Message accepted")
        both = (early, late)
        wait_until(lambda: all(site.stored(m) == (1, 1) for m in both), 60, "both stored")
        wait_until(lambda: not site.waiting(), 30, "the spool drained")
    finally:
        site.close()


# --- a full spool ------------------------------------------------------------

LIMIT = 100_000  # HELPDESK_MAX_MESSAGE_BYTES: MAIL FROM needs 150,000 bytes free


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A file system of 1 MiB of its own (a tmpfs), for the spool to fill up."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs CAP_SYS_ADMIN): {mounted.stderr}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], capture_output=True, check=False)


@pytest.fixture
def full_site(tmp_path: Path, sqlite_template: Path, small_disk: Path) -> Iterator[Site]:
    """An installation whose spool lives on the small file system."""
    with mailbox_database(sqlite_template, tmp_path) as _:
        place = Site(
            tmp_path,
            f"sqlite:///{tmp_path / 'helpdesk.db'}",
            HELPDESK_SPOOL_DIR=str(small_disk / "spool"),
            HELPDESK_MAX_MESSAGE_BYTES=str(LIMIT),
        )
        try:
            place.door().start(port=place.port)
            yield place
        finally:
            place.close()


def fill(disk: Path, leave: int) -> Path:
    """Write a file that leaves about `leave` bytes of the disk free."""
    stats = os.statvfs(disk)
    filler = disk / "filler"
    filler.write_bytes(b"\0" * max(0, stats.f_bavail * stats.f_frsize - leave))
    return filler


def test_a_spool_disk_short_of_room_for_one_more_large_message_answers_452_at_mail_from(
    full_site: Site, small_disk: Path
) -> None:
    filler = fill(small_disk, leave=LIMIT)
    code, answer = reply(full_site.port, *envelope_to())
    assert (code, answer.split()[0]) == (452, "4.3.1")
    filler.unlink()
    message_id = "<after-room@client.example>"
    assert reply(full_site.port, *envelope_to(), data=wire(message_id))[0] == 250
    wait_until(lambda: full_site.stored(message_id) == (1, 1), 60, "stored once room is back")


def test_a_spool_disk_that_fills_up_during_the_session_answers_451_and_keeps_nothing(
    full_site: Site, small_disk: Path
) -> None:
    message_id = "<disk-full@client.example>"
    data = wire(message_id, body=("x" * 70 + "\n") * 850)
    with smtplib.SMTP("127.0.0.1", full_site.port, timeout=30) as client:
        client.ehlo()
        assert client.mail(SENDER)[0] == 250
        assert client.rcpt(MAILBOX)[0] == 250
        # Another writer takes the room between MAIL FROM and the end of DATA.
        filler = fill(small_disk, leave=20_000)
        code, answer = client.data(data)
    assert (code, answer.decode().split()[0]) == TRY_AGAIN
    assert full_site.waiting() == []
    assert list((small_disk / "spool" / "tmp").iterdir()) == []
    # The sender tries again once there is room: accepted, and stored once.
    filler.unlink()
    assert reply(full_site.port, *envelope_to(), data=data)[0] == 250
    wait_until(lambda: full_site.stored(message_id) == (1, 1), 60, "stored after the retry")


def test_a_spool_file_that_cannot_grow_answers_451_and_keeps_nothing(site: Site) -> None:
    # Where no file system can be mounted, the kernel still refuses a write:
    # here past the process's file size limit (EFBIG), as a full disk refuses it.
    door = site.door()
    door.start(port=site.port, file_size_limit=4 * 1024 * 1024)
    message_id = "<too-large-to-write@client.example>"
    big = wire(message_id, body=("y" * 76 + "\n") * 70_000)
    code, answer = reply(site.port, *envelope_to(), data=big)
    assert (code, answer.split()[0]) == TRY_AGAIN
    assert site.waiting() == []
    assert list((site.spool.root / "tmp").iterdir()) == []
    small = "<small-enough@client.example>"
    assert reply(site.port, *envelope_to(), data=wire(small))[0] == 250
    wait_until(lambda: site.stored(small) == (1, 1), 60, "the small message stored")


# --- the same message by two doors ---------------------------------------------


@pytest.mark.dovecot
def test_the_same_message_by_smtp_and_by_imap_is_stored_once(site: Site) -> None:
    with dovecot_server({"support": "support-secret"}) as imap:
        _fetch_from(site.sessions, imap.url("support", "INBOX"), "support-secret")
        smtp_door, imap_door = site.door("smtp"), site.door("imap")
        smtp_door.start(port=site.port)
        imap_door.start()
        message_id = "<both-doors@client.example>"
        data = wire(message_id)
        assert reply(site.port, *envelope_to(), data=data)[0] == 250
        # The mailbox's provider delivered the same message, with its own trace header.
        with imap.client("support", "support-secret") as client:
            client.append("INBOX", b"Delivered-To: " + MAILBOX.encode() + b"\r\n" + data)
        wait_until(lambda: len(site.spool.entries("done")) == 2, 60, "both copies processed")
        assert [entry.read_envelope().transport for entry in _by_arrival(site)] == [
            "smtp",
            "imap",
        ]
        assert site.stored(message_id) == (1, 1)


def _fetch_from(sessions: SessionFactory, url: str, password: str) -> None:
    box = credentials_box(SECRET)
    with session_scope(sessions) as session:
        mailbox_id = session.scalars(select(Mailbox.id).where(Mailbox.address == MAILBOX)).one()
        update_mailbox(
            session, Operator(), mailbox_id, imap_url=url, imap_password=password, box=box, now=NOW
        )


def _by_arrival(site: Site) -> list[SpoolEntry]:
    return sorted(site.spool.entries("done"), key=lambda entry: entry.name)

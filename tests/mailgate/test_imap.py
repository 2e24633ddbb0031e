"""The IMAP poller against a real dovecot: nothing skipped, nothing repeated, nothing hidden."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from email.parser import BytesHeaderParser

import pytest
from sqlalchemy import func, select

from helpdesk.clock import utcnow
from helpdesk.errors import NotFound
from helpdesk.models import Mailbox, MailboxHealth, Message
from helpdesk.principal import Operator
from helpdesk.services.mailbox_health import (
    Checkpoint,
    fetch_health,
    fetched_mailboxes,
    read_checkpoint,
)
from helpdesk.services.mailboxes import credentials_box, update_mailbox
from helpdesk.services.platform import change_tenant
from mailgate.drain import drain_spool
from mailgate.imap import FetchError, ImapPoller
from mailgate.imap_fetch import FETCHED_KEYWORD
from mailgate.spool import Spool
from tests.factories import NOW
from tests.mailgate.desk import Desk, mail
from tests.mailgate.dovecot import CuttingProxy, Dovecot, dovecot_server
from tests.servers import wait_until

pytestmark = pytest.mark.dovecot

USERS = {"support": "support-secret", "billing": "billing-secret"}


@pytest.fixture
def imap() -> Iterator[Dovecot]:
    with dovecot_server(USERS) as server:
        yield server


def fetch_from(desk: Desk, address: str, url: str, password: str) -> int:
    """Give the mailbox an IMAP URL and password, as an admin does; return its id."""
    mailbox_id = int(
        desk.run(lambda s: s.scalar(select(Mailbox.id).where(Mailbox.address == address)))
    )
    box = credentials_box(desk.settings.secret_key)
    desk.run(
        lambda s: update_mailbox(
            s, Operator(), mailbox_id, imap_url=url, imap_password=password, box=box, now=NOW
        )
    )
    return mailbox_id


def poller(
    desk: Desk, spool: Spool, *, poll_interval: float = 0.2, rescan_interval: float = 60.0
) -> ImapPoller:
    return ImapPoller(
        desk.settings,
        desk.sessions,
        spool,
        poll_interval=poll_interval,
        max_backoff=0.5,
        rescan_interval=rescan_interval,
    )


@contextmanager
def polling(desk: Desk, spool: Spool, **options: float) -> Iterator[ImapPoller]:
    """Run the poller's threads for the block; stop them after it."""
    running = poller(desk, spool, **options)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def fetching(mailbox_id: int) -> bool:
    """Whether a poller's worker for the mailbox is running (its threads are named after it)."""
    name = f"helpdesk-imap-{mailbox_id}"
    return any(thread.name == name and thread.is_alive() for thread in threading.enumerate())


def set_acme_active(desk: Desk, active: bool) -> None:
    """Suspend or resume the tenant acme, as a platform admin does."""
    desk.run(lambda s: change_tenant(s, Operator(), "acme", active=active, now=NOW))


def append(
    imap: Dovecot, user: str, *messages: bytes, folder: str = "INBOX", seen: bool = False
) -> None:
    with imap.client(user, USERS[user]) as client:
        for data in messages:
            client.append(folder, data, flags=[b"\\Seen"] if seen else [])


def spooled(spool: Spool) -> list[str]:
    """Return the Message-IDs of the stored messages, in the order they were stored."""
    parser = BytesHeaderParser()
    return [str(parser.parsebytes(entry.read_message())["Message-ID"]) for entry in spool.pending()]


def checkpoint(desk: Desk, mailbox_id: int) -> Checkpoint:
    return desk.run(lambda s: read_checkpoint(s, Operator(), mailbox_id))  # type: ignore[no-any-return]


def health(desk: Desk, mailbox_id: int) -> MailboxHealth:
    found = desk.run(lambda s: s.get(MailboxHealth, mailbox_id))
    assert found is not None
    return found  # type: ignore[no-any-return]


def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    wait_until(condition, timeout, "the condition came true")


def test_new_mail_is_fetched_into_the_spool_and_the_checkpoint_advances(
    desk: Desk, imap: Dovecot, spool: Spool
) -> None:
    support = fetch_from(desk, "support@acme.test", imap.url("support"), USERS["support"])
    append(imap, "support", mail(message_id="<a@x>"), mail(message_id="<b@x>"))
    assert poller(desk, spool).poll_once(support) == 2
    assert spooled(spool) == ["<a@x>", "<b@x>"]
    envelope = spool.pending()[0].read_envelope()
    assert (envelope.rcpt_tos, envelope.transport) == (("support@acme.test",), "imap")
    assert checkpoint(desk, support).last_uid == 2
    assert health(desk, support).last_success_at is not None
    with imap.client("support", USERS["support"]) as client:
        client.select_folder("INBOX")
        flags = client.get_flags([1, 2])
    # Marked as ours, and still unread for the people who share the mailbox.
    assert all(FETCHED_KEYWORD in flags[uid] and b"\\Seen" not in flags[uid] for uid in (1, 2))


def test_a_message_another_client_already_read_is_fetched_all_the_same(
    desk: Desk, imap: Dovecot, spool: Spool
) -> None:
    support = fetch_from(desk, "support@acme.test", imap.url("support"), USERS["support"])
    append(imap, "support", mail(message_id="<read@x>"), seen=True)
    append(imap, "support", mail(message_id="<opened@x>"))
    with imap.client("support", USERS["support"]) as reader:
        reader.select_folder("INBOX")
        reader.fetch([2], ["BODY[]"])  # a mail program opening it marks it read
    assert poller(desk, spool).poll_once(support) == 2
    assert spooled(spool) == ["<read@x>", "<opened@x>"]


def test_a_new_poller_after_a_restart_neither_skips_nor_repeats(
    desk: Desk, imap: Dovecot, spool: Spool
) -> None:
    support = fetch_from(desk, "support@acme.test", imap.url("support"), USERS["support"])
    append(imap, "support", mail(message_id="<1@x>"), mail(message_id="<2@x>"))
    assert poller(desk, spool).poll_once(support) == 2
    append(imap, "support", mail(message_id="<3@x>"))
    restarted = poller(desk, spool)
    assert restarted.poll_once(support) == 1
    assert restarted.poll_once(support) == 0
    assert spooled(spool) == ["<1@x>", "<2@x>", "<3@x>"]


def test_a_uidvalidity_change_fetches_again_and_the_pipeline_stores_each_message_once(
    desk: Desk, imap: Dovecot, spool: Spool
) -> None:
    support = fetch_from(
        desk, "support@acme.test", imap.url("support", "Support"), USERS["support"]
    )
    first, second = mail(message_id="<u1@x>"), mail(message_id="<u2@x>", subject="Scanner jam")
    with imap.client("support", USERS["support"]) as client:
        client.create_folder("Support")
    append(imap, "support", first, second, folder="Support")
    assert poller(desk, spool).poll_once(support) == 2
    old = checkpoint(desk, support).uidvalidity
    with imap.client("support", USERS["support"]) as client:
        client.delete_folder("Support")
        client.create_folder("Support")
    third = mail(message_id="<u3@x>", subject="Fax smokes")
    append(imap, "support", first, second, third, folder="Support")
    assert poller(desk, spool).poll_once(support) == 3
    assert checkpoint(desk, support) != Checkpoint(old, 2)
    assert drain_spool(spool, desk.ingest) == 5
    assert len(desk.tickets(desk.acme)) == 3
    assert desk.run(lambda s: s.scalar(select(func.count()).select_from(Message))) == 3


def test_a_connection_dropped_mid_fetch_loses_nothing_and_repeats_nothing(
    desk: Desk, imap: Dovecot, spool: Spool
) -> None:
    proxy = CuttingProxy(imap.port, b"CUT-THE-LINE-HERE")
    url = f"imap://support@127.0.0.1:{proxy.port}/"
    support = fetch_from(desk, "support@acme.test", url, USERS["support"])
    cut = mail(message_id="<c2@x>", body="first half\n" + "CUT-THE-LINE-HERE\n" + "x" * 5000)
    append(imap, "support", mail(message_id="<c1@x>"), cut, mail(message_id="<c3@x>"))
    try:
        with pytest.raises(FetchError):
            poller(desk, spool).poll_once(support)
        assert proxy.cut.is_set()
        assert spooled(spool) == ["<c1@x>"]
        assert checkpoint(desk, support).last_uid == 1
        assert health(desk, support).last_error
        assert poller(desk, spool).poll_once(support) == 2
    finally:
        proxy.close()
    assert spooled(spool) == ["<c1@x>", "<c2@x>", "<c3@x>"]
    assert health(desk, support).last_error is None


def test_a_mailbox_with_a_wrong_password_records_its_error_and_does_not_stop_another(
    desk: Desk, imap: Dovecot, spool: Spool
) -> None:
    support = fetch_from(desk, "support@acme.test", imap.url("support"), "not-the-password")
    billing = fetch_from(desk, "billing@acme.test", imap.url("billing"), USERS["billing"])
    # No polling to speak of: the mail announced while we IDLE is what arrives.
    with polling(desk, spool, poll_interval=600):
        eventually(lambda: checkpoint(desk, billing).uidvalidity is not None)
        append(imap, "billing", mail(message_id="<b1@x>", to="billing@acme.test"))
        eventually(lambda: spooled(spool) == ["<b1@x>"])
        eventually(lambda: bool(health(desk, support).last_error))
    assert "LoginError" in (health(desk, support).last_error or "")
    rows = desk.run(lambda s: fetch_health(s, desk.acme))
    silent = [row for row in rows if row.silent(threshold=timedelta(hours=1), now=utcnow())]
    assert [row.mailbox.id for row in silent] == [support]


def test_the_running_poller_reconnects_after_the_server_comes_back(
    desk: Desk, imap: Dovecot, spool: Spool
) -> None:
    support = fetch_from(desk, "support@acme.test", imap.url("support"), USERS["support"])
    append(imap, "support", mail(message_id="<r1@x>"))
    with polling(desk, spool):
        eventually(lambda: spooled(spool) == ["<r1@x>"])
        imap.stop()
        eventually(lambda: bool(health(desk, support).last_error))
        imap.start()
        append(imap, "support", mail(message_id="<r2@x>"))
        eventually(lambda: spooled(spool) == ["<r1@x>", "<r2@x>"])


def test_without_idle_the_poller_polls_at_its_interval(desk: Desk, spool: Spool) -> None:
    with dovecot_server(USERS, idle=False) as plain:
        support = fetch_from(desk, "support@acme.test", plain.url("support"), USERS["support"])
        with plain.client("support", USERS["support"]) as client:
            assert not client.has_capability("IDLE")
        with polling(desk, spool, poll_interval=0.2):
            eventually(lambda: checkpoint(desk, support).uidvalidity is not None)
            append(plain, "support", mail(message_id="<p1@x>"))
            eventually(lambda: spooled(spool) == ["<p1@x>"])


def test_a_mailbox_switched_off_while_the_poller_runs_is_fetched_no_more(
    desk: Desk, imap: Dovecot, spool: Spool
) -> None:
    support = fetch_from(desk, "support@acme.test", imap.url("support"), USERS["support"])
    append(imap, "support", mail(message_id="<on@x>"))
    with polling(desk, spool, poll_interval=600, rescan_interval=0.2):
        eventually(lambda: spooled(spool) == ["<on@x>"])
        desk.run(lambda s: update_mailbox(s, Operator(), support, active=False, now=NOW))
        append(imap, "support", mail(message_id="<off@x>"))
        eventually(lambda: not fetching(support))
    assert spooled(spool) == ["<on@x>"]
    assert checkpoint(desk, support).last_uid == 1


def test_a_changed_imap_url_or_password_takes_effect_without_a_restart(
    desk: Desk, imap: Dovecot, spool: Spool
) -> None:
    support = fetch_from(desk, "support@acme.test", imap.url("support"), USERS["support"])
    with imap.client("support", USERS["support"]) as client:
        client.create_folder("Support")
    append(imap, "support", mail(message_id="<inbox@x>"))
    with polling(desk, spool, poll_interval=600, rescan_interval=0.2):
        eventually(lambda: spooled(spool) == ["<inbox@x>"])
        # Mail put in another folder is announced to no IDLE on INBOX: only
        # the new URL, read while the poller waits, makes it come in.
        fetch_from(desk, "support@acme.test", imap.url("support", "Support"), USERS["support"])
        append(imap, "support", mail(message_id="<folder@x>"), folder="Support")
        eventually(lambda: spooled(spool) == ["<inbox@x>", "<folder@x>"])
        fetch_from(desk, "support@acme.test", imap.url("support", "Support"), "not-the-password")
        eventually(lambda: "LoginError" in (health(desk, support).last_error or ""))


def test_a_suspended_tenants_mailbox_is_not_fetched_and_resuming_fetches_what_arrived(
    desk: Desk, imap: Dovecot, spool: Spool
) -> None:
    support = fetch_from(desk, "support@acme.test", imap.url("support"), USERS["support"])
    append(imap, "support", mail(message_id="<s1@x>"))
    with polling(desk, spool, poll_interval=600, rescan_interval=0.2) as running:
        eventually(lambda: spooled(spool) == ["<s1@x>"])
        set_acme_active(desk, False)
        append(imap, "support", mail(message_id="<s2@x>"))
        eventually(lambda: not fetching(support))
        assert desk.run(lambda s: [m.id for m in fetched_mailboxes(s)]) == []
        with pytest.raises(NotFound):
            running.poll_once(support)
        assert spooled(spool) == ["<s1@x>"]
        assert checkpoint(desk, support).last_uid == 1
        set_acme_active(desk, True)
        eventually(lambda: spooled(spool) == ["<s1@x>", "<s2@x>"])

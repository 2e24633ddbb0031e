"""`helpdesk import`, `mail explain` and `quarantine`, run as an operator would."""

from __future__ import annotations

import mailbox
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import func, select

from helpdesk.models import Message, RawMessage, Tenant, Ticket
from mailgate.ingest import DatabaseUnavailable, Ingest
from mailgate.spool import Envelope, Spool
from tests.factories import NOW
from tests.mailgate.desk import mail
from tests.test_cli import Helpdesk, environment

FIXTURES = Path(__file__).parent.parent / "fixtures" / "mail"
SMTP_ENVELOPE = Envelope("ann@client.example", ("support@acme.test",), "smtp", NOW)


@pytest.fixture
def acme(tmp_path: Path, database_url: str) -> Iterator[Helpdesk]:
    runner = Helpdesk(environment(tmp_path, database_url), database_url)
    assert runner("tenant", "create", "acme", "--name", "Acme").exit_code == 0
    assert runner("mailbox", "create", "--tenant", "acme", "--address", "support@acme.test")
    yield runner
    runner.close()


def counts(helpdesk: Helpdesk) -> tuple[int, int, int]:
    with helpdesk.session() as session:
        return (
            session.scalar(select(func.count()).select_from(Ticket)) or 0,
            session.scalar(select(func.count()).select_from(Message)) or 0,
            session.scalar(select(func.count()).select_from(RawMessage)) or 0,
        )


def conversation() -> list[bytes]:
    return [
        mail(message_id="<c1@client.example>"),
        mail(
            subject="Re: Printer on fire", body="Still burning.", in_reply_to="<c1@client.example>"
        ),
        mail("Carl <carl@third.example>", "VPN down", message_id="<c3@third.example>"),
    ]


def test_import_of_an_mbox_makes_tickets_and_a_rerun_creates_nothing(
    acme: Helpdesk, tmp_path: Path
) -> None:
    path = tmp_path / "export.mbox"
    box = mailbox.mbox(path)
    for data in conversation():
        box.add(data)
    box.close()
    first = acme("import", str(path), "--tenant", "acme")
    assert first.exit_code == 0, first.output
    assert "imported 3 messages: 1 appended, 2 created" in first.stdout
    assert counts(acme) == (2, 3, 3)
    again = acme("import", str(path), "--tenant", "acme")
    assert "3 duplicate" in again.stdout
    assert counts(acme) == (2, 3, 3)
    assert spool_files(tmp_path) == []


def spool_files(tmp_path: Path) -> list[Path]:
    return [path for path in (tmp_path / "var" / "spool").rglob("*") if path.is_file()]


def test_import_leaves_no_copy_in_the_spool_and_the_gateways_mail_to_the_gateway(
    acme: Helpdesk, tmp_path: Path
) -> None:
    # Given mail already waiting in the spool, as the gateway stored it
    spool = Spool(tmp_path / "var" / "spool")
    waiting = spool.store(mail(subject="Waiting"), SMTP_ENVELOPE)
    (tmp_path / "one.eml").write_bytes(mail(subject="Imported"))
    # When a file is imported
    result = acme("import", str(tmp_path / "one.eml"), "--tenant", "acme")
    # Then it is a ticket, its spool entry is gone, and the gateway's mail is left to the gateway
    assert result.exit_code == 0, result.output
    assert "imported 1 messages: 1 created" in result.stdout
    with acme.session() as session:
        raw = session.scalars(select(RawMessage)).one()
        assert (raw.transport, raw.envelope_to) == ("import", {"rcpt_tos": []})
    assert spool.pending() == [waiting]
    assert sorted(spool_files(tmp_path)) == [waiting.path / "envelope.json", waiting.message_path]


def test_import_passes_through_the_spool_where_a_cut_short_one_leaves_the_tenants_mail(
    acme: Helpdesk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a database that goes away once the import's mail is stored in the spool
    def unreachable(_ingest: Ingest, items: Iterable[object], **_options: object) -> NoReturn:
        list(items)
        raise DatabaseUnavailable("connection refused")

    monkeypatch.setattr(Ingest, "process_many", unreachable)
    data = mail(subject="Imported")
    (tmp_path / "one.eml").write_bytes(data)
    # When a file is imported
    result = acme("import", str(tmp_path / "one.eml"), "--tenant", "acme")
    # Then the import fails, and its message waits in new/ as the tenant's imported mail
    assert result.exit_code == 1
    assert "the database went away: connection refused" in result.stderr
    [entry] = Spool(tmp_path / "var" / "spool").pending()
    assert entry.read_message() == data
    with acme.session() as session:
        acme_id = session.scalars(select(Tenant.id).where(Tenant.slug == "acme")).one()
    envelope = entry.read_envelope()
    assert (envelope.transport, envelope.tenant_id, envelope.rcpt_tos) == ("import", acme_id, ())


def test_import_of_a_maildir_reads_every_message(acme: Helpdesk, tmp_path: Path) -> None:
    folder = mailbox.Maildir(tmp_path / "Maildir")
    for data in conversation():
        folder.add(data)
    result = acme("import", str(tmp_path / "Maildir"), "--tenant", "acme")
    assert result.exit_code == 0, result.output
    assert counts(acme)[:2] == (2, 3)


def test_import_of_a_folder_of_eml_files_quarantines_the_broken_one(
    acme: Helpdesk, tmp_path: Path
) -> None:
    folder = tmp_path / "mails"
    folder.mkdir()
    for index, data in enumerate(conversation()):
        (folder / f"{index}.eml").write_bytes(data)
    (folder / "broken.eml").write_bytes(b"\x00\x00 no headers here")
    result = acme("import", str(folder), "--tenant", "acme")
    assert result.exit_code == 0, result.output
    assert "1 quarantined" in result.stdout
    listed = acme("quarantine", "list")
    assert "MalformedMessage" in listed.stdout


def test_quarantine_retry_runs_the_message_again(acme: Helpdesk, tmp_path: Path) -> None:
    (tmp_path / "broken.eml").write_bytes(b"\x00\x00 no headers here")
    acme("import", str(tmp_path / "broken.eml"), "--tenant", "acme")
    raw_id = acme("quarantine", "list").stdout.split("\t", 1)[0]
    retried = acme("quarantine", "retry", raw_id)
    assert retried.exit_code == 0, retried.output
    assert retried.stdout.startswith("quarantined: MalformedMessage")


def test_quarantine_list_shows_spool_entries_that_could_not_be_read(
    acme: Helpdesk, tmp_path: Path
) -> None:
    spool = Spool(tmp_path / "var" / "spool")
    claimed = spool.claim(spool.store(b"half a message", SMTP_ENVELOPE))
    assert claimed is not None
    kept = spool.quarantine(claimed, "unreadable spool entry: envelope.json is not JSON")
    assert kept is not None
    listed = acme("quarantine", "list")
    assert listed.exit_code == 0, listed.output
    line = listed.stdout.strip()
    assert line.startswith("spool\t")
    assert "14 bytes\tunreadable spool entry: envelope.json is not JSON" in line
    assert str(kept.path) in line
    assert acme("quarantine", "list", "--tenant", "acme").stdout == ""


def test_quarantine_retry_of_an_unknown_id_fails_in_one_line(acme: Helpdesk) -> None:
    result = acme("quarantine", "retry", "999")
    assert result.exit_code == 1
    assert result.stderr.startswith("helpdesk: error: ")


def test_mail_explain_prints_each_decision_and_changes_nothing(acme: Helpdesk) -> None:
    path = FIXTURES / "gmail_secrets_in_body.eml"
    result = acme("mail", "explain", str(path), "--tenant", "acme")
    assert result.exit_code == 0, result.output
    for label in ("route", "class", "thread", "evidence", "text", "kept", "blocked", "secrets"):
        assert f"\n{label}" in "\n" + result.stdout, label
    assert "normal" in result.stdout
    assert "new → a new ticket" in result.stdout
    assert "0 masked" not in result.stdout
    assert counts(acme) == (0, 0, 0)


def test_mail_explain_shows_a_blocked_attachment(acme: Helpdesk) -> None:
    path = FIXTURES / "outlook_attachment_zip_containing_exe.eml"
    result = acme("mail", "explain", str(path), "--tenant", "acme")
    blocked = next(line for line in result.stdout.splitlines() if line.startswith("blocked"))
    assert ".zip" in blocked


def test_mail_explain_names_an_auto_reply(acme: Helpdesk) -> None:
    path = FIXTURES / "exchange_auto_reply_automatic_reply.eml"
    result = acme("mail", "explain", str(path), "--tenant", "acme")
    assert "class      auto_reply" in result.stdout


def test_mail_explain_of_something_that_is_no_mail_fails_in_one_line(
    acme: Helpdesk, tmp_path: Path
) -> None:
    path = tmp_path / "x.eml"
    path.write_bytes(b"")
    result = acme("mail", "explain", str(path), "--tenant", "acme")
    assert result.exit_code == 1
    assert result.stderr.startswith("helpdesk: error: not an e-mail")

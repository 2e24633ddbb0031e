"""The `helpdesk` command: it creates what it says, prints what it must, fails in one line."""

from __future__ import annotations

import mailbox
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from helpdesk import migrate
from helpdesk.cli import cli
from helpdesk.crypto import SecretBox
from helpdesk.db import make_engine, make_session_factory
from helpdesk.enums import Role
from helpdesk.models import Mailbox, Tenant
from helpdesk.principal import Operator, Staff
from helpdesk.queries.ticket_filters import TicketFilter
from helpdesk.queries.tickets import list_tickets
from helpdesk.search import SEARCH_TABLE
from helpdesk.services.mailboxes import find_mailbox_for_address, imap_password
from helpdesk.services.tenants import get_tenant_by_slug
from helpdesk.services.tokens import authenticate_api_token
from helpdesk.services.users import authenticate_password, get_user_by_email
from helpdesk.settings import Settings
from mailgate.signed_intake import signature_header
from tests.factories import NOW, make_ticket
from tests.mailgate.desk import mail
from tests.servers import free_port

HELPDESK = str(Path(sys.executable).parent / "helpdesk")
SECRET = "test-secret-key"
CONFIG_VARIABLES = [
    "HELPDESK_VAR_DIR",
    "HELPDESK_DATABASE_URL",
    "HELPDESK_BROKER_URL",
    "HELPDESK_STORAGE_URL",
    "HELPDESK_S3_ENDPOINT_URL",
    "HELPDESK_OUTBOUND_URL",
    "HELPDESK_SPOOL_DIR",
    "HELPDESK_SMTP_LISTEN",
    "HELPDESK_LMTP_LISTEN",
    "HELPDESK_WEB_LISTEN",
    "HELPDESK_BASE_URL",
    "HELPDESK_SECRET_KEY",
    "HELPDESK_MAX_MESSAGE_BYTES",
    "HELPDESK_AUTHSERV_ID",
    "HELPDESK_TLS_CERT",
    "HELPDESK_TLS_KEY",
    "HELPDESK_SNS_ENDPOINT_URL",
    "HELPDESK_SES_TOPIC_ARNS",
]


def environment(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str | None]:
    """Our configuration only: none of the calling shell's HELPDESK_* leaks in."""
    env: dict[str, str | None] = dict.fromkeys(CONFIG_VARIABLES)
    env.update(
        HELPDESK_VAR_DIR=str(tmp_path / "var"),
        HELPDESK_DATABASE_URL=database_url,
        HELPDESK_SECRET_KEY=SECRET,
        **extra,
    )
    return env


class Helpdesk:
    """Runs `helpdesk ARGS` in-process with CliRunner, against one database."""

    def __init__(self, env: dict[str, str | None], database_url: str) -> None:
        self.env = env
        self.database_url = database_url
        self._engine = make_engine(database_url)

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), env=self.env, input=input)

    def session(self) -> Session:
        return make_session_factory(self._engine)()

    def close(self) -> None:
        self._engine.dispose()


@pytest.fixture
def helpdesk(tmp_path: Path, database_url: str) -> Iterator[Helpdesk]:
    runner = Helpdesk(environment(tmp_path, database_url), database_url)
    yield runner
    runner.close()


@pytest.fixture
def acme(helpdesk: Helpdesk) -> Helpdesk:
    assert helpdesk("tenant", "create", "acme", "--name", "Acme Inc").exit_code == 0
    return helpdesk


def one_line_error(result: Result) -> str:
    """Assert the command failed with exactly one line on stderr, and return it."""
    assert result.exit_code != 0
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("helpdesk: error: ")
    assert "Traceback" not in result.output
    return result.stderr.removeprefix("helpdesk: error: ").rstrip("\n")


def test_tenant_create_makes_a_tenant(helpdesk: Helpdesk) -> None:
    result = helpdesk(
        "tenant", "create", "acme", "--name", "Acme Inc", "--timezone", "Europe/Berlin"
    )
    assert (result.exit_code, result.stdout) == (0, "created tenant acme (Acme Inc)\n")
    with helpdesk.session() as session:
        tenant = session.query(Tenant).one()
        assert (tenant.slug, tenant.name, tenant.timezone) == ("acme", "Acme Inc", "Europe/Berlin")


def test_duplicate_tenant_fails_in_one_line(acme: Helpdesk) -> None:
    result = acme("tenant", "create", "acme", "--name", "Again")
    assert one_line_error(result) == "a tenant with slug 'acme' exists"
    assert result.exit_code == 1
    assert result.stdout == ""


def test_user_create_with_password_from_stdin(acme: Helpdesk) -> None:
    result = acme(
        "user", "create", "--tenant", "acme", "--email", "Ann@Acme.example", "--name", "Ann",
        "--role", "admin", "--password-stdin",
        input="correct horse battery\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == "created admin ann@acme.example in tenant acme\n"
    with acme.session() as session:
        user = authenticate_password(session, "ann@acme.example", "correct horse battery", now=NOW)
        assert user.password_is_temporary is False


def test_user_create_without_password_prints_a_one_time_password(acme: Helpdesk) -> None:
    result = acme(
        "user", "create", "--tenant", "acme", "--email", "bob@acme.example", "--name", "Bob",
        "--role", "light_agent",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    password = result.stdout.splitlines()[-1].removeprefix("one-time password: ")
    with acme.session() as session:
        user = authenticate_password(session, "bob@acme.example", password, now=NOW)
        assert user.password_is_temporary is True
        assert user.memberships[0].role is Role.LIGHT_AGENT


def test_user_joining_a_second_tenant_keeps_their_password(acme: Helpdesk) -> None:
    create = ("user", "create", "--email", "ann@acme.example", "--name", "Ann", "--role", "agent")
    acme(*create, "--tenant", "acme", "--password-stdin", input="first password!\n")
    acme("tenant", "create", "other", "--name", "Other")
    result = acme(*create, "--tenant", "other")
    assert result.exit_code == 0, result.output
    assert "password" not in result.stdout
    with acme.session() as session:
        authenticate_password(session, "ann@acme.example", "first password!", now=NOW)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "nope", "--role", "agent"], "no tenant 'nope'"),
        (
            ["--tenant", "acme", "--role", "agent", "--password-stdin"],
            "no password on standard input",
        ),
    ],
)
def test_user_create_failures_are_one_line(acme: Helpdesk, args: list[str], message: str) -> None:
    result = acme("user", "create", "--email", "x@acme.example", "--name", "X", *args, input="")
    assert one_line_error(result) == message


def test_weak_password_is_refused_in_one_line(acme: Helpdesk) -> None:
    args = ["--tenant", "acme", "--email", "x@acme.example", "--name", "X", "--role", "agent"]
    result = acme("user", "create", *args, "--password-stdin", input="short\n")
    assert one_line_error(result).startswith("password: use at least")


def test_usage_error_is_one_line_with_a_pointer_to_help(acme: Helpdesk) -> None:
    result = acme("user", "create", "--tenant", "acme", "--role", "boss")
    message = one_line_error(result)
    assert "'boss' is not one of" in message
    assert "`helpdesk user create --help`" in message
    assert result.exit_code == 2


def test_mailbox_create_routes_the_address_and_its_tagged_form(acme: Helpdesk) -> None:
    result = acme("mailbox", "create", "--tenant", "acme", "--address", "Support@Acme.example")
    assert (result.exit_code, result.stdout) == (
        0,
        "created mailbox support@acme.example in tenant acme\n",
    )
    with acme.session() as session:
        for address in ("support@acme.example", "support+x7@acme.example"):
            mailbox = find_mailbox_for_address(session, address)
            assert mailbox is not None
            assert mailbox.tenant_id == session.query(Tenant).one().id


def test_mailbox_with_imap_keeps_the_password_encrypted(acme: Helpdesk) -> None:
    result = acme(
        "mailbox", "create", "--tenant", "acme", "--address", "help@acme.example",
        "--imap-url", "imaps://help@imap.acme.example:993/INBOX", "--imap-password-stdin",
        input="imap secret 123\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with acme.session() as session:
        mailbox = session.query(Mailbox).one()
        assert mailbox.imap_url == "imaps://help@imap.acme.example:993/INBOX"
        assert b"imap secret" not in (mailbox.imap_password_encrypted or b"")
        box = SecretBox(SECRET, "mailbox-credentials")
        assert imap_password(mailbox, box) == "imap secret 123"


def test_mailbox_imap_url_without_password_is_a_usage_error(acme: Helpdesk) -> None:
    result = acme(
        "mailbox", "create", "--tenant", "acme", "--address", "help@acme.example",
        "--imap-url", "imaps://help@imap.acme.example/INBOX",
    )  # fmt: skip
    assert "--imap-url needs --imap-password-stdin" in one_line_error(result)


def test_mailbox_intake_secret_is_printed_alone_and_stays_until_rotated(
    acme: Helpdesk, tmp_path: Path, make_app: Callable[[Settings], Flask]
) -> None:
    acme("mailbox", "create", "--tenant", "acme", "--address", "support@acme.example")
    first = acme("mailbox", "intake-secret", "Support@Acme.example")
    assert first.exit_code == 0, first.output
    [secret] = first.stdout.splitlines()
    assert first.stdout == secret + "\n"
    with acme.session() as session:
        url = f"/inbound/{session.query(Mailbox).one().id}"
    assert f"http://127.0.0.1:5000{url} " in first.stderr
    assert acme("mailbox", "intake-secret", "support@acme.example").stdout == first.stdout
    rotated = acme("mailbox", "intake-secret", "support@acme.example", "--rotate")
    [new_secret] = rotated.stdout.splitlines()
    assert new_secret != secret
    assert acme("mailbox", "intake-secret", "support@acme.example").stdout == rotated.stdout
    # Signed with the old secret, a message is refused; with the new one, taken.
    settings = Settings.for_var_dir(
        tmp_path / "var", database_url=acme.database_url, secret_key=SECRET
    )
    client = make_app(settings).test_client()
    body, timestamp = mail(), str(int(time.time()))
    for key, status in ((secret, 401), (new_secret, 202)):
        headers = {
            "X-Helpdesk-Timestamp": timestamp,
            "X-Helpdesk-Signature": signature_header(key, timestamp, body),
        }
        assert client.post(url, data=body, headers=headers).status_code == status


def test_intake_secret_of_an_unknown_mailbox_fails_in_one_line(acme: Helpdesk) -> None:
    result = acme("mailbox", "intake-secret", "ghost@acme.example")
    assert one_line_error(result) == "no mailbox 'ghost@acme.example'"
    assert result.stdout == ""


def test_token_create_prints_only_a_working_token(acme: Helpdesk) -> None:
    acme(
        "user", "create", "--tenant", "acme", "--email", "ann@acme.example", "--name", "Ann",
        "--role", "agent",
    )  # fmt: skip
    result = acme("token", "create", "--tenant", "acme", "--email", "ann@acme.example")
    assert result.exit_code == 0, result.output
    [token] = result.stdout.splitlines()
    assert result.stdout == token + "\n"
    with acme.session() as session:
        staff = authenticate_api_token(session, token, now=NOW)
        assert staff == Staff(
            user_id=get_user_by_email(session, "ann@acme.example").id,
            tenant_id=session.query(Tenant).one().id,
            role=Role.AGENT,
        )


def test_token_for_unknown_user_fails_in_one_line(acme: Helpdesk) -> None:
    result = acme("token", "create", "--tenant", "acme", "--email", "ghost@acme.example")
    assert one_line_error(result) == "no user 'ghost@acme.example'"
    assert result.stdout == ""


def test_commands_refuse_an_unmigrated_database_until_db_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    helpdesk = Helpdesk(environment(tmp_path, url), url)
    try:
        refused = helpdesk("tenant", "create", "acme", "--name", "Acme")
        assert one_line_error(refused) == "database is not migrated: run `helpdesk db upgrade`"
        assert helpdesk("db", "current").stdout.startswith("none (empty database")
        upgraded = helpdesk("db", "upgrade")
        assert upgraded.exit_code == 0, upgraded.output
        head = migrate.head_revision(make_engine(url))
        assert helpdesk("db", "current").stdout == f"{head} (head)\n"
        assert helpdesk("tenant", "create", "acme", "--name", "Acme").exit_code == 0
    finally:
        helpdesk.close()


def test_unreachable_database_fails_in_one_line(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/nothing"
    helpdesk = Helpdesk(environment(tmp_path, url), url)
    try:
        message = one_line_error(helpdesk("tenant", "create", "acme", "--name", "Acme"))
    finally:
        helpdesk.close()
    assert message.startswith("cannot use the database (HELPDESK_DATABASE_URL): ")


@pytest.mark.parametrize("command", ["worker", "scheduler"])
def test_separate_worker_and_scheduler_need_a_broker_url(acme: Helpdesk, command: str) -> None:
    assert "HELPDESK_BROKER_URL is not set" in one_line_error(acme(command))


# The installed console script, run as a separate process.


def run_helpdesk(env: Mapping[str, str | None], *args: str) -> subprocess.CompletedProcess[str]:
    base = {key: value for key, value in os.environ.items() if not key.startswith("HELPDESK_")}
    base.update({key: value for key, value in env.items() if value is not None})
    return subprocess.run(
        [HELPDESK, *args], env=base, capture_output=True, text=True, timeout=60, check=False
    )


def test_bad_setting_fails_at_start_with_one_line_naming_the_variable(
    tmp_path: Path, database_url: str
) -> None:
    env = environment(tmp_path, database_url, HELPDESK_SMTP_LISTEN="nonsense")
    result = run_helpdesk(env, "db", "current")
    assert result.returncode == 1
    assert result.stderr.startswith("helpdesk: error: HELPDESK_SMTP_LISTEN: ")
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""


def test_installed_command_prints_only_the_token_and_fails_in_one_line(
    acme: Helpdesk, tmp_path: Path
) -> None:
    acme(
        "user", "create", "--tenant", "acme", "--email", "ann@acme.example", "--name", "Ann",
        "--role", "admin",
    )  # fmt: skip
    created = run_helpdesk(
        acme.env, "token", "create", "--tenant", "acme", "--email", "ann@acme.example"
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("hd_")
    assert created.stdout.count("\n") == 1
    assert created.stderr == ""
    failed = run_helpdesk(acme.env, "tenant", "create", "acme", "--name", "Again")
    assert (failed.returncode, failed.stdout) == (1, "")
    assert failed.stderr == "helpdesk: error: a tenant with slug 'acme' exists\n"


def test_installed_command_shows_help_and_exits_zero(tmp_path: Path) -> None:
    result = run_helpdesk({}, "--help")
    assert result.returncode == 0
    for command in (
        "serve",
        "web",
        "smtp",
        "worker",
        "scheduler",
        "db",
        "tenant",
        "user",
        "mailbox",
        "token",
    ):
        assert f"  {command} " in result.stdout


def test_group_without_a_command_shows_its_help(helpdesk: Helpdesk) -> None:
    result = helpdesk("db")
    assert result.exit_code == 2
    assert "upgrade" in result.stderr
    assert "helpdesk: error" not in result.stderr


def test_search_reindex_rebuilds_a_lost_index(acme: Helpdesk) -> None:
    # Given a ticket whose index rows were lost (a restore, say)
    with acme.session() as session:
        tenant = get_tenant_by_slug(session, "acme")
        make_ticket(session, tenant, subject="Quokka sightings in the warehouse")
        session.commit()
        session.execute(text(f"DELETE FROM {SEARCH_TABLE}"))
        session.commit()
        operator = Operator()
        assert list_tickets(session, operator, tenant.id, TicketFilter(q="quokka"))[0] == []
    # When the index is rebuilt
    result = acme("search", "reindex", "--tenant", "acme")
    # Then search finds the ticket again
    assert result.exit_code == 0, result.output
    assert "indexed 1 tickets" in result.stdout
    with acme.session() as session:
        found, _ = list_tickets(session, Operator(), tenant.id, TicketFilter(q="quokka"))
        assert [t.subject for t in found] == ["Quokka sightings in the warehouse"]


def test_lmtp_without_a_listen_address_fails_in_one_line(helpdesk: Helpdesk) -> None:
    error = one_line_error(helpdesk("lmtp"))
    assert "HELPDESK_LMTP_LISTEN" in error


def test_import_of_a_folder_reads_each_file_and_each_maildir_once(
    acme: Helpdesk, tmp_path: Path
) -> None:
    root = tmp_path / "export"
    (root / "loose").mkdir(parents=True)
    (root / "loose" / "one.eml").write_bytes(mail(subject="One", message_id="<1@client.example>"))
    archive = mailbox.mbox(root / "archive.mbox")
    archive.add(mail(subject="Two", message_id="<2@client.example>"))
    archive.add(mail(subject="Three", message_id="<3@client.example>"))
    archive.close()
    mailbox.Maildir(root / "Maildir").add(mail(subject="Four", message_id="<4@client.example>"))
    result = acme("import", str(root), "--tenant", "acme")
    assert result.exit_code == 0, result.output
    assert "imported 4 messages: 4 created" in result.stdout

"""`helpdesk doctor`: each check fires on a real broken condition, and all are silent when well."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from helpdesk.cli import cli
from helpdesk.cli.doctor import edges
from helpdesk.clock import utcnow
from helpdesk.db import make_engine, make_session_factory, session_scope
from helpdesk.doctor import Finding, Severity, examine, settings_error
from helpdesk.doctor.disk import (
    check_spool_backlog,
    check_spool_dir,
    check_spool_quarantine,
    check_spool_room,
    check_storage,
)
from helpdesk.doctor.network import check_base_url, check_broker, check_door
from helpdesk.doctor.setup import (
    check_connection,
    check_migrations,
    check_secret_key,
    check_sqlite_file,
)
from helpdesk.doctor.tenants import (
    check_admins,
    check_imap,
    check_intake_secrets,
    check_mailboxes,
    check_quarantined,
    count_active_mailboxes,
)
from helpdesk.enums import RawMessageState, Role
from helpdesk.errors import ConfigError
from helpdesk.models import Tenant
from helpdesk.principal import Operator, System
from helpdesk.services.mailbox_health import record_fetch_error, record_fetch_success
from helpdesk.services.mailboxes import (
    create_mailbox,
    credentials_box,
    issue_intake_secret,
    update_mailbox,
)
from helpdesk.services.platform import change_tenant
from helpdesk.services.raw_messages import mark_raw_message, store_raw_message
from helpdesk.settings import Listen, Settings
from helpdesk.storage import open_blob_store
from helpdesk.storage.local import LocalBlobStore
from helpdesk.storage.s3 import S3BlobStore
from mailgate.limits import spool_free_bytes
from mailgate.smtp import start_smtp
from mailgate.spool import Envelope, Spool
from tests.factories import NOW, make_mailbox, make_tenant, make_user
from tests.servers import free_port, moto_server
from tests.statements import recorded_sql
from tests.test_cli import CONFIG_VARIABLES

PROBLEM, WARNING = Severity.PROBLEM, Severity.WARNING
LATER = NOW + timedelta(hours=3)
CURRENT_KEY = "test-secret-key"
OLD_KEY = "the-secret-key-before-it-was-changed"
IMAP_URL = "imaps://support@imap.example.com:993/INBOX"
MESSAGE = b"From: client@client.example\r\nSubject: hello\r\n\r\nIt works.\r\n"


def severities(findings: list[Finding]) -> list[Severity]:
    return [finding.severity for finding in findings]


def envelope() -> Envelope:
    return Envelope("client@client.example", ("support@acme.example",), "smtp", utcnow())


def imap_mailbox(
    session: Session, tenant: Tenant, *, key: str = CURRENT_KEY, local: str = "imap"
) -> int:
    """Add an IMAP mailbox to the tenant at NOW, its password saved under `key`."""
    mailbox = create_mailbox(
        session, Operator(), tenant.id, address=f"{local}@{tenant.slug}.example",
        imap_url=IMAP_URL, imap_password="app-password", box=credentials_box(key), now=NOW,
    )  # fmt: skip
    return mailbox.id


def fetched(session: Session, tenant: Tenant, mailbox_id: int, at: datetime) -> None:
    record_fetch_success(session, System(tenant.id, "imap poller"), mailbox_id, now=at)


def failed(session: Session, tenant: Tenant, mailbox_id: int, at: datetime) -> None:
    error = "LoginError: [AUTHENTICATIONFAILED] Invalid credentials"
    record_fetch_error(session, System(tenant.id, "imap poller"), mailbox_id, error, now=at)


def suspend(session: Session, tenant: Tenant) -> None:
    change_tenant(session, Operator(), tenant.slug, active=False, now=NOW)


# Settings, the secret key and the database.


def test_settings_that_do_not_load_are_one_problem_naming_the_variable(tmp_path: Path) -> None:
    environ = {"HELPDESK_VAR_DIR": str(tmp_path), "HELPDESK_SMTP_LISTEN": "port 25"}
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(environ)
    finding = settings_error(caught.value)
    assert finding.severity is PROBLEM
    assert "HELPDESK_SMTP_LISTEN: expected HOST:PORT" in finding.found
    assert finding.fix.startswith("correct HELPDESK_SMTP_LISTEN")


def test_a_secret_key_neither_set_nor_stored_is_a_problem_and_none_is_created(
    tmp_path: Path,
) -> None:
    environ = {"HELPDESK_VAR_DIR": str(tmp_path / "var")}
    settings = Settings.from_env(environ, create_secret_key=False)
    [finding] = check_secret_key(settings)
    assert finding.severity is PROBLEM
    assert f"{tmp_path / 'var' / 'secret_key'} does not exist" in finding.found
    assert not (tmp_path / "var").exists()


def test_a_stored_secret_key_is_silent(tmp_path: Path) -> None:
    environ = {"HELPDESK_VAR_DIR": str(tmp_path / "var")}
    Settings.from_env(environ)  # the first command stores the key
    settings = Settings.from_env(environ, create_secret_key=False)
    assert check_secret_key(settings) == []


def test_a_key_set_in_the_environment_unlike_the_stored_one_is_a_warning(tmp_path: Path) -> None:
    environ = {"HELPDESK_VAR_DIR": str(tmp_path / "var")}
    Settings.from_env(environ)
    settings = Settings.from_env({**environ, "HELPDESK_SECRET_KEY": "another-key"})
    [finding] = check_secret_key(settings)
    assert finding.severity is WARNING
    assert finding.found.startswith("HELPDESK_SECRET_KEY is set and differs from the key in")


def test_a_database_that_does_not_answer_is_a_problem() -> None:
    port = free_port()
    engine = make_engine(f"postgresql+psycopg://hd:pw@127.0.0.1:{port}/hd?connect_timeout=2")
    try:
        [finding] = check_connection(engine)
    finally:
        engine.dispose()
    assert finding.severity is PROBLEM
    assert finding.found.startswith("the database does not answer (postgresql+psycopg://hd:***@")
    assert f"pg_isready -h 127.0.0.1 -p {port}" in finding.fix


def test_a_missing_embedded_database_is_a_problem_and_is_not_created(tmp_path: Path) -> None:
    settings = Settings.for_var_dir(tmp_path / "var", secret_key=CURRENT_KEY)
    [finding] = check_sqlite_file(settings)
    assert (finding.severity, finding.fix) == (PROBLEM, "helpdesk db upgrade")
    examine(settings, edges(settings), now=utcnow())
    assert not (tmp_path / "var" / "helpdesk.db").exists()


def test_a_database_never_migrated_is_a_problem(empty_engine: Engine) -> None:
    [finding] = check_migrations(empty_engine)
    assert finding.severity is PROBLEM
    assert finding.found == "the database is empty: no migration was applied"
    assert finding.fix.startswith("helpdesk db upgrade")


def test_a_database_at_another_revision_is_a_problem(engine: Engine) -> None:
    assert check_migrations(engine) == []
    # As a newer release would leave it.
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    [finding] = check_migrations(engine)
    assert finding.found.startswith("the database is at revision 9999, the code expects ")


# The spool and the blob store.


def test_a_spool_that_cannot_be_written_is_a_problem(tmp_path: Path) -> None:
    # A file where a directory should be: nothing can be created in it, even as root.
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    [inside] = check_spool_dir(blocker / "spool")
    assert inside.severity is PROBLEM
    assert "it does not exist and cannot be created" in inside.found
    [itself] = check_spool_dir(blocker)
    assert "Not a directory" in itself.found


def test_a_writable_spool_is_silent_and_keeps_no_probe(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.store(MESSAGE, envelope())
    before = sorted(spool.root.rglob("*"))
    assert check_spool_dir(spool.root) == []
    assert check_spool_dir(tmp_path / "not-yet" / "spool") == []
    assert sorted(spool.root.rglob("*")) == before


def test_a_spool_disk_with_less_room_than_the_doors_want_is_a_problem(tmp_path: Path) -> None:
    # No disk has an exabyte free: the doors would answer 452 to every sender.
    [finding] = check_spool_room(tmp_path, spool_free_bytes, 10**18, "1.5 times the limit")
    assert finding.severity is PROBLEM
    assert "the doors want" in finding.found
    assert check_spool_room(tmp_path, spool_free_bytes, 1, "1.5 times the limit") == []


def test_mail_waiting_in_the_spool_over_five_minutes_is_a_problem(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.store(MESSAGE, envelope())
    assert check_spool_backlog(spool, now=utcnow()) == []
    stale = spool.store(MESSAGE, envelope())
    long_ago = (utcnow() - timedelta(minutes=10)).timestamp()
    os.utime(stale.path, (long_ago, long_ago))
    [finding] = check_spool_backlog(spool, now=utcnow())
    assert finding.severity is PROBLEM
    assert finding.found.startswith(f"1 message has waited in {spool.root / 'new'}")
    assert "helpdesk serve" in finding.fix


def test_an_unreadable_spool_entry_in_quarantine_is_a_warning(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    entry = spool.store(MESSAGE, envelope())
    assert check_spool_quarantine(spool) == []
    spool.quarantine(entry, "unreadable spool entry: bad envelope")
    [finding] = check_spool_quarantine(spool)
    assert finding.severity is WARNING
    assert entry.name in finding.found
    assert "helpdesk import" in finding.fix


def test_attachment_storage_that_cannot_be_written_is_a_problem(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    for url in (f"file:{blocker}", f"file:{blocker}/attachments"):
        [finding] = check_storage(partial(open_blob_store, url), url)
        assert finding.severity is PROBLEM
        assert finding.found.startswith(f"attachment storage {url} cannot be written: ")


def test_writable_attachment_storage_is_silent_and_keeps_no_probe(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "attachments")
    url = f"file:{store.root}"
    assert check_storage(lambda: store, url) == []
    assert not store.root.exists()  # not made just to look
    store.put("t1/blob", b"x")
    assert check_storage(lambda: store, url) == []
    assert sorted(p.name for p in store.root.iterdir()) == ["t1"]


@pytest.mark.s3
def test_an_s3_bucket_that_does_not_exist_is_a_problem() -> None:
    with moto_server() as endpoint_url:
        # Dummy credentials go to this client only, never into the process environment.
        client = boto3.client(
            "s3", endpoint_url=endpoint_url, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )  # fmt: skip
        [finding] = check_storage(lambda: S3BlobStore("no-such-bucket", client=client), "s3://x")
        assert "NoSuchBucket" in finding.found
        client.create_bucket(Bucket="helpdesk")
        assert check_storage(lambda: S3BlobStore("helpdesk", "p", client=client), "s3://x") == []
        assert client.list_objects_v2(Bucket="helpdesk").get("KeyCount") == 0


# The broker and the doors.


def test_a_broker_that_does_not_answer_is_a_problem(tmp_path: Path) -> None:
    settings = Settings.for_var_dir(
        tmp_path, secret_key=CURRENT_KEY, broker_url=f"redis://127.0.0.1:{free_port()}/0"
    )
    [finding] = check_broker(edges(settings).broker_probe)
    assert finding.severity is PROBLEM
    assert finding.found.startswith("the broker cannot be used: HELPDESK_BROKER_URL: ")


@pytest.mark.redis
def test_a_broker_that_answers_is_silent(tmp_path: Path, redis_url: str) -> None:
    settings = Settings.for_var_dir(tmp_path, secret_key=CURRENT_KEY, broker_url=redis_url)
    assert check_broker(edges(settings).broker_probe) == []


def test_a_door_where_nothing_answers_is_a_warning() -> None:
    listen = Listen("127.0.0.1", free_port())
    [finding] = check_door("HELPDESK_SMTP_LISTEN", listen)
    assert finding.severity is WARNING
    assert (
        finding.found
        == f"nothing answers 220 on HELPDESK_SMTP_LISTEN ({listen}): Connection refused"
    )


def test_links_to_localhost_while_mailboxes_receive_mail_are_a_warning() -> None:
    [finding] = check_base_url("http://127.0.0.1:5000", 2)
    assert finding.severity is WARNING
    assert "while 2 mailboxes receive mail" in finding.found
    assert check_base_url("http://localhost:5000", 1) != []
    assert check_base_url("http://127.0.0.1:5000", 0) == []
    assert check_base_url("https://help.example.com", 2) == []


# Each tenant.


def test_a_tenant_without_a_mailbox_is_a_problem(session: Session) -> None:
    tenant = make_tenant(session, "acme")
    [finding] = check_mailboxes(session, tenant)
    assert (finding.severity, finding.found) == (PROBLEM, "tenant acme has no mailbox")
    assert finding.fix.startswith("helpdesk mailbox create --tenant acme --address ")


def test_a_tenant_whose_mailboxes_are_all_switched_off_is_a_problem(session: Session) -> None:
    tenant = make_tenant(session, "acme")
    mailbox = make_mailbox(session, tenant)
    assert check_mailboxes(session, tenant) == []
    update_mailbox(session, Operator(), mailbox.id, active=False, now=NOW)
    [finding] = check_mailboxes(session, tenant)
    assert finding.found == "tenant acme: every mailbox is switched off"
    assert finding.fix.startswith(f"PATCH /api/v1/admin/mailboxes/{mailbox.id} ")


def test_a_tenant_without_an_admin_is_a_warning(session: Session) -> None:
    tenant = make_tenant(session, "acme")
    make_user(session, tenant, Role.AGENT)
    [finding] = check_admins(session, tenant)
    assert (finding.severity, finding.found) == (WARNING, "tenant acme has no active admin")
    make_user(session, tenant, Role.ADMIN)
    assert check_admins(session, tenant) == []


def test_an_imap_password_saved_under_another_secret_key_is_a_problem(session: Session) -> None:
    tenant = make_tenant(session, "acme")
    fetched(session, tenant, imap_mailbox(session, tenant, key=OLD_KEY), NOW)
    [finding] = check_imap(session, tenant, credentials_box(CURRENT_KEY), now=NOW)
    assert finding.severity is PROBLEM
    assert finding.found == (
        "imap@acme.example: the IMAP password cannot be decrypted with the current secret key"
    )
    assert check_imap(session, tenant, credentials_box(OLD_KEY), now=NOW) == []


def test_an_imap_mailbox_failing_for_over_an_hour_is_a_problem(session: Session) -> None:
    tenant = make_tenant(session, "acme")
    mailbox_id = imap_mailbox(session, tenant)
    fetched(session, tenant, mailbox_id, NOW)
    failed(session, tenant, mailbox_id, LATER - timedelta(minutes=1))
    [finding] = check_imap(session, tenant, credentials_box(CURRENT_KEY), now=LATER)
    assert finding.severity is PROBLEM
    assert finding.found == (
        "imap@acme.example: fetching by IMAP fails: LoginError: [AUTHENTICATIONFAILED] "
        "Invalid credentials; the last success was at 2026-03-02 10:00 UTC"
    )


def test_an_imap_error_right_after_a_success_is_a_warning(session: Session) -> None:
    tenant = make_tenant(session, "acme")
    mailbox_id = imap_mailbox(session, tenant)
    fetched(session, tenant, mailbox_id, LATER - timedelta(minutes=10))
    failed(session, tenant, mailbox_id, LATER - timedelta(minutes=1))
    [finding] = check_imap(session, tenant, credentials_box(CURRENT_KEY), now=LATER)
    assert finding.severity is WARNING
    assert finding.found.startswith("imap@acme.example: the last IMAP fetch failed: LoginError")


def test_an_imap_mailbox_silent_for_over_an_hour_is_a_problem(session: Session) -> None:
    tenant = make_tenant(session, "acme")
    fetched(session, tenant, imap_mailbox(session, tenant), NOW)
    box = credentials_box(CURRENT_KEY)
    assert check_imap(session, tenant, box, now=NOW + timedelta(minutes=50)) == []
    [finding] = check_imap(session, tenant, box, now=LATER)
    assert finding.found == "imap@acme.example: no IMAP fetch succeeded since 2026-03-02 10:00 UTC"
    assert finding.fix == "start `helpdesk serve` or `helpdesk imap`"


def test_an_imap_mailbox_never_fetched_is_a_problem_once_an_hour_old(session: Session) -> None:
    tenant = make_tenant(session, "acme")
    imap_mailbox(session, tenant)
    box = credentials_box(CURRENT_KEY)
    assert check_imap(session, tenant, box, now=NOW + timedelta(minutes=10)) == []
    [finding] = check_imap(session, tenant, box, now=LATER)
    assert (finding.severity, finding.found) == (
        PROBLEM,
        "imap@acme.example: never fetched by IMAP",
    )


def test_a_suspended_tenants_imap_mailbox_is_fetched_by_no_one_and_not_reported(
    session: Session,
) -> None:
    tenant = make_tenant(session, "acme")
    imap_mailbox(session, tenant)
    box = credentials_box(CURRENT_KEY)
    [finding] = check_imap(session, tenant, box, now=LATER)
    assert finding.found == "imap@acme.example: never fetched by IMAP"
    suspend(session, tenant)
    assert check_imap(session, tenant, box, now=LATER) == []


def test_the_imap_check_reads_a_tenants_mailboxes_and_their_health_in_one_query(
    session: Session,
) -> None:
    tenant, other = make_tenant(session, "acme"), make_tenant(session, "globex")
    ids = [imap_mailbox(session, tenant, local=local) for local in ("a", "b", "c")]
    imap_mailbox(session, other)
    fetched(session, tenant, ids[0], LATER - timedelta(minutes=5))
    failed(session, tenant, ids[1], LATER - timedelta(minutes=1))
    session.flush()
    session.expunge_all()  # nothing read before may be answered from memory
    with recorded_sql(session) as statements:
        findings = check_imap(session, tenant, credentials_box(CURRENT_KEY), now=LATER)
    assert [finding.found.split(":")[0] for finding in findings] == [
        "b@acme.example",
        "c@acme.example",
    ]
    assert len(statements) == 1


def test_only_mailboxes_of_active_tenants_count_as_receiving_mail(session: Session) -> None:
    tenant, other = make_tenant(session, "acme"), make_tenant(session, "globex")
    make_mailbox(session, tenant)
    switched_off = make_mailbox(session, tenant)
    update_mailbox(session, Operator(), switched_off.id, active=False, now=NOW)
    make_mailbox(session, other)
    assert count_active_mailboxes(session) == 2
    suspend(session, other)
    assert count_active_mailboxes(session) == 1


def test_an_intake_secret_under_another_secret_key_is_a_problem(session: Session) -> None:
    tenant = make_tenant(session, "acme")
    mailbox = make_mailbox(session, tenant, "support@acme.example")
    issue_intake_secret(session, Operator(), mailbox.id, box=credentials_box(OLD_KEY))
    [finding] = check_intake_secrets(session, tenant, credentials_box(CURRENT_KEY))
    assert finding.severity is PROBLEM
    assert "503 with Retry-After" in finding.why
    assert "helpdesk mailbox intake-secret support@acme.example --rotate" in finding.fix
    assert check_intake_secrets(session, tenant, credentials_box(OLD_KEY)) == []


def test_quarantined_mail_is_a_warning_naming_the_commands(
    session: Session, store: LocalBlobStore
) -> None:
    tenant, other = make_tenant(session, "acme"), make_tenant(session, "other")
    raw, _ = store_raw_message(
        session, data=MESSAGE, envelope_from="client@client.example",
        envelope_to=["support@acme.example"], transport="smtp", tenant_id=tenant.id,
        mailbox_id=None, message_id=None, fingerprint="f" * 64, store=store, now=NOW,
    )  # fmt: skip
    mark_raw_message(
        session, raw, RawMessageState.QUARANTINED, reason="MalformedMessage: no header block",
        decision={}, ticket_id=None, now=NOW,
    )  # fmt: skip
    [finding] = check_quarantined(session, tenant)
    assert finding.severity is WARNING
    assert finding.found == f"1 received message of tenant acme quarantined (the newest: {raw.id})"
    assert (
        finding.fix == "helpdesk quarantine list --tenant acme, then helpdesk quarantine retry ID"
    )
    assert check_quarantined(session, other) == []


# The whole round, and the command.


@pytest.fixture
def door_settings(settings: Settings) -> Settings:
    """The test's settings, with the SMTP door on a free port and a public base URL."""
    return replace(
        settings,
        smtp_listen=Listen("127.0.0.1", free_port()),
        base_url="https://help.example.com",
    )


@pytest.fixture
def healthy(door_settings: Settings, engine: Engine) -> Iterator[Settings]:
    """A tenant with an admin and a mailbox, and the SMTP door answering."""
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        acme = make_tenant(session, "acme")
        make_user(session, acme, Role.ADMIN)
        make_mailbox(session, acme, "support@acme.example")
    door = start_smtp(door_settings, factory)
    try:
        yield door_settings
    finally:
        door.stop()


def test_a_healthy_set_up_has_no_findings(healthy: Settings) -> None:
    findings = examine(healthy, edges(healthy), now=utcnow())
    assert findings == []


def add_tenant_without_mailbox(settings: Settings, slug: str) -> None:
    engine = make_engine(settings.database_url)
    with session_scope(make_session_factory(engine)) as session:
        make_tenant(session, slug)
    engine.dispose()


def doctor(settings: Settings, *args: str, **extra: str) -> Result:
    """Run `helpdesk doctor ARGS` with `settings` as the environment, and nothing else."""
    env: dict[str, str | None] = dict.fromkeys(CONFIG_VARIABLES)
    env.update(
        HELPDESK_VAR_DIR=str(settings.var_dir),
        HELPDESK_DATABASE_URL=settings.database_url,
        HELPDESK_SECRET_KEY=settings.secret_key,
        HELPDESK_SMTP_LISTEN=str(settings.smtp_listen),
        HELPDESK_BASE_URL=settings.base_url,
    )
    env.update(extra)
    return CliRunner().invoke(cli, ["doctor", *args], env=env)


def test_doctor_on_a_healthy_set_up_finds_no_problems_and_exits_0(healthy: Settings) -> None:
    result = doctor(healthy)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "No problems found.\n", "")


def test_doctor_with_warnings_only_exits_0(healthy: Settings) -> None:
    result = doctor(healthy, HELPDESK_BASE_URL="http://127.0.0.1:5000")
    assert result.exit_code == 0
    assert result.stdout.startswith("1. warning: HELPDESK_BASE_URL is http://127.0.0.1:5000 ")
    assert result.stdout.endswith("\nNo problems found; 1 warning.\n")


def test_doctor_lists_problems_first_three_lines_each_and_exits_1(door_settings: Settings) -> None:
    # Given a tenant without mailbox (a problem) or admin, and no SMTP door (warnings).
    add_tenant_without_mailbox(door_settings, "acme")
    result = doctor(door_settings)
    lines = result.stdout.splitlines()
    assert lines[0] == "1. problem: tenant acme has no mailbox"
    assert lines[1].startswith("   why: mail to the tenant is refused at RCPT (550 5.1.1)")
    assert lines[2] == "   fix: helpdesk mailbox create --tenant acme --address support@YOUR-DOMAIN"
    assert lines[3].startswith("2. warning: nothing answers 220 on HELPDESK_SMTP_LISTEN")
    assert lines[6] == "3. warning: tenant acme has no active admin"
    assert lines[9:] == ["1 problem and 2 warnings found."]
    assert result.exit_code == 1
    assert result.stderr == "helpdesk: error: 1 problem and 2 warnings found\n"


def test_doctor_for_one_tenant_leaves_the_others_out(healthy: Settings) -> None:
    add_tenant_without_mailbox(healthy, "broken")
    assert "tenant broken has no mailbox" in doctor(healthy).stdout
    result = doctor(healthy, "--tenant", "acme")
    assert (result.exit_code, result.stdout) == (0, "No problems found.\n")
    assert "tenant broken has no mailbox" in doctor(healthy, "--tenant", "broken").stdout


def test_doctor_for_an_unknown_tenant_fails_in_one_line(healthy: Settings) -> None:
    result = doctor(healthy, "--tenant", "nope")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "helpdesk: error: no tenant 'nope'\n"


def test_doctor_reports_settings_that_do_not_load_instead_of_failing(
    door_settings: Settings,
) -> None:
    result = doctor(door_settings, HELPDESK_MAX_MESSAGE_BYTES="lots")
    assert result.exit_code == 1
    assert result.stdout.startswith(
        "1. problem: the settings do not load: HELPDESK_MAX_MESSAGE_BYTES: expected a positive"
    )
    assert result.stdout.endswith("\n1 problem found.\n")


def test_doctor_on_a_fresh_directory_reports_what_is_missing_and_creates_nothing(
    tmp_path: Path,
) -> None:
    var = tmp_path / "var"
    settings = Settings.for_var_dir(var, smtp_listen=Listen("127.0.0.1", free_port()))
    result = doctor(settings, HELPDESK_SECRET_KEY="", HELPDESK_DATABASE_URL="")
    problems = [line for line in result.stdout.splitlines() if ". problem: " in line]
    # The first `helpdesk db upgrade` stores the key too: the key is no problem yet.
    assert problems == [f"1. problem: there is no database at {var}/helpdesk.db"]
    assert result.exit_code == 1
    assert not var.exists()


def test_doctor_reports_a_broker_that_does_not_answer(healthy: Settings) -> None:
    result = doctor(healthy, HELPDESK_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")
    assert result.exit_code == 1
    assert result.stdout.startswith("1. problem: the broker cannot be used: ")


def test_doctor_reports_a_backlog_and_a_missing_migration_of_a_real_var_dir(
    door_settings: Settings, empty_engine: Engine
) -> None:
    # Given mail stored long ago that nothing drained, and a database never migrated.
    entry = Spool(door_settings.spool_dir).store(MESSAGE, envelope())
    long_ago = (datetime.now(UTC) - timedelta(hours=1)).timestamp()
    os.utime(entry.path, (long_ago, long_ago))
    url = empty_engine.url.render_as_string(hide_password=False)
    result = doctor(door_settings, HELPDESK_DATABASE_URL=url)
    found = [line for line in result.stdout.splitlines() if ". problem: " in line]
    assert found[0] == "1. problem: the database is empty: no migration was applied"
    assert found[1].startswith("2. problem: 1 message has waited in ")
    assert result.exit_code == 1

"""Settings from the environment: defaults under the var dir, one clear line per bad value."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from helpdesk.errors import ConfigError
from helpdesk.settings import ROOM_FACTOR, Listen, Settings
from tests.test_cli import CONFIG_VARIABLES


def env(var: Path, **variables: str) -> dict[str, str]:
    return {"HELPDESK_VAR_DIR": str(var), **{f"HELPDESK_{k}": v for k, v in variables.items()}}


def test_every_default_lives_under_the_var_dir(tmp_path: Path) -> None:
    settings = Settings.from_env(env(tmp_path / "var"))
    var = tmp_path / "var"
    assert settings.var_dir == var
    assert settings.database_url == f"sqlite:///{var}/helpdesk.db"
    assert settings.storage_url == f"file:{var}/attachments"
    assert settings.outbound_url == f"maildir:{var}/outbox"
    assert settings.spool_dir == var / "spool"
    assert (var / "secret_key").read_text().strip() == settings.secret_key


def test_remaining_defaults_are_the_documented_ones(tmp_path: Path) -> None:
    settings = Settings.from_env(env(tmp_path))
    assert settings.broker_url is None
    assert settings.s3_endpoint_url is None
    assert settings.smtp_listen == Listen("127.0.0.1", 2525)
    assert settings.lmtp_listen is None
    assert settings.web_listen == Listen("127.0.0.1", 5000)
    assert settings.base_url == "http://127.0.0.1:5000"
    assert settings.max_message_bytes == 26_214_400
    assert settings.is_sqlite


def test_var_dir_defaults_to_var_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({})
    assert settings.var_dir == tmp_path / "var"
    assert settings.database_url == f"sqlite:///{tmp_path}/var/helpdesk.db"


@pytest.mark.parametrize(
    ("variable", "value", "attribute", "expected"),
    [
        ("DATABASE_URL", "postgresql+psycopg://hd@db/hd", "database_url", None),
        ("DATABASE_URL", "sqlite:////srv/helpdesk/helpdesk.db", "database_url", None),
        ("BROKER_URL", "redis://redis:6379/0", "broker_url", None),
        ("BROKER_URL", "embedded", "broker_url", "None"),
        ("STORAGE_URL", "s3://bucket/prefix", "storage_url", None),
        ("STORAGE_URL", "file:/srv/helpdesk/attachments", "storage_url", None),
        ("S3_ENDPOINT_URL", "https://s3.eu-west-1.amazonaws.com", "s3_endpoint_url", None),
        ("OUTBOUND_URL", "smtp://user:pass@relay:587?starttls=1", "outbound_url", None),
        ("OUTBOUND_URL", "ses://eu-west-1", "outbound_url", None),
        ("OUTBOUND_URL", "maildir:/srv/helpdesk/outbox", "outbound_url", None),
        ("SPOOL_DIR", "/srv/helpdesk/spool", "spool_dir", None),
        ("SMTP_LISTEN", "0.0.0.0:25", "smtp_listen", None),
        ("SMTP_LISTEN", "[::1]:25", "smtp_listen", "::1:25"),
        ("LMTP_LISTEN", "127.0.0.1:24", "lmtp_listen", None),
        ("WEB_LISTEN", "0.0.0.0:8000", "web_listen", None),
        ("BASE_URL", "https://help.example.com", "base_url", None),
        ("BASE_URL", "https://help.example.com/", "base_url", "https://help.example.com"),
        ("SECRET_KEY", "a-long-production-secret", "secret_key", None),
        ("MAX_MESSAGE_BYTES", "52428800", "max_message_bytes", None),
        ("SNS_ENDPOINT_URL", "http://localhost:4566", "sns_endpoint_url", None),
    ],
)
def test_production_value_is_accepted(
    tmp_path: Path, variable: str, value: str, attribute: str, expected: str | None
) -> None:
    settings = Settings.from_env(env(tmp_path, **{variable: value}))
    assert str(getattr(settings, attribute)) == (value if expected is None else expected)


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_plain_postgresql_url_uses_the_psycopg_driver(tmp_path: Path, scheme: str) -> None:
    settings = Settings.from_env(env(tmp_path, DATABASE_URL=f"{scheme}://hd:pw@db:5432/hd"))
    assert settings.database_url == "postgresql+psycopg://hd:pw@db:5432/hd"
    assert not settings.is_sqlite


BAD_VALUES = [
    ("DATABASE_URL", "mysql://x"),
    ("DATABASE_URL", "postgresql+psycopg2://hd@db/hd"),
    ("DATABASE_URL", "sqlite:helpdesk.db"),
    ("DATABASE_URL", "nonsense"),
    ("BROKER_URL", "amqp://x"),
    ("BROKER_URL", "redis"),
    ("STORAGE_URL", "gs://x"),
    ("STORAGE_URL", "attachments"),
    ("STORAGE_URL", "file:"),
    ("STORAGE_URL", "file://fileserver/share"),
    ("STORAGE_URL", "s3://"),
    ("STORAGE_URL", "s3://Bucket_Name/x"),
    ("STORAGE_URL", "s3://bucket/../other"),
    ("S3_ENDPOINT_URL", "minio:9000"),
    ("OUTBOUND_URL", "pigeon://x"),
    ("OUTBOUND_URL", "maildir:"),
    ("OUTBOUND_URL", "smtp://"),
    ("OUTBOUND_URL", "smtp://relay:99999"),
    ("OUTBOUND_URL", "ses://"),
    ("SMTP_LISTEN", "nonsense"),
    ("SMTP_LISTEN", "127.0.0.1:70000"),
    ("SMTP_LISTEN", "127.0.0.1:"),
    ("SMTP_LISTEN", ":25"),
    ("SMTP_LISTEN", "127.0.0.1:-1"),
    ("SMTP_LISTEN", "127.0.0.1:²"),
    ("LMTP_LISTEN", "nonsense"),
    ("WEB_LISTEN", "localhost:http"),
    ("BASE_URL", "ftp://x"),
    ("BASE_URL", "help.example.com"),
    ("BASE_URL", "https://"),
    ("MAX_MESSAGE_BYTES", "-1"),
    ("MAX_MESSAGE_BYTES", "abc"),
    ("MAX_MESSAGE_BYTES", "0"),
    ("MAX_MESSAGE_BYTES", "1.5"),
    ("MAX_MESSAGE_BYTES", "²"),
    ("SNS_ENDPOINT_URL", "localhost:4566"),
    ("SES_TOPIC_ARNS", "ses-inbound"),
    ("SES_TOPIC_ARNS", "arn:aws:sqs:eu-west-1:123456789012:ses-inbound"),
    ("SES_TOPIC_ARNS", "arn:aws:sns:eu-west-1:123456789012:ok,arn:aws:sns:eu-west-1:1234:short"),
]


@pytest.mark.parametrize(("variable", "value"), BAD_VALUES)
def test_bad_value_fails_with_one_line_naming_the_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env(tmp_path / "var", **{variable: value}))
    message = str(info.value)
    assert message.startswith(f"HELPDESK_{variable}:")
    assert "\n" not in message


def test_bad_value_leaves_no_secret_key_behind(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env(env(tmp_path / "var", SMTP_LISTEN="nonsense"))
    assert not (tmp_path / "var" / "secret_key").exists()


def test_secret_key_is_generated_once_private_and_stable(tmp_path: Path) -> None:
    first = Settings.from_env(env(tmp_path / "var"))
    second = Settings.from_env(env(tmp_path / "var"))
    path = tmp_path / "var" / "secret_key"
    assert len(first.secret_key) >= 32
    assert second.secret_key == first.secret_key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]


def test_secret_key_differs_between_installations(tmp_path: Path) -> None:
    one = Settings.from_env(env(tmp_path / "one"))
    two = Settings.from_env(env(tmp_path / "two"))
    assert one.secret_key != two.secret_key


def test_secret_key_from_the_environment_writes_no_file(tmp_path: Path) -> None:
    settings = Settings.from_env(env(tmp_path, SECRET_KEY="from-the-environment"))
    assert settings.secret_key == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_processes_starting_together_agree_on_one_secret_key(tmp_path: Path) -> None:
    barrier = threading.Barrier(8)
    keys: list[str] = []

    def start() -> None:
        barrier.wait()
        keys.append(Settings.from_env(env(tmp_path / "var")).secret_key)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8
    assert set(keys) == {(tmp_path / "var" / "secret_key").read_text().strip()}


def test_empty_secret_key_file_is_refused_not_used(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("\n")
    with pytest.raises(ConfigError, match="HELPDESK_SECRET_KEY"):
        Settings.from_env(env(tmp_path))


def test_a_key_read_without_creating_one_is_made_up_only_when_none_is_kept(
    tmp_path: Path,
) -> None:
    var = tmp_path / "var"
    made_up = Settings.from_env(env(var), create_secret_key=False)
    assert made_up.secret_key_made_up
    assert not var.exists()
    given = Settings.from_env(env(var, SECRET_KEY="from-the-environment"), create_secret_key=False)
    assert not given.secret_key_made_up
    kept = Settings.from_env(env(var))
    assert not kept.secret_key_made_up
    again = Settings.from_env(env(var), create_secret_key=False)
    assert (again.secret_key, again.secret_key_made_up) == (kept.secret_key, False)


def test_the_spool_must_have_room_for_one_and_a_half_of_the_largest_message(
    tmp_path: Path,
) -> None:
    settings = Settings.for_var_dir(tmp_path, max_message_bytes=1_000_001)
    assert ROOM_FACTOR == 1.5
    assert settings.min_spool_free_bytes == 1_500_001


class _Asked(dict[str, str]):
    """An environment that remembers every variable read from it."""

    def __init__(self, var: Path) -> None:
        super().__init__(HELPDESK_VAR_DIR=str(var))
        self.asked: set[str] = set()

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        self.asked.add(key)
        return super().get(key, default)


def test_the_tests_clear_every_variable_the_settings_read(tmp_path: Path) -> None:
    # A variable the tests do not clear leaks in from the shell that runs them.
    environ = _Asked(tmp_path)
    Settings.from_env(environ, create_secret_key=False)
    assert environ.asked <= set(CONFIG_VARIABLES)
    assert "HELPDESK_SES_TOPIC_ARNS" in environ.asked


def test_tests_may_build_settings_directly(tmp_path: Path) -> None:
    settings = Settings.for_var_dir(
        tmp_path, secret_key="never-printed", base_url="https://x.example"
    )
    assert settings.base_url == "https://x.example"
    assert settings.storage_url == f"file:{tmp_path}/attachments"
    assert "never-printed" not in repr(settings)


def test_tls_certificate_and_key_are_taken_together(tmp_path: Path) -> None:
    (tmp_path / "cert.pem").write_text("certificate")
    (tmp_path / "key.pem").write_text("key")
    settings = Settings.from_env(
        env(tmp_path, TLS_CERT=str(tmp_path / "cert.pem"), TLS_KEY=str(tmp_path / "key.pem"))
    )
    assert (settings.tls_cert, settings.tls_key) == (tmp_path / "cert.pem", tmp_path / "key.pem")


@pytest.mark.parametrize(
    ("given", "named"), [("TLS_CERT", "HELPDESK_TLS_KEY"), ("TLS_KEY", "HELPDESK_TLS_CERT")]
)
def test_tls_certificate_or_key_alone_is_refused_naming_the_missing_one(
    tmp_path: Path, given: str, named: str
) -> None:
    (tmp_path / "file.pem").write_text("pem")
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env(tmp_path, **{given: str(tmp_path / "file.pem")}))
    assert str(info.value).startswith(f"{named}:")


@pytest.mark.parametrize("variable", ["TLS_CERT", "TLS_KEY"])
@pytest.mark.parametrize("problem", ["missing", "a directory"])
def test_tls_file_that_cannot_be_read_is_refused_naming_it(
    tmp_path: Path, variable: str, problem: str
) -> None:
    for name in ("TLS_CERT", "TLS_KEY"):
        (tmp_path / f"{name}.pem").write_text("pem")
    bad = tmp_path / "bad.pem"
    if problem == "a directory":
        bad.mkdir()
    files = {name: str(tmp_path / f"{name}.pem") for name in ("TLS_CERT", "TLS_KEY")}
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env(tmp_path / "var", **{**files, variable: str(bad)}))
    message = str(info.value)
    assert message.startswith(f"HELPDESK_{variable}: {bad}")
    assert "\n" not in message


def test_ses_topics_are_a_list_of_arns_and_prefixes(tmp_path: Path) -> None:
    value = " arn:aws:sns:eu-west-1:123456789012:ses-inbound , arn:aws:sns:us-east-1:123456789012:*"
    settings = Settings.from_env(env(tmp_path, SES_TOPIC_ARNS=value))
    assert settings.ses_topic_arns == (
        "arn:aws:sns:eu-west-1:123456789012:ses-inbound",
        "arn:aws:sns:us-east-1:123456789012:*",
    )
    assert Settings.from_env(env(tmp_path)).ses_topic_arns == ()

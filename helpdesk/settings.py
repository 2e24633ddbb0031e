"""The one settings object, read from the environment once at each entry point."""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from helpdesk.errors import ConfigError
from helpdesk.storage import check_storage_url

DEFAULT_MAX_MESSAGE_BYTES = 26_214_400
# The spool must keep room for this many messages of the largest size before
# a new sender is welcome (the doors answer 452 to MAIL FROM until it does).
ROOM_FACTOR = 1.5
# ASCII digits only: str.isdigit() also accepts "²", which int() then refuses.
_DIGITS = re.compile(r"[0-9]+")
# arn:PARTITION:sns:REGION:ACCOUNT:TOPIC, or a prefix of one ending in "*".
_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:([a-z0-9-]+:([0-9]{12}:([A-Za-z0-9_.-]+|\*)|\*)|\*)")


@dataclass(frozen=True)
class Listen:
    """A host and port to listen on."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Settings:
    """Everything configurable, validated; tests construct it directly."""

    var_dir: Path
    database_url: str
    secret_key: str = field(repr=False)
    broker_url: str | None = None
    storage_url: str = ""
    s3_endpoint_url: str | None = None
    outbound_url: str = ""
    spool_dir: Path = Path()
    smtp_listen: Listen = Listen("127.0.0.1", 2525)
    lmtp_listen: Listen | None = None
    web_listen: Listen = Listen("127.0.0.1", 5000)
    base_url: str = "http://127.0.0.1:5000"
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    # Requests per credential through /api/v1 (Flask-Limiter notation).
    api_rate_limit: str = "600 per minute"
    # The authserv-id our own MTA writes in Authentication-Results (RFC 8601);
    # only its verdicts are believed. None: no DMARC verdict is trusted.
    authserv_id: str | None = None
    # A PEM certificate chain and its private key: SMTP and LMTP offer STARTTLS.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Where SNS signing certificates are fetched (the path of SigningCertURL is
    # kept); None: from SigningCertURL itself, an sns.REGION.amazonaws.com host.
    sns_endpoint_url: str | None = None
    # The SNS topics whose SES notifications are taken; an entry ending in "*"
    # is a prefix. Empty: the SES door refuses every notification.
    ses_topic_arns: tuple[str, ...] = ()
    # True when neither HELPDESK_SECRET_KEY nor <var>/secret_key gave the key
    # and from_env made one up for this process only (create_secret_key=False).
    secret_key_made_up: bool = field(default=False, repr=False)

    @classmethod
    def for_var_dir(cls, var_dir: Path, **overrides: object) -> Settings:
        """Build settings with every default derived from one directory."""
        defaults: dict[str, object] = {
            "var_dir": var_dir,
            "database_url": f"sqlite:///{var_dir / 'helpdesk.db'}",
            "secret_key": overrides.pop("secret_key", None) or secrets.token_urlsafe(48),
            "storage_url": f"file:{var_dir / 'attachments'}",
            "outbound_url": f"maildir:{var_dir / 'outbox'}",
            "spool_dir": var_dir / "spool",
        }
        defaults.update(overrides)
        return cls(**defaults)  # type: ignore[arg-type]

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, create_secret_key: bool = True
    ) -> Settings:
        """Read HELPDESK_* variables.

        With `create_secret_key=False` a missing secret key is made up for this
        process only, `secret_key_made_up` says so, and nothing is written
        (`helpdesk doctor` only reads).

        Raises:
            ConfigError: a variable has a bad value; the message names it.
        """
        env = os.environ if environ is None else environ
        var_dir = Path(env.get("HELPDESK_VAR_DIR") or "./var").resolve()
        get = env.get
        return cls.for_var_dir(
            var_dir,
            database_url=_database_url(get("HELPDESK_DATABASE_URL"), var_dir),
            broker_url=_broker_url(get("HELPDESK_BROKER_URL")),
            storage_url=_storage_url(get("HELPDESK_STORAGE_URL"), var_dir),
            s3_endpoint_url=_optional_url(
                "HELPDESK_S3_ENDPOINT_URL", get("HELPDESK_S3_ENDPOINT_URL")
            ),
            outbound_url=_outbound_url(get("HELPDESK_OUTBOUND_URL"), var_dir),
            spool_dir=Path(get("HELPDESK_SPOOL_DIR") or var_dir / "spool").resolve(),
            smtp_listen=_listen("HELPDESK_SMTP_LISTEN", get("HELPDESK_SMTP_LISTEN"), 2525),
            lmtp_listen=_optional_listen("HELPDESK_LMTP_LISTEN", get("HELPDESK_LMTP_LISTEN")),
            web_listen=_listen("HELPDESK_WEB_LISTEN", get("HELPDESK_WEB_LISTEN"), 5000),
            base_url=_base_url(get("HELPDESK_BASE_URL")),
            max_message_bytes=_positive_int(
                "HELPDESK_MAX_MESSAGE_BYTES",
                get("HELPDESK_MAX_MESSAGE_BYTES"),
                DEFAULT_MAX_MESSAGE_BYTES,
            ),
            authserv_id=_authserv_id(get("HELPDESK_AUTHSERV_ID")),
            **_tls_files(get("HELPDESK_TLS_CERT"), get("HELPDESK_TLS_KEY")),
            sns_endpoint_url=_optional_url(
                "HELPDESK_SNS_ENDPOINT_URL", get("HELPDESK_SNS_ENDPOINT_URL")
            ),
            ses_topic_arns=_topic_arns(get("HELPDESK_SES_TOPIC_ARNS")),
            # Last, so that a bad value elsewhere fails before anything is written.
            **_secret_key(get("HELPDESK_SECRET_KEY"), var_dir, create=create_secret_key),
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def min_spool_free_bytes(self) -> int:
        """Return the free space the spool's disk must have before the doors take a message."""
        return int(self.max_message_bytes * ROOM_FACTOR)


def _authserv_id(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().lower()
    # RFC 8601: a domain-like token, no spaces or separators of the header.
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{0,252}", value):
        raise ConfigError("HELPDESK_AUTHSERV_ID: expected a host name such as mx.example.com")
    return value


def _topic_arns(value: str | None) -> tuple[str, ...]:
    entries = tuple(entry.strip() for entry in (value or "").split(",") if entry.strip())
    for entry in entries:
        if not _TOPIC_ARN.fullmatch(entry):
            raise ConfigError(
                "HELPDESK_SES_TOPIC_ARNS: expected SNS topic ARNs such as "
                f"arn:aws:sns:eu-west-1:123456789012:ses-inbound (or ending in *), got {entry!r}"
            )
    return entries


def _tls_files(cert: str | None, key: str | None) -> dict[str, Path | None]:
    if not cert and not key:
        return {"tls_cert": None, "tls_key": None}
    if not cert or not key:
        missing = "HELPDESK_TLS_KEY" if cert else "HELPDESK_TLS_CERT"
        raise ConfigError(f"{missing}: STARTTLS needs both HELPDESK_TLS_CERT and HELPDESK_TLS_KEY")
    files: dict[str, Path | None] = {}
    for name, value in (("HELPDESK_TLS_CERT", cert), ("HELPDESK_TLS_KEY", key)):
        path = Path(value).resolve()
        if not path.is_file() or not os.access(path, os.R_OK):
            raise ConfigError(f"{name}: {path} is not a readable file")
        files[name.removeprefix("HELPDESK_").lower()] = path
    return files


def _database_url(value: str | None, var_dir: Path) -> str:
    if not value:
        return f"sqlite:///{var_dir / 'helpdesk.db'}"
    scheme = urlsplit(value).scheme
    if scheme in {"postgresql", "postgres"}:
        # psycopg 3 is the only PostgreSQL driver we ship.
        value = "postgresql+psycopg" + value[len(scheme) :]
    elif scheme not in {"sqlite", "postgresql+psycopg"}:
        raise ConfigError(
            f"HELPDESK_DATABASE_URL: unsupported scheme {scheme!r} "
            "(use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB)"
        )
    try:
        make_url(value)
    except ArgumentError as exc:
        raise ConfigError(f"HELPDESK_DATABASE_URL: not a database URL: {exc}") from exc
    return value


def _broker_url(value: str | None) -> str | None:
    if not value or value == "embedded":
        return None
    if urlsplit(value).scheme not in {"redis", "rediss"}:
        raise ConfigError("HELPDESK_BROKER_URL: expected redis://HOST:PORT/DB or 'embedded'")
    return value


def _storage_url(value: str | None, var_dir: Path) -> str:
    if not value:
        return f"file:{var_dir / 'attachments'}"
    return check_storage_url(value)


def _outbound_url(value: str | None, var_dir: Path) -> str:
    if not value:
        return f"maildir:{var_dir / 'outbox'}"
    parts = urlsplit(value)
    ok = (
        (parts.scheme == "maildir" and bool(parts.path or parts.netloc))
        or (parts.scheme in {"smtp", "smtps"} and bool(parts.hostname) and _has_valid_port(value))
        or (parts.scheme == "ses" and bool(parts.netloc))
    )
    if not ok:
        raise ConfigError(
            "HELPDESK_OUTBOUND_URL: expected maildir:PATH, smtp://[USER:PASS@]HOST:PORT "
            "or ses://REGION"
        )
    return value


def _has_valid_port(url: str) -> bool:
    try:
        urlsplit(url).port  # noqa: B018 - reading .port is what validates it
    except ValueError:
        return False
    return True


def _base_url(value: str | None) -> str:
    if not value:
        return "http://127.0.0.1:5000"
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError("HELPDESK_BASE_URL: expected an absolute http(s):// URL")
    return value.rstrip("/")


def _optional_url(name: str, value: str | None) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError(f"{name}: expected an absolute http(s):// URL")
    return value


def _listen(name: str, value: str | None, default_port: int) -> Listen:
    if not value:
        return Listen("127.0.0.1", default_port)
    host, sep, port = value.rpartition(":")
    if not sep or not host or not _DIGITS.fullmatch(port) or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{name}: expected HOST:PORT, got {value!r}")
    return Listen(host.strip("[]"), int(port))


def _optional_listen(name: str, value: str | None) -> Listen | None:
    if not value or value == "off":
        return None
    return _listen(name, value, 0)


def _positive_int(name: str, value: str | None, default: int) -> int:
    if not value:
        return default
    if not _DIGITS.fullmatch(value) or int(value) <= 0:
        raise ConfigError(f"{name}: expected a positive whole number of bytes, got {value!r}")
    return int(value)


def _secret_key(value: str | None, var_dir: Path, *, create: bool) -> dict[str, object]:
    """Return the key of HELPDESK_SECRET_KEY, else the stored one (created if `create`).

    Without `create`, a key not stored yet is made up for this process and marked so.
    """
    if value:
        return {"secret_key": value}
    stored = _stored_secret_key(var_dir, create=create)
    if stored is None:
        return {"secret_key": secrets.token_urlsafe(48), "secret_key_made_up": True}
    return {"secret_key": stored}


def _stored_secret_key(var_dir: Path, *, create: bool) -> str | None:
    """Read the secret key kept in the var directory, creating it on first use if `create`."""
    path = var_dir / "secret_key"
    existing = read_secret_key(path)
    if existing is not None or not create:
        return existing
    key = secrets.token_urlsafe(48)
    try:
        var_dir.mkdir(parents=True, exist_ok=True)
        _create_secret_key(path, key)
    except FileExistsError:
        # Another process started at the same moment and won: use its key.
        return read_secret_key(path) or key
    except OSError as exc:
        raise ConfigError(f"HELPDESK_VAR_DIR: cannot create {path}: {exc.strerror}") from exc
    return key


def read_secret_key(path: Path) -> str | None:
    """Return the stored key, or None when there is no file yet.

    Raises:
        ConfigError: the file cannot be read or holds no key.
    """
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"HELPDESK_SECRET_KEY: cannot read {path}: {exc.strerror}") from exc
    if not existing:
        raise ConfigError(f"HELPDESK_SECRET_KEY: {path} is empty; delete it to generate a new key")
    return existing


def _create_secret_key(path: Path, key: str) -> None:
    """Write `key` to `path` whole or not at all; FileExistsError if it exists.

    The key is written and fsynced under a temporary name, then linked into
    place: a concurrent reader never sees a half-written key, a crash never
    leaves an empty one, and of two racing processes exactly one key wins.
    """
    # mkstemp creates the file with mode 0600: the key signs sessions and reply
    # tokens, so only the owner may read it.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret_key-")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(key + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.link(temporary, path)
    finally:
        os.unlink(temporary)

"""The one settings object, read from the environment once at each entry point."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from helpdesk.errors import ConfigError

DEFAULT_MAX_MESSAGE_BYTES = 26_214_400


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
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read HELPDESK_* variables.

        Raises:
            ConfigError: a variable has a bad value; the message names it.
        """
        env = os.environ if environ is None else environ
        var_dir = Path(env.get("HELPDESK_VAR_DIR") or "./var").resolve()
        get = env.get
        return cls.for_var_dir(
            var_dir,
            database_url=_database_url(get("HELPDESK_DATABASE_URL"), var_dir),
            secret_key=get("HELPDESK_SECRET_KEY") or _stored_secret_key(var_dir),
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
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _database_url(value: str | None, var_dir: Path) -> str:
    if not value:
        return f"sqlite:///{var_dir / 'helpdesk.db'}"
    scheme = urlsplit(value).scheme
    if scheme in {"postgresql", "postgres"}:
        # psycopg 3 is the only PostgreSQL driver we ship.
        return "postgresql+psycopg" + value[len(scheme) :]
    if scheme in {"sqlite", "postgresql+psycopg"}:
        return value
    raise ConfigError(
        f"HELPDESK_DATABASE_URL: unsupported scheme {scheme!r} "
        "(use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB)"
    )


def _broker_url(value: str | None) -> str | None:
    if not value or value == "embedded":
        return None
    if urlsplit(value).scheme not in {"redis", "rediss"}:
        raise ConfigError("HELPDESK_BROKER_URL: expected redis://HOST:PORT/DB or 'embedded'")
    return value


def _storage_url(value: str | None, var_dir: Path) -> str:
    if not value:
        return f"file:{var_dir / 'attachments'}"
    parts = urlsplit(value)
    if parts.scheme == "file" and (parts.path or parts.netloc):
        return value
    if parts.scheme == "s3" and parts.netloc:
        return value
    raise ConfigError("HELPDESK_STORAGE_URL: expected file:PATH or s3://BUCKET[/PREFIX]")


def _outbound_url(value: str | None, var_dir: Path) -> str:
    if not value:
        return f"maildir:{var_dir / 'outbox'}"
    parts = urlsplit(value)
    ok = (
        (parts.scheme == "maildir" and bool(parts.path or parts.netloc))
        or (parts.scheme in {"smtp", "smtps"} and bool(parts.hostname))
        or (parts.scheme == "ses" and bool(parts.netloc))
    )
    if not ok:
        raise ConfigError(
            "HELPDESK_OUTBOUND_URL: expected maildir:PATH, smtp://[USER:PASS@]HOST:PORT "
            "or ses://REGION"
        )
    return value


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
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{name}: expected HOST:PORT, got {value!r}")
    return Listen(host.strip("[]"), int(port))


def _optional_listen(name: str, value: str | None) -> Listen | None:
    if not value or value == "off":
        return None
    return _listen(name, value, 0)


def _positive_int(name: str, value: str | None, default: int) -> int:
    if not value:
        return default
    if not value.isdigit() or int(value) <= 0:
        raise ConfigError(f"{name}: expected a positive whole number of bytes, got {value!r}")
    return int(value)


def _stored_secret_key(var_dir: Path) -> str:
    """Read the secret key kept in the var directory, creating it on first use."""
    path = var_dir / "secret_key"
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        existing = ""
    except OSError as exc:
        raise ConfigError(f"HELPDESK_SECRET_KEY: cannot read {path}: {exc.strerror}") from exc
    if existing:
        return existing
    key = secrets.token_urlsafe(48)
    try:
        var_dir.mkdir(parents=True, exist_ok=True)
        # The key signs sessions and reply tokens: only the owner may read it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(key + "\n")
    except FileExistsError:
        return path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"HELPDESK_VAR_DIR: cannot create {path}: {exc.strerror}") from exc
    return key

"""Checks of what the helpdesk talks to: the broker, its own mail doors, the links it mails."""

from __future__ import annotations

import ipaddress
import smtplib
from collections.abc import Callable
from urllib.parse import urlsplit

from helpdesk.doctor.findings import Finding, problem, warning
from helpdesk.settings import Listen

# Seconds to wait for a door's greeting: a live door answers at once.
DOOR_TIMEOUT = 2.0
# A door listening on every address is reached on loopback; nothing binds here.
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104


def check_broker(probe: Callable[[], None] | None) -> list[Finding]:
    """Find a configured Redis broker that does not answer; None means the embedded broker."""
    if probe is None:
        return []
    try:
        probe()
    # Whatever building or pinging the broker raises is the finding.
    except Exception as exc:
        return [
            problem(
                f"the broker cannot be used: {exc}",
                "notifications and other background jobs go through it: none is done "
                "while it is away (they wait in the outbox)",
                "start Redis or correct HELPDESK_BROKER_URL (`redis-cli -u URL ping` "
                "answers PONG when it works)",
            )
        ]
    return []


def check_door(variable: str, listen: Listen, *, timeout: float = DOOR_TIMEOUT) -> list[Finding]:
    """Find a mail door that does not greet with 220; it may run on another host, so a warning."""
    host = _WILDCARDS.get(listen.host, listen.host)
    try:
        with smtplib.SMTP(host, listen.port, timeout=timeout):
            pass
    except (OSError, smtplib.SMTPException) as exc:
        command = "lmtp" if "LMTP" in variable else "smtp"
        return [
            warning(
                f"nothing answers 220 on {variable} ({listen}): {_reason(exc)}",
                "mail sent to this door is refused and waits at the sending server; "
                "fine if the door runs on another host",
                f"start `helpdesk serve` or `helpdesk {command}`; "
                f"`nc {host} {listen.port}` then shows its 220 greeting",
            )
        ]
    return []


def check_base_url(base_url: str, mailboxes: int) -> list[Finding]:
    """Find links in outgoing mail that would point at the reader's own computer."""
    if mailboxes == 0 or not _is_loopback(urlsplit(base_url).hostname or ""):
        return []
    return [
        warning(
            f"HELPDESK_BASE_URL is {base_url} while {mailboxes} "
            f"{'mailbox receives' if mailboxes == 1 else 'mailboxes receive'} mail",
            "links in the mail the helpdesk sends (tickets, portal sign-in) point at the "
            "reader's own computer",
            "set HELPDESK_BASE_URL to the address people open the helpdesk at, "
            "e.g. https://help.example.com",
        )
    ]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPConnectError):
        return f"it greeted with {exc.smtp_code}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__

"""The long-running roles (web, mail doors, ingest, worker, scheduler), run together.

This is the composition root: each role imports its edge inside `start`, so
that the rest of helpdesk/ never imports flask, aiosmtpd, dramatiq or waitress.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from helpdesk.db import SessionFactory
from helpdesk.errors import ConfigError
from helpdesk.settings import Listen, Settings

log = logging.getLogger(__name__)

WEB_THREADS = 8
# How often a waiting loop looks at its stop flag, in seconds.
POLL_SECONDS = 0.25


class Role(Protocol):
    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


class WebRole:
    """The Flask app served by waitress on settings.web_listen."""

    name = "web"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        # Our own socket map: the loop below runs it until we stop it.
        self._map: dict[int, Any] = {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        from waitress.server import create_server

        from web import create_app

        listen = self._settings.web_listen
        app = create_app(self._settings)
        with _listening("HELPDESK_WEB_LISTEN", listen):
            self._server = create_server(
                app, map=self._map, host=listen.host, port=listen.port, threads=WEB_THREADS
            )
        self._thread = threading.Thread(target=self._loop, name="helpdesk-web", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        from waitress import wasyncore

        while not self._stopping.is_set():
            wasyncore.loop(timeout=POLL_SECONDS, map=self._map, use_poll=True, count=1)

    def stop(self) -> None:
        from waitress import wasyncore

        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        self._server.task_dispatcher.shutdown()
        wasyncore.close_all(self._map)


class _MailRole:
    """A role over the mail settings and sessions; `start` keeps in `_running` what `stop` stops."""

    def __init__(self, settings: Settings, session_factory: SessionFactory) -> None:
        self._settings = settings
        self._session_factory = session_factory
        self._running: Any = None

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        if self._running is not None:
            self._running.stop()


class SmtpRole(_MailRole):
    """The SMTP gateway on settings.smtp_listen, storing accepted mail in the spool."""

    name = "smtp"

    def start(self) -> None:
        from mailgate.smtp import start_smtp

        with _listening("HELPDESK_SMTP_LISTEN", self._settings.smtp_listen):
            self._running = start_smtp(self._settings, self._session_factory)


class LmtpRole(_MailRole):
    """The LMTP door on settings.lmtp_listen, for a team's own MTA; stores as SMTP does."""

    name = "lmtp"

    def start(self) -> None:
        from mailgate.lmtp import start_lmtp

        # start_lmtp itself refuses a missing address with a ConfigError.
        with _listening("HELPDESK_LMTP_LISTEN", self._settings.lmtp_listen):
            self._running = start_lmtp(self._settings, self._session_factory)


class ImapRole(_MailRole):
    """The IMAP poller: every active mailbox with IMAP settings fetched into the spool."""

    name = "imap"

    def start(self) -> None:
        from mailgate.imap import ImapPoller
        from mailgate.spool import Spool

        spool = Spool(self._settings.spool_dir)
        self._running = ImapPoller(self._settings, self._session_factory, spool)
        self._running.start()


class WorkerRole:
    """A Dramatiq worker consuming the broker's queues in threads of this process."""

    name = "worker"

    def __init__(self, broker: Any) -> None:
        self._broker = broker
        self._worker: Any = None

    def start(self) -> None:
        from workers.broker import start_worker

        self._worker = start_worker(self._broker)

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop(timeout=30_000)


class SchedulerRole:
    """The periodic jobs: for now, dispatching the outbox every second."""

    name = "scheduler"

    def __init__(self, session_factory: SessionFactory, send: Callable[[int], Any]) -> None:
        from workers.scheduler import Scheduler, outbox_job

        self._scheduler = Scheduler([outbox_job(session_factory, send)])

    def start(self) -> None:
        self._scheduler.start()

    def stop(self) -> None:
        self._scheduler.stop()


def background_roles(
    settings: Settings, session_factory: SessionFactory, *, worker: bool, scheduler: bool
) -> list[Role]:
    """Build the broker, declare the actors, and return the worker and/or scheduler roles.

    Raises:
        ConfigError: the broker (Redis) cannot be reached.
    """
    from workers.broker import build_broker, check_broker
    from workers.outbox import declare_outbox_actor

    broker = build_broker(settings)
    check_broker(broker)
    actor = declare_outbox_actor(broker, session_factory)
    roles: list[Role] = []
    if worker:
        roles.append(WorkerRole(broker))
    if scheduler:
        roles.append(SchedulerRole(session_factory, actor.send))
    return roles


def run_roles(roles: Sequence[Role], on_ready: Callable[[], None]) -> None:
    """Start the roles, call `on_ready`, and run until SIGINT or SIGTERM; then stop them all."""
    stop = threading.Event()
    previous = {
        signum: signal.signal(signum, lambda _signum, _frame: stop.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    started: list[Role] = []
    try:
        for role in roles:
            role.start()
            started.append(role)
        on_ready()
        while not stop.wait(POLL_SECONDS):
            pass
        log.info("stopping")
    finally:
        # A second Ctrl-C while stopping interrupts for real.
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for role in reversed(started):
            role.stop()


def configure_logging() -> None:
    """Log at INFO to stderr, one line a record (each process of a role calls it once)."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # aiosmtpd logs every connection at INFO; the gateway logs what it accepts.
    logging.getLogger("mail.log").setLevel(logging.WARNING)


@contextmanager
def _listening(variable: str, listen: Listen | None) -> Iterator[None]:
    """Turn a failure to bind into a one-line error naming the variable."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(f"{variable}: cannot listen on {listen}: {reason}") from exc

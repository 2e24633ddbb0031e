"""The one place that builds the Dramatiq broker: Redis when configured, else in-process."""

from __future__ import annotations

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from helpdesk.errors import ConfigError
from helpdesk.settings import Settings

# Worker threads of the in-process worker `helpdesk serve` runs.
EMBEDDED_WORKER_THREADS = 4


def build_broker(settings: Settings) -> dramatiq.Broker:
    """Build the broker and make it Dramatiq's global one.

    Call it before importing any module that declares actors at import time:
    such actors bind to the global broker when they are declared.
    """
    # The embedded broker keeps messages in memory, in this process: only a
    # worker running in the same process (`helpdesk serve`) consumes them.
    # Nothing is lost when the process dies: the outbox rows stay in the
    # database and are dispatched again once their lease expires.
    broker: dramatiq.Broker = (
        RedisBroker(url=settings.broker_url)  # type: ignore[no-untyped-call]
        if settings.broker_url
        else StubBroker()
    )
    dramatiq.set_broker(broker)
    return broker


def start_worker(
    broker: dramatiq.Broker, *, threads: int = EMBEDDED_WORKER_THREADS
) -> dramatiq.Worker:
    """Start a Dramatiq worker consuming the broker's queues in threads of this process."""
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=250)
    worker.start()
    return worker


def check_broker(broker: dramatiq.Broker) -> None:
    """Make sure the broker answers, so a bad URL fails at start and not in a loop later.

    Raises:
        ConfigError: Redis does not answer; the message names HELPDESK_BROKER_URL.
    """
    if not isinstance(broker, RedisBroker):
        return
    try:
        broker.client.ping()
    except redis.RedisError as exc:
        raise ConfigError(f"HELPDESK_BROKER_URL: Redis does not answer: {exc}") from exc

"""Write side effects into the outbox, in the transaction of the change that causes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from helpdesk.models import OutboxEvent


def enqueue(
    session: Session, kind: str, *, tenant_id: int | None, now: datetime, **payload: Any
) -> OutboxEvent:
    """Record a side effect to carry out once this transaction commits.

    `payload` holds ids and plain values only (JSON), never objects: the worker
    reads the current state when it runs.
    """
    event = OutboxEvent(
        tenant_id=tenant_id, kind=kind, payload=payload, created_at=now, available_at=now
    )
    session.add(event)
    return event

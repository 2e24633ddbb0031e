"""The migrated schema answers on every backend."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.models import Tenant


def test_fresh_database_has_no_tenants(session: Session) -> None:
    assert session.scalar(select(func.count()).select_from(Tenant)) == 0

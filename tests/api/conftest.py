"""An app with a tenant of every kind of person, and tokens for each, for the API tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from helpdesk.clock import utcnow
from helpdesk.db import make_engine, make_session_factory, session_scope
from helpdesk.enums import Role
from helpdesk.models import Tenant
from helpdesk.principal import Operator
from helpdesk.services import client_tokens, sign_in, tokens
from helpdesk.settings import Settings
from tests.factories import make_contact, make_tenant, make_user


@dataclass
class Desk:
    """One tenant's people, each with a bearer token."""

    tenant_id: int
    slug: str
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)


@dataclass
class ApiWorld:
    """Two tenants behind one app, and a database to arrange data in."""

    app: Flask
    sessions: Callable[[], Any]
    own: Desk
    other: Desk

    def client(self) -> FlaskClient:
        return self.app.test_client()

    def call(self, role: str, method: str, path: str, desk: Desk | None = None, **kw: Any) -> Any:
        """Call the API as `role` of `desk` (the own tenant by default)."""
        desk = desk or self.own
        headers = dict(kw.pop("headers", {}))
        if role in desk.tokens:
            headers["Authorization"] = f"Bearer {desk.tokens[role]}"
        return self.client().open(path, method=method, headers=headers, **kw)


ROLES = ("admin", "agent", "light_agent", "client")


def _desk(session: Session, slug: str) -> Desk:
    tenant: Tenant = make_tenant(session, slug)
    desk = Desk(tenant.id, slug)
    now = utcnow()
    for role in (Role.ADMIN, Role.AGENT, Role.LIGHT_AGENT):
        user = make_user(session, tenant, role, f"{role.value}@{slug}.example")
        _, secret = tokens.create_api_token(session, Operator(), tenant.id, user.id, now=now)
        desk.tokens[role.value], desk.ids[role.value] = secret, user.id
    contact = make_contact(session, tenant, f"client@{slug}-client.example")
    link = sign_in.create_sign_in_link(session, tenant.id, contact.primary_email, now=now)
    assert link is not None
    _, _, secret = client_tokens.sign_in_with_link(session, link, now=now)
    desk.tokens["client"], desk.ids["client"] = secret, contact.id
    return desk


@pytest.fixture
def world(settings: Settings, make_app: Callable[[Settings], Flask]) -> Iterator[ApiWorld]:
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        own, other = _desk(session, "acme"), _desk(session, "globex")
    app = make_app(settings)

    def sessions() -> Any:
        return session_scope(factory)

    yield ApiWorld(app, sessions, own, other)
    engine.dispose()

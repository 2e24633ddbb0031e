"""Tenants: creating one with the defaults a new helpdesk starts from."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.errors import Conflict, NotFound, ValidationError
from helpdesk.models import BusinessCalendar, Category, SlaPolicy, Tenant
from helpdesk.models.catalog import DEFAULT_CATEGORIES
from helpdesk.models.sla import DEFAULT_SLA_MINUTES
from helpdesk.policy import Action, can, require
from helpdesk.principal import Principal

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def create_tenant(
    session: Session,
    actor: Principal,
    slug: str,
    name: str,
    *,
    timezone: str = "UTC",
    now: datetime,
) -> Tenant:
    """Create a tenant with default categories, business hours and SLA policies.

    Raises:
        PermissionDenied: the actor is not a platform admin.
        ValidationError: the slug, name or time zone is malformed.
        Conflict: the slug is taken.
    """
    require(can(actor, Action.MANAGE_TENANTS, 0), "only a platform admin creates tenants")
    slug = validate_slug(slug)
    name = name.strip()
    if not name:
        raise ValidationError("name", "must not be empty")
    validate_timezone(timezone)
    if session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise Conflict(f"a tenant with slug {slug!r} exists")
    tenant = Tenant(slug=slug, name=name, timezone=timezone, created_at=now)
    session.add(tenant)
    session.flush()
    _seed_defaults(session, tenant)
    session.flush()
    return tenant


def get_tenant_by_slug(session: Session, slug: str) -> Tenant:
    """Return the tenant with this slug.

    Raises:
        NotFound: there is none.
    """
    tenant = session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise NotFound(f"no tenant {slug!r}")
    return tenant


def validate_slug(slug: str) -> str:
    """Return the slug lower-cased.

    Raises:
        ValidationError: not 1-63 letters, digits and inner hyphens.
    """
    slug = slug.strip().lower()
    if not _SLUG.match(slug):
        raise ValidationError("slug", "use 1-63 letters, digits and inner hyphens")
    return slug


def validate_timezone(timezone: str) -> None:
    """Raises:
    ValidationError: not an IANA time zone name.
    """
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError("timezone", f"unknown time zone {timezone!r}") from exc


def _seed_defaults(session: Session, tenant: Tenant) -> None:
    for position, (key, label) in enumerate(DEFAULT_CATEGORIES):
        session.add(Category(tenant_id=tenant.id, key=key, name=label, position=position))
    calendar = BusinessCalendar(
        tenant_id=tenant.id, name="Business hours", timezone=tenant.timezone
    )
    session.add(calendar)
    session.flush()
    for priority, (first_response, resolution) in DEFAULT_SLA_MINUTES.items():
        session.add(
            SlaPolicy(
                tenant_id=tenant.id,
                name=f"{priority.value.capitalize()} priority",
                priority=priority,
                first_response_minutes=first_response,
                resolution_minutes=resolution,
                calendar_id=calendar.id,
            )
        )

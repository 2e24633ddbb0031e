"""The ticket lists: the agents' queue, a client's portal list, the platform's list of all."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from helpdesk.enums import Priority, Status
from helpdesk.models import Ticket
from helpdesk.principal import Staff
from helpdesk.queries.tickets import (
    Key,
    Sort,
    TicketFilter,
    list_tickets,
    list_tickets_across_tenants,
)
from web.api.blueprint import api
from web.api.core import Audience, Context
from web.api.pagination import Cursors
from web.api.present import present_tickets
from web.api.schemas import PageQuery
from web.api.shapes import TicketPage
from web.converters import MAX_ID


def _one_or_more(values: Sequence[str]) -> str:
    choice = "|".join(values)
    return rf"^({choice})(,({choice}))*$"


STATUSES = _one_or_more([status.value for status in Status])
PRIORITIES = _one_or_more([priority.value for priority in Priority])
SORTS = r"^-?(last_activity_at|created_at|updated_at|number|priority)$"
CATEGORY_KEY = r"^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$"
TAG_NAME = r"^\w[\w.:/+-]{0,63}$"
# Control characters and spaces are in no address; refusing them keeps NULs out of SQL.
EMAIL = r"^[^\x00-\x20@]{1,64}@[^\x00-\x20@]{1,253}$"
SLUG = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value: object) -> object:
    if isinstance(value, str) and not _RFC3339.match(value):
        raise ValueError("give an RFC 3339 date-time with its offset, e.g. 2026-03-01T09:00:00Z")
    return value


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # The first or last day of year 1 or 9999 in a far zone: the edge of time.
        return (datetime.min if value.year == 1 else datetime.max).replace(tzinfo=UTC)


Moment = Annotated[datetime, BeforeValidator(_rfc3339), AfterValidator(_in_utc)]


class PortalTicketQuery(PageQuery):
    status: str | None = Field(
        default=None, pattern=STATUSES, description="A status, or several separated by commas"
    )
    q: str | None = Field(
        default=None,
        max_length=500,
        description="Search words: tickets whose subject or messages contain every word "
        "(as a word or its beginning); best matches first",
    )


class TicketQuery(PortalTicketQuery):
    priority: str | None = Field(
        default=None, pattern=PRIORITIES, description="A priority, or several separated by commas"
    )
    category: str | None = Field(default=None, pattern=CATEGORY_KEY, description="Category key")
    assignee: str | None = Field(
        default=None,
        pattern=r"^(me|none|[1-9][0-9]{0,9})$",
        description="`me`, `none` (unassigned) or an agent's id",
    )
    team: str | None = Field(
        default=None, pattern=r"^(none|[1-9][0-9]{0,9})$", description="`none` or a team's id"
    )
    requester: str | None = Field(
        default=None, max_length=320, pattern=EMAIL, description="The requester's e-mail address"
    )
    organization: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="The requester's organization's id"
    )
    tag: str | None = Field(default=None, pattern=TAG_NAME, description="Tickets with this tag")
    created_after: Moment | None = Field(default=None, description="Created at or after")
    created_before: Moment | None = Field(default=None, description="Created before")
    updated_after: Moment | None = Field(default=None, description="Last changed at or after")
    updated_before: Moment | None = Field(default=None, description="Last changed before")
    sort: str | None = Field(
        default=None,
        pattern=SORTS,
        description="A field to sort by, `-` first for descending; ties are broken by id. "
        "Default: `-last_activity_at`, or best match first when searching with `q`. "
        "`priority` sorts by priority, then last activity",
    )


class PlatformTicketQuery(TicketQuery):
    tenant: str | None = Field(default=None, pattern=SLUG, description="Only this tenant's (slug)")


@api.endpoint(
    "GET", "/tickets", audience=Audience.STAFF, summary="List and search tickets", tag="tickets",
    query=TicketQuery, response=TicketPage,
)  # fmt: skip
def list_staff_tickets(ctx: Context, query: TicketQuery) -> TicketPage:
    """The tenant's tickets, filtered, searched and sorted, a page at a time.

    Filters combine with AND. `next_cursor` works only with the same filters and sort.
    """
    cursors = _cursors(ctx, "tickets", query)
    tickets, key = list_tickets(
        ctx.session, ctx.staff, ctx.tenant_id, staff_filter(query), sort=_sort(query.sort),
        after=_after(cursors, query.cursor), limit=query.limit,
    )  # fmt: skip
    return _page(ctx, tickets, key, cursors)


@api.endpoint(
    "GET", "/portal/tickets", audience=Audience.CLIENT, summary="My tickets",
    tag="portal: tickets", query=PortalTicketQuery, response=TicketPage,
)  # fmt: skip
def list_portal_tickets(ctx: Context, query: PortalTicketQuery) -> TicketPage:
    """The caller's tickets, most recently active first, or best match first when searching.

    They are the tickets the caller requested or takes part in, and their
    organization's where it shares them. A search reads subjects and public
    messages only.
    """
    cursors = _cursors(ctx, "portal-tickets", query)
    criteria = TicketFilter(status=_statuses(query.status), q=query.q)
    tickets, key = list_tickets(
        ctx.session, ctx.client, ctx.tenant_id, criteria, after=_after(cursors, query.cursor),
        limit=query.limit,
    )  # fmt: skip
    return _page(ctx, tickets, key, cursors, for_client=True)


@api.endpoint(
    "GET", "/platform/tickets", audience=Audience.PLATFORM, summary="Tickets of every tenant",
    tag="platform", query=PlatformTicketQuery, response=TicketPage,
)  # fmt: skip
def list_platform_tickets(ctx: Context, query: PlatformTicketQuery) -> TicketPage:
    """Tickets across tenants (or of the `tenant` named), with the agents' filters.

    An unknown tenant has no tickets.
    """
    cursors = _cursors(ctx, "platform-tickets", query)
    tickets, key = list_tickets_across_tenants(
        ctx.session, ctx.actor, staff_filter(query), tenant_slug=query.tenant,
        sort=_sort(query.sort), after=_after(cursors, query.cursor), limit=query.limit,
    )  # fmt: skip
    return _page(ctx, tickets, key, cursors)


def staff_filter(query: TicketQuery) -> TicketFilter:
    """Return the query string's filters as the list query takes them."""
    return TicketFilter(
        status=_statuses(query.status),
        priority=tuple(Priority(value) for value in _split(query.priority)),
        category=query.category,
        assignee=_assignee(query.assignee),
        team=_team(query.team),
        requester=query.requester,
        organization=query.organization,
        tag=query.tag,
        created_after=query.created_after,
        created_before=query.created_before,
        updated_after=query.updated_after,
        updated_before=query.updated_before,
        q=query.q,
    )


def _split(values: str | None) -> list[str]:
    return values.split(",") if values else []


def _statuses(values: str | None) -> tuple[Status, ...]:
    return tuple(Status(value) for value in _split(values))


def _assignee(value: str | None) -> int | Literal["me", "none"] | None:
    if value == "me":
        return "me"
    return _team(value)


def _team(value: str | None) -> int | Literal["none"] | None:
    if value == "none":
        return "none"
    return None if value is None else int(value)


def _sort(value: str | None) -> Sort | None:
    return Sort.parse(value) if value else None


def _cursors(ctx: Context, kind: str, query: PageQuery) -> Cursors:
    # A cursor is signed for its list and filters: another filter's cursor is refused.
    filters = query.model_dump(mode="json", exclude={"limit", "cursor"})
    digest = hashlib.sha256(json.dumps(filters, sort_keys=True).encode()).hexdigest()[:16]
    return Cursors(ctx.settings.secret_key, f"{kind}:{digest}")


def _after(cursors: Cursors, cursor: str | None) -> Key | None:
    return tuple(cursors.decode(cursor)) if cursor is not None else None


def _page(
    ctx: Context,
    tickets: list[Ticket],
    key: Key | None,
    cursors: Cursors,
    *,
    for_client: bool = False,
) -> TicketPage:
    # Staff see which tickets they have not read since their last change.
    reader = ctx.principal.user_id if isinstance(ctx.principal, Staff) else None
    items = present_tickets(
        ctx.session, tickets, now=ctx.now, for_client=for_client, reader_id=reader
    )
    next_cursor = cursors.encode(list(key)) if key is not None else None
    return TicketPage(items=items, next_cursor=next_cursor)

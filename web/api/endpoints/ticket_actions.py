"""Agent actions beyond a ticket's fields: bulk changes, watchers, merging and incident links."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select

from helpdesk.enums import Priority, Status
from helpdesk.models import User
from helpdesk.services.ticket_access import get_ticket
from helpdesk.services.ticket_links import link_to_incident, merge_tickets
from helpdesk.services.ticket_patch import MAX_BULK_TICKETS, bulk_update
from helpdesk.services.ticket_people import add_watcher, remove_watcher, watcher_ids
from web.api.blueprint import api
from web.api.core import Audience, Context, Reply, RequestInvalid
from web.api.endpoints.admin_common import optional
from web.api.endpoints.tickets import ticket_patch, ticket_reply
from web.api.schemas import Page, Strict
from web.api.shapes import AgentRef, TicketOut


class BulkChanges(Strict):
    """The same changes for every ticket; only the fields sent change."""

    # The document says what the validator below enforces: an empty change is an error.
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    status: Status = optional("Move each ticket")
    priority: Priority = optional("The new priority")
    assignee_id: int | None = Field(default=None, description="An agent's user id; null unassigns")
    team_id: int | None = Field(default=None, description="A team's id; null clears it")
    add_tags: list[str] = Field(default_factory=list, max_length=50)
    remove_tags: list[str] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _not_empty(self) -> BulkChanges:
        if not self.model_fields_set:
            raise ValueError("send at least one change")
        return self


class BulkIn(Strict):
    numbers: list[int] = Field(min_length=1, max_length=MAX_BULK_TICKETS)
    changes: BulkChanges


class BulkError(BaseModel):
    code: str = Field(description="not_found, forbidden, invalid, invalid_transition, conflict")
    message: str


class BulkResult(BaseModel):
    number: int
    ok: bool
    error: BulkError | None = None


class BulkOut(BaseModel):
    results: list[BulkResult] = Field(description="One per ticket, in the order given")


class WatcherPage(Page[AgentRef]):
    pass


class MergeIn(Strict):
    into: int = Field(ge=1, description="Number of the ticket that lives on")


class ParentIn(Strict):
    parent: int | None = Field(description="Number of the incident ticket; null unlinks")


@api.endpoint(
    "POST", "/tickets/bulk", audience=Audience.STAFF, summary="Change many tickets",
    tag="tickets", body=BulkIn, response=BulkOut,
)  # fmt: skip
def bulk_change_tickets(ctx: Context, body: BulkIn) -> BulkOut:
    """Make the same changes to up to 200 tickets, each on its own.

    Not all or nothing: every ticket changes in a savepoint of its own, so one
    that fails (not found, closed, a bad assignee) stays exactly as it was
    while the others change. The answer says for each ticket whether it
    changed, and if not, why. Another tenant's ticket numbers are not_found; a
    number given twice is done once.
    """
    patch = ticket_patch(body.changes)
    outcomes = bulk_update(ctx.session, ctx.staff, ctx.tenant_id, body.numbers, patch, now=ctx.now)
    return BulkOut(results=[
        BulkResult(number=o.number, ok=o.error is None,
                   error=BulkError(code=o.error.code, message=str(o.error)) if o.error else None)
        for o in outcomes
    ])  # fmt: skip


@api.endpoint(
    "GET", "/tickets/<int:number>/watchers", audience=Audience.STAFF,
    summary="Who watches a ticket", tag="tickets", response=WatcherPage,
)  # fmt: skip
def list_watchers(ctx: Context, number: int) -> WatcherPage:
    """The agents following the ticket, all in one page."""
    ticket = get_ticket(ctx.session, ctx.staff, ctx.tenant_id, number)
    ids = watcher_ids(ctx.session, ticket.id)
    users = ctx.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.id))
    items = [AgentRef(id=u.id, email=u.email, name=u.name) for u in users]
    return WatcherPage(items=items, next_cursor=None)


@api.endpoint(
    "PUT", "/tickets/<int:number>/watchers/<int:user_id>", audience=Audience.STAFF,
    summary="Add a watcher", tag="tickets", status=204,
)  # fmt: skip
def put_watcher(ctx: Context, number: int, user_id: int) -> None:
    """Let a staff member of the tenant follow the ticket; already watching is fine."""
    ticket = get_ticket(ctx.session, ctx.staff, ctx.tenant_id, number)
    add_watcher(ctx.session, ctx.staff, ticket.id, user_id, now=ctx.now)


@api.endpoint(
    "DELETE", "/tickets/<int:number>/watchers/<int:user_id>", audience=Audience.STAFF,
    summary="Remove a watcher", tag="tickets", status=204,
)  # fmt: skip
def delete_watcher(ctx: Context, number: int, user_id: int) -> None:
    """Stop a user following the ticket; not watching is fine."""
    ticket = get_ticket(ctx.session, ctx.staff, ctx.tenant_id, number)
    remove_watcher(ctx.session, ctx.staff, ticket.id, user_id, now=ctx.now)


@api.endpoint(
    "POST", "/tickets/<int:number>/merge", audience=Audience.STAFF,
    summary="Merge into another ticket", tag="tickets", body=MergeIn, response=TicketOut,
)  # fmt: skip
def merge_ticket(ctx: Context, number: int, body: MergeIn) -> Reply:
    """Fold this ticket (a duplicate) into the ticket `into`; answers with that ticket.

    Messages and attachments move over, people and tags are united, and this
    ticket is closed with `merged_into` pointing at the other.
    """
    if body.into == number:
        raise RequestInvalid(422, "invalid", "into: not the ticket itself", {"into": "not itself"})
    source = get_ticket(ctx.session, ctx.staff, ctx.tenant_id, number)
    target = get_ticket(ctx.session, ctx.staff, ctx.tenant_id, body.into)
    return ticket_reply(ctx, merge_tickets(ctx.session, ctx.staff, source.id, target.id,
                                           now=ctx.now))  # fmt: skip


@api.endpoint(
    "PUT", "/tickets/<int:number>/parent", audience=Audience.STAFF,
    summary="Link to an incident", tag="tickets", body=ParentIn, response=TicketOut,
)  # fmt: skip
def put_parent(ctx: Context, number: int, body: ParentIn) -> Reply:
    """Make the ticket a symptom of an incident ticket (`parent`), or unlink it with null."""
    ticket = get_ticket(ctx.session, ctx.staff, ctx.tenant_id, number)
    parent = None
    if body.parent is not None:
        parent = get_ticket(ctx.session, ctx.staff, ctx.tenant_id, body.parent).id
    return ticket_reply(ctx, link_to_incident(ctx.session, ctx.staff, ticket.id, parent,
                                              now=ctx.now))  # fmt: skip

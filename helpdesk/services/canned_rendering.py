"""Filling a canned response in for one ticket, as the agent using it would send it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from helpdesk.errors import NotFound
from helpdesk.models import CannedResponse, Contact, User
from helpdesk.policy import Action, can, require
from helpdesk.principal import PlatformAdmin, Principal, Staff
from helpdesk.services.canned_responses import render_canned_response
from helpdesk.services.scope import get_scoped
from helpdesk.services.ticket_access import ticket_for


def render_for_ticket(session: Session, actor: Principal, response_id: int, ticket_id: int) -> str:
    """Return the response's text with the ticket's number, requester and the agent filled in.

    Raises:
        NotFound: no such response visible to the actor (another agent's own
            responses do not exist for them), or a ticket they may not see.
        PermissionDenied: the actor may not use canned responses.
    """
    response = get_scoped(session, CannedResponse, response_id, actor, "canned response")
    require(can(actor, Action.USE_CANNED_RESPONSES, response.tenant_id), "you may not use them")
    user_id = actor.user_id if isinstance(actor, Staff | PlatformAdmin) else None
    if response.owner_user_id not in (None, user_id):
        raise NotFound("no such canned response")
    ticket = ticket_for(session, actor, ticket_id, Action.VIEW_TICKETS)
    requester = session.get_one(Contact, ticket.requester_id)
    agent = session.get(User, user_id) if user_id is not None else None
    return render_canned_response(
        response,
        ticket_number=ticket.number,
        requester_name=requester.name or requester.primary_email,
        agent_name=agent.name if agent else "",
    )

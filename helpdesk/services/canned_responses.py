"""Canned responses: reply templates, shared with the tenant or an agent's own."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from helpdesk.errors import Conflict, NotFound, ValidationError
from helpdesk.models import CannedResponse
from helpdesk.policy import Action, can, require
from helpdesk.principal import PlatformAdmin, Principal, Staff
from helpdesk.services.scope import get_scoped, get_tenant
from helpdesk.unchanged import UNCHANGED, Unchanged

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def create_canned_response(
    session: Session,
    actor: Principal,
    tenant_id: int,
    *,
    title: str,
    body: str,
    shared: bool = False,
    now: datetime,
) -> CannedResponse:
    """Save a reply template: shared with the tenant (admins) or the agent's own.

    Raises:
        PermissionDenied: the actor may not keep such responses.
        ValidationError: empty title or body.
        Conflict: a response with that title exists in the same scope.
    """
    if shared:
        require(can(actor, Action.MANAGE_TENANT, tenant_id), "only an admin shares responses")
        get_tenant(session, tenant_id)
    require(_may_keep_own(actor, tenant_id) or shared, "you may not keep canned responses")
    owner = None if shared else _user_id(actor)
    response = CannedResponse(tenant_id=tenant_id, owner_user_id=owner, created_at=now)
    _set_response(session, response, title, body, now=now)
    session.add(response)
    session.flush()
    return response


def update_canned_response(
    session: Session,
    actor: Principal,
    response_id: int,
    *,
    title: str | Unchanged = UNCHANGED,
    body: str | Unchanged = UNCHANGED,
    now: datetime,
) -> CannedResponse:
    """Change a canned response's title or body.

    Raises:
        NotFound: no such response visible to the actor.
        PermissionDenied: a shared response and the actor is no admin.
        ValidationError: empty title or body.
        Conflict: a response with that title exists in the same scope.
    """
    response = _response_for_change(session, actor, response_id)
    new_title = response.title if title is UNCHANGED else title
    new_body = response.body if body is UNCHANGED else body
    _set_response(session, response, new_title, new_body, now=now)
    session.flush()
    return response


def delete_canned_response(
    session: Session, actor: Principal, response_id: int, *, now: datetime
) -> None:
    """Delete a canned response.

    Raises:
        NotFound: no such response visible to the actor.
        PermissionDenied: a shared response and the actor is no admin.
    """
    session.delete(_response_for_change(session, actor, response_id))
    session.flush()


def list_canned_responses(
    session: Session, actor: Principal, tenant_id: int
) -> list[CannedResponse]:
    """Return the responses the actor may use, shared and own, by title.

    Raises:
        PermissionDenied: the actor may not use canned responses.
    """
    require(can(actor, Action.USE_CANNED_RESPONSES, tenant_id), "you may not use them")
    own = CannedResponse.owner_user_id == _user_id(actor)
    visible = or_(CannedResponse.owner_user_id.is_(None), own)
    query = select(CannedResponse).where(CannedResponse.tenant_id == tenant_id, visible)
    return list(session.scalars(query.order_by(CannedResponse.title, CannedResponse.id)))


def render_canned_response(
    response: CannedResponse, *, ticket_number: int | str, requester_name: str, agent_name: str
) -> str:
    """Fill in {{ticket_number}}, {{requester_name}} and {{agent_name}}; leave others as typed."""
    values = {
        "ticket_number": str(ticket_number),
        "requester_name": requester_name,
        "agent_name": agent_name,
    }
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), response.body)


def _response_for_change(session: Session, actor: Principal, response_id: int) -> CannedResponse:
    response = get_scoped(session, CannedResponse, response_id, actor, "canned response")
    if response.owner_user_id is None:
        require(can(actor, Action.MANAGE_TENANT, response.tenant_id), "only an admin may")
        return response
    # Another agent's own responses are private: to anyone else they do not exist.
    if response.owner_user_id != _user_id(actor):
        raise NotFound("no such canned response")
    require(_may_keep_own(actor, response.tenant_id), "you may not keep canned responses")
    return response


def _set_response(
    session: Session, response: CannedResponse, title: str, body: str, *, now: datetime
) -> None:
    title = _text("title", title, 200)
    if not body.strip():
        raise ValidationError("body", "must not be empty")
    # NULL owners never collide in a unique index, so shared titles are checked here.
    query = select(CannedResponse.id).where(
        CannedResponse.tenant_id == response.tenant_id,
        CannedResponse.title == title,
        CannedResponse.owner_user_id.is_(None)
        if response.owner_user_id is None
        else CannedResponse.owner_user_id == response.owner_user_id,
    )
    if session.scalar(query) not in (None, response.id):
        raise Conflict(f"a canned response titled {title!r} exists")
    response.title, response.body, response.updated_at = title, body, now


def _may_keep_own(actor: Principal, tenant_id: int) -> bool:
    return _user_id(actor) is not None and can(actor, Action.MANAGE_OWN_CANNED_RESPONSES, tenant_id)


def _user_id(actor: Principal) -> int | None:
    return actor.user_id if isinstance(actor, Staff | PlatformAdmin) else None


def _text(field: str, value: str, limit: int) -> str:
    value = value.strip()
    if not value or len(value) > limit:
        raise ValidationError(field, f"use 1 to {limit} characters")
    return value

"""The tenant's vocabularies: categories, custom field definitions, canned responses."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from helpdesk.enums import CustomFieldType, Role
from helpdesk.errors import Conflict, NotFound, PermissionDenied, ValidationError
from helpdesk.principal import Operator
from helpdesk.services import catalog
from tests.factories import NOW, make_client, make_staff, make_tenant

DEFAULT_KEYS = ["support", "work_order", "billing", "bug", "feature_request"]

# Categories


def test_new_category_comes_last_with_its_key_normalized(session: Session) -> None:
    tenant = make_tenant(session)
    admin = make_staff(session, tenant, Role.ADMIN)
    category = catalog.create_category(
        session, admin, tenant.id, key=" Returns ", name=" Returns ", now=NOW
    )
    assert (category.key, category.name) == ("returns", "Returns")
    keys = [c.key for c in catalog.list_categories(session, admin, tenant.id)]
    assert keys == [*DEFAULT_KEYS, "returns"]


@pytest.mark.parametrize("key", ["", "-returns", "returns-", "re turns", "réturns", "x" * 64])
def test_category_key_must_be_a_slug(session: Session, key: str) -> None:
    tenant = make_tenant(session)
    with pytest.raises(ValidationError) as caught:
        catalog.create_category(session, Operator(), tenant.id, key=key, name="Returns", now=NOW)
    assert caught.value.field == "key"


def test_category_key_is_unique_per_tenant(session: Session) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    catalog.create_category(session, Operator(), tenant.id, key="returns", name="R", now=NOW)
    with pytest.raises(Conflict):
        catalog.create_category(session, Operator(), tenant.id, key="RETURNS", name="R", now=NOW)
    catalog.create_category(session, Operator(), other.id, key="returns", name="R", now=NOW)


def test_renaming_keeps_the_key_and_deactivating_hides_the_category(session: Session) -> None:
    tenant = make_tenant(session)
    admin = make_staff(session, tenant, Role.ADMIN)
    bug = next(c for c in catalog.list_categories(session, admin, tenant.id) if c.key == "bug")
    catalog.rename_category(session, admin, bug.id, "Defect", now=NOW)
    assert (bug.key, bug.name) == ("bug", "Defect")
    catalog.deactivate_category(session, admin, bug.id, now=NOW)
    assert "bug" not in [c.key for c in catalog.list_categories(session, admin, tenant.id)]
    everything = catalog.list_categories(session, admin, tenant.id, include_inactive=True)
    assert "bug" in [c.key for c in everything]


def test_reordering_puts_the_named_categories_first(session: Session) -> None:
    tenant = make_tenant(session)
    admin = make_staff(session, tenant, Role.ADMIN)
    catalog.reorder_categories(session, admin, tenant.id, ["bug", "support"], now=NOW)
    keys = [c.key for c in catalog.list_categories(session, admin, tenant.id)]
    assert keys == ["bug", "support", "work_order", "billing", "feature_request"]


@pytest.mark.parametrize("keys", [["bug", "bug"], ["bug", "nope"]])
def test_reordering_with_unknown_or_repeated_keys_is_refused(
    session: Session, keys: list[str]
) -> None:
    tenant = make_tenant(session)
    with pytest.raises(ValidationError):
        catalog.reorder_categories(session, Operator(), tenant.id, keys, now=NOW)


@pytest.mark.parametrize("role", [Role.AGENT, Role.LIGHT_AGENT])
def test_staff_below_admin_read_but_do_not_change_categories(session: Session, role: Role) -> None:
    tenant = make_tenant(session)
    staff = make_staff(session, tenant, role)
    first = catalog.list_categories(session, staff, tenant.id)[0]
    with pytest.raises(PermissionDenied):
        catalog.create_category(session, staff, tenant.id, key="x", name="X", now=NOW)
    with pytest.raises(PermissionDenied):
        catalog.rename_category(session, staff, first.id, "X", now=NOW)
    with pytest.raises(PermissionDenied):
        catalog.reorder_categories(session, staff, tenant.id, ["bug"], now=NOW)


def test_client_reads_categories_for_the_portal_form(session: Session) -> None:
    tenant = make_tenant(session)
    client = make_client(session, tenant)
    assert [c.key for c in catalog.list_categories(session, client, tenant.id)] == DEFAULT_KEYS
    first = catalog.list_categories(session, client, tenant.id)[0]
    with pytest.raises(PermissionDenied):
        catalog.deactivate_category(session, client, first.id, now=NOW)


def test_another_tenants_category_is_not_found(session: Session) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    theirs = catalog.list_categories(session, Operator(), other.id)[0]
    admin = make_staff(session, tenant, Role.ADMIN)
    with pytest.raises(NotFound):
        catalog.rename_category(session, admin, theirs.id, "Mine", now=NOW)
    with pytest.raises(PermissionDenied):
        catalog.list_categories(session, admin, other.id)


# Custom field definitions


def _field(session: Session, tenant_id: int, **overrides: Any) -> Any:
    values: dict[str, Any] = {"key": "plan", "label": "Plan", "type": CustomFieldType.TEXT}
    values.update(overrides)
    return catalog.create_custom_field(session, Operator(), tenant_id, now=NOW, **values)


def test_select_field_keeps_its_choices_trimmed(session: Session) -> None:
    tenant = make_tenant(session)
    field = _field(
        session,
        tenant.id,
        type=CustomFieldType.SELECT,
        options={"choices": [" Free ", "Pro"]},
        required=True,
    )
    assert field.options == {"choices": ["Free", "Pro"]}
    assert field.required
    assert field.active
    assert not field.visible_to_clients


@pytest.mark.parametrize(
    "options",
    [
        None,
        {},
        {"choices": []},
        {"choices": "Free,Pro"},
        {"choices": ["Free", ""]},
        {"choices": ["Free", 2]},
        {"choices": ["Free", " Free"]},
        {"choices": ["Free"], "colour": "red"},
    ],
)
def test_select_field_needs_unique_text_choices(
    session: Session, options: dict[str, Any] | None
) -> None:
    tenant = make_tenant(session)
    with pytest.raises(ValidationError) as caught:
        _field(session, tenant.id, type=CustomFieldType.SELECT, options=options)
    assert caught.value.field == "options"


def test_other_field_types_take_no_options(session: Session) -> None:
    tenant = make_tenant(session)
    with pytest.raises(ValidationError):
        _field(session, tenant.id, type=CustomFieldType.NUMBER, options={"choices": ["1"]})
    assert _field(session, tenant.id, type=CustomFieldType.DATE).options == {}


def test_field_key_is_unique_and_a_slug(session: Session) -> None:
    tenant = make_tenant(session)
    _field(session, tenant.id)
    with pytest.raises(Conflict):
        _field(session, tenant.id, key="PLAN")
    with pytest.raises(ValidationError):
        _field(session, tenant.id, key="the plan")


def test_field_update_changes_label_and_choices_but_not_type(session: Session) -> None:
    tenant = make_tenant(session)
    field = _field(session, tenant.id, type=CustomFieldType.SELECT, options={"choices": ["A"]})
    catalog.update_custom_field(
        session, Operator(), field.id, label="Tier", options={"choices": ["A", "B"]}, now=NOW
    )
    assert (field.label, field.options, field.type) == (
        "Tier",
        {"choices": ["A", "B"]},
        CustomFieldType.SELECT,
    )
    with pytest.raises(ValidationError):
        catalog.update_custom_field(session, Operator(), field.id, options={}, now=NOW)


def test_clients_see_only_active_fields_meant_for_them(session: Session) -> None:
    tenant = make_tenant(session)
    _field(session, tenant.id, key="internal_ref")
    shown = _field(session, tenant.id, key="order_number", visible_to_clients=True)
    retired = _field(session, tenant.id, key="old", visible_to_clients=True)
    catalog.deactivate_custom_field(session, Operator(), retired.id, now=NOW)
    client = make_client(session, tenant)
    assert catalog.list_custom_fields(session, client, tenant.id) == [shown]
    agent = make_staff(session, tenant, Role.LIGHT_AGENT)
    keys = [f.key for f in catalog.list_custom_fields(session, agent, tenant.id)]
    assert keys == ["internal_ref", "order_number"]


def test_agents_cannot_define_fields_and_other_tenants_fields_are_not_found(
    session: Session,
) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    agent = make_staff(session, tenant, Role.AGENT)
    with pytest.raises(PermissionDenied):
        catalog.create_custom_field(
            session, agent, tenant.id, key="x", label="X", type=CustomFieldType.TEXT, now=NOW
        )
    theirs = _field(session, other.id)
    admin = make_staff(session, tenant, Role.ADMIN)
    with pytest.raises(NotFound):
        catalog.update_custom_field(session, admin, theirs.id, label="Mine", now=NOW)


# Canned responses


def test_agents_see_shared_responses_and_their_own_only(session: Session) -> None:
    tenant = make_tenant(session)
    admin = make_staff(session, tenant, Role.ADMIN)
    ann, bob = make_staff(session, tenant), make_staff(session, tenant)
    shared = catalog.create_canned_response(
        session, admin, tenant.id, title="Welcome", body="Hello!", shared=True, now=NOW
    )
    anns = catalog.create_canned_response(session, ann, tenant.id, title="Mine", body="x", now=NOW)
    bobs = catalog.create_canned_response(session, bob, tenant.id, title="Mine", body="y", now=NOW)
    assert catalog.list_canned_responses(session, ann, tenant.id) == [anns, shared]
    assert catalog.list_canned_responses(session, bob, tenant.id) == [bobs, shared]
    light = make_staff(session, tenant, Role.LIGHT_AGENT)
    assert catalog.list_canned_responses(session, light, tenant.id) == [shared]


def test_anothers_own_response_does_not_exist_for_you(session: Session) -> None:
    tenant = make_tenant(session)
    ann, bob = make_staff(session, tenant), make_staff(session, tenant)
    anns = catalog.create_canned_response(session, ann, tenant.id, title="T", body="x", now=NOW)
    admin = make_staff(session, tenant, Role.ADMIN)
    for actor in (bob, admin):
        with pytest.raises(NotFound):
            catalog.update_canned_response(session, actor, anns.id, body="hijacked", now=NOW)
        with pytest.raises(NotFound):
            catalog.delete_canned_response(session, actor, anns.id, now=NOW)
    catalog.update_canned_response(session, ann, anns.id, body="better", now=NOW)
    assert (anns.title, anns.body) == ("T", "better")
    catalog.delete_canned_response(session, ann, anns.id, now=NOW)
    assert catalog.list_canned_responses(session, ann, tenant.id) == []


def test_only_admins_share_or_change_shared_responses(session: Session) -> None:
    tenant = make_tenant(session)
    agent = make_staff(session, tenant)
    with pytest.raises(PermissionDenied):
        catalog.create_canned_response(
            session, agent, tenant.id, title="T", body="x", shared=True, now=NOW
        )
    shared = catalog.create_canned_response(
        session, Operator(), tenant.id, title="T", body="x", shared=True, now=NOW
    )
    with pytest.raises(PermissionDenied):
        catalog.update_canned_response(session, agent, shared.id, body="y", now=NOW)
    with pytest.raises(PermissionDenied):
        catalog.delete_canned_response(session, agent, shared.id, now=NOW)


def test_light_agents_and_clients_keep_no_responses(session: Session) -> None:
    tenant = make_tenant(session)
    light = make_staff(session, tenant, Role.LIGHT_AGENT)
    client = make_client(session, tenant)
    for actor in (light, client):
        with pytest.raises(PermissionDenied):
            catalog.create_canned_response(session, actor, tenant.id, title="T", body="x", now=NOW)
    with pytest.raises(PermissionDenied):
        catalog.list_canned_responses(session, client, tenant.id)


def test_response_titles_are_unique_within_their_scope(session: Session) -> None:
    tenant = make_tenant(session)
    agent = make_staff(session, tenant)
    for shared in (True, False):
        actor = Operator() if shared else agent
        catalog.create_canned_response(
            session, actor, tenant.id, title="Hi", body="x", shared=shared, now=NOW
        )
        with pytest.raises(Conflict):
            catalog.create_canned_response(
                session, actor, tenant.id, title=" Hi ", body="y", shared=shared, now=NOW
            )
    with pytest.raises(ValidationError):
        catalog.create_canned_response(session, agent, tenant.id, title="New", body=" ", now=NOW)


def test_another_tenants_shared_response_is_not_found(session: Session) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    theirs = catalog.create_canned_response(
        session, Operator(), other.id, title="T", body="x", shared=True, now=NOW
    )
    admin = make_staff(session, tenant, Role.ADMIN)
    with pytest.raises(NotFound):
        catalog.delete_canned_response(session, admin, theirs.id, now=NOW)


def test_rendering_fills_known_placeholders_and_leaves_the_rest(session: Session) -> None:
    tenant = make_tenant(session)
    response = catalog.create_canned_response(
        session,
        Operator(),
        tenant.id,
        title="Ack",
        body="Hi {{requester_name}}, ticket #{{ ticket_number }} is with {{agent_name}}. "
        "{{unknown}} ${requester_name} {{{agent_name}}}",
        shared=True,
        now=NOW,
    )
    text = catalog.render_canned_response(
        response, ticket_number=42, requester_name="Ann {{agent_name}}", agent_name="Bob"
    )
    assert text == (
        "Hi Ann {{agent_name}}, ticket #42 is with Bob. {{unknown}} ${requester_name} {Bob}"
    )

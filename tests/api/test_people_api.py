"""The directory through the API: contacts agents keep, organizations admins keep."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import ApiWorld


def add_contact(world: ApiWorld, email: str, role: str = "agent", **fields: Any) -> Any:
    return world.call(role, "POST", "/api/v1/contacts", json={"email": email, **fields})


def add_organization(world: ApiWorld, name: str, *domains: str, role: str = "admin") -> Any:
    body = {"name": name, "domains": list(domains)}
    return world.call(role, "POST", "/api/v1/organizations", json=body)


def test_an_agent_adds_a_contact_who_joins_the_organization_of_their_domain(
    world: ApiWorld,
) -> None:
    organization = add_organization(world, "Initech", "initech.example").get_json()
    response = add_contact(world, "Peter@Initech.example", name="Peter Gibbons")
    assert response.status_code == 201
    contact = response.get_json()
    assert contact["email"] == "peter@initech.example"
    assert contact["emails"] == [
        {"email": "peter@initech.example", "primary": True, "bounced": False}
    ]
    assert contact["organization"] == {"id": organization["id"], "name": "Initech"}
    assert (contact["portal_access"], contact["blocked"]) == (True, False)
    fetched = world.call("light_agent", "GET", f"/api/v1/contacts/{contact['id']}")
    assert fetched.get_json() == contact


def test_a_contact_address_is_taken_once(world: ApiWorld) -> None:
    add_contact(world, "peter@initech.example")
    response = add_contact(world, "PETER@initech.example")
    assert response.status_code == 409
    assert add_contact(world, "not an address").status_code == 422


def test_contacts_are_filtered_and_paged(world: ApiWorld) -> None:
    organization = add_organization(world, "Initech", "initech.example").get_json()
    for name in ("Peter", "Samir", "Michael"):
        add_contact(world, f"{name.lower()}@initech.example", name=name)
    add_contact(world, "milton@basement.example", name="Milton")

    def emails(**query: str) -> list[str]:
        page = world.call("light_agent", "GET", "/api/v1/contacts", query_string=query)
        return [c["email"] for c in page.get_json()["items"]]

    assert emails(email="SAMIR@initech.example") == ["samir@initech.example"]
    assert emails(organization=str(organization["id"])) == [
        "peter@initech.example",
        "samir@initech.example",
        "michael@initech.example",
    ]
    assert emails(q="mi") == [
        "samir@initech.example",
        "michael@initech.example",
        "milton@basement.example",
    ]
    assert emails(q="100%") == []
    seen, cursor = [], None
    while True:
        query = {"limit": "2", "q": "i"} | ({"cursor": cursor} if cursor else {})
        page = world.call("agent", "GET", "/api/v1/contacts", query_string=query).get_json()
        seen += [c["name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert "Milton" in seen
    assert len(seen) == len(set(seen))


def test_an_agent_edits_a_contact_all_or_nothing(world: ApiWorld) -> None:
    contact = add_contact(world, "peter@initech.example").get_json()
    url = f"/api/v1/contacts/{contact['id']}"
    change = {"name": "Peter G.", "blocked": True, "add_emails": ["pg@home.example"]}
    response = world.call("agent", "PATCH", url, json=change)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["name"], body["blocked"]) == ("Peter G.", True)
    assert [e["email"] for e in body["emails"]] == ["peter@initech.example", "pg@home.example"]
    taken = world.call(
        "agent", "PATCH", url, json={"name": "Changed", "add_emails": ["pg@home.example"]}
    )
    assert taken.status_code == 409
    assert world.call("agent", "GET", url).get_json()["name"] == "Peter G."


@pytest.mark.parametrize(
    ("role", "method", "status"),
    [("light_agent", "GET", 200), ("light_agent", "PATCH", 403), ("client", "GET", 403)],
)
def test_light_agents_read_contacts_and_clients_do_not(
    world: ApiWorld, role: str, method: str, status: int
) -> None:
    contact = add_contact(world, "peter@initech.example").get_json()
    url = f"/api/v1/contacts/{contact['id']}"
    response = world.call(role, method, url, json={"name": "X"} if method == "PATCH" else None)
    assert response.status_code == status
    assert add_contact(world, "samir@initech.example", role="light_agent").status_code == 403


def test_another_tenants_contact_does_not_exist(world: ApiWorld) -> None:
    contact = add_contact(world, "peter@initech.example").get_json()
    url = f"/api/v1/contacts/{contact['id']}"
    assert world.call("admin", "GET", url, desk=world.other).status_code == 404
    patch = world.call("admin", "PATCH", url, desk=world.other, json={"blocked": True})
    assert patch.status_code == 404
    listed = world.call("admin", "GET", "/api/v1/contacts", desk=world.other).get_json()
    assert contact["id"] not in [c["id"] for c in listed["items"]]
    attach = world.call(
        "agent",
        "POST",
        "/api/v1/contacts",
        desk=world.other,
        json={"email": "x@other.example", "organization_id": 10_000},
    )
    assert attach.status_code == 422


def test_admins_keep_organizations_and_their_domains(world: ApiWorld) -> None:
    response = add_organization(world, "Initech", "initech.example", "initrode.example")
    assert response.status_code == 201
    organization = response.get_json()
    assert organization["domains"] == ["initech.example", "initrode.example"]
    assert organization["shared_tickets"] is False
    url = f"/api/v1/organizations/{organization['id']}"
    change = {
        "domains": ["initrode.example", "initech.test"],
        "shared_tickets": True,
        "notes": "Pays late",
    }
    body = world.call("admin", "PATCH", url, json=change).get_json()
    assert body["domains"] == ["initech.test", "initrode.example"]
    assert (body["shared_tickets"], body["notes"]) == (True, "Pays late")
    assert world.call("light_agent", "GET", url).get_json() == body


def test_a_domain_change_that_fails_changes_nothing(world: ApiWorld) -> None:
    add_organization(world, "Globo", "globo.example")
    organization = add_organization(world, "Initech", "initech.example").get_json()
    url = f"/api/v1/organizations/{organization['id']}"
    taken = world.call(
        "admin", "PATCH", url, json={"name": "Initech AG", "domains": ["globo.example"]}
    )
    assert taken.status_code == 409
    public = world.call("admin", "PATCH", url, json={"domains": ["gmail.com"]})
    assert public.status_code == 422
    assert world.call("admin", "GET", url).get_json() == organization


@pytest.mark.parametrize(("role", "status"), [("agent", 403), ("light_agent", 403)])
def test_only_admins_add_or_change_organizations(world: ApiWorld, role: str, status: int) -> None:
    assert add_organization(world, "Initech", role=role).status_code == status
    organization = add_organization(world, "Initech").get_json()
    url = f"/api/v1/organizations/{organization['id']}"
    assert world.call(role, "PATCH", url, json={"notes": "x"}).status_code == status


def test_organizations_are_listed_by_name_and_stay_in_their_tenant(world: ApiWorld) -> None:
    for name in ("Umbrella", "Initech", "Acme Widgets"):
        add_organization(world, name)
    names, cursor = [], None
    while True:
        query = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = world.call("agent", "GET", "/api/v1/organizations", query_string=query).get_json()
        names += [o["name"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert names == ["Acme Widgets", "Initech", "Umbrella"]
    filtered = world.call("agent", "GET", "/api/v1/organizations", query_string={"q": "INI"})
    assert [o["name"] for o in filtered.get_json()["items"]] == ["Initech"]
    theirs = world.call("admin", "GET", "/api/v1/organizations", desk=world.other).get_json()
    assert theirs["items"] == []
    one = world.call("admin", "GET", "/api/v1/organizations", query_string={"limit": "1"})
    first_id = one.get_json()["items"][0]["id"]
    other = world.call("admin", "GET", f"/api/v1/organizations/{first_id}", desk=world.other)
    assert other.status_code == 404

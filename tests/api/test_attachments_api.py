"""Uploading files judged by their bytes, and downloading them so that none ever runs."""

from __future__ import annotations

import io
from typing import Any

import pytest

from helpdesk.enums import Role
from helpdesk.models import Tenant
from helpdesk.principal import Staff
from helpdesk.services.tenant_settings import update_tenant
from tests.api.conftest import ApiWorld, Desk
from tests.factories import NOW, make_ticket
from tests.file_samples import EXE, png
from tests.test_filetypes import HTML, PDF, zipped
from web.api.endpoints.attachments import content_disposition


def open_ticket(world: ApiWorld, desk: Desk | None = None) -> int:
    with world.sessions() as session:
        return make_ticket(session, session.get_one(Tenant, (desk or world.own).tenant_id)).number


def reply(world: ApiWorld, number: int, role: str = "agent", visibility: str = "public") -> int:
    body = {"body": "See attached.", "visibility": visibility}
    response = world.call(role, "POST", f"/api/v1/tickets/{number}/messages", json=body)
    assert response.status_code == 201
    message_id: int = response.get_json()["id"]
    return message_id


def upload(
    world: ApiWorld, number: int, message_id: int, filename: str, data: bytes, **kw: Any
) -> Any:
    declared = kw.pop("declared", "application/octet-stream")
    return world.call(
        kw.pop("role", "agent"),
        "POST",
        f"/api/v1/tickets/{number}/messages/{message_id}/attachments",
        data={"file": (io.BytesIO(data), filename, declared)},
        content_type="multipart/form-data",
        **kw,
    )


def set_desk(world: ApiWorld, **settings: object) -> None:
    admin = Staff(world.own.ids["admin"], world.own.tenant_id, Role.ADMIN)
    with world.sessions() as session:
        update_tenant(session, admin, world.own.tenant_id, settings=settings, now=NOW)


def download(world: ApiWorld, number: int, attachment_id: int, **kw: Any) -> Any:
    return world.call(
        kw.pop("role", "agent"),
        "GET",
        f"/api/v1/tickets/{number}/attachments/{attachment_id}",
        **kw,
    )


def test_a_pdf_goes_up_and_comes_back_as_a_download(world: ApiWorld) -> None:
    number = open_ticket(world)
    message_id = reply(world, number)
    response = upload(world, number, message_id, "invoice.pdf", PDF, declared="text/plain")
    assert response.status_code == 201
    attachment = response.get_json()
    assert attachment["filename"] == "invoice.pdf"
    assert attachment["content_type"] == "application/pdf"
    assert attachment["size"] == len(PDF)
    got = download(world, number, attachment["id"])
    assert got.status_code == 200
    assert got.data == PDF
    assert got.mimetype == "application/pdf"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    messages = world.call("agent", "GET", f"/api/v1/tickets/{number}/messages").get_json()
    assert messages["items"][-1]["attachments"] == [attachment]


def test_a_png_is_accepted_and_a_light_agent_attaches_to_their_note(world: ApiWorld) -> None:
    number = open_ticket(world)
    note_id = reply(world, number, role="light_agent", visibility="internal")
    response = upload(world, number, note_id, "screenshot.png", png(), role="light_agent")
    assert response.status_code == 201
    assert response.get_json()["content_type"] == "image/png"


def test_a_zip_holding_a_program_is_refused_and_the_message_stays(world: ApiWorld) -> None:
    number = open_ticket(world)
    message_id = reply(world, number)
    response = upload(world, number, message_id, "tools.zip", zipped("readme.txt", "setup.exe"))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert "setup.exe" in error["fields"]["file"]
    messages = world.call("agent", "GET", f"/api/v1/tickets/{number}/messages").get_json()
    assert messages["items"][-1]["id"] == message_id
    assert messages["items"][-1]["attachments"] == []


@pytest.mark.parametrize(
    ("filename", "data", "reason"),
    [
        ("invoice.pdf", EXE, "content is application/vnd.microsoft.portable-executable"),
        ("invoice.pdf.exe", PDF, ".exe files are not accepted"),
        ("page.html", HTML, ".html files are not accepted"),
        ("invoice.pdf", HTML, "the content is text/html"),
        ("empty.txt", b"", "the file is empty"),
    ],
)
def test_a_file_is_judged_by_its_bytes(
    world: ApiWorld, filename: str, data: bytes, reason: str
) -> None:
    number = open_ticket(world)
    response = upload(world, number, reply(world, number), filename, data)
    assert response.status_code == 422
    assert reason in response.get_json()["error"]["message"]


def test_html_a_desk_allows_is_still_served_as_bytes(world: ApiWorld) -> None:
    set_desk(world, attachment_allowed=["html"])
    number = open_ticket(world)
    response = upload(world, number, reply(world, number), "report.html", HTML)
    assert response.status_code == 201
    got = download(world, number, response.get_json()["id"])
    assert got.mimetype == "application/octet-stream"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in got.headers["Content-Security-Policy"]


def test_a_desk_can_block_a_type_the_product_allows(world: ApiWorld) -> None:
    set_desk(world, attachment_blocked=["png"])
    number = open_ticket(world)
    response = upload(world, number, reply(world, number), "screenshot.png", png())
    assert response.status_code == 422


def test_a_file_over_the_desks_limit_is_413(world: ApiWorld) -> None:
    set_desk(world, max_attachment_bytes=1024)
    number = open_ticket(world)
    message_id = reply(world, number)
    response = upload(world, number, message_id, "notes.txt", b"a" * 1025)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"
    assert upload(world, number, message_id, "notes.txt", b"a" * 1024).status_code == 201


def test_a_name_in_any_script_is_offered_under_its_own_name(world: ApiWorld) -> None:
    number = open_ticket(world)
    response = upload(world, number, reply(world, number), "Rechnung März (Q1).pdf", PDF)
    disposition = download(world, number, response.get_json()["id"]).headers["Content-Disposition"]
    fallback = 'filename="Rechnung M_rz (Q1).pdf"'
    assert (
        disposition
        == f"attachment; {fallback}; filename*=UTF-8''Rechnung%20M%C3%A4rz%20%28Q1%29.pdf"
    )


def test_quotes_and_backslashes_cannot_break_out_of_the_header() -> None:
    disposition = content_disposition('a"; filename=evil.html\\.pdf')
    assert disposition.startswith('attachment; filename="a__ filename=evil.html_.pdf"; ')
    assert disposition.endswith("filename*=UTF-8''a%22%3B%20filename%3Devil.html%5C.pdf")


def test_files_go_only_on_ones_own_message_of_that_ticket(world: ApiWorld) -> None:
    number, elsewhere = open_ticket(world), open_ticket(world)
    mine = reply(world, number)
    first = world.call("agent", "GET", f"/api/v1/tickets/{number}/messages").get_json()
    requester_message = first["items"][0]["id"]
    assert upload(world, number, requester_message, "a.pdf", PDF).status_code == 403
    assert upload(world, elsewhere, mine, "a.pdf", PDF).status_code == 404
    assert upload(world, number, mine, "a.pdf", PDF, role="admin").status_code == 403


def test_an_upload_without_a_file_is_400(world: ApiWorld) -> None:
    number = open_ticket(world)
    url = f"/api/v1/tickets/{number}/messages/{reply(world, number)}/attachments"
    response = world.call("agent", "POST", url, data={"other": "x"})
    assert response.status_code == 400


def test_another_tenants_attachment_does_not_exist(world: ApiWorld) -> None:
    number = open_ticket(world)
    attachment = upload(world, number, reply(world, number), "a.pdf", PDF).get_json()
    # The other desk has a ticket of the same number: the file is still not on it.
    assert open_ticket(world, world.other) == number
    foreign = download(world, number, attachment["id"], role="admin", desk=world.other)
    assert foreign.status_code == 404
    assert download(world, number, attachment["id"], role="client").status_code == 403
    assert download(world, number, attachment["id"] + 1000).status_code == 404

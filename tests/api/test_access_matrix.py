"""Who gets what from every endpoint: the exact status per kind of caller and tenant.

The table is written out by hand, not derived from helpdesk.policy: a rule
loosened there (say, light agents allowed to reply publicly) must make a row
here fail. Every endpoint the API declares needs rows, so a new endpoint
cannot go untested. All callers belong to the own tenant ("acme"). The
tenant column says whose objects the request names: `own`; `other` (the
other tenant's, "globex"); `mixed`, the own tenant's object in the path with
the other tenant's as the second object (a body's id, a nested path id).
A case is an operation_id, or operation_id#variant for another body.

It runs on both databases: about 20 s on SQLite and 45 s on PostgreSQL on
two cores, as each case builds its world once and every call is cheap.
"""

from __future__ import annotations

import importlib
import io
import itertools
import pkgutil
import re
from dataclasses import replace
from typing import Any

import pytest
from werkzeug.test import TestResponse

from tests.api.conftest import ApiWorld
from tests.api.probes import PROBES, Arrange, Call, Matrix, build_matrix
from web.api import endpoints
from web.api.blueprint import PREFIX, api
from web.api.core import Operation

CALLERS = (
    "anonymous",
    "revoked_staff",
    "expired_client",
    "client",
    "light_agent",
    "agent",
    "admin",
    "platform_admin",
)
TENANTS = ("own", "other", "mixed")
# anon: no token; rev: a revoked staff token; exp: an expired client token;
# cli: the client; la, ag, adm: light agent, agent, admin; plat: an admin of the
# own tenant who is also a platform admin.
TABLE = """
# case                            tenant  anon rev exp cli la  ag  adm plat
# Admin: shared canned responses
list_shared_responses             own     401  401 401 403 403 403 200 200
list_shared_responses             other   401  401 401 403 403 403 200 200
create_shared_response            own     401  401 401 403 403 403 201 201
create_shared_response            other   401  401 401 403 403 403 201 201
update_shared_response            own     401  401 401 403 403 403 200 200
update_shared_response            other   401  401 401 403 403 403 404 404
delete_shared_response            own     401  401 401 403 403 403 204 204
delete_shared_response            other   401  401 401 403 403 403 404 404
# Admin: catalog
list_admin_categories             own     401  401 401 403 403 403 200 200
list_admin_categories             other   401  401 401 403 403 403 200 200
create_admin_category             own     401  401 401 403 403 403 201 201
create_admin_category             other   401  401 401 403 403 403 201 201
update_admin_category             own     401  401 401 403 403 403 200 200
update_admin_category             other   401  401 401 403 404 404 404 404
reorder_admin_categories          own     401  401 401 403 403 403 200 200
reorder_admin_categories          other   401  401 401 403 403 403 200 200
list_admin_custom_fields          own     401  401 401 403 403 403 200 200
list_admin_custom_fields          other   401  401 401 403 403 403 200 200
create_admin_custom_field         own     401  401 401 403 403 403 201 201
create_admin_custom_field         other   401  401 401 403 403 403 201 201
update_admin_custom_field         own     401  401 401 403 403 403 200 200
update_admin_custom_field         other   401  401 401 403 404 404 404 404
# Admin: mailboxes and settings
list_admin_mailboxes              own     401  401 401 403 403 403 200 200
list_admin_mailboxes              other   401  401 401 403 403 403 200 200
create_admin_mailbox              own     401  401 401 403 403 403 201 201
create_admin_mailbox              other   401  401 401 403 403 403 201 201
get_admin_mailbox                 own     401  401 401 403 403 403 200 200
get_admin_mailbox                 other   401  401 401 403 403 403 404 404
update_admin_mailbox              own     401  401 401 403 403 403 200 200
update_admin_mailbox              other   401  401 401 403 404 404 404 404
update_admin_mailbox#team         own     401  401 401 403 403 403 200 200
update_admin_mailbox#team         other   401  401 401 403 404 404 404 404
update_admin_mailbox#team         mixed   401  401 401 403 403 403 422 422
get_tenant_settings               own     401  401 401 403 403 403 200 200
get_tenant_settings               other   401  401 401 403 403 403 200 200
update_tenant_settings            own     401  401 401 403 403 403 200 200
update_tenant_settings            other   401  401 401 403 403 403 200 200
# Admin: staff, teams and tokens
list_admin_staff                  own     401  401 401 403 403 403 200 200
list_admin_staff                  other   401  401 401 403 403 403 200 200
invite_admin_staff                own     401  401 401 403 403 403 201 201
invite_admin_staff                other   401  401 401 403 403 403 201 201
update_admin_staff                own     401  401 401 403 403 403 200 200
update_admin_staff                other   401  401 401 403 403 403 404 404
list_admin_teams                  own     401  401 401 403 403 403 200 200
list_admin_teams                  other   401  401 401 403 403 403 200 200
create_admin_team                 own     401  401 401 403 403 403 201 201
create_admin_team                 other   401  401 401 403 403 403 201 201
rename_admin_team                 own     401  401 401 403 403 403 200 200
rename_admin_team                 other   401  401 401 403 404 404 404 404
add_admin_team_member             own     401  401 401 403 403 403 200 200
add_admin_team_member             other   401  401 401 403 404 404 404 404
add_admin_team_member             mixed   401  401 401 403 403 403 404 404
remove_admin_team_member          own     401  401 401 403 403 403 204 204
remove_admin_team_member          other   401  401 401 403 404 404 404 404
remove_admin_team_member          mixed   401  401 401 403 403 403 204 204
list_admin_tokens                 own     401  401 401 403 403 403 200 200
list_admin_tokens                 other   401  401 401 403 403 403 200 200
create_admin_token                own     401  401 401 403 403 403 201 201
create_admin_token                other   401  401 401 403 403 403 404 404
revoke_admin_token                own     401  401 401 403 403 403 204 204
revoke_admin_token                other   401  401 401 403 403 403 404 404
list_own_tokens                   own     401  401 401 403 200 200 200 200
list_own_tokens                   other   401  401 401 403 200 200 200 200
create_own_token                  own     401  401 401 403 201 201 201 201
create_own_token                  other   401  401 401 403 201 201 201 201
revoke_own_token                  own     401  401 401 403 204 204 204 204
revoke_own_token                  other   401  401 401 403 404 404 404 404
# Tickets: light agents read and add notes; agents change, reply, assign, merge, link
list_staff_tickets                own     401  401 401 403 200 200 200 200
list_staff_tickets                other   401  401 401 403 200 200 200 200
create_one_ticket                 own     401  401 401 403 403 201 201 201
create_one_ticket                 other   401  401 401 403 403 201 201 201
get_one_ticket                    own     401  401 401 403 200 200 200 200
get_one_ticket                    other   401  401 401 403 404 404 404 404
patch_ticket                      own     401  401 401 403 403 200 200 200
patch_ticket                      other   401  401 401 403 404 404 404 404
patch_ticket#assign               own     401  401 401 403 403 200 200 200
patch_ticket#assign               other   401  401 401 403 404 404 404 404
patch_ticket#assign               mixed   401  401 401 403 403 422 422 422
patch_ticket#team                 own     401  401 401 403 403 200 200 200
patch_ticket#team                 other   401  401 401 403 404 404 404 404
patch_ticket#team                 mixed   401  401 401 403 403 422 422 422
list_ticket_messages              own     401  401 401 403 200 200 200 200
list_ticket_messages              other   401  401 401 403 404 404 404 404
list_ticket_events                own     401  401 401 403 200 200 200 200
list_ticket_events                other   401  401 401 403 404 404 404 404
post_ticket_message               own     401  401 401 403 403 201 201 201
post_ticket_message               other   401  401 401 403 404 404 404 404
post_ticket_message#note          own     401  401 401 403 201 201 201 201
post_ticket_message#note          other   401  401 401 403 404 404 404 404
# Another tenant's numbers are not_found inside the 200 answer.
bulk_change_tickets               own     401  401 401 403 403 200 200 200
bulk_change_tickets               other   401  401 401 403 403 200 200 200
list_watchers                     own     401  401 401 403 200 200 200 200
list_watchers                     other   401  401 401 403 404 404 404 404
put_watcher                       own     401  401 401 403 403 204 204 204
put_watcher                       other   401  401 401 403 404 404 404 404
put_watcher                       mixed   401  401 401 403 403 404 404 404
delete_watcher                    own     401  401 401 403 403 204 204 204
delete_watcher                    other   401  401 401 403 404 404 404 404
delete_watcher                    mixed   401  401 401 403 403 204 204 204
merge_ticket                      own     401  401 401 403 403 200 200 200
merge_ticket                      other   401  401 401 403 404 404 404 404
merge_ticket                      mixed   401  401 401 403 404 404 404 404
put_parent                        own     401  401 401 403 403 200 200 200
put_parent                        other   401  401 401 403 404 404 404 404
put_parent                        mixed   401  401 401 403 404 404 404 404
put_ticket_read                   own     401  401 401 403 204 204 204 204
put_ticket_read                   other   401  401 401 403 404 404 404 404
delete_ticket_read                own     401  401 401 403 204 204 204 204
delete_ticket_read                other   401  401 401 403 404 404 404 404
upload_attachment                 own     401  401 401 403 201 201 201 201
upload_attachment                 other   401  401 401 403 404 404 404 404
upload_attachment                 mixed   401  401 401 403 404 404 404 404
download_attachment               own     401  401 401 403 200 200 200 200
download_attachment               other   401  401 401 403 404 404 404 404
download_attachment               mixed   401  401 401 403 404 404 404 404
# Canned responses, contacts and organizations
list_my_canned_responses          own     401  401 401 403 200 200 200 200
list_my_canned_responses          other   401  401 401 403 200 200 200 200
render_canned                     own     401  401 401 403 200 200 200 200
render_canned                     other   401  401 401 403 404 404 404 404
render_canned                     mixed   401  401 401 403 404 404 404 404
list_contacts_page                own     401  401 401 403 200 200 200 200
list_contacts_page                other   401  401 401 403 200 200 200 200
create_one_contact                own     401  401 401 403 403 201 201 201
create_one_contact                other   401  401 401 403 403 201 201 201
create_one_contact#organization   own     401  401 401 403 403 201 201 201
create_one_contact#organization   other   401  401 401 403 403 422 422 422
get_one_contact                   own     401  401 401 403 200 200 200 200
get_one_contact                   other   401  401 401 403 404 404 404 404
patch_contact                     own     401  401 401 403 403 200 200 200
patch_contact                     other   401  401 401 403 404 404 404 404
patch_contact#organization        own     401  401 401 403 403 200 200 200
patch_contact#organization        other   401  401 401 403 404 404 404 404
patch_contact#organization        mixed   401  401 401 403 403 422 422 422
list_organizations_page           own     401  401 401 403 200 200 200 200
list_organizations_page           other   401  401 401 403 200 200 200 200
create_one_organization           own     401  401 401 403 403 403 201 201
create_one_organization           other   401  401 401 403 403 403 201 201
get_one_organization              own     401  401 401 403 200 200 200 200
get_one_organization              other   401  401 401 403 404 404 404 404
patch_organization                own     401  401 401 403 403 403 200 200
patch_organization                other   401  401 401 403 404 404 404 404
# Anyone signed in
get_me                            own     401  401 401 200 200 200 200 200
get_me                            other   401  401 401 200 200 200 200 200
# Platform: the platform admin reaches every tenant
list_platform_tenants             own     401  401 401 403 403 403 403 200
list_platform_tenants             other   401  401 401 403 403 403 403 200
create_platform_tenant            own     401  401 401 403 403 403 403 201
create_platform_tenant            other   401  401 401 403 403 403 403 201
update_platform_tenant            own     401  401 401 403 403 403 403 200
update_platform_tenant            other   401  401 401 403 403 403 403 200
list_platform_tickets             own     401  401 401 403 403 403 403 200
list_platform_tickets             other   401  401 401 403 403 403 403 200
# Portal: public sign-in, then clients only
request_portal_sign_in            own     202  202 202 202 202 202 202 202
request_portal_sign_in            other   202  202 202 202 202 202 202 202
create_portal_session             own     201  201 201 201 201 201 201 201
create_portal_session             other   201  201 201 201 201 201 201 201
delete_portal_session             own     401  401 401 204 403 403 403 403
delete_portal_session             other   401  401 401 204 403 403 403 403
list_portal_categories            own     401  401 401 200 403 403 403 403
list_portal_categories            other   401  401 401 200 403 403 403 403
list_portal_custom_fields         own     401  401 401 200 403 403 403 403
list_portal_custom_fields         other   401  401 401 200 403 403 403 403
list_portal_tickets               own     401  401 401 200 403 403 403 403
list_portal_tickets               other   401  401 401 200 403 403 403 403
open_portal_ticket                own     401  401 401 201 403 403 403 403
open_portal_ticket                other   401  401 401 201 403 403 403 403
get_portal_ticket                 own     401  401 401 200 403 403 403 403
get_portal_ticket                 other   401  401 401 404 403 403 403 403
list_portal_messages              own     401  401 401 200 403 403 403 403
list_portal_messages              other   401  401 401 404 403 403 403 403
reply_on_portal_ticket            own     401  401 401 201 403 403 403 403
reply_on_portal_ticket            other   401  401 401 404 403 403 403 403
resolve_portal_ticket             own     401  401 401 200 403 403 403 403
resolve_portal_ticket             other   401  401 401 404 403 403 403 403
rate_portal_ticket                own     401  401 401 200 403 403 403 403
rate_portal_ticket                other   401  401 401 404 403 403 403 403
upload_portal_attachment          own     401  401 401 201 403 403 403 403
upload_portal_attachment          other   401  401 401 404 403 403 403 403
upload_portal_attachment          mixed   401  401 401 404 403 403 403 403
download_portal_attachment        own     401  401 401 200 403 403 403 403
download_portal_attachment        other   401  401 401 404 403 403 403 403
download_portal_attachment        mixed   401  401 401 404 403 403 403 403
# A file on a staff note does not exist for a client.
download_portal_attachment#note   own     401  401 401 404 403 403 403 403
download_portal_attachment#note   other   401  401 401 404 403 403 403 403
"""
# Lists whose callers see every tenant's objects, the other tenant's included.
SPANS_TENANTS = frozenset({"list_platform_tenants", "list_platform_tickets"})
# Cells whose (correct) status in TABLE the API does not give yet: why, by (case, tenant, caller).
# Where each mixed case names the other tenant's object, and an id no object has.
SECOND_ID = {
    "update_admin_mailbox#team": "default_team_id",
    "add_admin_team_member": "user_id",
    "remove_admin_team_member": "user_id",
    "patch_ticket#assign": "assignee_id",
    "patch_ticket#team": "team_id",
    "put_watcher": "user_id",
    "delete_watcher": "user_id",
    "merge_ticket": "into",
    "put_parent": "parent",
    "upload_attachment": "message_id",
    "download_attachment": "attachment_id",
    "render_canned": "ticket",
    "patch_contact#organization": "organization_id",
    "upload_portal_attachment": "message_id",
    "download_portal_attachment": "attachment_id",
}
MISSING = 2**31 - 1
_addresses = itertools.count(1)


def _parse(table: str) -> dict[tuple[str, str], tuple[int, ...]]:
    """Read TABLE into statuses by (case, tenant), in the order of CALLERS."""
    rows: dict[tuple[str, str], tuple[int, ...]] = {}
    for line in table.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        case, tenant, *statuses = line.split()
        if tenant not in TENANTS or len(statuses) != len(CALLERS) or (case, tenant) in rows:
            raise ValueError(f"TABLE: a bad or repeated row: {line}")
        rows[case, tenant] = tuple(int(status) for status in statuses)
    return rows


def _operations() -> dict[str, Operation]:
    for module in pkgutil.iter_modules(endpoints.__path__, endpoints.__name__ + "."):
        importlib.import_module(module.name)
    return {op.operation_id: op for op in api.operations}


EXPECTED = _parse(TABLE)
OPERATIONS = _operations()
# Every operation is a case, with rows or without (then its test fails).
CASES = sorted(set(OPERATIONS) | {case for case, _tenant in EXPECTED})


def cells(case: str) -> list[tuple[str, str]]:
    """Every (tenant, caller) the table has a status for."""
    return [(t, c) for t in TENANTS if (case, t) in EXPECTED for c in CALLERS]


@pytest.fixture
def matrix(world: ApiWorld) -> Matrix:
    return build_matrix(world)


def _path(op: Operation, params: dict[str, object]) -> str:
    names = {name for name, _converter in op.path_params}
    assert set(params) == names, f"the probe must give exactly {sorted(names)}"
    return PREFIX + re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: str(params[m[1]]), op.rule)


def _request(matrix: Matrix, op: Operation, caller: str, call: Call) -> dict[str, Any]:
    n = next(_addresses)
    # Each call from an address of its own: the sign-in limit is per address.
    kw: dict[str, Any] = {"environ_base": {"REMOTE_ADDR": f"10.0.{n // 250}.{n % 250 + 1}"}}
    secret = call.auth or matrix.secrets.get(caller)
    if secret is not None:
        kw["headers"] = {"Authorization": f"Bearer {secret}"}
    if op.upload:
        kw["data"] = {"file": (io.BytesIO(b"Log line 1\n"), "log.txt")}
    assert (call.json is not None) == (op.body is not None), "a body exactly where one is taken"
    if call.json is not None:
        kw["json"] = call.json
    return kw


def _arrange(matrix: Matrix, case: str, tenant: str, caller: str) -> Call:
    world = matrix.world
    desk, second = {"own": (world.own, None), "other": (world.other, None),
                    "mixed": (world.own, world.other)}[tenant]  # fmt: skip
    with world.sessions() as session:
        return PROBES[case](Arrange(session, matrix, desk, caller, second))


def _send(matrix: Matrix, case: str, caller: str, call: Call) -> TestResponse:
    op = OPERATIONS[case.split("#")[0]]
    kw = _request(matrix, op, caller, call)
    return matrix.world.client().open(_path(op, call.params), method=op.method, **kw)


def _problem(matrix: Matrix, case: str, tenant: str, caller: str) -> str | None:
    """Make the call; describe what is wrong with its answer, None when nothing is."""
    call = _arrange(matrix, case, tenant, caller)
    response = _send(matrix, case, caller, call)
    expected = EXPECTED[case, tenant][CALLERS.index(caller)]
    if response.status_code != expected:
        text = response.get_data(as_text=True)[:200]
        return f"{tenant}/{caller}: expected {expected}, got {response.status_code} {text}"
    if tenant == "mixed":
        return _unlike_missing(matrix, case, caller, call, response)
    return _marker_problem(case, tenant, caller, call, response)


def _unlike_missing(
    matrix: Matrix, case: str, caller: str, call: Call, response: TestResponse
) -> str | None:
    """The other tenant's id must get the answer an id nobody has gets: no probing."""
    key = SECOND_ID[case]
    if key in call.params:
        missing = replace(call, params={**call.params, key: MISSING})
    else:
        missing = replace(call, json={**(call.json or {}), key: MISSING})
    again = _send(matrix, case, caller, missing)
    if (again.status_code, again.get_json(silent=True)) == (
        response.status_code, response.get_json(silent=True)
    ):  # fmt: skip
        return None
    return f"mixed/{caller}: {response.get_data(as_text=True)[:200]} differs from {key} missing"


def _marker_problem(
    case: str, tenant: str, caller: str, call: Call, response: TestResponse
) -> str | None:
    """A list shows the fresh object to its own tenant's people only."""
    if call.marker is None or response.status_code != 200:
        return None
    shown = tenant == "own" or case in SPANS_TENANTS
    if (call.marker in response.get_data(as_text=True)) == shown:
        return None
    wrong = "missing from" if shown else "leaked into"
    return f"{tenant}/{caller}: {call.marker} {wrong} {response.get_data(as_text=True)[:200]}"


@pytest.mark.parametrize("case", CASES)
def test_every_caller_gets_the_exact_status(matrix: Matrix, case: str) -> None:
    missing = [t for t in ("own", "other") if (case, t) not in EXPECTED]
    assert not missing, f"{case}: add rows for {missing} to TABLE and a probe to PROBES"
    problems = [_problem(matrix, case, tenant, caller) for tenant, caller in cells(case)]
    assert [problem for problem in problems if problem] == []


def test_the_table_names_declared_operations_only_and_each_case_has_a_probe() -> None:
    assert [case for case in CASES if case.split("#")[0] not in OPERATIONS] == []
    assert set(PROBES) == set(CASES)
    assert set(SECOND_ID) == {case for case, tenant in EXPECTED if tenant == "mixed"}

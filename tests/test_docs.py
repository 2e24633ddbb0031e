"""The documentation says what the code does."""

from __future__ import annotations

from pathlib import Path

from helpdesk.policy import PERMISSIONS, Action, RoleName

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _matrix_rows() -> dict[str, dict[str, str]]:
    lines = (DOCS / "permissions.md").read_text().splitlines()
    header_index = next(i for i, line in enumerate(lines) if line.startswith("| action |"))
    header = [cell.strip() for cell in lines[header_index].strip("|").split("|")]
    rows = {}
    for line in lines[header_index + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = dict(zip(header[2:], cells[2:], strict=True))
    return rows


def test_permissions_page_lists_every_action_and_role() -> None:
    rows = _matrix_rows()
    assert set(rows) == {action.value for action in Action}
    for cells in rows.values():
        assert set(cells) == {role.value for role in RoleName}


def test_permissions_page_matches_the_policy() -> None:
    for action, cells in _matrix_rows().items():
        for role, cell in cells.items():
            allowed = Action(action) in PERMISSIONS[RoleName(role)]
            expected = ("own" if role == "client" else "yes") if allowed else "no"
            assert cell == expected, f"docs/permissions.md says {role} {action}: {cell}"

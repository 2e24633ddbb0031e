"""Custom field values: checked and normalized against the tenant's definitions."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.enums import CustomFieldType
from helpdesk.errors import ValidationError
from helpdesk.models import CustomFieldDefinition

MAX_TEXT_LENGTH = 2000
_TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
_FALSE_WORDS = frozenset({"false", "no", "off", "0", ""})


def active_definitions(session: Session, tenant_id: int) -> list[CustomFieldDefinition]:
    """Return the tenant's active field definitions in display order."""
    return list(
        session.scalars(
            select(CustomFieldDefinition)
            .where(CustomFieldDefinition.tenant_id == tenant_id, CustomFieldDefinition.active)
            .order_by(CustomFieldDefinition.position, CustomFieldDefinition.id)
        )
    )


def validate_custom_fields(
    definitions: Sequence[CustomFieldDefinition],
    values: Mapping[str, Any],
    *,
    enforce_required: bool = False,
    client: bool = False,
) -> dict[str, Any]:
    """Return `values` normalized to JSON values; None means "clear this field".

    A client may only fill fields the tenant shows to clients; to them the others
    do not exist.

    Raises:
        ValidationError: an unknown key, a value of the wrong type, or (with
            `enforce_required`) a required field left empty; `field` names the key.
    """
    by_key = {d.key: d for d in definitions if d.active and (d.visible_to_clients or not client)}
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        definition = by_key.get(key)
        if definition is None:
            raise ValidationError(key, "no such custom field")
        cleaned[key] = None if _is_empty(value) else coerce_value(definition, value)
    if enforce_required:
        for definition in by_key.values():
            if definition.required and cleaned.get(definition.key) is None:
                raise ValidationError(definition.key, "this field is required")
    return cleaned


def coerce_value(definition: CustomFieldDefinition, value: Any) -> Any:
    """Return `value` as stored for a field of this definition's type.

    Raises:
        ValidationError: the value does not fit the type.
    """
    try:
        return _COERCERS[definition.type](definition, value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(definition.key, str(exc)) from exc


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(definition: CustomFieldDefinition, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected text")
    if len(value) > MAX_TEXT_LENGTH:
        raise ValueError(f"at most {MAX_TEXT_LENGTH} characters")
    return value.strip()


def _number(definition: CustomFieldDefinition, value: Any) -> int | float:
    # JSON true/false are ints to Python; a checkbox value is no number.
    if isinstance(value, bool):
        raise TypeError("expected a number")
    if isinstance(value, int | float):
        number: int | float = value
    elif isinstance(value, str):
        number = _parse_number(value.strip())
    else:
        raise TypeError("expected a number")
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("expected a finite number")
    return number


def _parse_number(text: str) -> int | float:
    try:
        return int(text) if text.lstrip("+-").isdigit() else float(text)
    except ValueError:
        raise ValueError("expected a number") from None


def _date(definition: CustomFieldDefinition, value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        raise TypeError("expected a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise ValueError("expected a date as YYYY-MM-DD") from None


def _select(definition: CustomFieldDefinition, value: Any) -> str:
    choices = [str(choice) for choice in definition.options.get("choices", [])]
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"expected one of {', '.join(choices)}")
    return value


def _checkbox(definition: CustomFieldDefinition, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    # HTML forms send words, not booleans.
    word = value.strip().lower() if isinstance(value, str) else None
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise TypeError("expected true or false")


_COERCERS: dict[CustomFieldType, Callable[[CustomFieldDefinition, Any], Any]] = {
    CustomFieldType.TEXT: _text,
    CustomFieldType.NUMBER: _number,
    CustomFieldType.DATE: _date,
    CustomFieldType.SELECT: _select,
    CustomFieldType.CHECKBOX: _checkbox,
}

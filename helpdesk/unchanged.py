"""The UNCHANGED marker: a partial update's "leave this field as it is"."""

from __future__ import annotations

import enum
from typing import Literal


class _Unchanged(enum.Enum):
    UNCHANGED = "UNCHANGED"

    def __repr__(self) -> str:
        return "UNCHANGED"


# An enum member rather than a bare object(), so that `value is UNCHANGED`
# narrows `str | Unchanged` to `str` for the type checker.
UNCHANGED = _Unchanged.UNCHANGED
Unchanged = Literal[_Unchanged.UNCHANGED]

"""Domain errors, raised by services and mapped once at each edge."""

from __future__ import annotations


class HelpdeskError(Exception):
    """Base of every error the domain raises on purpose."""

    code = "error"


class ConfigError(HelpdeskError):
    """Raised when a setting has a bad value; the message names the variable."""

    code = "config_error"


class NotFound(HelpdeskError):
    """Raised when an object does not exist or belongs to another tenant."""

    code = "not_found"


class PermissionDenied(HelpdeskError):
    """Raised when the actor may not do what they asked."""

    code = "forbidden"


class InvalidTransition(HelpdeskError):
    """Raised when a ticket may not move from its status to the one asked."""

    code = "invalid_transition"


class ValidationError(HelpdeskError):
    """Raised when a value is malformed; `field` names the input at fault."""

    code = "invalid"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Conflict(HelpdeskError):
    """Raised when a change collides with existing data (a duplicate, a stale edit)."""

    code = "conflict"


def one_line(exc: BaseException, *, limit: int = 500) -> str:
    """Name an error in one line, "Kind: first line of its message", at most `limit` characters.

    A database error's own message is the driver's (SQLAlchemy's wraps it in
    several lines of context), so its `orig` is described when it has one.
    """
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    kind = type(cause).__name__
    return (f"{kind}: {lines[0]}" if lines else kind)[:limit]

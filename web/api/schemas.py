"""Shapes shared by every endpoint: the error envelope and paginated lists."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Strict(BaseModel):
    """Input models refuse fields they do not know: a typo is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    code: str = Field(description="A stable machine-readable code, e.g. not_found")
    message: str = Field(description="What went wrong, for people")
    fields: dict[str, str] | None = Field(
        default=None, description="Each invalid input field and what is wrong with it"
    )


class ErrorEnvelope(BaseModel):
    error: ErrorBody


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` as `cursor` to get the next."""

    items: list[T]
    next_cursor: str | None


class PageQuery(Strict):
    limit: int = Field(default=50, ge=1, le=200, description="Items per page")
    cursor: str | None = Field(default=None, description="`next_cursor` of the previous page")

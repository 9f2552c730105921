"""Two shapes every store read or write takes: a query narrowed by optional filters, and an insert that returns the
row already stored under the same identity (a resumed run, or another process, wrote it first)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel
from sqlmodel.sql.expression import SelectOfScalar

Row = TypeVar("Row", bound=SQLModel)


def where_given(query: SelectOfScalar[Row], *filters: tuple[Any, object | None]) -> SelectOfScalar[Row]:
    """`query` narrowed by `column == value` for each `(column, value)` whose value is not None."""
    for column, value in filters:
        if value is not None:
            query = query.where(column == value)
    return query


def insert_or_stored(session: Callable[[], AbstractContextManager[Session]], row: Row, stored: Callable[[], Row | None],
                     with_rows: Sequence[SQLModel] = ()) -> Row:
    """Insert `row` (and `with_rows`, in the same transaction) and return it; if its identity is stored already
    (the unique constraint fires), insert nothing and return the stored row."""
    try:
        with session() as s:
            s.add(row)
            for other in with_rows:
                s.add(other)
        return row
    except IntegrityError:
        existing = stored()
        assert existing is not None
        return existing

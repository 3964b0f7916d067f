"""Keyset pagination over (created_at, id), newest first: one cursor format for every list.

A cursor is `<created_at>|<id>` of the last item of the previous page; the next page holds
the items strictly before it in (created_at, id) order, so pages never overlap or skip.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from backend.errors import Unprocessable

Cursor = tuple[str, str]


def parse_cursor(cursor: str | None) -> Cursor | None:
    """The (created_at, id) of a cursor, None for none, 422 for one this API never made."""
    if not cursor:
        return None
    created, _, item_id = cursor.partition("|")
    if not created or not item_id:
        raise Unprocessable("The cursor is not one this API returned.", code="bad_cursor")
    return created, item_id


def before(created_col: Any, id_col: Any, cursor: Cursor) -> ColumnElement[bool]:
    """SQL: rows strictly before `cursor` in (created_at, id) order."""
    created, item_id = cursor
    return or_(created_col < created, and_(created_col == created, id_col < item_id))


def next_cursor(rows: Any, limit: int) -> str | None:
    """The cursor after a page fetched with `limit + 1` rows, or None on the last page."""
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return f"{last.created_at}|{last.id}"

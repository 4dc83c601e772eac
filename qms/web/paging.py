"""The web registers' keyset paging: the page a request's ``after``/``before`` cursor asks for.

A cursor that is out of date or damaged is no error worth a 4xx page: the register shows its first
page with a message saying so (the filters still apply).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import flash, request
from sqlalchemy import Select
from sqlalchemy.orm.interfaces import ORMOption

from ..services.paging import BadCursor, KeysetPage, cursor_args, keyset_page

PER_PAGE = 25


def register_page(query: Select[Any], *, per_page: int | None = None, options: Sequence[ORMOption] = ()) -> KeysetPage:
    """The page of ``query`` (sorted, ending with the id) the request's cursor asks for, with a capped count."""
    per_page = per_page or PER_PAGE
    after, before = cursor_args(request.args)
    try:
        return keyset_page(query, per_page=per_page, after=after, before=before, options=options)
    except BadCursor:
        flash("That page link is out of date or damaged, so the list starts again at its first page.")
        return keyset_page(query, per_page=per_page, options=options)

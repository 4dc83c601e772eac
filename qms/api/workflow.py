"""What every workflow resource of the API shares: loading, presenting, paging and firing events.

``add_workflow_routes`` gives a resource its four lifecycle routes, the same
for every collection::

    GET  /<collection>/<id>                 the record, ETag = its version
    GET  /<collection>/<id>/history         every fired event, with signatures
    GET  /<collection>/<id>/events          the events the caller may fire now, or why not
    POST /<collection>/<id>/events/<event>  fire one (body: EventRequestSchema)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from flask import abort, after_this_request, request
from sqlalchemy import Select, case
from sqlalchemy.orm.interfaces import ORMOption

from workflows import get_lifecycle
from workflows.errors import InvalidData

from ..database import db
from ..models import WorkflowRecord
from ..services import available_events_many, fire, history_of
from ..services.filters import contains  # noqa: F401  (re-exported for the API modules)
from ..services.paging import BadCursor, KeysetPage, keyset_page
from .auth import api_user
from .blueprint import ID, ApiBlueprint
from .schemas.common import MAX_ID, AvailableEventSchema, EventRequestSchema, HistoryRowSchema, IfMatchSchema

#: top-level names of an event request; every other field InvalidData names is inside ``data``
REQUEST_FIELDS = frozenset({"comment", "signature_email", "signature_password", "version"})
ETAG_HEADER = {"ETag": {"description": "The record's version, quoted", "schema": {"type": "string"}}}


class Presented:
    """A record with what the API adds to it (the caller's available events, links…).

    Attributes not given here are read from the record, so one marshmallow
    schema dumps both.
    """

    def __init__(self, record: Any, **extra: Any) -> None:
        self._record = record
        self.__dict__.update(extra)

    def __getattr__(self, name: str) -> Any:
        if name == "_record":  # not set yet (copying): do not recurse
            raise AttributeError(name)
        return getattr(self._record, name)


def get_or_404(model: type[Any], record_id: int, *, options: Sequence[ORMOption] = (), label: str = "") -> Any:
    """The record with this id, or a JSON 404."""
    record = db.session.get(model, record_id, options=options) if 1 <= record_id <= MAX_ID else None
    if record is None:
        label = label or getattr(model, "lifecycle_name", model.__name__).replace("_", " ")
        abort(404, description=f"There is no {label} with id {record_id}")
    return record


def present(records: Sequence[WorkflowRecord], extras: Callable[[Any], dict[str, Any]]) -> list[Presented]:
    """Records with the caller's available events (one facts query for all of them) and ``extras(record)``."""
    available = available_events_many(records, api_user())
    return [
        Presented(record, available_events=[a.as_dict() for a in available.get(record.id, [])], **extras(record))
        for record in records
    ]


def etag(record: WorkflowRecord) -> dict[str, str]:
    return {"ETag": f'"{record.version}"'}


# --- lists ----------------------------------------------------------------------------


def ordering(sort: str, columns: Mapping[str, Any], id_column: Any) -> list[Any]:
    """ORDER BY for ``sort`` (a name of ``columns``, ``-`` first for descending), ties broken by id."""
    descending = sort.startswith("-")
    column = columns[sort.lstrip("-")]
    return [column.desc(), id_column.desc()] if descending else [column.asc(), id_column.asc()]


def state_order(model: type[WorkflowRecord]) -> Any:
    """A sort key that follows the lifecycle's order of states rather than the alphabet."""
    states = [s.name for s in get_lifecycle(model.lifecycle_name).states]
    return case({name: index for index, name in enumerate(states)}, value=model.state, else_=len(states))


def paginate(
    stmt: Select[Any], args: Mapping[str, Any], *, options: Sequence[ORMOption] = ()
) -> tuple[list[Any], dict[str, Any]]:
    """One page of ``stmt`` (sorted, ending with the id; loaded with ``options``) and its envelope.

    ``after``/``before`` (a cursor) pick the page by keyset, at the same cost however deep; ``page``
    (offset paging) is kept for compatibility. The count stops at ``COUNT_CAP`` + 1 rows (``total``
    and ``pages`` are null beyond it), so no page counts a whole large table. The ``Link`` header
    carries the next and previous pages' URLs.
    """
    after, before, offset = page_args(args)
    try:
        found = keyset_page(stmt, per_page=args["per_page"], after=after, before=before, options=options, offset=offset)
    except BadCursor as exc:
        raise InvalidData({"before" if before else "after": str(exc)}) from None
    return found.items, page_envelope(found, args)


def page_args(args: Mapping[str, Any]) -> tuple[str | None, str | None, int]:
    """(after, before, offset) of a list's query arguments; a page number with a cursor is refused."""
    after, before = args.get("after"), args.get("before")
    if (after or before) and args.get("page", 1) != 1:
        raise InvalidData({"page": "cannot be given with a cursor (after or before)"})
    if after and before:
        raise InvalidData({"before": "cannot be given with after"})
    return after, before, (args.get("page", 1) - 1) * args["per_page"]


def page_envelope(found: KeysetPage, args: Mapping[str, Any]) -> dict[str, Any]:
    """The paging fields of a list's answer (page, per_page, total, pages, next, prev), and its ``Link`` header."""
    per_page = args["per_page"]
    after, before = args.get("after"), args.get("before")
    total = found.total
    envelope = {
        "page": None if (after or before) else args.get("page", 1),
        "per_page": per_page,
        "total": total,
        "pages": (math.ceil(total / per_page) if total else 0) if total is not None else None,
        "next": found.next_cursor,
        "prev": found.prev_cursor,
    }
    links = [
        f'<{_page_url(name, cursor)}>; rel="{rel}"'
        for rel, name, cursor in (("next", "after", found.next_cursor), ("prev", "before", found.prev_cursor))
        if cursor
    ]
    if links:

        @after_this_request
        def add_link(response: Any) -> Any:
            response.headers["Link"] = ", ".join(links)
            return response

    return envelope


def _page_url(name: str, cursor: str) -> str:
    """This request's URL with its filters, asking for the page ``name`` (after/before) ``cursor``."""
    query = [(k, v) for k, v in request.args.items(multi=True) if k not in ("page", "after", "before")]
    return f"{request.base_url}?{urlencode([*query, (name, cursor)])}"


# --- firing events ------------------------------------------------------------------------


def _version_from(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    tag = if_match.strip()
    if tag == "*":
        return None
    return int(tag.removeprefix("W/").strip('"'))


def fire_from_request(record: WorkflowRecord, event: str, body: Mapping[str, Any], headers: Mapping[str, Any]) -> None:
    """Fire ``event`` with the request's data; InvalidData names fields as they are in the request."""
    expected = body.get("version")
    from_header = _version_from(headers.get("if_match"))
    if from_header is not None:
        if expected is not None and expected != from_header:
            raise InvalidData({"version": f"differs from the If-Match header ({from_header})"})
        expected = from_header
    try:
        fire(
            record,
            event,
            api_user(),
            body.get("data") or {},
            comment=body.get("comment") or "",
            expected_version=expected,
            signature_password=body.get("signature_password"),
            signature_email=body.get("signature_email"),
            # a bearer token is no continuous session of controlled access (11.200(a)(1)(ii)):
            # every signature through the API carries both components
            full_signature=True,
        )
    except InvalidData as exc:
        raise InvalidData(
            {name if name in REQUEST_FIELDS else f"data.{name}": text for name, text in exc.errors.items()}
        ) from None


# --- the routes every workflow resource has -----------------------------------------------


def add_workflow_routes(
    blp: ApiBlueprint,
    *,
    model: type[WorkflowRecord],
    collection: str,
    key: str,
    name: str,
    schema: type[Any],
    load: Callable[[int], Any],
    extras: Callable[[Any], dict[str, Any]],
) -> None:
    """Register GET one, history, available events and POST event for ``model`` on ``blp``."""
    base = f"/{collection}/<{ID}:{key}>"
    label = get_lifecycle(model.lifecycle_name).label.lower()

    def get_one(**view_args: Any) -> Any:
        record = load(view_args[key])
        return present([record], extras)[0], 200, etag(record)

    get_one.__doc__ = f"One {label}, with the events you may fire on it\n\nThe ETag header is its version."
    blp.route(base, endpoint=f"get_{name}", methods=["GET"])(blp.response(200, schema, headers=ETAG_HEADER)(get_one))

    def history(**view_args: Any) -> Any:
        return history_of(load(view_args[key]))

    history.__doc__ = f"The history of a {label}: every fired event, oldest first, with e-signatures"
    blp.route(f"{base}/history", endpoint=f"{name}_history", methods=["GET"])(
        blp.response(200, HistoryRowSchema(many=True))(history)
    )

    def events(**view_args: Any) -> Any:
        return present([load(view_args[key])], extras)[0].available_events

    events.__doc__ = f"The events of a {label}'s current state: allowed for you, or the reason why not"
    blp.route(f"{base}/events", endpoint=f"{name}_events", methods=["GET"])(
        blp.response(200, AvailableEventSchema(many=True))(events)
    )

    def fire_event(body: dict[str, Any], headers: dict[str, Any], **view_args: Any) -> Any:
        record = load(view_args[key])
        fire_from_request(record, view_args["event"], body, headers)
        return present([record], extras)[0], 200, etag(record)

    fire_event.__doc__ = (
        f"Fire an event on a {label}\n\n"
        "Send the event's fields in `data`, `signature_email` and `signature_password` for signed events and the "
        "version you read as `version` or `If-Match`. Answers 403 when your roles do not allow it or signing is "
        "locked after five failed attempts, 409 when it is not "
        "possible in this state, a guard blocks it (the message says why) or the version is stale, 422 "
        "naming each bad field (`data.<field>` for event fields) and 404 for an unknown event."
    )
    blp.route(f"{base}/events/<string(maxlength=60):event>", endpoint=f"fire_{name}_event", methods=["POST"])(
        blp.arguments(EventRequestSchema, required=False)(
            blp.arguments(IfMatchSchema, location="headers")(blp.response(200, schema, headers=ETAG_HEADER)(fire_event))
        )
    )

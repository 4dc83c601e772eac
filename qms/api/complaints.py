"""/api/v1/complaints: customer complaints (ISO 10002) from any channel, social platforms included.

A complaint is a workflow resource (``complaint`` lifecycle: received →
acknowledged → investigating → resolved → closed, or escalated to a
nonconformity, or rejected) with targets to acknowledge and resolve it by;
overdue ones are flagged. ``…/platforms`` gives the virtual platforms figures
(per channel: counts, response times, outcomes) and ``…/platforms.pdf`` the
report. Who may log and handle complaints is the services' rule (NotPermitted → 403).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, url_for
from marshmallow import RAISE
from sqlalchemy import and_, not_, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from workflows.errors import InvalidData

from ..downloads import content_disposition
from ..models import CHANNELS, VIRTUAL_PLATFORMS, Complaint
from ..services.complaints import LOG_ROLES, PlatformFigures, log_complaint, platform_figures
from .auth import api_user, require_roles
from .blueprint import ApiBlueprint
from .schemas.complaints import (
    ComplaintCreateSchema,
    ComplaintPageSchema,
    ComplaintQuerySchema,
    ComplaintSchema,
    PeriodQuerySchema,
    PlatformReportSchema,
)
from .schemas.surveys import MAX_REPORT_DAYS
from .workflow import (
    ETAG_HEADER,
    add_workflow_routes,
    etag,
    get_or_404,
    ordering,
    paginate,
    present,
    state_order,
)

blp = ApiBlueprint(
    "api_complaints",
    __name__,
    tag="Complaints",
    description=(
        "Customer complaints (ISO 10002) from any channel, social platforms included: log, acknowledge, "
        "investigate, escalate to a nonconformity, resolve, close; targets and overdue flags; the virtual "
        "platforms figures and report."
    ),
)

#: what a complaint's representation reads, loaded for a whole page in a fixed number of queries
LOAD = (
    selectinload(Complaint.owner),
    selectinload(Complaint.logged_by),
    selectinload(Complaint.nonconformity),
)
#: the default period of the platform figures
DEFAULT_DAYS = 90
PDF_RESPONSE = {
    "description": "The virtual platforms report",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    "headers": {
        "Content-Disposition": {
            "description": "inline; filename=virtual-platforms-<start>-<end>.pdf",
            "schema": {"type": "string"},
        }
    },
}


def load(complaint_id: int) -> Complaint:
    return get_or_404(Complaint, complaint_id, options=LOAD, label="complaint")


def extras(complaint: Complaint) -> dict[str, Any]:
    base = "api_complaints."
    today = dt.date.today()
    acknowledgement = complaint.acknowledgement_overdue(today)
    resolution = complaint.resolution_overdue(today)
    nc = complaint.nonconformity
    return {
        "channel_label": CHANNELS.get(complaint.channel, complaint.channel),
        "virtual_platform": complaint.is_virtual_platform,
        "acknowledgement_overdue": acknowledgement,
        "resolution_overdue": resolution,
        "overdue": acknowledgement or resolution,
        "nonconformity_reference": nc.reference if nc is not None else None,
        "links": {
            "self": url_for(base + "get_complaint", complaint_id=complaint.id),
            "history": url_for(base + "complaint_history", complaint_id=complaint.id),
            "events": url_for(base + "complaint_events", complaint_id=complaint.id),
            "nonconformity": (
                url_for("api_nonconformities.get_nonconformity", nc_id=nc.id) if nc is not None else None
            ),
        },
    }


def overdue_condition(today: dt.date) -> Any:
    """Open complaints past a target, in SQL (as ``acknowledgement_overdue`` or ``resolution_overdue``)."""
    return or_(
        and_(Complaint.state == "received", Complaint.acknowledge_due < today),
        and_(Complaint.state.in_(Complaint.OPEN_STATES), Complaint.resolve_due < today),
    )


def _period(args: dict[str, Any]) -> tuple[dt.date, dt.date]:
    """The query's period: by default the last 90 days; one bound given, the other follows from it."""
    today = dt.date.today()
    end = args.get("end")
    start = args.get("start")
    if end is None:
        end = max(today, start) if start is not None else today
    if start is None:
        start = end - dt.timedelta(days=DEFAULT_DAYS)
    if (end - start).days > MAX_REPORT_DAYS:
        raise InvalidData({"start": "the period can be at most three years"})
    return start, end


def _figures(figures: list[PlatformFigures]) -> list[dict[str, Any]]:
    return [{**f.__dict__, "channel_label": CHANNELS[f.channel]} for f in figures]


# --- routes -------------------------------------------------------------------------------------


@blp.route("/complaints", methods=["GET"])
@blp.arguments(ComplaintQuerySchema, location="query", unknown=RAISE)
@blp.response(200, ComplaintPageSchema)
def list_complaints(args: dict[str, Any]) -> dict[str, Any]:
    """The complaints register: filtered by state, channel, service or overdue, sorted, one page at a time"""
    stmt = select(Complaint)
    state = args.get("state")
    if state == "open":
        stmt = stmt.where(Complaint.state.in_(Complaint.OPEN_STATES))
    elif state is not None:
        stmt = stmt.where(Complaint.state == state)
    channel = args.get("channel")
    if channel == "virtual":
        stmt = stmt.where(Complaint.channel.in_(VIRTUAL_PLATFORMS))
    elif channel is not None:
        stmt = stmt.where(Complaint.channel == channel)
    if "service" in args:
        stmt = stmt.where(Complaint.service == args["service"])
    if "overdue" in args:
        overdue = overdue_condition(dt.date.today())
        stmt = stmt.where(overdue if args["overdue"] else not_(overdue))
    columns = {
        "reference": Complaint.reference,
        "received_at": Complaint.received_at,
        "acknowledge_due": Complaint.acknowledge_due,
        "resolve_due": Complaint.resolve_due,
        "state": state_order(Complaint),
    }
    stmt = stmt.order_by(*ordering(args["sort"], columns, Complaint.id))
    items, page = paginate(stmt, args, options=LOAD)
    return {**page, "items": present(items, extras)}


@blp.route("/complaints", methods=["POST"])
@require_roles(LOG_ROLES, "Requires the role quality officer, manager, process owner or admin to log complaints")
@blp.arguments(ComplaintCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, ComplaintSchema, headers=ETAG_HEADER)
def create(body: dict[str, Any]) -> Any:
    """Log a complaint received on any channel (it starts as received)

    Administrators, managers, quality officers and process owners may. From a
    social platform, give the customer's handle or a link to the post. The
    targets (acknowledge by, resolve by) follow from `received_at` (default:
    now). The owner defaults to you.
    """
    complaint = log_complaint(api_user(), origin="api", **body)
    complaint = load(complaint.id)
    location = url_for("api_complaints.get_complaint", complaint_id=complaint.id)
    return present([complaint], extras)[0], 201, {"Location": location, **etag(complaint)}


@blp.route("/complaints/platforms", methods=["GET"])
@blp.arguments(PeriodQuerySchema, location="query", unknown=RAISE)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, PlatformReportSchema)
def platforms(args: dict[str, Any]) -> dict[str, Any]:
    """Complaints per channel received in a period: counts, response times and outcomes

    `platforms` are the social platforms, `other_channels` the rest for
    comparison. The period defaults to the last 90 days; at most three years.
    """
    start, end = _period(args)
    others = [c for c in CHANNELS if c not in VIRTUAL_PLATFORMS]
    return {
        "start": start,
        "end": end,
        "platforms": _figures(platform_figures(start, end)),
        "other_channels": _figures(platform_figures(start, end, channels=others)),
    }


@blp.route("/complaints/platforms.pdf", methods=["GET"])
@blp.arguments(PeriodQuerySchema, location="query", unknown=RAISE)
@blp.doc(responses={"200": PDF_RESPONSE})
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def platforms_pdf(args: dict[str, Any]) -> Response:
    """The virtual platforms report (PDF) of a period (default: the last 90 days)"""
    start, end = _period(args)
    from ..reports.complaints import virtual_platforms_report_pdf

    data = virtual_platforms_report_pdf(start, end, organisation=current_app.config["QMS_ORGANISATION"])
    return Response(
        data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": content_disposition(f"virtual-platforms-{start}-{end}.pdf", inline=True),
            "Cache-Control": "no-store",
        },
    )


add_workflow_routes(
    blp,
    model=Complaint,
    collection="complaints",
    key="complaint_id",
    name="complaint",
    schema=ComplaintSchema,
    load=load,
    extras=extras,
)

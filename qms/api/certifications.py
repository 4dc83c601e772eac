"""/api/v1/certification-bodies, /api/v1/certifications and /api/v1/readiness: third-party certification.

A certification body is a profile (programme rules, its own severity scale)
that administrators edit. A certification is a workflow resource
(``certification`` lifecycle, ISO/IEC 17021-1 cycle: applied → … → certified →
surveillance / recertification); the body's audits are recorded with their
findings inline, each finding that is a nonconformity raising one NC, all or
nothing. The timeline, the reminders, readiness for the next audit (with the
reason for every point lost) and the certification pack (PDF) are read here.
Who may do what is the services' rule (NotPermitted → 403).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import abort, current_app, url_for
from marshmallow import RAISE
from sqlalchemy import case, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

import standards
from workflows.errors import InvalidData

from ..database import db
from ..downloads import content_disposition
from ..models import EXTERNAL_AUDIT_KINDS, Certification, CertificationBody, ExternalAudit, ExternalFinding
from ..services.certifications import (
    MANAGE_ROLES,
    Milestone,
    Readiness,
    create_certification,
    cycle_of,
    group_findings,
    plan_body_transition_audit,
    profile,
    readiness,
    record_edition_transition,
    record_external_audit,
    regrade_finding,
    reminders,
    set_body_active,
    timeline,
    update_body,
)
from .auth import api_user, require_roles
from .blueprint import ID, ApiBlueprint
from .schemas.certifications import (
    BodyQuerySchema,
    BodyUpdateSchema,
    CertificationBodyPageSchema,
    CertificationBodySchema,
    CertificationCreateSchema,
    CertificationPageSchema,
    CertificationQuerySchema,
    CertificationSchema,
    EditionTransitionSchema,
    ExternalAuditCreateSchema,
    ExternalAuditSchema,
    FindingGroupSchema,
    FindingSchema,
    ReadinessSchema,
    RegradeSchema,
    ReminderSchema,
    RemindersQuerySchema,
    TimelineSchema,
    TransitionAuditPlanSchema,
)
from .schemas.reviews import NoQuerySchema
from .workflow import (
    ETAG_HEADER,
    Presented,
    add_workflow_routes,
    etag,
    get_or_404,
    ordering,
    paginate,
    present,
    state_order,
)

blp = ApiBlueprint(
    "api_certifications",
    __name__,
    tag="Certifications",
    description=(
        "Certification by an external body (ISO/IEC 17021-1): application to decision, surveillance and "
        "recertification; the body's audits with findings graded on its own scale (each nonconformity raises "
        "an NC); the timeline and reminders; readiness for the next audit; the certification pack."
    ),
)
bodies_blp = ApiBlueprint(
    "api_certification_bodies",
    __name__,
    tag="Certification bodies",
    description="Certification bodies: their audit programme rules and severity scales (administrators edit them).",
)

MANAGE_MESSAGE = "Requires the role manager or quality officer to manage certifications"
LOAD = (
    selectinload(Certification.body),
    selectinload(Certification.site),
    selectinload(Certification.owner),
    selectinload(Certification.audits),
)
AUDIT_LOAD = (selectinload(ExternalAudit.findings).selectinload(ExternalFinding.nonconformity),)
INDEXED = re.compile(r"\[(\d+)\]")
BODY_CODE = "string(maxlength=40)"
PDF_RESPONSE = {
    "description": "The certification pack: readiness, timeline, open NCs, audits, documents, reviews, findings",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    "headers": {
        "Content-Disposition": {
            "description": "attachment; filename=<reference>-certification-pack.pdf",
            "schema": {"type": "string"},
        }
    },
}


@contextmanager
def request_field_names() -> Iterator[None]:
    """The services name list items ``findings[0].grade``; the API's errors say ``findings.0.grade``."""
    try:
        yield
    except InvalidData as exc:
        raise InvalidData({INDEXED.sub(r".\1", name): text for name, text in exc.errors.items()}) from None


@contextmanager
def computable_dates() -> Iterator[None]:
    """The cycle's computations add days and years: dates at the end of the calendar cannot take them."""
    try:
        yield
    except OverflowError:
        abort(409, description="The certification's dates are too far in the future to compute its deadlines")


def _ref(obj: Any) -> dict[str, Any] | None:
    return {"id": obj.id, "name": obj.name} if obj is not None else None


# --- certification bodies -----------------------------------------------------------------------


def load_body(code: str) -> CertificationBody:
    body = db.session.scalar(select(CertificationBody).where(CertificationBody.code == code))
    if body is None:
        abort(404, description=f"There is no certification body {code!r}")
    return body


def present_body(body: CertificationBody) -> dict[str, Any]:
    data = standards.body_to_dict(profile(body))
    return {
        **data,
        "id": body.id,
        "code": body.code,
        "name": body.name,
        "active": body.active,
        "edited_by_id": body.edited_by_id,
        "edited_at": body.edited_at,
        "links": {
            "self": url_for("api_certification_bodies.get_body", code=body.code),
            "certifications": url_for("api_certifications.list_certifications", body=body.code),
        },
    }


@bodies_blp.route("/certification-bodies", methods=["GET"])
@bodies_blp.arguments(BodyQuerySchema, location="query", unknown=RAISE)
@bodies_blp.response(200, CertificationBodyPageSchema)
def list_bodies(args: dict[str, Any]) -> dict[str, Any]:
    """Certification bodies by name: their programme rules and severity scales"""
    stmt = select(CertificationBody)
    if "active" in args:
        stmt = stmt.where(CertificationBody.active.is_(args["active"]))
    stmt = stmt.order_by(CertificationBody.name, CertificationBody.id)
    items, page = paginate(stmt, args)
    return {**page, "items": [present_body(b) for b in items]}


@bodies_blp.route(f"/certification-bodies/<{BODY_CODE}:code>", methods=["GET"])
@bodies_blp.response(200, CertificationBodySchema)
def get_body(code: str) -> dict[str, Any]:
    """One certification body's profile"""
    return present_body(load_body(code))


@bodies_blp.route(f"/certification-bodies/<{BODY_CODE}:code>", methods=["PATCH"])
@require_roles({"admin"}, "Requires the role admin to edit certification bodies")
@bodies_blp.arguments(BodyUpdateSchema)
@bodies_blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@bodies_blp.response(200, CertificationBodySchema)
def edit_body(changes: dict[str, Any], code: str) -> dict[str, Any]:
    """Edit a body's profile (administrators; a field left out keeps its value)

    `programme` may give only the rules that change; `severity_scale`,
    `accreditation` and `marks` replace the whole list. The profile is checked
    as a whole before anything is saved: 422 names each bad field by its path
    (`programme.recertification_lead_days`, `severity_scale.1.response_days`).
    `active: false` stops new applications to the body.
    """
    body = load_body(code)
    active = changes.pop("active", None)
    if changes:
        with request_field_names():
            update_body(body, api_user(), changes)
    if active is not None and active != body.active:
        set_body_active(body, api_user(), active)
    return present_body(body)


# --- certifications: loading and presenting -----------------------------------------------------


def load(certification_id: int) -> Certification:
    return get_or_404(Certification, certification_id, options=LOAD, label="certification")


def load_audit(certification_id: int, external_audit_id: int) -> ExternalAudit:
    """The external audit ``external_audit_id`` of certification ``certification_id``: 404 when it is another's."""
    certification = load(certification_id)
    audit = get_or_404(ExternalAudit, external_audit_id, options=AUDIT_LOAD, label="external audit")
    if audit.certification_id != certification.id:
        abort(404, description=f"Certification {certification.id} has no external audit with id {external_audit_id}")
    return audit


def load_finding(certification_id: int, external_audit_id: int, finding_id: int) -> ExternalFinding:
    audit = load_audit(certification_id, external_audit_id)
    finding = get_or_404(ExternalFinding, finding_id, label="finding")
    if finding.external_audit_id != audit.id:
        abort(404, description=f"External audit {audit.id} has no finding with id {finding_id}")
    return finding


def present_milestone(step: Milestone, today: dt.date) -> dict[str, Any]:
    return {
        "what": step.what,
        "due": step.due,
        "done_on": step.done_on,
        "remind_on": step.remind_on,
        "status": step.status(today),
        "days_left": (step.due - today).days if step.due is not None and step.done_on is None else None,
    }


def extras(certification: Certification) -> dict[str, Any]:
    today = dt.date.today()
    base = "api_certifications."
    key = {"certification_id": certification.id}
    upcoming = []
    dates = None
    try:  # a record with dates at the end of the calendar is still shown, without what cannot be computed
        if not certification.is_terminal:
            upcoming = [s for s in timeline(certification, today) if s.done_on is None and s.due is not None]
        dates = cycle_of(certification)
    except OverflowError:
        upcoming = []
    following = min(upcoming, key=lambda s: s.due) if upcoming else None
    body = certification.body
    return {
        "body": {"id": body.id, "code": body.code, "name": body.name},
        "site": _ref(certification.site),
        "cycle": (
            {
                "cycle_start": dates.cycle_start,
                "surveillance_due": list(dates.surveillance_due),
                "recertification_due": dates.recertification_due,
                "expires_on": dates.expires_on,
            }
            if dates is not None
            else None
        ),
        "next_deadline": present_milestone(following, today) if following is not None else None,
        "external_audit_count": len(certification.audits),
        "links": {
            "self": url_for(base + "get_certification", **key),
            "history": url_for(base + "certification_history", **key),
            "events": url_for(base + "certification_events", **key),
            "timeline": url_for(base + "get_timeline", **key),
            "readiness": url_for(base + "certification_readiness", **key),
            "pack": url_for(base + "pack", **key),
            "external_audits": url_for(base + "list_external_audits", **key),
            "body": url_for("api_certification_bodies.get_body", code=body.code),
        },
    }


def present_finding(finding: ExternalFinding, certification_id: int) -> dict[str, Any]:
    nc = finding.nonconformity
    return {
        **{
            name: getattr(finding, name)
            for name in (
                "id",
                "body_reference",
                "grade",
                "grade_label",
                "clause_number",
                "clause_urn",
                "description",
                "response_due",
                "group_label",
                "regraded_from",
                "regrade_reason",
            )
        },
        "nonconformity": (
            {"id": nc.id, "reference": nc.reference, "state": nc.state, "severity": nc.severity} if nc else None
        ),
        "links": {
            "regrade": url_for(
                "api_certifications.regrade",
                certification_id=certification_id,
                external_audit_id=finding.external_audit_id,
                finding_id=finding.id,
            ),
            "nonconformity": url_for("api_nonconformities.get_nonconformity", nc_id=nc.id) if nc else None,
        },
    }


def present_audit(audit: ExternalAudit) -> Presented:
    key = {"certification_id": audit.certification_id}
    return Presented(
        audit,
        kind_label=EXTERNAL_AUDIT_KINDS.get(audit.kind, audit.kind),
        findings=[present_finding(f, audit.certification_id) for f in audit.findings],
        links={
            "groups": url_for("api_certifications.group", external_audit_id=audit.id, **key),
            "certification": url_for("api_certifications.get_certification", **key),
        },
    )


def present_readiness(found: Readiness, certification: Certification | None) -> dict[str, Any]:
    return {
        "certification_id": certification.id if certification is not None else None,
        "score": found.score,
        "verdict": found.verdict,
        "blocking": list(found.blocking),
        "reasons": [
            {"points": r.points, "message": r.message, "link": r.link, "blocking": r.blocking} for r in found.reasons
        ],
        "figures": dict(found.figures),
    }


def _pdf(data: bytes, filename: str) -> Response:
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": content_disposition(filename), "Cache-Control": "no-store"},
    )


# --- certifications: the collection -------------------------------------------------------------


@blp.route("/certifications", methods=["GET"])
@blp.arguments(CertificationQuerySchema, location="query", unknown=RAISE)
@blp.response(200, CertificationPageSchema)
def list_certifications(args: dict[str, Any]) -> dict[str, Any]:
    """Certifications: filtered by state, body (its code) or standard; sorted; one page at a time"""
    stmt = select(Certification)
    if "state" in args:
        stmt = stmt.where(Certification.state == args["state"])
    if "body" in args:
        stmt = stmt.where(
            Certification.body_id.in_(select(CertificationBody.id).where(CertificationBody.code == args["body"]))
        )
    if "standard" in args:
        stmt = stmt.where(Certification.standard_identifier == args["standard"])
    sort = args["sort"]
    columns = {
        "reference": Certification.reference,
        "applied_on": Certification.applied_on,
        "expires_on": Certification.expires_on,
        "next_audit_due": Certification.next_audit_due,
        "created_at": Certification.created_at,
        "state": state_order(Certification),
    }
    order = []
    name = sort.lstrip("-")
    if name in ("expires_on", "next_audit_due"):  # without a date last either way, whatever the database's NULL order
        order = [case((columns[name].is_(None), 1), else_=0)]
    stmt = stmt.order_by(*order, *ordering(sort, columns, Certification.id))
    items, page = paginate(stmt, args, options=LOAD)
    return {**page, "items": present(items, extras)}


@blp.route("/certifications", methods=["POST"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.arguments(CertificationCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, CertificationSchema, headers=ETAG_HEADER)
def create(body: dict[str, Any]) -> Any:
    """Apply for certification to a body (it starts as applied)

    Managers and quality officers may. 422 names `body_id` for an unknown or
    inactive body, `standard_identifier` for an unknown standard, `site_id`
    for an unknown site.
    """
    certification = create_certification(api_user(), **body)
    certification = load(certification.id)
    location = url_for("api_certifications.get_certification", certification_id=certification.id)
    return present([certification], extras)[0], 201, {"Location": location, **etag(certification)}


@blp.route("/certifications/reminders", methods=["GET"])
@blp.arguments(RemindersQuerySchema, location="query", unknown=RAISE)
@blp.alt_response(409, response="CONFLICT")
@blp.response(200, ReminderSchema(many=True))
def get_reminders(args: dict[str, Any]) -> list[dict[str, Any]]:
    """Deadlines of active certifications whose reminder day has come, or that are overdue; soonest first

    The body's programme sets the reminder days (e.g. 90, 30 and 7 days before).
    """
    with computable_dates():
        found = reminders(owner_id=args.get("owner_id"))
    return [
        {
            "certification_id": r.certification.id,
            "reference": r.certification.reference,
            "body": r.certification.body.name,
            "what": r.what,
            "due": r.due,
            "days_left": r.days_left,
            "link": url_for("api_certifications.get_certification", certification_id=r.certification.id),
        }
        for r in found
    ]


@blp.route("/readiness", methods=["GET"])
@blp.arguments(NoQuerySchema, location="query", unknown=RAISE)
@blp.alt_response(409, response="CONFLICT")
@blp.response(200, ReadinessSchema)
def organisation_readiness(args: dict[str, Any]) -> dict[str, Any]:
    """The organisation's readiness for an external audit: a score, a verdict and each reason for it

    Open major NCs block any audit; the other issues cost points (shown with
    each reason). A certification's own readiness also counts its open findings.
    """
    with computable_dates():
        return present_readiness(readiness(None), None)


add_workflow_routes(
    blp,
    model=Certification,
    collection="certifications",
    key="certification_id",
    name="certification",
    schema=CertificationSchema,
    load=load,
    extras=extras,
)


@blp.route(f"/certifications/<{ID}:certification_id>/timeline", methods=["GET"])
@blp.arguments(NoQuerySchema, location="query", unknown=RAISE)
@blp.alt_response(409, response="CONFLICT")
@blp.response(200, TimelineSchema)
def get_timeline(args: dict[str, Any], certification_id: int) -> dict[str, Any]:
    """The certification's timeline: application to expiry, what was done and the cycle's deadlines"""
    certification = load(certification_id)
    today = dt.date.today()
    with computable_dates():
        steps = timeline(certification, today)
    return {
        "certification_id": certification.id,
        "today": today,
        "milestones": [present_milestone(step, today) for step in steps],
    }


@blp.route(f"/certifications/<{ID}:certification_id>/readiness", methods=["GET"])
@blp.arguments(NoQuerySchema, location="query", unknown=RAISE)
@blp.alt_response(409, response="CONFLICT")
@blp.response(200, ReadinessSchema)
def certification_readiness(args: dict[str, Any], certification_id: int) -> dict[str, Any]:
    """Readiness for this certification's next audit, counting the open findings of its last one"""
    certification = load(certification_id)
    with computable_dates():
        return present_readiness(readiness(certification), certification)


@blp.route(f"/certifications/<{ID}:certification_id>/pack.pdf", methods=["GET"])
@blp.arguments(NoQuerySchema, location="query", unknown=RAISE)
@blp.alt_response(409, response="CONFLICT")
@blp.doc(responses={"200": PDF_RESPONSE})
def pack(args: dict[str, Any], certification_id: int) -> Response:
    """The certification pack (PDF) to send the body or take to the audit"""
    certification = load(certification_id)
    from ..reports.certifications import certification_pack_pdf

    with computable_dates():
        data = certification_pack_pdf(
            certification, organisation=current_app.config["QMS_ORGANISATION"], reader=api_user()
        )
    return _pdf(data, f"{certification.reference}-certification-pack.pdf")


# --- external audits and findings ---------------------------------------------------------------


@blp.route(f"/certifications/<{ID}:certification_id>/external-audits", methods=["GET"])
@blp.response(200, ExternalAuditSchema(many=True))
def list_external_audits(certification_id: int) -> list[Presented]:
    """The body's audits of this certification, oldest first, with their findings"""
    certification = load(certification_id)
    audits = list(
        db.session.scalars(
            select(ExternalAudit)
            .options(*AUDIT_LOAD)
            .where(ExternalAudit.certification_id == certification.id)
            .order_by(ExternalAudit.start_date, ExternalAudit.id)
        )
    )
    return [present_audit(a) for a in audits]


@blp.route(f"/certifications/<{ID}:certification_id>/external-audits", methods=["POST"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.arguments(ExternalAuditCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, ExternalAuditSchema)
def record_audit(body: dict[str, Any], certification_id: int) -> Any:
    """Record an audit by the body once it has taken place, with its findings

    Managers and quality officers may (409 once the certification has ended).
    Each finding is graded on the body's own scale; one that is a
    nonconformity raises an NC with the body's response deadline. Everything
    is checked first: 422 names each bad field (`findings.1.grade`) and
    nothing is recorded.
    """
    certification = load(certification_id)
    with request_field_names():
        audit = record_external_audit(certification, api_user(), **body)
    audit = load_audit(certification_id, audit.id)
    return present_audit(audit), 201


@blp.route(f"/certifications/<{ID}:certification_id>/external-audits/<{ID}:external_audit_id>/groups", methods=["POST"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.arguments(FindingGroupSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, ExternalAuditSchema)
def group(body: dict[str, Any], certification_id: int, external_audit_id: int) -> Presented:
    """Group findings of the audit as the body did (for example several minors as one)"""
    audit = load_audit(certification_id, external_audit_id)
    group_findings(audit, api_user(), body["finding_ids"], body["label"])
    return present_audit(audit)


@blp.route(
    f"/certifications/<{ID}:certification_id>/external-audits/<{ID}:external_audit_id>/findings/<{ID}:finding_id>/regrade",
    methods=["POST"],
)
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.arguments(RegradeSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, FindingSchema)
def regrade(body: dict[str, Any], certification_id: int, external_audit_id: int, finding_id: int) -> dict[str, Any]:
    """Record that the body re-graded a finding: its deadline and its NC's severity follow

    A finding re-graded to a nonconformity raises one; an open NC takes the new severity.
    """
    finding = load_finding(certification_id, external_audit_id, finding_id)
    finding = regrade_finding(finding, api_user(), grade=body["grade"], reason=body["reason"])
    return present_finding(finding, certification_id)


# --- transition to a new edition ----------------------------------------------------------------


@blp.route(f"/certifications/<{ID}:certification_id>/transition-audit", methods=["PUT"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.arguments(TransitionAuditPlanSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, CertificationSchema, headers=ETAG_HEADER)
def plan_transition_audit(body: dict[str, Any], certification_id: int) -> Any:
    """Plan the body's transition audit to the new edition (often with a surveillance or recertification audit)

    For a certificate in force whose edition a newer one replaces (422 names `planned_on`
    otherwise); the date may not be past nor after the end of the transition; null clears it.
    """
    certification = plan_body_transition_audit(load(certification_id), api_user(), **body)
    certification = load(certification.id)
    return present([certification], extras)[0], 200, etag(certification)


@blp.route(f"/certifications/<{ID}:certification_id>/edition", methods=["POST"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.arguments(EditionTransitionSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, CertificationSchema, headers=ETAG_HEADER)
def record_transition(body: dict[str, Any], certification_id: int) -> Any:
    """Record the body's decision that the certificate moves to the new edition

    The certificate keeps its cycle and expiry; its `standard_identifier` becomes the new
    edition (`previous_standard_identifier` keeps the old). 409 unless in force.
    """
    certification = record_edition_transition(load(certification_id), api_user(), **body)
    certification = load(certification.id)
    return present([certification], extras)[0], 200, etag(certification)

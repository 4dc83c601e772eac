"""/api/v1/audit-programmes and /api/v1/audits: internal audits (ISO 9001 9.2, ISO 19011).

A programme covers a year (and a site, or the whole organisation) and generates
its recurring audits. An audit is a workflow resource (``internal_audit``
lifecycle: events, history, signed report); its team is set with ``PUT …/team``,
its checklist is edited while it is planned, scheduled or prepared and answered
by its auditors while it is in progress. ``GET /audits/coverage`` is the
clause × process matrix of a cycle. Who may do what is the services' rule
(NotPermitted → 403); the early role checks only answer sooner.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from flask import abort, url_for
from marshmallow import RAISE
from sqlalchemy import case, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from workflows.errors import InvalidData

from ..database import db, id_in
from ..models import Audit, AuditProgramme, AuditTeamMember, ChecklistItem, ProgrammeEntry, Site
from ..services.audits import (
    PLANNER_ROLES,
    add_question,
    assign_team,
    coverage,
    create_audit,
    create_programme,
    edit_question,
    evidence_of,
    generate_audits,
    generate_checklist,
    remove_question,
    result_counts,
    scores,
)
from ..services.audits import answer as answer_item
from .attachments import present_attachment
from .auth import api_user, require_roles
from .blueprint import ID, ApiBlueprint
from .schemas.audits import (
    AnswerSchema,
    AuditCreateSchema,
    AuditPageSchema,
    AuditQuerySchema,
    AuditSchema,
    AuditTeamResultSchema,
    ChecklistGeneratedSchema,
    ChecklistGenerateSchema,
    ChecklistItemSchema,
    ChecklistSchema,
    CoverageQuerySchema,
    CoverageSchema,
    ProgrammeCreateSchema,
    ProgrammePageSchema,
    ProgrammeQuerySchema,
    ProgrammeSchema,
    QuestionCreateSchema,
    QuestionEditSchema,
    TeamInputSchema,
)
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
    "api_audits",
    __name__,
    tag="Audits",
    description=(
        "Internal audits (ISO 9001 9.2): plan, assign an independent team, prepare the checklist, "
        "answer it on site (findings raise nonconformities), report with e-signatures, follow up; "
        "the coverage matrix of a cycle."
    ),
)
programmes_blp = ApiBlueprint(
    "api_audit_programmes",
    __name__,
    tag="Audit programmes",
    description="Yearly audit programmes: processes rated by risk, and the recurring audits that follow from them.",
)

PLANNER_MESSAGE = "Requires the role manager or quality officer to plan audits"
#: what an audit's representation reads, loaded for a whole page in a fixed number of queries
LOAD = (
    selectinload(Audit.team).selectinload(AuditTeamMember.user),
    selectinload(Audit.lead_auditor),
    selectinload(Audit.process),
    selectinload(Audit.site),
    selectinload(Audit.items),
)
ITEM_LOAD = (selectinload(ChecklistItem.answered_by), selectinload(ChecklistItem.nonconformity))
PROGRAMME_LOAD = (
    selectinload(AuditProgramme.entries).selectinload(ProgrammeEntry.process),
    selectinload(AuditProgramme.site),
    selectinload(AuditProgramme.created_by),
)
INDEXED = re.compile(r"\[(\d+)\]")


@contextmanager
def request_field_names() -> Iterator[None]:
    """The services name list items ``members[0].user_id``; the API's errors say ``members.0.user_id``."""
    try:
        yield
    except InvalidData as exc:
        raise InvalidData({INDEXED.sub(r".\1", name): text for name, text in exc.errors.items()}) from None


def _ref(obj: Any) -> dict[str, Any] | None:
    return {"id": obj.id, "name": obj.name} if obj is not None else None


# --- audits: loading and presenting -------------------------------------------------------------


def load(audit_id: int) -> Audit:
    return get_or_404(Audit, audit_id, options=LOAD, label="audit")


def load_item(audit_id: int, item_id: int) -> ChecklistItem:
    """The checklist item ``item_id`` of audit ``audit_id``: 404 when it is another audit's."""
    audit = load(audit_id)
    item = get_or_404(ChecklistItem, item_id, options=ITEM_LOAD, label="checklist item")
    if item.audit_id != audit.id:
        abort(404, description=f"Audit {audit.id} has no checklist item with id {item_id}")
    return item


def extras(audit: Audit) -> dict[str, Any]:
    base = "api_audits."
    return {
        "site": _ref(audit.site),
        "process": _ref(audit.process),
        "result_counts": result_counts(audit),
        "scores": scores(audit),
        "links": {
            "self": url_for(base + "get_audit", audit_id=audit.id),
            "history": url_for(base + "audit_history", audit_id=audit.id),
            "events": url_for(base + "audit_events", audit_id=audit.id),
            "checklist": url_for(base + "get_checklist", audit_id=audit.id),
            "team": url_for(base + "set_team", audit_id=audit.id),
            "programme": (
                url_for("api_audit_programmes.get_programme", programme_id=audit.programme_id)
                if audit.programme_id
                else None
            ),
        },
    }


def present_audits(audits: list[Audit]) -> list[Presented]:
    """``audits`` reloaded with what they show (one query per relation, not per audit) and presented."""
    if not audits:
        return []
    ids = [a.id for a in audits]
    loaded = {a.id: a for a in db.session.scalars(select(Audit).options(*LOAD).where(id_in(Audit.id, ids)))}
    return present([loaded[i] for i in ids], extras)


def present_items(items: list[ChecklistItem]) -> list[Presented]:
    evidence = evidence_of(items)
    presented = []
    for item in items:
        nc = item.nonconformity
        presented.append(
            Presented(
                item,
                nonconformity_reference=nc.reference if nc is not None else None,
                evidence=[present_attachment(a) for a in evidence.get(item.id, [])],
                links={
                    "self": url_for("api_audits.edit_item", audit_id=item.audit_id, item_id=item.id),
                    "answer": url_for("api_audits.answer", audit_id=item.audit_id, item_id=item.id),
                    "nonconformity": (
                        url_for("api_nonconformities.get_nonconformity", nc_id=nc.id) if nc is not None else None
                    ),
                },
            )
        )
    return presented


def present_checklist(audit: Audit, **extra: Any) -> dict[str, Any]:
    items = list(
        db.session.scalars(
            select(ChecklistItem)
            .options(*ITEM_LOAD)
            .where(ChecklistItem.audit_id == audit.id)
            .order_by(ChecklistItem.position, ChecklistItem.id)
        )
    )
    return {
        "audit_id": audit.id,
        "state": audit.state,
        "editable": audit.state in Audit.EDITABLE_STATES,
        "answering": audit.state in Audit.ANSWERING_STATES,
        "items": present_items(items),
        **extra,
    }


# --- audits: the collection ---------------------------------------------------------------------


@blp.route("/audits", methods=["GET"])
@blp.arguments(AuditQuerySchema, location="query", unknown=RAISE)
@blp.response(200, AuditPageSchema)
def list_audits(args: dict[str, Any]) -> dict[str, Any]:
    """Audits: filtered by state, process, year, kind, lead auditor or programme; sorted; one page at a time"""
    stmt = select(Audit)
    for name, column in (
        ("state", Audit.state),
        ("process_id", Audit.process_id),
        ("kind", Audit.kind),
        ("lead_auditor_id", Audit.lead_auditor_id),
        ("programme_id", Audit.programme_id),
    ):
        if name in args:
            stmt = stmt.where(column == args[name])
    if "year" in args:
        stmt = stmt.where(Audit.planned_start.between(dt.date(args["year"], 1, 1), dt.date(args["year"], 12, 31)))
    sort = args["sort"]
    columns = {
        "reference": Audit.reference,
        "planned_start": Audit.planned_start,
        "created_at": Audit.created_at,
        "title": Audit.title,
        "state": state_order(Audit),
    }
    # audits without dates come last either way, whatever the database's NULL order
    order = [case((Audit.planned_start.is_(None), 1), else_=0)] if sort.lstrip("-") == "planned_start" else []
    stmt = stmt.order_by(*order, *ordering(sort, columns, Audit.id))
    items, page = paginate(stmt, args, options=LOAD)
    return {**page, "items": present(items, extras)}


@blp.route("/audits", methods=["POST"])
@require_roles(PLANNER_ROLES, PLANNER_MESSAGE)
@blp.arguments(AuditCreateSchema)
@blp.response(201, AuditSchema, headers=ETAG_HEADER)
def create(body: dict[str, Any]) -> Any:
    """Plan an audit (it starts as planned)

    Managers and quality officers may. Without clause numbers it covers the
    clauses its process addresses; the checklist is generated from them when
    it is scheduled (or on `POST …/checklist/generate`).
    """
    audit = create_audit(api_user(), **body)
    audit = load(audit.id)
    location = url_for("api_audits.get_audit", audit_id=audit.id)
    return present([audit], extras)[0], 201, {"Location": location, **etag(audit)}


@blp.route("/audits/coverage", methods=["GET"])
@blp.arguments(CoverageQuerySchema, location="query", unknown=RAISE)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, CoverageSchema)
def get_coverage(args: dict[str, Any]) -> dict[str, Any]:
    """The coverage matrix of a year: which clauses each process was audited against

    A cell is a process that addresses a clause (or one an audit of the year
    covered); `status` is audited (an audit was held), planned or uncovered.
    422 naming `standard` or `site_id` when there is no such standard or site.
    """
    site_id = args.get("site_id")
    if site_id is not None and db.session.get(Site, site_id) is None:
        raise InvalidData({"site_id": "no such site"})
    try:
        matrix = coverage(args["year"], site_id=site_id, standard_identifier=args["standard"], depth=args["depth"])
    except KeyError:
        raise InvalidData({"standard": f"no standard {args['standard']!r}"}) from None
    standard = matrix.standard
    statuses = ("audited", "planned", "uncovered")
    return {
        "year": matrix.year,
        "site_id": site_id,
        "standard": {"identifier": standard.identifier, "title": standard.title},
        "clauses": [{"number": n, "title": standard.clause(n).title} for n in matrix.clauses],
        "processes": [{"id": p.id, "name": p.name, "code": p.code} for p in matrix.processes],
        "cells": [
            {
                "process_id": process_id,
                "clause": clause,
                "status": cell.status,
                "planned": cell.planned,
                "audited": cell.audited,
                "results": dict(cell.results),
                "worst": cell.worst,
            }
            for (process_id, clause), cell in sorted(matrix.cells.items(), key=lambda kv: kv[0])
        ],
        "relevant": matrix.relevant,
        "counts": {status: matrix.count(status) for status in statuses},
        "percent_audited": matrix.percent_audited,
        "uncovered_clauses": matrix.uncovered_clauses(),
    }


add_workflow_routes(
    blp,
    model=Audit,
    collection="audits",
    key="audit_id",
    name="audit",
    schema=AuditSchema,
    load=load,
    extras=extras,
)


@blp.route(f"/audits/<{ID}:audit_id>/team", methods=["PUT"])
@require_roles(PLANNER_ROLES, "Requires the role manager or quality officer to assign audit teams")
@blp.arguments(TeamInputSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, AuditTeamResultSchema, headers=ETAG_HEADER)
def set_team(body: dict[str, Any], audit_id: int) -> Any:
    """Set the lead auditor and the whole team (members left out are removed)

    Managers and quality officers may, until the audit starts (409 after).
    422 when someone is not an active user, the lead is not an auditor, or an
    auditor owns the audited process; `warnings` lists auditors already on an
    overlapping audit (allowed, but worth a look).
    """
    audit = load(audit_id)
    members = [(member["user_id"], member["role"]) for member in body["members"]]
    with request_field_names():
        warnings = assign_team(audit, api_user(), lead_auditor_id=body["lead_auditor_id"], members=members)
    db.session.expire_all()
    audit = load(audit_id)
    presented = present([audit], extras)[0]
    presented.warnings = warnings
    return presented, 200, etag(audit)


# --- checklists ---------------------------------------------------------------------------------


@blp.route(f"/audits/<{ID}:audit_id>/checklist", methods=["GET"])
@blp.response(200, ChecklistSchema)
def get_checklist(audit_id: int) -> dict[str, Any]:
    """An audit's checklist: questions by clause, answers, the nonconformities they raised, evidence"""
    return present_checklist(load(audit_id))


@blp.route(f"/audits/<{ID}:audit_id>/checklist", methods=["POST"])
@blp.arguments(QuestionCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, ChecklistItemSchema)
def add_item(body: dict[str, Any], audit_id: int) -> Any:
    """Add a question to the checklist (optionally against a clause of the audit's standard)

    The audit's auditors and quality officers may, while it is planned,
    scheduled or prepared (409 after).
    """
    item = add_question(load(audit_id), api_user(), question=body["question"], clause_number=body["clause_number"])
    item = load_item(audit_id, item.id)
    location = url_for("api_audits.edit_item", audit_id=audit_id, item_id=item.id)
    return present_items([item])[0], 201, {"Location": location}


@blp.route(f"/audits/<{ID}:audit_id>/checklist/generate", methods=["POST"])
@blp.arguments(ChecklistGenerateSchema, required=False)
@blp.response(200, ChecklistGeneratedSchema)
def generate(body: dict[str, Any], audit_id: int) -> dict[str, Any]:
    """Fill the checklist from the audit's clauses and the standard's questions

    Questions already there are not repeated; `replace` first removes the
    unanswered ones. The audit's auditors and quality officers may, while the
    checklist is editable (409 after).
    """
    audit = load(audit_id)
    added = generate_checklist(audit, api_user(), replace=body.get("replace", False))
    return present_checklist(audit, added=added)


@blp.route(f"/audits/<{ID}:audit_id>/checklist/<{ID}:item_id>", methods=["PATCH"])
@blp.arguments(QuestionEditSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, ChecklistItemSchema)
def edit_item(body: dict[str, Any], audit_id: int, item_id: int) -> Any:
    """Change a question's text while the checklist is editable (409 after)"""
    item = edit_question(load_item(audit_id, item_id), api_user(), question=body["question"])
    return present_items([item])[0]


@blp.route(f"/audits/<{ID}:audit_id>/checklist/<{ID}:item_id>", methods=["DELETE"])
@blp.response(204)
def delete_item(audit_id: int, item_id: int) -> Response:
    """Remove a question while the checklist is editable (409 after)"""
    remove_question(load_item(audit_id, item_id), api_user())
    return Response(status=204)


@blp.route(f"/audits/<{ID}:audit_id>/checklist/<{ID}:item_id>/answer", methods=["PUT"])
@blp.arguments(AnswerSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, ChecklistItemSchema)
def answer(body: dict[str, Any], audit_id: int, item_id: int) -> Any:
    """Answer a question on site

    Only the audit's auditors (lead auditor and team members, not observers)
    may (403), and only while it is in progress (409). A major or minor
    finding needs `notes` (the evidence) and raises one nonconformity, linked
    from the item; saving the same answer again raises no second one. Send the
    item's `revision` as `expected_revision`: a save from a stale copy answers 409.
    """
    item = load_item(audit_id, item_id)
    item = answer_item(
        item, api_user(), result=body["result"], notes=body["notes"], expected_revision=body["expected_revision"]
    )
    return present_items([load_item(audit_id, item.id)])[0]


# --- audit programmes ---------------------------------------------------------------------------


def load_programme(programme_id: int) -> AuditProgramme:
    return get_or_404(AuditProgramme, programme_id, options=PROGRAMME_LOAD, label="audit programme")


def present_programmes(programmes: list[AuditProgramme]) -> list[Presented]:
    """Programmes with their audits (one query for all of them)."""
    audits: Mapping[int, list[Audit]] = defaultdict(list)
    ids = [p.id for p in programmes]
    if ids:
        for audit in db.session.scalars(
            select(Audit).where(id_in(Audit.programme_id, ids)).order_by(Audit.planned_start, Audit.id)
        ):
            audits[audit.programme_id].append(audit)  # type: ignore[index]
    return [
        Presented(
            programme,
            site=_ref(programme.site),
            audits=[
                Presented(a, links={"self": url_for("api_audits.get_audit", audit_id=a.id)})
                for a in audits.get(programme.id, [])
            ],
            links={
                "self": url_for("api_audit_programmes.get_programme", programme_id=programme.id),
                "generate": url_for("api_audit_programmes.generate_programme_audits", programme_id=programme.id),
                "audits": url_for("api_audits.list_audits", programme_id=programme.id),
            },
        )
        for programme in programmes
    ]


@programmes_blp.route("/audit-programmes", methods=["GET"])
@programmes_blp.arguments(ProgrammeQuerySchema, location="query", unknown=RAISE)
@programmes_blp.response(200, ProgrammePageSchema)
def list_programmes(args: dict[str, Any]) -> dict[str, Any]:
    """Audit programmes, newest year first by default: filter by year or site"""
    stmt = select(AuditProgramme)
    if "year" in args:
        stmt = stmt.where(AuditProgramme.year == args["year"])
    if "site_id" in args:
        stmt = stmt.where(AuditProgramme.site_id == args["site_id"])
    columns = {"year": AuditProgramme.year, "title": AuditProgramme.title, "created_at": AuditProgramme.created_at}
    stmt = stmt.order_by(*ordering(args["sort"], columns, AuditProgramme.id))
    items, page = paginate(stmt, args, options=PROGRAMME_LOAD)
    return {**page, "items": present_programmes(items)}


@programmes_blp.route("/audit-programmes", methods=["POST"])
@require_roles(PLANNER_ROLES, "Requires the role manager or quality officer to plan audit programmes")
@programmes_blp.arguments(ProgrammeCreateSchema)
@programmes_blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@programmes_blp.response(201, ProgrammeSchema)
def create_programme_view(body: dict[str, Any]) -> Any:
    """Plan a year's audit programme: one entry per process, rated by risk

    Managers and quality officers may. Without `audits_per_year` an entry is
    audited as often as its risk asks (low 1, medium 2, high 4); without
    `risk`, the process's own rating counts. One programme per year and site.
    Create its audits with `POST …/generate`.
    """
    with request_field_names():
        programme = create_programme(api_user(), **body)
    programme = load_programme(programme.id)
    location = url_for("api_audit_programmes.get_programme", programme_id=programme.id)
    return present_programmes([programme])[0], 201, {"Location": location}


@programmes_blp.route(f"/audit-programmes/<{ID}:programme_id>", methods=["GET"])
@programmes_blp.response(200, ProgrammeSchema)
def get_programme(programme_id: int) -> Any:
    """One audit programme: its entries and its audits with their states"""
    return present_programmes([load_programme(programme_id)])[0]


@programmes_blp.route(f"/audit-programmes/<{ID}:programme_id>/generate", methods=["POST"])
@require_roles(PLANNER_ROLES, "Requires the role manager or quality officer to generate audits")
@programmes_blp.response(200, AuditSchema(many=True))
def generate_programme_audits(programme_id: int) -> Any:
    """Create the programme's recurring audits that do not exist yet; answers the ones created

    Each entry's audits are spread evenly over the year. Running it again
    creates none (an empty list). Managers and quality officers may.
    """
    created = generate_audits(load_programme(programme_id), api_user())
    return present_audits(list(created))

"""/api/v1 competence: the catalogue and its requirements, job roles, each person's competence (profile,
records, what they need and hold), the matrix (JSON, PDF, XLSX), a person's training record (PDF) and
the assignment preconditions with a check of one person against one.

Everyone with a token reads the catalogue; the matrix and other people's records are for
administrators, managers, quality officers and internal auditors (each person reads their own);
quality officers, managers and administrators change them; only administrators set preconditions.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for
from marshmallow import RAISE
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from workflows.errors import InvalidData, NotPermitted

from ..database import db
from ..downloads import content_disposition
from ..models import ASSIGNMENTS, Competence, CompetenceRequirement, JobRole, PersonProfile, User
from ..services.competence import (
    MANAGE_ROLES,
    VIEW_ROLES,
    Cell,
    Person,
    add_requirement,
    assignment_problem,
    can_view_person,
    create_competence,
    create_job_role,
    matrix,
    missing_competences,
    paged_matrix,
    precondition_on,
    preconditions,
    record_competence,
    remove_requirement,
    requirement_target_label,
    set_precondition,
    set_profile,
    target_names,
    training_record,
    update_competence,
)
from ..services.paging import BadCursor
from .auth import api_user, require_roles
from .blueprint import ID, ApiBlueprint
from .schemas.competence import (
    CheckQuerySchema,
    CheckSchema,
    CompetenceCreateSchema,
    CompetencePageSchema,
    CompetenceQuerySchema,
    CompetenceSchema,
    CompetenceUpdateSchema,
    JobRoleCreateSchema,
    JobRoleSchema,
    MatrixFileQuerySchema,
    MatrixQuerySchema,
    MatrixSchema,
    PersonCompetenceSchema,
    PreconditionSchema,
    PreconditionSetSchema,
    ProfileSchema,
    ProfileUpdateSchema,
    RecordCreateSchema,
    RecordSchema,
    RequirementCreateSchema,
    RequirementSchema,
)
from .workflow import Presented, get_or_404, page_args, page_envelope, paginate

blp = ApiBlueprint(
    "api_competence",
    __name__,
    tag="Competence",
    description=(
        "Competence (ISO 9001 7.2, 7.3): the catalogue with the evidence each level needs and its validity; "
        "requirements by job role, process, document, virtual platform, audit role and signed event; each "
        "person's records and qualifications; the matrix with gaps and expiries; training records; and the "
        "preconditions that make an assignment depend on competence."
    ),
)
MANAGE_MESSAGE = "Requires the role admin, manager or quality officer to change competence records"
PDF = {"schema": {"type": "string", "format": "binary"}}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _require_viewer() -> None:
    if not api_user().has_role(*VIEW_ROLES):
        raise NotPermitted("Requires the role admin, manager, quality officer or internal auditor to see the matrix")


def _present_requirements(requirements: list[CompetenceRequirement]) -> list[Presented]:
    names = target_names(requirements, api_user())
    return [Presented(r, target_label=requirement_target_label(r, names)) for r in requirements]


def _present_competence(competence: Competence) -> Presented:
    return Presented(competence, requirements=_present_requirements(list(competence.requirements)))


def _load_competence(competence_id: int) -> Competence:
    return get_or_404(Competence, competence_id, options=(selectinload(Competence.requirements),), label="competence")


def _profile(person: Person | PersonProfile | None) -> dict[str, Any] | None:
    p = person.profile if isinstance(person, Person) else person
    if p is None:
        return None

    def ref(row: Any) -> dict[str, Any] | None:
        return {"id": row.id, "name": row.name} if row is not None else None

    return {"job_role": ref(p.job_role), "site": ref(p.site), "process": ref(p.process), "platforms": p.platforms}


def _cells(cells: dict[int, Cell]) -> list[dict[str, Any]]:
    return [
        {
            "competence_id": cid,
            "required": c.required,
            "held": c.held,
            "expires_on": c.expires_on,
            "status": c.status,
            "reasons": c.reasons,
        }
        for cid, c in cells.items()
    ]


# --------------------------------------------------------------------------- the catalogue


@blp.route("/competences", methods=["GET"])
@blp.arguments(CompetenceQuerySchema, location="query", unknown=RAISE)
@blp.response(200, CompetencePageSchema)
def list_competences(args: dict[str, Any]) -> dict[str, Any]:
    """The competence catalogue, by name, with each competence's requirements"""
    stmt = select(Competence).order_by(Competence.name, Competence.id)
    if "active" in args:
        stmt = stmt.where(Competence.active.is_(args["active"]))
    items, page = paginate(stmt, args, options=(selectinload(Competence.requirements),))
    requirements = [r for c in items for r in c.requirements]
    names = target_names(requirements, api_user())
    return {
        **page,
        "items": [
            Presented(
                c, requirements=[Presented(r, target_label=requirement_target_label(r, names)) for r in c.requirements]
            )
            for c in items
        ],
    }


@blp.route("/competences", methods=["POST"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.arguments(CompetenceCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, CompetenceSchema)
def create(body: dict[str, Any]) -> Any:
    """Add a competence to the catalogue (name, description, evidence per level, validity in months)"""
    competence = create_competence(api_user(), **body)
    location = url_for("api_competence.get_competence", competence_id=competence.id)
    return _present_competence(_load_competence(competence.id)), 201, {"Location": location}


@blp.route(f"/competences/<{ID}:competence_id>", methods=["GET"])
@blp.response(200, CompetenceSchema)
def get_competence(competence_id: int) -> Any:
    """One competence with its requirements"""
    return _present_competence(_load_competence(competence_id))


@blp.route(f"/competences/<{ID}:competence_id>", methods=["PATCH"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.arguments(CompetenceUpdateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, CompetenceSchema)
def patch_competence(body: dict[str, Any], competence_id: int) -> Any:
    """Change a competence (only the fields sent)"""
    competence = _load_competence(competence_id)
    update_competence(competence, api_user(), **body)
    return _present_competence(competence)


@blp.route(f"/competences/<{ID}:competence_id>/requirements", methods=["POST"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.arguments(RequirementCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, RequirementSchema)
def create_requirement(body: dict[str, Any], competence_id: int) -> Any:
    """Require the competence, at a level, of a job role, process, document, virtual platform, audit role or
    signed event

    `target_id` names the job role, process or document; `target_key` the platform (any name: the
    organisation adds its own), the audit role (`lead_auditor`, `auditor`) or the signed event
    (`corrective_action.verify`, `document.approve`…). For a document, reading its revision in force counts
    as awareness; above that, a new revision raises training needs.
    """
    competence = _load_competence(competence_id)
    requirement = add_requirement(competence, api_user(), **body)
    return _present_requirements([requirement])[0], 201


@blp.route(f"/competence-requirements/<{ID}:requirement_id>", methods=["DELETE"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.response(204)
def delete_requirement(requirement_id: int) -> Response:
    """Remove a requirement"""
    requirement = get_or_404(CompetenceRequirement, requirement_id, label="competence requirement")
    remove_requirement(requirement, api_user())
    return Response(status=204)


@blp.route("/job-roles", methods=["GET"])
@blp.response(200, JobRoleSchema(many=True))
def list_job_roles() -> Any:
    """The job roles, by name"""
    return list(db.session.scalars(select(JobRole).order_by(JobRole.name)))


@blp.route("/job-roles", methods=["POST"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.arguments(JobRoleCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, JobRoleSchema)
def create_role(body: dict[str, Any]) -> Any:
    """Add a job role"""
    return create_job_role(api_user(), **body), 201


# --------------------------------------------------------------------------- people and the matrix


@blp.route("/competence-matrix", methods=["GET"])
@blp.arguments(MatrixQuerySchema, location="query", unknown=RAISE)
@blp.response(200, MatrixSchema)
def get_matrix(args: dict[str, Any]) -> dict[str, Any]:
    """People × competences: what each needs and holds, gaps and expiries (filter by site, process, job role)

    Administrators, managers, quality officers and internal auditors may. People come by name, a page
    at a time: `next`/`prev` are the cursors of the following and preceding pages (pass them as
    `after`/`before`; the `Link` header carries their URLs), as in the other lists. `required`, `met`
    and `coverage` count every person matching the filters, not only this page.
    """
    _require_viewer()
    after, before, offset = page_args(args)
    try:
        found = paged_matrix(
            site_id=args.get("site_id"),
            process_id=args.get("process_id"),
            job_role_id=args.get("job_role_id"),
            gaps_only=args["gaps_only"],
            per_page=args["per_page"],
            after=after,
            before=before,
            offset=offset,
        )
    except BadCursor as exc:
        raise InvalidData({"before" if before else "after": str(exc)}) from None
    return {
        "today": found.today,
        "required": found.required_cells,
        "met": found.met_cells,
        "coverage": found.coverage,
        "competences": [{"id": c.id, "name": c.name} for c in found.competences],
        "people": [
            {
                "user": {"id": p.user.id, "name": p.user.name},
                "profile": _profile(p),
                "gaps": p.gaps,
                "cells": _cells(p.cells),
            }
            for p in found.people
        ],
        **page_envelope(found.page, args),
    }


def _matrix_for(args: dict[str, Any]) -> Any:
    return matrix(
        site_id=args.get("site_id"),
        process_id=args.get("process_id"),
        job_role_id=args.get("job_role_id"),
        gaps_only=args["gaps_only"],
    )


@blp.route("/competence-matrix.pdf", methods=["GET"])
@blp.arguments(MatrixFileQuerySchema, location="query", unknown=RAISE)
@blp.doc(responses={"200": {"description": "The competence matrix", "content": {"application/pdf": PDF}}})
def matrix_pdf(args: dict[str, Any]) -> Response:
    """The competence matrix as a PDF (the same filters)"""
    _require_viewer()
    from ..reports.competence import matrix_pdf as build

    data = build(_matrix_for(args), organisation=current_app.config["QMS_ORGANISATION"])
    return Response(
        data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": content_disposition("competence-matrix.pdf", inline=True),
            "Cache-Control": "no-store",
        },
    )


@blp.route("/competence-matrix.xlsx", methods=["GET"])
@blp.arguments(MatrixFileQuerySchema, location="query", unknown=RAISE)
@blp.doc(responses={"200": {"description": "The competence matrix", "content": {XLSX_TYPE: PDF}}})
def matrix_xlsx(args: dict[str, Any]) -> Response:
    """The competence matrix as an XLSX workbook (the same filters)"""
    _require_viewer()
    from ..reports.competence import matrix_xlsx as build

    return Response(
        build(_matrix_for(args)),
        mimetype=XLSX_TYPE,
        headers={"Content-Disposition": content_disposition("competence-matrix.xlsx"), "Cache-Control": "no-store"},
    )


def _person_or_404(user_id: int) -> User:
    user = get_or_404(User, user_id, label="user")
    if not can_view_person(api_user(), user.id):
        raise NotPermitted("You may see your own competence record only")
    return user


def _person_body(user: User) -> dict[str, Any]:
    record = training_record(user)
    return {
        "user": {"id": user.id, "name": user.name},
        "profile": _profile(record.status),
        "cells": _cells({cid: c for cid, c in record.status.cells.items() if c.status != "none"}),
        "records": [Presented(r, competence_name=r.competence.name if r.competence else None) for r in record.records],
        "needs": record.needs,
        "training": [
            {
                "session_id": a.session.id,
                "reference": a.session.reference,
                "title": a.session.title,
                "state": a.session.state,
                "attended": a.attended,
                "effective": a.effective,
                "score": a.score,
            }
            for a in record.attendance
        ],
    }


@blp.route(f"/people/<{ID}:user_id>/competence", methods=["GET"])
@blp.response(200, PersonCompetenceSchema)
def person_competence(user_id: int) -> Any:
    """A person's competence: profile, what they need and hold, records, needs and training

    Your own always; anyone's for administrators, managers, quality officers and internal auditors.
    """
    return _person_body(_person_or_404(user_id))


@blp.route(f"/people/<{ID}:user_id>/profile", methods=["PUT"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.arguments(ProfileUpdateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, ProfileSchema)
def put_profile(body: dict[str, Any], user_id: int) -> Any:
    """Set where a person works: job role, site, process, virtual platforms (the fields sent; null clears)"""
    user = get_or_404(User, user_id, label="user")
    return _profile(set_profile(user, api_user(), **body))


@blp.route(f"/people/<{ID}:user_id>/competence-records", methods=["POST"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.arguments(RecordCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, RecordSchema)
def create_record(body: dict[str, Any], user_id: int) -> Any:
    """Record a competence, external training or qualification a person holds (with evidence and expiry)

    Training records come from evaluated sessions. The expiry defaults to the competence's validity.
    Meets the person's open needs of that competence at or below the level.
    """
    user = get_or_404(User, user_id, label="user")
    record = record_competence(user, api_user(), **body)
    return Presented(record, competence_name=record.competence.name if record.competence else None), 201


@blp.route(f"/people/<{ID}:user_id>/training-record.pdf", methods=["GET"])
@blp.doc(responses={"200": {"description": "The person's training record", "content": {"application/pdf": PDF}}})
def person_training_record(user_id: int) -> Response:
    """A person's training record (PDF) for an auditor: requirements and status, records, training, needs"""
    user = _person_or_404(user_id)
    from ..reports.competence import training_record_pdf

    data = training_record_pdf(training_record(user), organisation=current_app.config["QMS_ORGANISATION"])
    return Response(
        data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": content_disposition(f"training-record-{user.id}.pdf", inline=True),
            "Cache-Control": "no-store",
        },
    )


# --------------------------------------------------------------------------- preconditions


def _present_preconditions() -> list[Presented]:
    return [Presented(p, assignment_label=ASSIGNMENTS[p.assignment]) for p in preconditions()]


@blp.route("/competence-preconditions", methods=["GET"])
@blp.response(200, PreconditionSchema(many=True))
def list_preconditions() -> Any:
    """The assignments that need competence (none until an administrator turns one on)"""
    return _present_preconditions()


@blp.route("/competence-preconditions", methods=["POST"])
@require_roles({"admin"}, "Requires the role admin to set competence preconditions")
@blp.arguments(PreconditionSetSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, PreconditionSchema(many=True))
def post_precondition(body: dict[str, Any]) -> Any:
    """Turn a precondition on (or off with `enabled: false`); answers every precondition

    `audit_lead` and `audit_team` draw on the audit-role requirements, `complaint_owner` on the platform's,
    `action_verifier` and `document_approver` on those of the signed events `corrective_action.verify` and
    `document.approve`.
    """
    set_precondition(api_user(), **body)
    return _present_preconditions()


@blp.route("/competence-preconditions/check", methods=["GET"])
@blp.arguments(CheckQuerySchema, location="query", unknown=RAISE)
@blp.response(200, CheckSchema)
def check(args: dict[str, Any]) -> dict[str, Any]:
    """Whether a person may take an assignment, and what competence they lack"""
    user = get_or_404(User, args["user_id"], label="user")
    if not api_user().has_role(*VIEW_ROLES) and api_user().id != user.id:
        raise NotPermitted("You may check yourself only")
    key = args["target_key"]
    problem = assignment_problem(user, args["assignment"], key)
    return {
        "assignment": args["assignment"],
        "user_id": user.id,
        "target_key": key,
        "precondition_on": precondition_on(args["assignment"], key),
        "missing": missing_competences(user, args["assignment"], key),
        "allowed": problem is None,
        "reason": problem,
    }

"""/api/v1/risks: the risk register (ISO 9001 6.1).

A risk is a workflow resource (``risk`` lifecycle: identified → assessed → treatment planned →
monitored → closed, or accepted with a signature, or withdrawn); its treatment actions are
``/risk-treatment-actions`` (verified like corrective actions). ``/risks/heat-map`` counts the open
rated risks per likelihood × impact cell with a link to each cell's risks;
``/nonconformities/{id}/realised-risks`` cites the risk an NC (or its audit finding) realised.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, url_for
from marshmallow import RAISE
from sqlalchemy import and_, not_, select
from sqlalchemy.orm import selectinload

from workflows.errors import InvalidData

from ..models import ChecklistItem, Nonconformity, Risk, RiskRealisation, RiskTreatmentAction
from ..services.risks import (
    RISK_ROLES,
    RiskFilters,
    add_treatment_action,
    cite_realised_risk,
    find_source,
    heat_map,
    raise_risk,
    realised_risks_of,
    risk_register,
    update_risk,
)
from .auth import api_user, require_roles
from .blueprint import ID, ApiBlueprint
from .schemas.risks import (
    HeatMapQuerySchema,
    HeatMapSchema,
    RealisationCreateSchema,
    RealisationFindingCreateSchema,
    RealisationSchema,
    RiskCreateSchema,
    RiskExportQuerySchema,
    RiskPageSchema,
    RiskQuerySchema,
    RiskSchema,
    RiskUpdateSchema,
    SurveyTrendSchema,
    TreatmentActionCreateSchema,
    TreatmentActionPageSchema,
    TreatmentActionQuerySchema,
    TreatmentActionSchema,
)
from .workflow import ETAG_HEADER, add_workflow_routes, etag, get_or_404, ordering, paginate, present, state_order

blp = ApiBlueprint(
    "api_risks",
    __name__,
    tag="Risks",
    description=(
        "The risk register (ISO 9001 6.1): raise, rate (likelihood × impact, inherent and residual), treat "
        "(avoid, reduce, transfer, accept), monitor and review risks; the heat map; NCs citing the risk they realised."
    ),
)
actions_blp = ApiBlueprint(
    "api_risk_treatment_actions",
    __name__,
    tag="Risk treatment actions",
    description="Actions of a risk's treatment, from plan to independent verification (e-signature).",
)

LOAD = (
    selectinload(Risk.owner),
    selectinload(Risk.raised_by),
    selectinload(Risk.process),
    selectinload(Risk.source_nonconformity),
    selectinload(Risk.source_complaint),
    selectinload(Risk.source_survey),
    selectinload(Risk.source_issue),
    selectinload(Risk.realisations).selectinload(RiskRealisation.nonconformity),
    selectinload(Risk.realisations).selectinload(RiskRealisation.cited_by),
    selectinload(Risk.realisations).selectinload(RiskRealisation.checklist_item),
)
RTA = RiskTreatmentAction
ACTION_LOAD = (
    selectinload(RTA.risk),
    selectinload(RTA.owner),
    selectinload(RTA.implemented_by),
    selectinload(RTA.verified_by),
)
SOURCE_LINKS = {
    "nonconformity": ("source_nonconformity", "api_nonconformities.get_nonconformity", "nc_id"),
    "complaint": ("source_complaint", "api_complaints.get_complaint", "complaint_id"),
    "survey": ("source_survey", "api_surveys.get_survey", "survey_id"),
    "context_issue": ("source_issue", "api_context.get_issue", "issue_id"),
}


def load(risk_id: int) -> Risk:
    return get_or_404(Risk, risk_id, options=LOAD, label="risk")


def extras(risk: Risk) -> dict[str, Any]:
    base = "api_risks."
    source = SOURCE_LINKS.get(risk.source)
    record = getattr(risk, source[0]) if source else None
    return {
        "review_overdue": risk.review_overdue(dt.date.today()),
        "source_id": record.id if record is not None else None,
        "source_reference": record.reference if record is not None else None,
        "source_detail": risk.source_detail,
        "links": {
            "self": url_for(base + "get_risk", risk_id=risk.id),
            "history": url_for(base + "risk_history", risk_id=risk.id),
            "events": url_for(base + "risk_events", risk_id=risk.id),
            "treatment_actions": url_for(base + "list_risk_actions", risk_id=risk.id),
            "source": url_for(source[1], **{source[2]: record.id}) if record is not None else None,
        },
    }


@blp.route("/risks", methods=["GET"])
@blp.arguments(RiskQuerySchema, location="query", unknown=RAISE)
@blp.response(200, RiskPageSchema)
def list_risks(args: dict[str, Any]) -> dict[str, Any]:
    """The risk register: filtered (state, rating level, process, owner, treatment, clause, heat map cell,
    review due), sorted (by default the highest current score first), one page at a time"""
    filters = RiskFilters.from_args({k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in args.items()})
    stmt = risk_register(filters)
    items, page = paginate(stmt, args, options=LOAD)
    return {**page, "items": present(items, extras)}


@blp.route("/risks", methods=["POST"])
@require_roles(RISK_ROLES, "Requires the role manager, process owner or quality officer to raise risks")
@blp.arguments(RiskCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, RiskSchema, headers=ETAG_HEADER)
def create(body: dict[str, Any]) -> Any:
    """Raise a risk (it starts as identified; rate it with the `assess` event)

    With `source` and `source_id` it is raised from a nonconformity, a complaint, a survey (trend) or
    a context issue and stays linked to it; with a survey, `trend` names one of the trends it shows now
    (`GET /surveys/{survey_id}/trends`), kept in words as `source_detail`. The owner defaults to you.
    """
    kind, source_id = body.pop("source", None), body.pop("source_id", None)
    trend = body.pop("trend", None)
    if (kind is None) != (source_id is None):
        raise InvalidData({"source_id" if kind else "source": "give both source and source_id, or neither"})
    risk = raise_risk(api_user(), source=find_source(kind, source_id, trend), **body)
    risk = load(risk.id)
    return present([risk], extras)[0], 201, {"Location": url_for("api_risks.get_risk", risk_id=risk.id), **etag(risk)}


@blp.route(f"/risks/<{ID}:risk_id>", methods=["PATCH"])
@blp.arguments(RiskUpdateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, RiskSchema, headers=ETAG_HEADER)
def edit(body: dict[str, Any], risk_id: int) -> Any:
    """Change a risk's title, cause, effect, details, process, clauses or owner

    Its owner, a quality officer or a manager may, until it is closed. Ratings change through events.
    """
    risk = update_risk(load(risk_id), api_user(), body)
    return present([risk], extras)[0], 200, etag(risk)


@blp.route("/risks/heat-map", methods=["GET"])
@blp.arguments(HeatMapQuerySchema, location="query", unknown=RAISE)
@blp.response(200, HeatMapSchema)
def get_heat_map(args: dict[str, Any]) -> dict[str, Any]:
    """The heat map: open rated risks per likelihood × impact cell (current or inherent rating)"""
    hm = heat_map(args["rating"], process_id=args.get("process"))
    extra = {"rating": "inherent"} if hm.rating == "inherent" else {}
    if args.get("process"):
        extra["process"] = args["process"]
    cells = [
        {
            "likelihood": likelihood,
            "impact": impact,
            "count": hm.count(likelihood, impact),
            "level": hm.level(likelihood, impact),
            "risks": url_for("api_risks.list_risks", likelihood=likelihood, impact=impact, **extra),
        }
        for likelihood in range(hm.scale, 0, -1)
        for impact in range(1, hm.scale + 1)
    ]
    return {"scale": hm.scale, "rating": hm.rating, "total": hm.total, "cells": cells}


add_workflow_routes(
    blp, model=Risk, collection="risks", key="risk_id", name="risk", schema=RiskSchema, load=load, extras=extras
)


@blp.route(f"/nonconformities/<{ID}:nc_id>/realised-risks", methods=["GET"])
@blp.response(200, RealisationSchema(many=True))
def list_realisations(nc_id: int) -> Any:
    """The risks a nonconformity (or the audit finding behind it) realised"""
    return realised_risks_of(get_or_404(Nonconformity, nc_id))


@blp.route(f"/nonconformities/<{ID}:nc_id>/realised-risks", methods=["POST"])
@blp.arguments(RealisationCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, RealisationSchema)
def cite(body: dict[str, Any], nc_id: int) -> Any:
    """Cite the risk a nonconformity realised: the risk is flagged for re-rating

    Managers, quality officers, process owners and internal auditors may.
    """
    return cite_realised_risk(get_or_404(Nonconformity, nc_id), api_user(), **body)


@blp.route(f"/checklist-items/<{ID}:item_id>/realised-risks", methods=["GET"])
@blp.response(200, RealisationSchema(many=True))
def list_finding_realisations(item_id: int) -> Any:
    """The risks an audit finding that raised no NC (an observation, say) realised"""
    from ..services.risks import realised_risks_of_finding

    return realised_risks_of_finding(get_or_404(ChecklistItem, item_id, label="checklist item"))


@blp.route(f"/checklist-items/<{ID}:item_id>/realised-risks", methods=["POST"])
@blp.arguments(RealisationFindingCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, RealisationSchema)
def cite_from_finding(body: dict[str, Any], item_id: int) -> Any:
    """Cite the risk an audit finding without an NC realised: the risk is flagged for re-rating

    The answer must be a finding (a nonconformity, an observation or an opportunity for improvement)
    that raised no NC (or whose NC was withdrawn); a finding with an NC cites through
    `/nonconformities/{nc_id}/realised-risks`. Managers, quality officers, process owners and internal
    auditors may.
    """
    from ..services.risks import cite_risk_from_finding

    return cite_risk_from_finding(get_or_404(ChecklistItem, item_id, label="checklist item"), api_user(), **body)


@blp.route(f"/surveys/<{ID}:survey_id>/trends", methods=["GET"])
@blp.response(200, SurveyTrendSchema(many=True))
def survey_trends(survey_id: int) -> Any:
    """The trends a survey shows now, to raise a risk (or an opportunity) from

    NPS or CSI falling over three consecutive months, or a rating question averaging below the
    survey's CSI threshold (default 60 of 100) in the latest month; months with fewer than five
    responses are left out.
    """
    from ..models import Survey
    from ..services.surveys.trends import detect_trends

    survey = get_or_404(Survey, survey_id, label="survey")
    return [
        {
            "key": t.key,
            "kind": t.kind,
            "title": t.title,
            "words": t.words,
            "latest": t.latest,
            "raise_risk": url_for("api_risks.create"),
        }
        for t in detect_trends(survey)
    ]


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filters(args: dict[str, Any]) -> RiskFilters:
    return RiskFilters.from_args({k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in args.items()})


@blp.route("/risks/export.csv", methods=["GET"])
@blp.arguments(RiskExportQuerySchema, location="query", unknown=RAISE)
@blp.doc(
    responses={
        "200": {
            "description": "Every risk matching the filters; text that could be a formula stays text",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
)
def export_csv(args: dict[str, Any]) -> Response:
    """The risk register as CSV, with the list's filters and sort (not paged)"""
    from ..downloads import send_download
    from ..services.risks import register_csv

    data = register_csv(_filters(args)).encode("utf-8")
    return send_download(data, f"risk-register-{dt.date.today()}.csv", "text/csv")


@blp.route("/risks/export.xlsx", methods=["GET"])
@blp.arguments(RiskExportQuerySchema, location="query", unknown=RAISE)
@blp.doc(
    responses={
        "200": {
            "description": "Every risk matching the filters; text that could be a formula stays text",
            "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
        }
    }
)
def export_xlsx(args: dict[str, Any]) -> Response:
    """The risk register as a spreadsheet, with the list's filters and sort (not paged)"""
    from ..downloads import send_download
    from ..services.risks import register_xlsx

    return send_download(register_xlsx(_filters(args)), f"risk-register-{dt.date.today()}.xlsx", XLSX)


# --- treatment actions ------------------------------------------------------------------


def load_action(action_id: int) -> RiskTreatmentAction:
    return get_or_404(RTA, action_id, options=ACTION_LOAD, label="risk treatment action")


def action_extras(action: RiskTreatmentAction) -> dict[str, Any]:
    base = "api_risk_treatment_actions."
    return {
        "overdue": action.is_overdue(dt.date.today()),
        "links": {
            "self": url_for(base + "get_risk_treatment_action", action_id=action.id),
            "history": url_for(base + "risk_treatment_action_history", action_id=action.id),
            "events": url_for(base + "risk_treatment_action_events", action_id=action.id),
            "risk": url_for("api_risks.get_risk", risk_id=action.risk_id),
        },
    }


def _actions_page(args: dict[str, Any], risk_id: int | None = None) -> dict[str, Any]:
    stmt = select(RTA)
    if risk_id is not None:
        stmt = stmt.where(RTA.risk_id == risk_id)
    if "state" in args:
        stmt = stmt.where(RTA.state == args["state"])
    if "owner" in args:
        stmt = stmt.where(RTA.owner_id == args["owner"])
    if "overdue" in args:
        overdue = and_(RTA.state.in_(RTA.OPEN_STATES), RTA.due_date < dt.date.today())
        stmt = stmt.where(overdue if args["overdue"] else not_(overdue))
    columns = {"reference": RTA.id, "due_date": RTA.due_date, "state": state_order(RTA)}
    stmt = stmt.order_by(*ordering(args["sort"], columns, RTA.id))
    items, page = paginate(stmt, args, options=ACTION_LOAD)
    return {**page, "items": present(items, action_extras)}


@blp.route(f"/risks/<{ID}:risk_id>/treatment-actions", methods=["GET"])
@blp.arguments(TreatmentActionQuerySchema, location="query", unknown=RAISE)
@blp.response(200, TreatmentActionPageSchema)
def list_risk_actions(args: dict[str, Any], risk_id: int) -> dict[str, Any]:
    """The treatment actions of one risk"""
    return _actions_page(args, load(risk_id).id)


@blp.route(f"/risks/<{ID}:risk_id>/treatment-actions", methods=["POST"])
@blp.arguments(TreatmentActionCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, TreatmentActionSchema)
def create_action(body: dict[str, Any], risk_id: int) -> Any:
    """Plan a treatment action (while the risk's treatment is planned; 409 otherwise)"""
    action = add_treatment_action(load(risk_id), api_user(), **body)
    action = load_action(action.id)
    location = url_for("api_risk_treatment_actions.get_risk_treatment_action", action_id=action.id)
    return present([action], action_extras)[0], 201, {"Location": location}


@actions_blp.route("/risk-treatment-actions", methods=["GET"])
@actions_blp.arguments(TreatmentActionQuerySchema, location="query", unknown=RAISE)
@actions_blp.response(200, TreatmentActionPageSchema)
def list_actions(args: dict[str, Any]) -> dict[str, Any]:
    """Every risk treatment action: filtered (state, owner, overdue), sorted, one page at a time"""
    return _actions_page(args)


add_workflow_routes(
    actions_blp,
    model=RTA,
    collection="risk-treatment-actions",
    key="action_id",
    name="risk_treatment_action",
    schema=TreatmentActionSchema,
    load=load_action,
    extras=action_extras,
)

"""/api/v1/reviews and /api/v1/review-actions: reviews of the QMS and the actions they decide.

One collection with three kinds, each a workflow resource under
``/reviews/{kind}/{id}``:

- ``iso-change`` (``iso_change_review``): a new edition or amendment; one item per clause change
  found by the edition differ, each assessed (gap or no gap) before the gap analysis completes;
- ``org-change`` (``org_change_review``, ISO 9001 6.3): the impacts of a change to the
  organisation (suggested from the records), then its actions;
- ``management`` (``management_review``, ISO 9001 9.3): the 9.3.2 inputs compiled from the
  records (notes for the rest), the meeting, signed minutes (PDF) and the outputs as actions.

Actions are added to a review and completed or cancelled under ``/review-actions/{id}``.
Who may do what is the services' rule (NotPermitted → 403); early role checks only answer sooner.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, url_for
from marshmallow import RAISE
from sqlalchemy import String, func, literal_column, select, union_all
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from ..database import db, id_in
from ..downloads import content_disposition
from ..models import (
    GAP_STATUSES,
    MANAGEMENT_REVIEW_INPUTS,
    ChangeImpact,
    IsoChangeItem,
    IsoChangeReview,
    ManagementReview,
    OrgChangeReview,
    ReviewAction,
)
from ..services.reviews import (
    ACTION_OWNER_ROLES,
    CHANGE_ROLES,
    REVIEW_ROLES,
    actions_of,
    add_action,
    add_impact,
    assess_change,
    cancel_action,
    compile_inputs,
    complete_action,
    inputs_summary,
    link_verification,
    missing_inputs,
    open_iso_change_review,
    open_org_change_review,
    plan_management_review,
    plan_transition_audit,
    remove_impact,
    set_input_notes,
    suggest_impacts,
)
from ..services.reviews.iso_change import visible_references
from .auth import api_user, require_roles
from .blueprint import ID, ApiBlueprint
from .schemas.reviews import (
    REVIEW_SLUGS,
    ActionCancelSchema,
    ActionCompleteSchema,
    ActionCreateSchema,
    AssessSchema,
    ImpactCreateSchema,
    ImpactSchema,
    InputNotesSchema,
    IsoChangeCreateSchema,
    IsoChangeItemSchema,
    IsoChangeReviewSchema,
    ManagementCreateSchema,
    ManagementReviewSchema,
    NoQuerySchema,
    OrgChangeCreateSchema,
    OrgChangeReviewSchema,
    ReviewActionSchema,
    ReviewPageSchema,
    ReviewQuerySchema,
    SuggestedImpactSchema,
    TransitionAuditSchema,
    VerificationSchema,
)
from .workflow import ETAG_HEADER, Presented, add_workflow_routes, etag, get_or_404, present

blp = ApiBlueprint(
    "api_reviews",
    __name__,
    tag="Reviews",
    description=(
        "Reviews of the QMS, one collection with three kinds: iso-change (a new edition, clause by clause), "
        "org-change (ISO 9001 6.3: impacts of a change) and management (ISO 9001 9.3: inputs compiled from "
        "the records, minutes, outputs); the actions they decide are tracked to done."
    ),
)

REVIEW_MESSAGE = "Requires the role manager or quality officer to run reviews"
CHANGE_MESSAGE = "Requires the role manager, quality officer or process owner to assess organisational changes"
PDF_RESPONSE = {
    "description": "The minutes of the management review (watermarked as a draft until approved)",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    "headers": {
        "Content-Disposition": {
            "description": "attachment; filename=<reference>-minutes.pdf",
            "schema": {"type": "string"},
        }
    },
}
INPUT_KEY = "string(maxlength=60)"


@dataclass(frozen=True)
class Kind:
    """One kind of review as the API shows it."""

    name: str  # the services' and database's name: iso_change
    slug: str  # in URLs and in ``kind``: iso-change
    model: type[Any]
    endpoint: str  # add_workflow_routes' name: iso_change_review
    owner: str  # the attribute of the person responsible
    options: tuple[Any, ...]


KINDS = {
    "iso_change": Kind(
        "iso_change",
        "iso-change",
        IsoChangeReview,
        "iso_change_review",
        "owner",
        (selectinload(IsoChangeReview.owner), selectinload(IsoChangeReview.items)),
    ),
    "org_change": Kind(
        "org_change",
        "org-change",
        OrgChangeReview,
        "org_change_review",
        "owner",
        (
            selectinload(OrgChangeReview.owner),
            selectinload(OrgChangeReview.site),
            selectinload(OrgChangeReview.process),
            selectinload(OrgChangeReview.impacts),
        ),
    ),
    "management": Kind(
        "management",
        "management",
        ManagementReview,
        "management_review",
        "chair",
        (selectinload(ManagementReview.chair),),
    ),
}
BY_SLUG = {kind.slug: kind for kind in KINDS.values()}
assert {k: v.slug for k, v in KINDS.items()} == REVIEW_SLUGS


def _ref(obj: Any) -> dict[str, Any] | None:
    return {"id": obj.id, "name": obj.name} if obj is not None else None


# --- loading and presenting ---------------------------------------------------------------------


def loader(kind: Kind) -> Callable[[int], Any]:
    label = {"iso_change": "ISO-change review", "org_change": "organisational-change review"}.get(
        kind.name, "management review"
    )

    def load(review_id: int) -> Any:
        return get_or_404(kind.model, review_id, options=kind.options, label=label)

    return load


load_iso = loader(KINDS["iso_change"])
load_org = loader(KINDS["org_change"])
load_management = loader(KINDS["management"])


def _links(kind: Kind, review_id: int) -> dict[str, str]:
    base = "api_reviews."
    return {
        "self": url_for(base + f"get_{kind.endpoint}", review_id=review_id),
        "history": url_for(base + f"{kind.endpoint}_history", review_id=review_id),
        "events": url_for(base + f"{kind.endpoint}_events", review_id=review_id),
        "actions": url_for(base + f"add_{kind.endpoint}_action", review_id=review_id),
    }


def brief(kind: Kind) -> Callable[[Any], dict[str, Any]]:
    def extras(review: Any) -> dict[str, Any]:
        return {"kind": kind.slug, "owner": _ref(getattr(review, kind.owner)), "links": _links(kind, review.id)}

    return extras


def present_action(action: ReviewAction, today: dt.date | None = None) -> Presented:
    kind = KINDS[action.review_kind]
    return Presented(
        action,
        review_kind=kind.slug,
        owner=_ref(action.owner),
        overdue=action.is_overdue(today or dt.date.today()),
        links={
            "complete": url_for("api_reviews.complete", review_action_id=action.id),
            "cancel": url_for("api_reviews.cancel", review_action_id=action.id),
            "review": url_for(f"api_reviews.get_{kind.endpoint}", review_id=action.review_id),
        },
    )


def present_item(item: IsoChangeItem, references: dict[str, Any] | None = None) -> Presented:
    """The item with its references as the caller may read them (``visible_references``, given when
    worked out for all of a review's items at once)."""
    if references is None:
        references = visible_references([item], api_user())[item.id]
    return Presented(
        item,
        references={
            "documents": list(references.get("documents") or []),
            "processes": list(references.get("processes") or []),
            "questions": int(references.get("questions") or 0),
            "question_ids": list(references.get("question_ids") or []),
            "cited_by": list(references.get("cited_by") or []),
        },
        links={"self": url_for("api_reviews.assess", review_id=item.review_id, change_id=item.id)},
    )


def present_impact(impact: ChangeImpact) -> Presented:
    return Presented(
        impact, links={"self": url_for("api_reviews.delete_impact", review_id=impact.review_id, impact_id=impact.id)}
    )


def iso_extras(review: IsoChangeReview) -> dict[str, Any]:
    kind = KINDS["iso_change"]
    counts = Counter(item.status for item in review.items)
    references = visible_references(review.items, api_user())
    links = _links(kind, review.id) | {"verification": url_for("api_reviews.verification", review_id=review.id)}
    return {
        **brief(kind)(review),
        "status_counts": {status: counts.get(status, 0) for status in GAP_STATUSES},
        "items": [present_item(item, references[item.id]) for item in review.items],
        "actions": [present_action(a) for a in actions_of(review)],
        "links": links,
    }


def org_extras(review: OrgChangeReview) -> dict[str, Any]:
    kind = KINDS["org_change"]
    links = _links(kind, review.id) | {
        "impacts": url_for("api_reviews.add_impact_view", review_id=review.id),
        "suggested_impacts": url_for("api_reviews.suggested_impacts", review_id=review.id),
    }
    return {
        **brief(kind)(review),
        "site": _ref(review.site),
        "process": _ref(review.process),
        "impacts": [present_impact(impact) for impact in review.impacts],
        "actions": [present_action(a) for a in actions_of(review)],
        "links": links,
    }


def management_extras(review: ManagementReview) -> dict[str, Any]:
    kind = KINDS["management"]
    missing = missing_inputs(review)
    links = _links(kind, review.id) | {
        "compile": url_for("api_reviews.compile_review_inputs", review_id=review.id),
        "minutes": url_for("api_reviews.minutes", review_id=review.id),
    }
    return {
        **brief(kind)(review),
        "chair": _ref(review.chair),
        "inputs": [
            {
                "key": key,
                "label": label,
                "compiled": entry.get("compiled"),
                "compiled_at": entry.get("compiled_at"),
                "notes": str(entry.get("notes") or ""),
                "missing": key in missing,
                "links": {"self": url_for("api_reviews.set_notes", review_id=review.id, key=key)},
            }
            for key, label, entry in inputs_summary(review, api_user())
        ],
        "missing_inputs": missing,
        "attendees": list(review.attendees or []),
        "actions": [present_action(a) for a in actions_of(review)],
        "links": links,
    }


def _fresh(record: Any, load: Callable[[int], Any], extras: Callable[[Any], dict[str, Any]]) -> Any:
    """The record reloaded after a change (relations included) and presented, with its ETag."""
    db.session.expire_all()
    record = load(record.id)
    return present([record], extras)[0], 200, etag(record)


# --- the collection -----------------------------------------------------------------------------


@blp.route("/reviews", methods=["GET"])
@blp.arguments(ReviewQuerySchema, location="query", unknown=RAISE)
@blp.response(200, ReviewPageSchema)
def list_reviews(args: dict[str, Any]) -> dict[str, Any]:
    """Reviews of every kind: filtered by kind or state, sorted, one page at a time"""
    parts = []
    for kind in KINDS.values():
        if args.get("kind", kind.slug) != kind.slug:
            continue
        model = kind.model
        part = select(
            literal_column(f"'{kind.name}'", String(20)).label("kind"),
            model.id.label("id"),
            model.reference.label("reference"),
            model.title.label("title"),
            model.created_at.label("created_at"),
        )
        if "state" in args:
            part = part.where(model.state == args["state"])
        parts.append(part)
    rows = union_all(*parts).subquery()
    sort = args["sort"]
    column = rows.c[sort.lstrip("-")]
    keys = (column, rows.c.kind, rows.c.id)
    order = [key.desc() for key in keys] if sort.startswith("-") else [key.asc() for key in keys]
    page, per_page = args["page"], args["per_page"]
    total = db.session.scalar(select(func.count()).select_from(rows)) or 0
    found = db.session.execute(
        select(rows.c.kind, rows.c.id).order_by(*order).limit(per_page).offset((page - 1) * per_page)
    ).all()
    presented: dict[tuple[str, int], Presented] = {}
    for kind in KINDS.values():
        ids = [row_id for name, row_id in found if name == kind.name]
        if ids:
            records = list(
                db.session.scalars(select(kind.model).options(*kind.options).where(id_in(kind.model.id, ids)))
            )
            for item in present(records, brief(kind)):
                presented[(kind.name, item.id)] = item
    return {
        "items": [presented[(name, row_id)] for name, row_id in found],
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": -(-total // per_page) if total else 0,
        "next": None,
        "prev": None,
    }


def _created(review: Any, kind: Kind, load: Callable[[int], Any], extras: Callable[[Any], dict[str, Any]]) -> Any:
    review = load(review.id)
    location = url_for(f"api_reviews.get_{kind.endpoint}", review_id=review.id)
    return present([review], extras)[0], 201, {"Location": location, **etag(review)}


@blp.route("/reviews/iso-change", methods=["POST"])
@require_roles(REVIEW_ROLES, REVIEW_MESSAGE)
@blp.arguments(IsoChangeCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, IsoChangeReviewSchema, headers=ETAG_HEADER)
def create_iso_change(body: dict[str, Any]) -> Any:
    """Open the review of a new edition or amendment, one item per clause change

    Managers and quality officers may. The edition differ lists the clause
    changes from `old_standard` to `new_standard`; each item says which
    documents, processes and checklist questions referred to the old clause.
    422 names the standard that is unknown, the same as the other, without
    changes, or already under an open review.
    """
    review = open_iso_change_review(api_user(), **body)
    return _created(review, KINDS["iso_change"], load_iso, iso_extras)


@blp.route("/reviews/org-change", methods=["POST"])
@require_roles(CHANGE_ROLES, "Requires the role manager, quality officer or process owner to propose changes")
@blp.arguments(OrgChangeCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, OrgChangeReviewSchema, headers=ETAG_HEADER)
def create_org_change(body: dict[str, Any]) -> Any:
    """Propose a change to the organisation (a new site, process, product, restructuring, key people)"""
    review = open_org_change_review(api_user(), **body)
    return _created(review, KINDS["org_change"], load_org, org_extras)


@blp.route("/reviews/management", methods=["POST"])
@require_roles(REVIEW_ROLES, REVIEW_MESSAGE)
@blp.arguments(ManagementCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, ManagementReviewSchema, headers=ETAG_HEADER)
def create_management(body: dict[str, Any]) -> Any:
    """Plan a management review of a period, chaired by you or another manager or quality officer"""
    review = plan_management_review(api_user(), **body)
    return _created(review, KINDS["management"], load_management, management_extras)


for _kind, _load, _schema, _extras in (
    (KINDS["iso_change"], load_iso, IsoChangeReviewSchema, iso_extras),
    (KINDS["org_change"], load_org, OrgChangeReviewSchema, org_extras),
    (KINDS["management"], load_management, ManagementReviewSchema, management_extras),
):
    add_workflow_routes(
        blp,
        model=_kind.model,
        collection=f"reviews/{_kind.slug}",
        key="review_id",
        name=_kind.endpoint,
        schema=_schema,
        load=_load,
        extras=_extras,
    )


# --- actions ------------------------------------------------------------------------------------


def _action_route(kind: Kind, load: Callable[[int], Any]) -> None:
    def add(body: dict[str, Any], review_id: int) -> Any:
        action = add_action(load(review_id), api_user(), **body)
        return present_action(get_or_404(ReviewAction, action.id, label="review action")), 201

    add.__doc__ = (
        "Add an action the review decided, with its owner and due date\n\n"
        "Managers and quality officers may, while the review is under way (409 otherwise). The owner must "
        "be an active process owner, quality officer or manager. "
        + (
            "A management review's outputs carry a `category` (improvement, qms_change, resources)."
            if kind.name == "management"
            else "Only a management review's outputs carry a `category`."
        )
    )
    view = blp.response(201, ReviewActionSchema)(add)
    view = blp.alt_response(422, response="UNPROCESSABLE_ENTITY")(view)
    view = blp.arguments(ActionCreateSchema)(view)
    view = require_roles(REVIEW_ROLES, "Requires the role manager or quality officer to plan review actions")(view)
    blp.route(
        f"/reviews/{kind.slug}/<{ID}:review_id>/actions", endpoint=f"add_{kind.endpoint}_action", methods=["POST"]
    )(view)


_action_route(KINDS["iso_change"], load_iso)
_action_route(KINDS["org_change"], load_org)
_action_route(KINDS["management"], load_management)


def load_action(review_action_id: int) -> ReviewAction:
    return get_or_404(
        ReviewAction, review_action_id, options=(selectinload(ReviewAction.owner),), label="review action"
    )


@blp.route(f"/review-actions/<{ID}:review_action_id>/complete", methods=["POST"])
@require_roles(ACTION_OWNER_ROLES, "Only the action's owner, a quality officer or a manager can complete it")
@blp.arguments(ActionCompleteSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, ReviewActionSchema)
def complete(body: dict[str, Any], review_action_id: int) -> Presented:
    """Mark a review action done, saying what was done

    Its owner, a quality officer or a manager may; 409 when it is done or cancelled already.
    """
    action = complete_action(load_action(review_action_id), api_user(), outcome=body["outcome"])
    return present_action(action)


@blp.route(f"/review-actions/<{ID}:review_action_id>/cancel", methods=["POST"])
@require_roles(REVIEW_ROLES, "Requires the role manager or quality officer to cancel review actions")
@blp.arguments(ActionCancelSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, ReviewActionSchema)
def cancel(body: dict[str, Any], review_action_id: int) -> Presented:
    """Drop a review action that is no longer needed, with the reason (409 when no longer open)"""
    action = cancel_action(load_action(review_action_id), api_user(), reason=body["reason"])
    return present_action(action)


# --- ISO change: items and verification ---------------------------------------------------------


def load_item(review_id: int, change_id: int) -> IsoChangeItem:
    review = load_iso(review_id)
    item = get_or_404(IsoChangeItem, change_id, label="clause change")
    if item.review_id != review.id:
        abort(404, description=f"ISO-change review {review.id} has no clause change with id {change_id}")
    return item


@blp.route(f"/reviews/iso-change/<{ID}:review_id>/items/<{ID}:change_id>", methods=["PATCH"])
@require_roles(REVIEW_ROLES, "Requires the role manager or quality officer to assess clause changes")
@blp.arguments(AssessSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, IsoChangeItemSchema)
def assess(body: dict[str, Any], review_id: int, change_id: int) -> Presented:
    """Assess one clause change: does the QMS need to change for it?

    `gap` needs its `assessment` (what must change). Until the gap analysis completes (409 after).
    """
    item = assess_change(load_item(review_id, change_id), api_user(), **body)
    return present_item(item)


@blp.route(f"/reviews/iso-change/<{ID}:review_id>/verification", methods=["PUT"])
@require_roles(REVIEW_ROLES, "Requires the role manager or quality officer to link verification audits")
@blp.arguments(VerificationSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, IsoChangeReviewSchema, headers=ETAG_HEADER)
def verification(body: dict[str, Any], review_id: int) -> Any:
    """Link the internal audit that verified the transition and/or the body's transition audit

    During implementation or verification (409 otherwise); a field left null keeps its link.
    """
    review = link_verification(load_iso(review_id), api_user(), **body)
    return _fresh(review, load_iso, iso_extras)


# --- organisational change: impacts -------------------------------------------------------------


def load_impact(review_id: int, impact_id: int) -> ChangeImpact:
    review = load_org(review_id)
    impact = get_or_404(ChangeImpact, impact_id, label="impact")
    if impact.review_id != review.id:
        abort(404, description=f"Organisational-change review {review.id} has no impact with id {impact_id}")
    return impact


@blp.route(f"/reviews/org-change/<{ID}:review_id>/impacts", methods=["POST"])
@require_roles(CHANGE_ROLES, CHANGE_MESSAGE)
@blp.arguments(ImpactCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, ImpactSchema)
def add_impact_view(body: dict[str, Any], review_id: int) -> Any:
    """Record what the change touches: a document, a process, a risk, the audit programme…

    Until the change is planned (409 after). `link` names the record touched
    (`document:12`); each record once.
    """
    impact = add_impact(load_org(review_id), api_user(), **body)
    return present_impact(impact), 201


@blp.route(f"/reviews/org-change/<{ID}:review_id>/impacts/<{ID}:impact_id>", methods=["DELETE"])
@require_roles(CHANGE_ROLES, CHANGE_MESSAGE)
@blp.response(204)
def delete_impact(review_id: int, impact_id: int) -> Response:
    """Remove an impact until the change is planned (409 after)"""
    remove_impact(load_impact(review_id, impact_id), api_user())
    return Response(status=204)


@blp.route(f"/reviews/org-change/<{ID}:review_id>/suggested-impacts", methods=["GET"])
@blp.arguments(NoQuerySchema, location="query", unknown=RAISE)
@blp.response(200, SuggestedImpactSchema(many=True))
def suggested_impacts(args: dict[str, Any], review_id: int) -> list[dict[str, str]]:
    """Impacts the records suggest and that are not yet recorded (the process, its documents, audits, NCs…)"""
    return suggest_impacts(load_org(review_id), api_user())


# --- management review: inputs and minutes ------------------------------------------------------


@blp.route(f"/reviews/management/<{ID}:review_id>/inputs/compile", methods=["POST"])
@require_roles(REVIEW_ROLES, "Requires the role manager or quality officer to compile review inputs")
@blp.response(200, ManagementReviewSchema, headers=ETAG_HEADER)
def compile_review_inputs(review_id: int) -> Any:
    """Compile the 9.3.2 inputs the records can give for the review period (notes are kept)

    Until the meeting is held (409 after). Quality objectives, resources and
    risks and opportunities need notes (`PUT …/inputs/{key}`).
    """
    review = compile_inputs(load_management(review_id), api_user())
    return _fresh(review, load_management, management_extras)


@blp.route(f"/reviews/management/<{ID}:review_id>/inputs/<{INPUT_KEY}:key>", methods=["PUT"])
@require_roles(REVIEW_ROLES, "Requires the role manager or quality officer to write review inputs")
@blp.arguments(InputNotesSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, ManagementReviewSchema, headers=ETAG_HEADER)
def set_notes(body: dict[str, Any], review_id: int, key: str) -> Any:
    """Write (or clear) the notes of one 9.3.2 input; compiled figures are kept

    `key` is one of the review's `inputs` (previous_actions, context_changes,
    customer_satisfaction, quality_objectives, process_performance,
    nonconformities, monitoring_results, audit_results, external_providers,
    resources, risks_opportunities, improvement_opportunities); 404 for any
    other. Until the meeting is held (409 after).
    """
    review = load_management(review_id)
    if key not in MANAGEMENT_REVIEW_INPUTS:
        abort(404, description=f"A management review has no input {key!r}")
    review = set_input_notes(review, api_user(), key, body["notes"])
    return _fresh(review, load_management, management_extras)


@blp.route(f"/reviews/management/<{ID}:review_id>/minutes.pdf", methods=["GET"])
@blp.arguments(NoQuerySchema, location="query", unknown=RAISE)
@blp.doc(responses={"200": PDF_RESPONSE})
def minutes(args: dict[str, Any], review_id: int) -> Response:
    """The minutes of the management review (PDF): inputs, decisions, actions, the approver's e-signature"""
    review = load_management(review_id)
    from ..reports.reviews import management_review_pdf

    data = management_review_pdf(review, organisation=current_app.config["QMS_ORGANISATION"], reader=api_user())
    return Response(
        data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": content_disposition(f"{review.reference}-minutes.pdf"),
            "Cache-Control": "no-store",
        },
    )


@blp.route(f"/reviews/iso-change/<{ID}:review_id>/transition-audit", methods=["POST"])
@require_roles(REVIEW_ROLES, "Requires the role manager or quality officer to plan the transition audit")
@blp.arguments(TransitionAuditSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, IsoChangeReviewSchema, headers=ETAG_HEADER)
def transition_audit(body: dict[str, Any], review_id: int) -> Any:
    """Add the internal audit of the new and changed clauses to the audit programme, with their checklist

    During transition planning or implementation (409 otherwise). The audit is to the new
    edition, its checklist holds the new edition's questions for those clauses, it joins the
    programme of its year, and becomes the review's `verification_audit_id`.
    """
    review = load_iso(review_id)
    plan_transition_audit(review, api_user(), **body)
    presented, _, headers = _fresh(review, load_iso, iso_extras)
    return presented, 201, headers


@blp.route(f"/reviews/iso-change/<{ID}:review_id>/transition-plan.pdf", methods=["GET"])
@blp.arguments(NoQuerySchema, location="query", unknown=RAISE)
@blp.doc(responses={"200": PDF_RESPONSE})
def transition_plan(args: dict[str, Any], review_id: int) -> Response:
    """The transition plan (PDF): each clause change, what cites it, its assessment and actions; the signature"""
    review = load_iso(review_id)
    from ..reports.reviews import transition_plan_pdf

    data = transition_plan_pdf(review, organisation=current_app.config["QMS_ORGANISATION"], reader=api_user())
    return Response(
        data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": content_disposition(f"{review.reference}-transition-plan.pdf"),
            "Cache-Control": "no-store",
        },
    )

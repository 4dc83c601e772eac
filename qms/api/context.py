"""/api/v1/context: the context of the organisation (ISO 9001 4.1, 4.2).

Issues (``/context/issues``: SWOT quadrant, PESTLE category, site, owner, review date), interested
parties (``/context/parties``: relevant requirements and how each is monitored) and context reviews
(``/context/reviews``, a workflow resource: planned → in progress → completed with a signature, the
climate-change question answered). ``/context/summary.pdf`` is the printable summary.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, url_for
from marshmallow import RAISE
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from ..downloads import content_disposition
from ..models import ContextIssue, ContextReview, InterestedParty, Site
from ..services.context import (
    CONTEXT_ROLES,
    issue_list,
    party_list,
    plan_context_review,
    save_issue,
    save_party,
)
from .auth import api_user, require_roles
from .blueprint import ID, ApiBlueprint
from .schemas.context import (
    ContextReviewCreateSchema,
    ContextReviewPageSchema,
    ContextReviewQuerySchema,
    ContextReviewSchema,
    IssueCreateSchema,
    IssuePageSchema,
    IssueQuerySchema,
    IssueSchema,
    IssueUpdateSchema,
    PartyCreateSchema,
    PartyPageSchema,
    PartyQuerySchema,
    PartySchema,
    PartyUpdateSchema,
    SummaryQuerySchema,
)
from .workflow import ETAG_HEADER, add_workflow_routes, etag, get_or_404, paginate, present

blp = ApiBlueprint(
    "api_context",
    __name__,
    tag="Context",
    description=(
        "The context of the organisation (ISO 9001 4.1, 4.2): internal and external issues on the SWOT board "
        "with their PESTLE category, interested parties and their requirements, and the periodic context review."
    ),
)
KEEPERS = "Requires the role manager or quality officer to record the context"
PDF_RESPONSE = {
    "description": "The context summary",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
}


@blp.route("/context/issues", methods=["GET"])
@blp.arguments(IssueQuerySchema, location="query", unknown=RAISE)
@blp.response(200, IssuePageSchema)
def list_issues(args: dict[str, Any]) -> dict[str, Any]:
    """The internal and external issues, filtered by SWOT quadrant, PESTLE category, site or text"""
    stmt = issue_list(
        swot=args.get("swot", ""),
        pestle=args.get("pestle", ""),
        site=args.get("site"),
        q=args.get("q", ""),
        active=not args.get("archived", False),
    )
    items, page = paginate(stmt, args)
    return {**page, "items": items}


@blp.route("/context/issues", methods=["POST"])
@require_roles(CONTEXT_ROLES, KEEPERS)
@blp.arguments(IssueCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, IssueSchema)
def create_issue(body: dict[str, Any]) -> Any:
    """Record an internal or external issue (strengths and weaknesses are internal, the rest external)"""
    issue = save_issue(api_user(), body)
    return issue, 201, {"Location": url_for("api_context.get_issue", issue_id=issue.id)}


@blp.route(f"/context/issues/<{ID}:issue_id>", methods=["GET"])
@blp.response(200, IssueSchema)
def get_issue(issue_id: int) -> Any:
    """One issue"""
    return get_or_404(ContextIssue, issue_id, label="context issue")


@blp.route(f"/context/issues/<{ID}:issue_id>", methods=["PATCH"])
@blp.arguments(IssueUpdateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, IssueSchema)
def edit_issue(body: dict[str, Any], issue_id: int) -> Any:
    """Change an issue (its owner, a quality officer or a manager); `active: false` when no longer relevant"""
    return save_issue(api_user(), body, get_or_404(ContextIssue, issue_id, label="context issue"))


@blp.route("/context/parties", methods=["GET"])
@blp.arguments(PartyQuerySchema, location="query", unknown=RAISE)
@blp.response(200, PartyPageSchema)
def list_parties(args: dict[str, Any]) -> dict[str, Any]:
    """The interested parties and their relevant requirements"""
    stmt = party_list(category=args.get("category", ""), q=args.get("q", ""))
    items, page = paginate(stmt, args)
    return {**page, "items": items}


@blp.route("/context/parties", methods=["POST"])
@require_roles(CONTEXT_ROLES, KEEPERS)
@blp.arguments(PartyCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, PartySchema)
def create_party(body: dict[str, Any]) -> Any:
    """Record an interested party with its relevant requirements and how they are monitored"""
    party = save_party(api_user(), body)
    return party, 201, {"Location": url_for("api_context.get_party", party_id=party.id)}


@blp.route(f"/context/parties/<{ID}:party_id>", methods=["GET"])
@blp.response(200, PartySchema)
def get_party(party_id: int) -> Any:
    """One interested party"""
    return get_or_404(InterestedParty, party_id, label="interested party")


@blp.route(f"/context/parties/<{ID}:party_id>", methods=["PATCH"])
@blp.arguments(PartyUpdateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, PartySchema)
def edit_party(body: dict[str, Any], party_id: int) -> Any:
    """Change an interested party (its owner, a quality officer or a manager)"""
    return save_party(api_user(), body, get_or_404(InterestedParty, party_id, label="interested party"))


@blp.route("/context/summary.pdf", methods=["GET"])
@blp.arguments(SummaryQuerySchema, location="query", unknown=RAISE)
@blp.doc(responses={"200": PDF_RESPONSE})
def summary_pdf(args: dict[str, Any]) -> Response:
    """The printable context summary: the SWOT board, the interested parties and the last review

    With `site`: that site's issues and parties with the organisation-wide ones, and the last review
    of that site or of the whole organisation (404 for an unknown site).
    """
    from ..reports.context import context_summary_pdf

    site = get_or_404(Site, args["site"], label="site").id if args.get("site") else None
    return Response(
        context_summary_pdf(current_app.config["QMS_ORGANISATION"], site_id=site),
        mimetype="application/pdf",
        headers={
            "Content-Disposition": content_disposition("context-summary.pdf", inline=True),
            "Cache-Control": "no-store",
        },
    )


# --- context reviews ------------------------------------------------------------------------

REVIEW_LOAD = (selectinload(ContextReview.chair), selectinload(ContextReview.site))


def load_review(review_id: int) -> ContextReview:
    return get_or_404(ContextReview, review_id, options=REVIEW_LOAD, label="context review")


def review_extras(review: ContextReview) -> dict[str, Any]:
    base = "api_context."
    return {
        "overdue": review.is_overdue(dt.date.today()),
        "links": {
            "self": url_for(base + "get_context_review", review_id=review.id),
            "history": url_for(base + "context_review_history", review_id=review.id),
            "events": url_for(base + "context_review_events", review_id=review.id),
        },
    }


@blp.route("/context/reviews", methods=["GET"])
@blp.arguments(ContextReviewQuerySchema, location="query", unknown=RAISE)
@blp.response(200, ContextReviewPageSchema)
def list_reviews(args: dict[str, Any]) -> dict[str, Any]:
    """The context reviews, the latest planned first"""
    stmt = select(ContextReview).order_by(ContextReview.planned_for.desc(), ContextReview.id.desc())
    if "state" in args:
        stmt = stmt.where(ContextReview.state == args["state"])
    items, page = paginate(stmt, args, options=REVIEW_LOAD)
    return {**page, "items": present(items, review_extras)}


@blp.route("/context/reviews", methods=["POST"])
@require_roles(CONTEXT_ROLES, "Requires the role manager or quality officer to plan context reviews")
@blp.arguments(ContextReviewCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, ContextReviewSchema, headers=ETAG_HEADER)
def create_review(body: dict[str, Any]) -> Any:
    """Plan a context review (complete it with the `complete` event: what changed, the climate question)"""
    review = load_review(plan_context_review(api_user(), **body).id)
    location = url_for("api_context.get_context_review", review_id=review.id)
    return present([review], review_extras)[0], 201, {"Location": location, **etag(review)}


add_workflow_routes(
    blp,
    model=ContextReview,
    collection="context/reviews",
    key="review_id",
    name="context_review",
    schema=ContextReviewSchema,
    load=load_review,
    extras=review_extras,
)

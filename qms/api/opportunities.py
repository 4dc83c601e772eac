"""/api/v1/opportunities and /api/v1/innovation-committees: the innovation pipeline (ISO 9001 6.1.3).

An opportunity is a workflow resource (``opportunity`` lifecycle: proposed → evaluated → approved by
the innovation committee (signed by a member) → piloting → adopted (signed) or dropped → realised,
or declined). Committees are the review bodies whose members decide.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import url_for
from marshmallow import RAISE
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..database import db
from ..models import OPPORTUNITY_SOURCES, InnovationCommittee, Opportunity
from ..services.opportunities import (
    COMMITTEE_ROLES,
    OWNER_ROLES,
    PROPOSE_ROLES,
    create_committee,
    propose_opportunity,
    update_opportunity,
)
from .auth import api_user, require_roles
from .blueprint import ID, ApiBlueprint
from .schemas.opportunities import (
    CommitteeCreateSchema,
    CommitteeSchema,
    OpportunityChangeSchema,
    OpportunityCreateSchema,
    OpportunityPageSchema,
    OpportunityQuerySchema,
    OpportunitySchema,
)
from .workflow import ETAG_HEADER, add_workflow_routes, etag, get_or_404, ordering, paginate, present, state_order

blp = ApiBlueprint(
    "api_opportunities",
    __name__,
    tag="Opportunities and innovation",
    description=(
        "Opportunities for improvement and innovation (ISO 9001 6.1.3): proposal, cost–benefit evaluation and "
        "competitive edge, the innovation committee's signed decisions, pilots, adoption and the benefit realised; "
        "the innovation committees."
    ),
)

LOAD = (
    selectinload(Opportunity.owner),
    selectinload(Opportunity.proposed_by),
    selectinload(Opportunity.committee),
    selectinload(Opportunity.process),
)


def load(opportunity_id: int) -> Opportunity:
    return get_or_404(Opportunity, opportunity_id, options=LOAD, label="opportunity")


def extras(opportunity: Opportunity) -> dict[str, Any]:
    base = "api_opportunities."
    return {
        "source_label": OPPORTUNITY_SOURCES.get(opportunity.source, opportunity.source),
        "pilot_overdue": opportunity.pilot_overdue(dt.date.today()),
        "links": {
            "self": url_for(base + "get_opportunity", opportunity_id=opportunity.id),
            "history": url_for(base + "opportunity_history", opportunity_id=opportunity.id),
            "events": url_for(base + "opportunity_events", opportunity_id=opportunity.id),
        },
    }


@blp.route("/opportunities", methods=["GET"])
@blp.arguments(OpportunityQuerySchema, location="query", unknown=RAISE)
@blp.response(200, OpportunityPageSchema)
def list_opportunities(args: dict[str, Any]) -> dict[str, Any]:
    """The innovation pipeline: filtered by stage, competitive edge or source, sorted, one page at a time"""
    stmt = select(Opportunity)
    state = args.get("state")
    if state == "open":
        stmt = stmt.where(Opportunity.state.in_(Opportunity.OPEN_STATES))
    elif state is not None:
        stmt = stmt.where(Opportunity.state == state)
    for name in ("edge_category", "source"):
        if name in args:
            stmt = stmt.where(getattr(Opportunity, name) == args[name])
    columns = {
        "reference": Opportunity.reference,
        "created_at": Opportunity.created_at,
        "pilot_end": Opportunity.pilot_end,
        "state": state_order(Opportunity),
    }
    stmt = stmt.order_by(*ordering(args["sort"], columns, Opportunity.id))
    items, page = paginate(stmt, args, options=LOAD)
    return {**page, "items": present(items, extras)}


@blp.route("/opportunities", methods=["POST"])
@require_roles(PROPOSE_ROLES, "Viewers cannot propose opportunities")
@blp.arguments(OpportunityCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, OpportunitySchema, headers=ETAG_HEADER)
def create(body: dict[str, Any]) -> Any:
    """Propose an idea for improvement or innovation (it starts as proposed)

    Anyone but a viewer may. The owner defaults to you when you are a manager, quality officer
    or process owner; assign an innovation committee before it is approved for a pilot.
    """
    opportunity = load(propose_opportunity(api_user(), **body).id)
    location = url_for("api_opportunities.get_opportunity", opportunity_id=opportunity.id)
    return present([opportunity], extras)[0], 201, {"Location": location, **etag(opportunity)}


@blp.route(f"/opportunities/<{ID}:opportunity_id>", methods=["PATCH"])
@require_roles(OWNER_ROLES, "Only the opportunity's owner, a quality officer or a manager changes it")
@blp.arguments(OpportunityChangeSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, OpportunitySchema, headers=ETAG_HEADER)
def change(body: dict[str, Any], opportunity_id: int) -> Any:
    """Change an open opportunity: description, owner, committee, intellectual-property notes

    Its owner, quality officers and managers may (403 otherwise).
    """
    opportunity = load(opportunity_id)
    update_opportunity(opportunity, api_user(), **body)
    return present([opportunity], extras)[0], 200, etag(opportunity)


@blp.route("/innovation-committees", methods=["GET"])
@blp.response(200, CommitteeSchema(many=True))
def list_committees() -> list[InnovationCommittee]:
    """The innovation committees with their members"""
    return list(
        db.session.scalars(
            select(InnovationCommittee)
            .options(selectinload(InnovationCommittee.members), selectinload(InnovationCommittee.chair))
            .order_by(InnovationCommittee.name)
        )
    )


@blp.route("/innovation-committees", methods=["POST"])
@require_roles(COMMITTEE_ROLES, "Requires the role manager or quality officer to set up innovation committees")
@blp.arguments(CommitteeCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, CommitteeSchema)
def create_committee_view(body: dict[str, Any]) -> Any:
    """Set up an innovation committee (managers and quality officers; at least two members)"""
    return create_committee(api_user(), **body), 201


add_workflow_routes(
    blp,
    model=Opportunity,
    collection="opportunities",
    key="opportunity_id",
    name="opportunity",
    schema=OpportunitySchema,
    load=load,
    extras=extras,
)

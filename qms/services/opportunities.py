"""Opportunities for improvement and innovation (ISO 9001 6.1.3, 10.1) and the innovation committees
that decide on their pilots and adoption.

Anyone but a viewer proposes an idea; managers and quality officers set up committees. The
committee's decisions (approve a pilot, adopt on its results) are fired by one of its members,
who signs them. Intellectual-property notes are a record of what was considered, not legal advice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import FireResult, get_lifecycle
from workflows.errors import InvalidData, NotPermitted

from ..database import db
from ..models import EDGE_LABELS, OPPORTUNITY_SOURCES, Actor, InnovationCommittee, Opportunity, Process, User
from .audit_trail import recorded_change
from .references import next_reference
from .validation import clean_text, require_roles, row_by_id
from .workflow import as_actor, effect, facts_provider

PROPOSE_ROLES = frozenset({"admin", "manager", "quality_officer", "internal_auditor", "process_owner"})
COMMITTEE_ROLES = frozenset({"manager", "quality_officer"})
OWNER_ROLES = ("manager", "quality_officer", "process_owner")
MEMBER_ROLES = ("manager", "quality_officer", "process_owner")


def _user(errors: dict[str, str], name: str, value: Any, roles: Sequence[str]) -> User | None:
    user = row_by_id(User, value)
    if user is None or not user.active or not user.has_role(*roles):
        errors[name] = "must be an active " + ", ".join(r.replace("_", " ") for r in roles)
        return None
    return user


def create_committee(
    actor: User | Actor, *, name: Any, remit: Any = "", chair_id: Any, member_ids: Any
) -> InnovationCommittee:
    """An innovation committee: its chair and members (the chair is always a member)."""
    actor = as_actor(actor)
    require_roles(actor, COMMITTEE_ROLES, "set up innovation committees")
    errors: dict[str, str] = {}
    name = clean_text(errors, "name", name, limit=120)
    remit = clean_text(errors, "remit", remit, required=False, limit=5000)
    chair = _user(errors, "chair_id", chair_id, MEMBER_ROLES)
    members: list[User] = []
    if not isinstance(member_ids, (list, tuple)) or len(member_ids) > 50:
        errors["member_ids"] = "must be a list of at most 50 user ids"
    else:
        for index, value in enumerate(member_ids):
            member = _user(errors, f"member_ids.{index}", value, MEMBER_ROLES)
            if member is not None and member not in members:
                members.append(member)
    if chair is not None and chair not in members:
        members.insert(0, chair)
    if not errors and db.session.scalar(select(InnovationCommittee.id).where(InnovationCommittee.name == name)):
        errors["name"] = "is already the name of a committee"
    if not errors and len(members) < 2:
        errors["member_ids"] = "a committee has at least two members"
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, "innovation committee set up") as session:
        committee = InnovationCommittee(name=name, remit=remit, chair_id=chair.id, members=members)
        session.add(committee)
    return committee


def committees(*, active_only: bool = True) -> list[InnovationCommittee]:
    query = select(InnovationCommittee).order_by(InnovationCommittee.name)
    if active_only:
        query = query.where(InnovationCommittee.active.is_(True))
    return list(db.session.scalars(query))


FIELDS = ("title", "description", "source", "process_id", "owner_id", "committee_id", "ip_notes")


def _validated(data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}

    def given(name: str) -> bool:
        return not partial or name in data

    if given("title"):
        values["title"] = clean_text(errors, "title", data.get("title"), limit=200)
    if given("description"):
        values["description"] = clean_text(errors, "description", data.get("description"), limit=10_000)
    if given("ip_notes"):
        values["ip_notes"] = clean_text(errors, "ip_notes", data.get("ip_notes"), required=False, limit=5000)
    if given("source"):
        source = data.get("source") or "staff"
        if source not in OPPORTUNITY_SOURCES or source == "objective_missed":
            errors["source"] = "must be one of: " + ", ".join(s for s in OPPORTUNITY_SOURCES if s != "objective_missed")
        values["source"] = source
    if given("owner_id") and data.get("owner_id") not in (None, "", 0):
        owner = _user(errors, "owner_id", data.get("owner_id"), OWNER_ROLES)
        if owner is not None:
            values["owner_id"] = owner.id
    if given("process_id"):
        raw = data.get("process_id")
        if raw in (None, "", 0):
            values["process_id"] = None
        else:
            process = row_by_id(Process, raw)
            if process is None or not process.active:
                errors["process_id"] = "must be an active process"
            else:
                values["process_id"] = process.id
    if given("committee_id"):
        raw = data.get("committee_id")
        if raw in (None, "", 0):
            values["committee_id"] = None
        else:
            committee = row_by_id(InnovationCommittee, raw)
            if committee is None or not committee.active:
                errors["committee_id"] = "must be an active innovation committee"
            else:
                values["committee_id"] = committee.id
    if errors:
        raise InvalidData(errors)
    return values


def survey_source(survey_id: Any, trend: Any) -> dict[str, Any]:
    """The survey (and one of the trends it shows now) an opportunity is raised from, as its fields."""
    from ..models import Survey
    from .surveys.trends import find_trend

    if survey_id in (None, "", 0):
        if trend not in (None, ""):
            raise InvalidData({"trend": "give the survey whose trend it is"})
        return {}
    survey = row_by_id(Survey, survey_id)
    if survey is None:
        raise InvalidData({"survey_id": "no such survey"})
    values: dict[str, Any] = {"source": "survey", "source_survey_id": survey.id}
    if trend not in (None, ""):
        found = find_trend(survey, str(trend)[:120])
        if found is None:
            raise InvalidData({"trend": "is not a trend this survey shows now"})
        values["source_detail"] = found.words
    return values


def opportunities_raised_from_survey(survey_id: int) -> list[Opportunity]:
    """Opportunities raised from a survey (or one of its trends): the link back."""
    return list(
        db.session.scalars(
            select(Opportunity).where(Opportunity.source_survey_id == survey_id).order_by(Opportunity.id)
        )
    )


def propose_opportunity(actor: User | Actor, **data: Any) -> Opportunity:
    """An idea for improvement or innovation, proposed by anyone but a viewer; the owner defaults to them
    when they may own it."""
    actor = as_actor(actor)
    require_roles(actor, PROPOSE_ROLES, "propose opportunities")
    survey_id, trend = data.pop("survey_id", None), data.pop("trend", None)
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise InvalidData({name: "is not a field of an opportunity" for name in sorted(unknown)})
    values = _validated(dict(data))
    values |= survey_source(survey_id, trend)
    if "owner_id" not in values:
        if not actor.roles & set(OWNER_ROLES):
            raise InvalidData({"owner_id": "is required: choose a manager, quality officer or process owner"})
        values["owner_id"] = actor.id
    with recorded_change(actor, "opportunity proposed") as session:
        opportunity = Opportunity(
            reference=next_reference(session, "OPP", dt.date.today().year), proposed_by_id=actor.id, **values
        )
        session.add(opportunity)
    return opportunity


def update_opportunity(opportunity: Opportunity, actor: User | Actor, **changes: Any) -> Opportunity:
    """Change the description, owner, committee or intellectual-property notes of an open opportunity."""
    actor = as_actor(actor)
    if opportunity.owner_id != actor.id and not actor.roles & COMMITTEE_ROLES:
        raise NotPermitted("Only the opportunity's owner, a quality officer or a manager changes it")
    if opportunity.state not in Opportunity.OPEN_STATES:
        raise NotPermitted("A realised, dropped or declined opportunity is no longer changed")
    unknown = set(changes) - {"title", "description", "process_id", "owner_id", "committee_id", "ip_notes"}
    if unknown:
        raise InvalidData({name: "cannot be changed here" for name in sorted(unknown)})
    values = _validated(dict(changes), partial=True)
    if "committee_id" in values and opportunity.state not in ("proposed", "evaluated"):
        raise InvalidData({"committee_id": "is fixed once the committee has decided"})
    with recorded_change(actor, f"{opportunity.reference} changed"):
        for name, value in values.items():
            setattr(opportunity, name, value)
    return opportunity


def pilots_ending(today: dt.date, days_ahead: int = 14) -> list[Opportunity]:
    """Pilots running whose end is past or within ``days_ahead`` days."""
    return list(
        db.session.scalars(
            select(Opportunity)
            .where(Opportunity.state == "piloting", Opportunity.pilot_end <= today + dt.timedelta(days=days_ahead))
            .order_by(Opportunity.pilot_end, Opportunity.id)
        )
    )


def opportunities_summary(start: dt.date, end: dt.date) -> dict[str, Any]:
    """Opportunities proposed, decided, piloted, adopted or realised in the period, and those open (9.3.2 f)."""
    since = dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    rows = list(
        db.session.scalars(
            select(Opportunity)
            .where(
                (Opportunity.created_at < until)
                & ((Opportunity.closed_at.is_(None)) | (Opportunity.closed_at >= since))
            )
            .order_by(Opportunity.created_at, Opportunity.id)
        )
    )
    states: dict[str, int] = {}
    for o in rows:
        states[o.state] = states.get(o.state, 0) + 1
    return {
        "proposed_in_period": sum(1 for o in rows if since <= o.created_at < until),
        "open": sum(1 for o in rows if o.state in Opportunity.OPEN_STATES),
        "piloting": states.get("piloting", 0),
        "adopted_in_period": sum(1 for o in rows if o.adopted_at is not None and since <= o.adopted_at < until),
        "realised_in_period": sum(
            1 for o in rows if o.state == "realised" and o.closed_at is not None and since <= o.closed_at < until
        ),
        "by_stage": {get_lifecycle("opportunity").state(k).label: v for k, v in sorted(states.items())},
        "opportunities": [
            {
                "id": o.id,
                "reference": o.reference,
                "title": o.title,
                "source": OPPORTUNITY_SOURCES.get(o.source, o.source),
                "competitive_edge": EDGE_LABELS.get(o.edge_category or "", None),
                "stage": o.state_label,
                "proposed_on": o.created_at.date().isoformat(),
            }
            for o in rows
        ],
    }


# --- lifecycle effects and facts ----------------------------------------------------------------


@effect("opportunity", "evaluate")
def _evaluated(o: Opportunity, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    cost = result.data["estimated_cost"]
    if not 0 <= cost < 2**31:
        raise InvalidData({"estimated_cost": "must be between 0 and 2147483647"})
    o.estimated_cost = cost
    o.expected_benefit = result.data["expected_benefit"]
    o.edge_category = result.data["edge_category"]
    o.cost_benefit = result.data["cost_benefit"]


@effect("opportunity", "approve")
def _approved(o: Opportunity, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    if result.data["decided_on"] > now.date():
        raise InvalidData({"decided_on": "cannot be in the future"})
    o.decision = result.data["decision"]
    o.decided_on = result.data["decided_on"]


@effect("opportunity", "decline")
def _declined(o: Opportunity, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    o.declined_reason = result.data["reason"]
    o.closed_at = now


@effect("opportunity", "start_pilot")
def _pilot_started(o: Opportunity, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    o.pilot_plan = result.data["pilot_plan"]
    o.success_criteria = result.data["success_criteria"]
    o.pilot_start = result.data["pilot_start"]
    o.pilot_end = result.data["pilot_end"]


@effect("opportunity", "adopt")
def _adopted(o: Opportunity, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    o.pilot_results = result.data["pilot_results"]
    o.adopted_at = now


@effect("opportunity", "drop")
def _dropped(o: Opportunity, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    o.pilot_results = result.data["pilot_results"]
    o.closed_at = now


@effect("opportunity", "realise")
def _realised(o: Opportunity, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    value = result.data.get("benefit_value")
    if value is not None and not 0 <= value < 2**31:
        raise InvalidData({"benefit_value": "must be between 0 and 2147483647"})
    o.benefit_measured = result.data["benefit_measured"]
    o.benefit_value = value
    o.closed_at = now


@facts_provider("opportunity", provides=("committee_id", "committee_member_ids"))
def _opportunity_facts(session: Session, opportunities: Sequence[Opportunity]) -> dict[int, dict[str, Any]]:
    from ..models.opportunities import committee_members

    committee_ids = {o.committee_id for o in opportunities if o.committee_id is not None}
    members: dict[int, set[int]] = {cid: set() for cid in committee_ids}
    if committee_ids:
        for cid, uid in session.execute(
            select(committee_members.c.committee_id, committee_members.c.user_id).where(
                committee_members.c.committee_id.in_(committee_ids)
            )
        ):
            members[cid].add(uid)
    return {
        o.id: {
            "committee_id": o.committee_id,
            "committee_member_ids": frozenset(members.get(o.committee_id, ())) if o.committee_id else frozenset(),
        }
        for o in opportunities
    }

"""The demo reviews: a management review, the transition to ISO 9001:2026 under way, an organisational change."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..database import as_of
from ..services import fire, reviews
from .users import DEMO_PASSWORD


def _seed_reviews(users: dict, today: dt.date) -> int:
    """A management review gathering its inputs, the ISO-change review of the transition from
    ISO 9001:2015 to 2026 in its gap analysis (some changes assessed, actions planned), an
    organisational change."""
    qo, mgr, owner = users["quality"], users["manager"], users["owner"]
    _held_review(users, today)
    review = reviews.plan_management_review(
        mgr,
        title=f"Management review {today.year}",
        planned_for=today + dt.timedelta(days=21),
        period_start=today - dt.timedelta(days=365),
        period_end=today,
    )
    fire(review, "start_gathering", qo, {"inputs_due": (today + dt.timedelta(days=14)).isoformat()})
    reviews.compile_inputs(review, qo)
    reviews.set_input_notes(
        review, qo, "quality_objectives", "On-time delivery 94 % (target 95 %); scrap 1.8 % (target 2 %)."
    )
    _seed_transition(users, today)
    reviews.open_org_change_review(
        owner,
        title="New powder-coating line in the Nairobi plant",
        change_kind="process",
        description="A powder-coating line replaces wet painting from next quarter.",
        process_id=next(p.id for p in _processes() if p.code == "PROD"),
    )
    return 4


#: what the system cannot compile for the mid-year review, written by the quality officer
_NOTES = {
    "context_changes": "A second customer in the mining sector; new county rules on waste paint disposal.",
    "quality_objectives": "On-time delivery 94 % (target 95 %); scrap 1.8 % (target 2 %); complaints in 4 days.",
    "resources": "One more inspector needed on the night shift from the third quarter.",
    "risks_opportunities": "Supplier concentration on frames reduced by qualifying a second supplier.",
    "external_providers": "Both frame suppliers on time above 95 %; one certificate missing in the period (closed).",
    "improvement_opportunities": "Powder coating to replace wet painting; visual boards on every line.",
}


def _held_review(users: dict, today: dt.date) -> None:
    """The half-year management review, replayed on its dates: inputs, meeting, signed minutes, an action done."""
    qo, mgr = users["quality"], users["manager"]
    held = today - dt.timedelta(days=170)

    def at(day: dt.date, hour: int = 10) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)

    with as_of(at(held - dt.timedelta(days=30))):
        review = reviews.plan_management_review(
            mgr,
            title=f"Management review, first half {held.year}",
            planned_for=held,
            period_start=held - dt.timedelta(days=182),
            period_end=held - dt.timedelta(days=1),
        )
        fire(review, "start_gathering", qo, {"inputs_due": (held - dt.timedelta(days=5)).isoformat()})
    with as_of(at(held - dt.timedelta(days=7))):
        reviews.compile_inputs(review, qo, today=held - dt.timedelta(days=7))
        for key, notes in _NOTES.items():
            reviews.set_input_notes(review, qo, key, notes)
        fire(review, "mark_ready", qo)
    with as_of(at(held, 15)):
        fire(
            review,
            "record_meeting",
            mgr,
            {"held_on": held.isoformat(), "attendees": ["Managing director", "Quality officer", "Production lead"]},
        )
        fire(
            review,
            "draft_minutes",
            qo,
            {"minutes": "The QMS is suitable, adequate and effective. Decided: a second inspector; powder coating."},
        )
    with as_of(at(held + dt.timedelta(days=2))):
        fire(review, "approve_minutes", mgr, signature_password=DEMO_PASSWORD)
        fire(review, "start_tracking", qo)
        action = reviews.add_action(
            review,
            qo,
            title="Recruit a second inspector for the night shift",
            owner_id=mgr.id,
            due_date=held + dt.timedelta(days=60),
            category="resources",
        )
    with as_of(at(held + dt.timedelta(days=55))):
        reviews.complete_action(action, mgr, outcome="Inspector started on the night shift.")
        fire(review, "close", qo)


def _processes() -> list:
    from ..database import db
    from ..models import Process

    return list(db.session.scalars(select(Process)))


def _seed_transition(users: dict, today: dt.date) -> None:
    """The 2015 → 2026 transition review in gap analysis: leadership and awareness assessed as gaps with actions."""
    from ..services.documents import create_document
    from ..services.standards import edition_of

    qo, mgr, owner = users["quality"], users["manager"], users["owner"]
    # documents that cite the clauses the 2026 edition changes, so the review shows what cites each
    for title, doc_type, clauses in (
        ("Quality policy", "policy", ["5.1.1", "5.2", "7.3"]),
        ("Risk and opportunity procedure", "procedure", ["6.1", "6.1.2"]),
        ("Management of change procedure", "procedure", ["6.3", "8.5.6"]),
        ("Induction and awareness training plan", "form", ["7.2", "7.3"]),
    ):
        create_document(
            qo, title=title, doc_type=doc_type, owner_id=qo.id, process="Quality management", clause_refs=clauses
        )
    edition = edition_of("iso-9001-2026")
    review = reviews.open_iso_change_review(
        qo,
        old_standard="iso-9001-2015",
        new_standard="iso-9001-2026",
        title="Transition to ISO 9001:2026",
        transition_deadline=edition.transition_ends_on if edition else None,
    )
    fire(review, "start_gap_analysis", qo)
    by_clause = {(item.new_clause, item.change): item for item in review.items}
    assessments = [
        (
            ("5.1.1", "changed"),
            "gap",
            "The quality policy says nothing about quality culture or ethical behaviour; top management has no "
            "visible way of promoting them. Add a culture and ethics statement and a leadership walk-round.",
        ),
        (
            ("7.3", "changed"),
            "gap",
            "Induction and toolbox talks cover the policy and objectives only; add quality culture and the code "
            "of conduct to the induction pack and to the annual awareness briefing.",
        ),
        (
            ("6.1.3", "changed"),
            "gap",
            "The risk register mixes risks and opportunities; give opportunities their own evaluation and actions.",
        ),
        (
            ("6.1.2", "changed"),
            "no_gap",
            "Risks already have owners, actions and an effectiveness check in the risk register.",
        ),
        (
            ("4.1", "changed"),
            "no_gap",
            "The context review already records the climate-change decision; the strategic plan is an input.",
        ),
    ]
    for key, status, text in assessments:
        item = by_clause.get(key)
        if item is not None:
            reviews.assess_change(item, qo, status=status, assessment=text)
    actions = [
        (("5.1.1", "changed"), "Add quality culture and ethical behaviour to the quality policy", mgr, 45),
        (("7.3", "changed"), "Brief every team on quality culture and the code of conduct", owner, 90),
        (("6.1.3", "changed"), "Split opportunities out of the risk register", qo, 60),
    ]
    for key, title, who, days in actions:
        item = by_clause.get(key)
        reviews.add_action(
            review,
            qo,
            title=title,
            owner_id=who.id,
            due_date=today + dt.timedelta(days=days),
            change_item_id=item.id if item else None,
        )

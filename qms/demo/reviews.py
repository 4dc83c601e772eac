"""The demo reviews: a management review, an ISO-change review, an organisational change."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..database import as_of
from ..services import fire, reviews
from .users import DEMO_PASSWORD


def _seed_reviews(users: dict, today: dt.date) -> int:
    """A management review gathering its inputs, an ISO-change review for the 2024 amendment, an
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
    reviews.open_iso_change_review(
        qo,
        old_standard="iso-9001-2015",
        new_standard="iso-9001-2015-amd1-2024",
        transition_deadline=today + dt.timedelta(days=120),
    )
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

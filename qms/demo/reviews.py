"""The demo reviews: a management review, an ISO-change review, an organisational change."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..services import fire, reviews


def _seed_reviews(users: dict, today: dt.date) -> int:
    """A management review gathering its inputs, an ISO-change review for the 2024 amendment, an
    organisational change."""
    qo, mgr, owner = users["quality"], users["manager"], users["owner"]
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
    return 3


def _processes() -> list:
    from ..database import db
    from ..models import Process

    return list(db.session.scalars(select(Process)))

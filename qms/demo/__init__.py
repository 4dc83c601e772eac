"""A small, believable demo organisation: users of every role and NCs at every stage.

Everything goes through the services, so the demo history, signatures and
audit trail are exactly what real use produces. One module per area: ``users``,
``nonconformities``, ``certifications``, ``audits``, ``surveys``, ``complaints``,
``reviews`` and ``implementation``; ``large`` bulk-loads the large organisation instead.
"""

from __future__ import annotations

import datetime as dt

from ..services.users import create_user
from .audits import _seed_audits
from .certifications import _seed_certifications
from .complaints import seed_complaints
from .implementation import seed_board
from .nonconformities import _seed_nonconformities
from .reviews import _seed_reviews
from .suppliers import seed_equipment, seed_suppliers
from .surveys import seed_survey
from .users import DEMO_PASSWORD, DEMO_USERS

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "seed_demo"]


def seed_demo(today: dt.date | None = None) -> str:
    today = today or dt.date.today()
    users = {
        email.split("@")[0]: create_user(email, name, DEMO_PASSWORD, set(roles)) for email, name, roles in DEMO_USERS
    }
    # the certification history comes first: its stage 2 happened before today's open major NCs
    certification_count = _seed_certifications(users, today)
    nc_count = _seed_nonconformities(users, today)
    audit_count = _seed_audits(users, today)
    responses = seed_survey(users, today)
    complaint_count = seed_complaints(users, today)
    review_count = _seed_reviews(users, today)
    seed_board(users)
    supplier_count = seed_suppliers(users, today)
    equipment_count = seed_equipment(users, today)
    return (
        f"Loaded {len(users)} demo users, {nc_count} nonconformities, {audit_count} audits, {review_count} reviews, "
        f"{responses} survey responses, {complaint_count} complaints, {certification_count} certifications, "
        f"{supplier_count} suppliers and {equipment_count} measuring instruments."
    )

"""A small, believable demo organisation: users of every role and NCs at every stage.

Everything goes through the services, so the demo history, signatures and
audit trail are exactly what real use produces. One module per area: ``users``,
``nonconformities``, ``certifications``, ``audits``, ``surveys``, ``complaints``,
``reviews``, ``implementation``, ``documents``, ``competence`` and ``risks`` (with the context);
``large`` bulk-loads the large organisation instead.
"""

from __future__ import annotations

import datetime as dt

from ..services.users import create_user
from .audits import _seed_audits
from .certifications import _seed_certifications
from .competence import seed_competence
from .complaints import seed_complaints
from .documents import seed_documents
from .implementation import seed_board
from .nonconformities import _seed_nonconformities
from .planning import seed_planning
from .reviews import _seed_reviews
from .risks import seed_risks
from .suppliers import seed_equipment, seed_inspections, seed_suppliers
from .surveys import seed_survey
from .users import DEMO_PASSWORD, DEMO_USERS

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "seed_demo"]


def seed_demo(today: dt.date | None = None) -> str:
    today = today or dt.date.today()
    # the demo's published password is too easy to guess on purpose (anyone may try the demo):
    # seeding alone skips the strength check; every other way of setting a password applies it
    users = {
        email.split("@")[0]: create_user(email, name, DEMO_PASSWORD, set(roles), check_strength=False)
        for email, name, roles in DEMO_USERS
    }
    # the certification history comes first: its stage 2 happened before today's open major NCs
    certification_count = _seed_certifications(users, today)
    nc_count = _seed_nonconformities(users, today)
    audit_count = _seed_audits(users, today)
    responses = seed_survey(users, today)
    complaint_count = seed_complaints(users, today)
    review_count = _seed_reviews(users, today)
    seed_board(users)
    document_count = seed_documents(users, today)
    session_count = seed_competence(users, today)
    risk_count = seed_risks(users, today)
    planning_count = seed_planning(users, today)
    supplier_count = seed_suppliers(users, today)
    equipment_count = seed_equipment(users, today)
    inspection_count = seed_inspections(users, today)
    return (
        f"Loaded {len(users)} demo users, {nc_count} nonconformities, {audit_count} audits, {review_count} reviews, "
        f"{responses} survey responses, {complaint_count} complaints, {certification_count} certifications, "
        f"{document_count} controlled documents, {session_count} training sessions, "
        f"{risk_count} risks with the context of the organisation, "
        f"{planning_count} objectives, opportunities and planned changes, "
        f"{supplier_count} suppliers, {equipment_count} measuring instruments and {inspection_count} inspections."
    )

"""What a user is reminded of (the daily digest), and the recurring audits created on schedule.

The digest reuses "My work" (``my_work.work_for``): the same queries, kept in SQL to the items
overdue or due within ``QMS_DIGEST_DAYS_AHEAD`` days.  Managers and quality officers also get every active
certification's deadlines whose reminder day has come (surveillance and recertification
audits, certificate expiry), not only those of certifications they own.
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import current_app, url_for
from sqlalchemy import select

from ..database import db
from ..models import AuditProgramme, User
from .audits import PLANNER_ROLES
from .certifications import reminders
from .my_work import WorkItem, work_for, work_for_many, work_order

log = logging.getLogger(__name__)

#: roles that see every certification's deadlines in their digest
CERTIFICATION_WATCHERS = frozenset({"manager", "quality_officer"})

KIND_LABELS = {
    "nc": "Nonconformity",
    "action": "Corrective action",
    "document": "Document",
    "audit": "Audit",
    "complaint": "Complaint",
    "survey": "Survey",
    "certification": "Certification",
    "review_action": "Review action",
    "training": "Training",
    "competence": "Competence",
    "risk": "Risk",
    "risk_action": "Risk treatment action",
    "context_review": "Context review",
    "context_issue": "Context issue",
    "interested_party": "Interested party",
    "objective": "Quality objective",
    "opportunity": "Opportunity",
    "change": "Change request",
    "supplier": "Supplier",
    "scar": "Supplier corrective action request",
    "equipment": "Measuring equipment",
    "oot_assessment": "Out-of-tolerance assessment",
    "inspection": "Inspection",
}
_ENDPOINTS = {
    "nc": ("nonconformities.detail", "nc_id"),
    "action": ("nonconformities.action_detail", "action_id"),
    "document": ("documents.detail", "document_id"),
    "audit": ("audits.detail", "audit_id"),
    "complaint": ("complaints.detail", "complaint_id"),
    "survey": ("surveys.detail", "survey_id"),
    "certification": ("certifications.detail", "certification_id"),
    "training": ("training.detail", "session_id"),
    "competence": ("competence.person", "user_id"),
    "risk": ("risks.detail", "risk_id"),
    "risk_action": ("risks.action_detail", "action_id"),
    "context_review": ("context.review_detail", "review_id"),
    "context_issue": ("context.issue", "issue_id"),
    "interested_party": ("context.party", "party_id"),
    "objective": ("objectives.detail", "objective_id"),
    "opportunity": ("opportunities.detail", "opportunity_id"),
    "change": ("changes.detail", "change_id"),
    "supplier": ("suppliers.detail", "supplier_id"),
    "scar": ("suppliers.scar_detail", "scar_id"),
    "equipment": ("equipment.detail", "equipment_id"),
    "oot_assessment": ("equipment.assessment", "assessment_id"),
    "inspection": ("inspections.detail", "inspection_id"),
}


def watched_certifications(today: dt.date) -> list[WorkItem]:
    """Every active certification's deadlines whose reminder day has come, as digest lines (the same
    for every watcher: a digest run works them out once)."""
    items = []
    for reminder in reminders(today):
        certification = reminder.certification
        items.append(
            WorkItem(
                "certification",
                certification.id,
                certification.reference,
                f"{reminder.what} — {certification.body.name}",
                certification.state_label,
                [f"Prepare: {reminder.what.lower()}"],
                reminder.due,
                reminder.days_left < 0,
            )
        )
    return items


def _horizon(today: dt.date, days_ahead: int | None) -> dt.date:
    if days_ahead is None:
        days_ahead = current_app.config.get("QMS_DIGEST_DAYS_AHEAD", 7)
    return today + dt.timedelta(days=days_ahead)


def digest_items(
    user: User, today: dt.date, days_ahead: int | None = None, *, watched: list[WorkItem] | None = None
) -> list[WorkItem]:
    """``user``'s overdue items and those due within ``days_ahead`` days, overdue first.

    ``watched``: ``watched_certifications(today)``, when the caller works it out once for many users.
    """
    return _with_watched(user, work_for(user, today, due_by=_horizon(today, days_ahead)), today, watched)


def digest_items_many(
    users: list[User], today: dt.date, days_ahead: int | None = None, *, watched: list[WorkItem] | None = None
) -> dict[int, list[WorkItem]]:
    """``digest_items`` of each user (by id) for a digest run: each user's own queries say what they may
    act on; the records found are loaded once per lifecycle for all of them (``my_work.work_for_many``)."""
    if watched is None and any(user.roles & CERTIFICATION_WATCHERS for user in users):
        watched = watched_certifications(today)
    found = work_for_many(users, today, due_by=_horizon(today, days_ahead))
    return {user.id: _with_watched(user, found.get(user.id, []), today, watched) for user in users}


def _with_watched(user: User, items: list[WorkItem], today: dt.date, watched: list[WorkItem] | None) -> list[WorkItem]:
    """A manager's or quality officer's digest also lists every certification's deadlines due."""
    if user.roles & CERTIFICATION_WATCHERS:
        seen = {(item.record_id, item.title) for item in items if item.kind == "certification"}
        for item in watched if watched is not None else watched_certifications(today):
            if (item.record_id, item.title) not in seen:
                items.append(item)
    items.sort(key=work_order)
    return items


def item_url(item: WorkItem, *, external: bool = True) -> str:
    """The address of ``item``'s record: absolute for e-mails (needs a request context; see
    ``mail_context``), relative for the My work page."""
    if item.kind == "review_action":
        kind = item.review_kind.replace("_", "-")
        return url_for("reviews.detail", kind=kind, review_id=item.record_id, _external=external) + "#actions"
    endpoint, argument = _ENDPOINTS[item.kind]
    return url_for(endpoint, **{argument: item.record_id}, _external=external)


def generate_recurring_audits(today: dt.date) -> dict[str, int]:
    """Create the missing audits of this year's and next year's programmes (idempotent).

    Each programme's audits are generated as the person who created the programme, through
    the usual service (permissions, audit trail); a programme whose creator is inactive or no
    longer a planner is skipped and counted, for an administrator to see.
    """
    programmes = list(
        db.session.scalars(
            select(AuditProgramme)
            .where(AuditProgramme.year.in_((today.year, today.year + 1)))
            .order_by(AuditProgramme.year, AuditProgramme.id)
        )
    )
    from .audits import generate_audits

    counts = {"programmes": len(programmes), "audits_created": 0, "programmes_skipped": 0}
    for programme in programmes:
        creator = programme.created_by
        if not creator.active or not creator.roles & PLANNER_ROLES:
            log.warning("programme %s skipped: its creator %s cannot plan audits", programme.id, creator.email)
            counts["programmes_skipped"] += 1
            continue
        counts["audits_created"] += len(generate_audits(programme, creator))
    return counts

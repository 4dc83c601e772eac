"""Figures for the dashboard and the "My work" list."""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from ..database import db
from ..models import (
    CHANNELS,
    NC_ENDED_STATES,
    NC_SOURCES,
    SEVERITY_LABELS,
    Actor,
    Audit,
    AuditTeamMember,
    Certification,
    Complaint,
    CorrectiveAction,
    Document,
    DocumentRevision,
    Nonconformity,
    Survey,
    User,
)
from .documents import pending_acknowledgements, visible_to
from .nonconformities import PLAN_ROLES, nc_is_open
from .workflow import as_actor, available_events_many

CLOSED_NC_STATES = NC_ENDED_STATES
AGE_BUCKETS = ((30, "0–30 days"), (60, "31–60 days"), (90, "61–90 days"), (None, "over 90 days"))


@dataclass
class Chart:
    title: str
    bars: list[tuple[str, int]]
    empty: str = "Nothing to show yet."

    @property
    def maximum(self) -> int:
        return max((value for _, value in self.bars), default=0)


@dataclass
class Figures:
    open_ncs: int
    open_major: int
    open_actions: int
    overdue_actions: int
    on_time_rate: float | None  # share of implemented actions done by their due date
    implemented_actions: int
    charts: list[Chart] = field(default_factory=list)
    customers: CustomerPanel | None = None
    #: supplier scores and calibration status (plain figures: services/suppliers.py and services/equipment.py)
    support: dict[str, Any] | None = None
    today: dt.date = field(default_factory=dt.date.today)

    @functools.cached_property
    def competence_coverage(self) -> tuple[int, int]:
        """(required competences met, required competences) over every active person (ISO 9001 7.2)."""
        from .competence import coverage

        return coverage(self.today)

    @functools.cached_property
    def objectives(self) -> Any:
        """The quality objectives panel: active objectives by status against their targets."""
        from .objectives import objective_panel

        return objective_panel(self.today)

    @functools.cached_property
    def certifications(self) -> list[CertificationRow]:
        """The certification panel, computed only when a page shows it (managers, quality officers)."""
        return certification_panel(self.today)


@dataclass
class CertificationRow:
    """One active certification on the dashboard: where it stands and what comes next."""

    certification: Certification
    next_deadline: str | None
    due: dt.date | None
    days_left: int | None
    score: int
    verdict: str


@dataclass
class CustomerPanel:
    """The customer's voice on the dashboard: the latest survey's figures and the open complaints."""

    survey: Survey | None
    responses: int
    nps: float | None
    nps_margin: float | None
    nps_n: int
    csi: float | None
    csi_margin: float | None
    csi_n: int
    open_complaints: int
    overdue_complaints: int
    by_channel: Chart


def dashboard_figures(today: dt.date) -> Figures:
    session = db.session
    is_open = nc_is_open()
    by_severity = dict(
        session.execute(
            select(Nonconformity.severity, func.count()).where(is_open).group_by(Nonconformity.severity)
        ).all()
    )
    by_source = session.execute(
        select(Nonconformity.source, func.count()).where(is_open).group_by(Nonconformity.source)
    ).all()
    by_process = session.execute(
        select(Nonconformity.process, func.count())
        .where(is_open, Nonconformity.process != "")
        .group_by(Nonconformity.process)
        .order_by(func.count().desc())
        .limit(8)
    ).all()
    top_clauses = _top_clauses(is_open)
    # ages counted in SQL: a bucket holds the NCs detected no more than its limit of days ago
    bucket = case(
        *[
            (Nonconformity.detected_on >= today - dt.timedelta(days=limit), label)
            for limit, label in AGE_BUCKETS
            if limit is not None
        ],
        else_=AGE_BUCKETS[-1][1],
    )
    ages: Counter[str] = Counter(
        dict(session.execute(select(bucket, func.count()).where(is_open).group_by(bucket)).all())
    )
    ca = CorrectiveAction
    open_actions = session.scalar(select(func.count()).where(ca.state.in_(ca.OPEN_STATES))) or 0
    overdue = session.scalar(select(func.count()).where(ca.state.in_(ca.OPEN_STATES), ca.due_date < today)) or 0
    # done on time: implemented no later than the due day (the date of the timestamp, as stored)
    in_time = case((func.date(ca.implemented_at) <= ca.due_date, 1), else_=0)
    implemented, on_time = session.execute(
        select(func.count(), func.coalesce(func.sum(in_time), 0)).where(ca.implemented_at.is_not(None))
    ).one()
    severity_order = [*SEVERITY_LABELS, None]
    figures = Figures(
        today=today,
        open_ncs=sum(by_severity.values()),
        open_major=by_severity.get("major", 0),
        open_actions=open_actions,
        overdue_actions=overdue,
        on_time_rate=(on_time / implemented) if implemented else None,
        implemented_actions=implemented,
        charts=[
            Chart(
                "Open nonconformities by severity",
                [
                    (SEVERITY_LABELS.get(s, "Not graded yet"), by_severity[s])
                    for s in severity_order
                    if s in by_severity
                ],
            ),
            Chart("Open nonconformities by source", [(NC_SOURCES.get(s, s), n) for s, n in by_source]),
            Chart("Open nonconformities by process (top 8)", list(by_process)),
            Chart("Open nonconformities by ISO 9001 clause (top 8)", top_clauses),
            Chart("Age of open nonconformities", [(label, ages[label]) for _, label in AGE_BUCKETS]),
        ],
    )
    figures.customers = customer_panel(today)
    figures.support = support_panel(today)
    return figures


def support_panel(today: dt.date) -> dict[str, Any]:
    """The supplier scores (8.4) and calibration status (7.1.5) shown on the dashboard."""
    from .equipment import status_counts
    from .suppliers import score_panel

    return {"suppliers": score_panel(), "calibration": status_counts(today)}


def _top_clauses(is_open: Any, limit: int = 8) -> list[tuple[str, int]]:
    """The clauses most cited by open NCs, counted in SQL over the JSON lists (most first, then by number)."""
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        refs = func.json_array_elements_text(Nonconformity.clause_refs).table_valued("value")
    else:
        refs = func.json_each(Nonconformity.clause_refs).table_valued("value")
    count = func.count()
    rows = session.execute(
        select(refs.c.value, count)
        .select_from(Nonconformity)
        .join(refs, sa.true())
        .where(is_open)
        .group_by(refs.c.value)
        .order_by(count.desc(), refs.c.value)
        .limit(limit)
    )
    return [(str(value), n) for value, n in rows]


def certification_panel(today: dt.date) -> list[CertificationRow]:
    """Each active certification: its state, next deadline with days left, and readiness score."""
    from .certifications import ACTIVE, organisation_facts, readiness, timeline

    certifications = db.session.scalars(
        select(Certification)
        .options(selectinload(Certification.body), selectinload(Certification.audits))
        .where(Certification.state.in_(ACTIVE))
        .order_by(Certification.id)
    ).all()
    rows = []
    facts = {}  # organisation-wide figures, counted once per standard rather than once per certification
    for certification in certifications:
        pending = [s for s in timeline(certification, today) if s.done_on is None and s.due is not None]
        step = min(pending, key=lambda s: s.due) if pending else None
        standard = certification.standard_identifier
        if standard not in facts:
            facts[standard] = organisation_facts(today, standard)
        result = readiness(certification, today, facts=facts[standard])
        rows.append(
            CertificationRow(
                certification,
                step.what if step else None,
                step.due if step else None,
                (step.due - today).days if step else None,
                result.score,
                result.verdict,
            )
        )
    return rows


#: the survey shown on the dashboard: the latest collecting or just closed, else the latest reported
PANEL_SURVEY_STATES = (("open", "closed"), ("analysed", "reported"))


def customer_panel(today: dt.date) -> CustomerPanel:
    from .surveys import survey_measures

    survey = None
    for states in PANEL_SURVEY_STATES:
        survey = db.session.scalar(select(Survey).where(Survey.state.in_(states)).order_by(Survey.id.desc()).limit(1))
        if survey is not None:
            break
    measures = survey_measures(survey) if survey is not None else None
    is_open = Complaint.state.in_(Complaint.OPEN_STATES)
    by_channel = db.session.execute(
        select(Complaint.channel, func.count()).where(is_open).group_by(Complaint.channel).order_by(func.count().desc())
    ).all()
    overdue = (
        db.session.scalar(
            select(func.count()).where(
                ((Complaint.state == "received") & (Complaint.acknowledge_due < today))
                | (is_open & (Complaint.resolve_due < today))
            )
        )
        or 0
    )
    return CustomerPanel(
        survey=survey,
        responses=measures.responses if measures else 0,
        nps=measures.nps.score if measures else None,
        nps_margin=measures.nps.margin if measures else None,
        nps_n=measures.nps.n if measures else 0,
        csi=measures.csi.score if measures else None,
        csi_margin=measures.csi.margin if measures else None,
        csi_n=measures.csi.n if measures else 0,
        open_complaints=sum(n for _, n in by_channel),
        overdue_complaints=overdue,
        by_channel=Chart(
            "Open complaints by channel", [(CHANNELS.get(c, c), n) for c, n in by_channel], "No open complaints."
        ),
    )


@dataclass
class WorkItem:
    kind: str
    record_id: int
    reference: str
    title: str
    state_label: str
    actions: list[str]
    due: dt.date | None
    overdue: bool
    #: for review actions: the kind of review the record_id belongs to (iso_change, org_change, management)
    review_kind: str = ""


def _nc_due(nc: Nonconformity) -> dt.date | None:
    if nc.state == "triaged":
        return nc.containment_due
    if nc.state == "actions_completed":
        return nc.verification_due
    return None


def work_for(user: User | Actor, today: dt.date) -> list[WorkItem]:
    """Everything ``user`` can act on now, overdue first, then by due date."""
    actor = as_actor(user)
    items: list[WorkItem] = []
    ncs = list(db.session.scalars(select(Nonconformity).where(Nonconformity.state.not_in(CLOSED_NC_STATES))))
    ncs_by_id = {nc.id: nc for nc in ncs}
    can_plan = bool(actor.roles & PLAN_ROLES)
    for nc_id, events in available_events_many(ncs, actor, today).items():
        allowed = [a.event.label for a in events if a.allowed]
        if can_plan and ncs_by_id[nc_id].state == "root_cause_identified":
            allowed.insert(0, "Add corrective action")  # planning is work even while the plan cannot be approved
        if allowed:
            nc = ncs_by_id[nc_id]
            due = _nc_due(nc)
            items.append(
                WorkItem("nc", nc.id, nc.reference, nc.title, nc.state_label, allowed, due, bool(due and due < today))
            )
    actions = list(
        db.session.scalars(
            select(CorrectiveAction).where(CorrectiveAction.state.in_(("planned", "in_progress", "implemented")))
        )
    )
    actions_by_id = {action.id: action for action in actions}
    for action_id, events in available_events_many(actions, actor, today).items():
        allowed = [a.event.label for a in events if a.allowed]
        if allowed:
            action = actions_by_id[action_id]
            items.append(
                WorkItem(
                    "action",
                    action.id,
                    action.reference,
                    action.title,
                    action.state_label,
                    allowed,
                    action.due_date,
                    action.is_overdue(today),
                )
            )
    revisions = list(
        db.session.scalars(
            select(DocumentRevision)
            .join(Document, Document.id == DocumentRevision.document_id)
            .where(DocumentRevision.state.in_(("draft", "in_review", "approved", "review_due")))
            .where(visible_to(actor))  # a restricted document's number and title only to those who may see it
            .options(selectinload(DocumentRevision.document))
        )
    )
    revisions_by_id = {revision.id: revision for revision in revisions}
    for revision_id, events in available_events_many(revisions, actor, today).items():
        allowed = [a.event.label for a in events if a.allowed]
        revision = revisions_by_id[revision_id]
        due = revision.document.next_review_due if revision.state == "review_due" else None
        if allowed:
            items.append(
                WorkItem(
                    "document",
                    revision.document_id,
                    f"{revision.document.number} rev {revision.label}",
                    revision.document.title,
                    revision.state_label,
                    allowed,
                    due,
                    bool(due and due < today),
                )
            )
    for receipt in pending_acknowledgements(actor):
        revision = receipt.revision
        items.append(
            WorkItem(
                "document",
                revision.document_id,
                f"{revision.document.number} rev {revision.label}",
                revision.document.title,
                "To read",
                ["Read and acknowledge"],
                receipt.due_date,
                receipt.is_overdue(today),
            )
        )
    items += _audit_work(actor, today)
    items += _customer_work(actor, today)
    items += _certification_work(actor, today)
    items += _review_work(actor, today)
    items += _training_work(actor, today)
    items += _risk_and_context_work(actor, today)
    items += planning_work(actor, today)
    items += _supplier_work(actor, today)
    items += _equipment_work(actor, today)
    items.sort(key=work_order)
    return items


def work_order(item: WorkItem) -> tuple[bool, dt.date, str]:
    """How work is listed: overdue first, then by due date (undated last), then by reference."""
    return (not item.overdue, item.due or dt.date.max, item.reference)


#: audit states in which the lead auditor and team have work to do
AUDIT_WORK_STATES = ("scheduled", "prepared", "in_progress")


def _audit_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """Audits the user leads or is on (scheduled, prepared, in progress), and reports awaiting approval."""
    on_team = select(AuditTeamMember.audit_id).where(AuditTeamMember.user_id == actor.id)
    mine = (Audit.lead_auditor_id == actor.id) | Audit.id.in_(on_team)
    condition = Audit.state.in_(AUDIT_WORK_STATES) & mine
    if "manager" in actor.roles:
        condition = condition | (Audit.state == "report_drafted")
    audits = list(db.session.scalars(select(Audit).where(condition)))
    by_id = {audit.id: audit for audit in audits}
    items = []
    for audit_id, events in available_events_many(audits, actor, today).items():
        audit = by_id[audit_id]
        allowed = [a.event.label for a in events if a.allowed]
        if audit.state == "report_drafted":
            if not allowed:
                continue  # e.g. the manager led this audit: someone else approves it
            due = audit.actual_end or audit.planned_end
        else:
            if audit.state == "in_progress" and actor.id in audit.auditor_ids:
                allowed.insert(0, "Answer the checklist")
            if not allowed:
                allowed = ["Take part in the audit"]
            due = audit.planned_end if audit.state == "in_progress" else audit.planned_start
        items.append(
            WorkItem(
                "audit",
                audit.id,
                audit.reference,
                audit.title,
                audit.state_label,
                allowed,
                due,
                bool(due and due < today),
            )
        )
    return items


#: survey states in which the owner has work: collecting responses, or closed and waiting for analysis
SURVEY_WORK_STATES = ("open", "closed")


def _customer_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """Open complaints the user owns (overdue first), their surveys to run or analyse, reports to approve."""
    items = []
    complaints = list(
        db.session.scalars(
            select(Complaint).where(Complaint.owner_id == actor.id, Complaint.state.in_(Complaint.OPEN_STATES))
        )
    )
    by_id = {complaint.id: complaint for complaint in complaints}
    for complaint_id, events in available_events_many(complaints, actor, today).items():
        complaint = by_id[complaint_id]
        allowed = [a.event.label for a in events if a.allowed] or ["Follow up the linked nonconformity"]
        due = complaint.acknowledge_due if complaint.state == "received" else complaint.resolve_due
        late = complaint.acknowledgement_overdue(today) or complaint.resolution_overdue(today)
        items.append(
            WorkItem(
                "complaint",
                complaint.id,
                complaint.reference,
                complaint.summary,
                complaint.state_label,
                allowed,
                due,
                late,
            )
        )
    condition = (Survey.owner_id == actor.id) & Survey.state.in_(SURVEY_WORK_STATES)
    if "manager" in actor.roles:
        condition = condition | (Survey.state == "analysed")
    surveys = list(db.session.scalars(select(Survey).where(condition)))
    surveys_by_id = {survey.id: survey for survey in surveys}
    for survey_id, events in available_events_many(surveys, actor, today).items():
        survey = surveys_by_id[survey_id]
        allowed = [a.event.label for a in events if a.allowed]
        if survey.state == "analysed" and not allowed:
            continue
        if survey.state == "open" and not allowed:
            allowed = ["Collect responses"]
        due = survey.closes_on if survey.state == "open" else None
        items.append(
            WorkItem(
                "survey",
                survey.id,
                survey.reference,
                survey.title,
                survey.state_label,
                allowed,
                due,
                bool(due and due < today),
            )
        )
    return items


def _certification_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """The certification deadlines whose reminder has come, for the certifications the user owns."""
    from .certifications import reminders

    return [
        WorkItem(
            "certification",
            reminder.certification.id,
            reminder.certification.reference,
            f"{reminder.what} — {reminder.certification.body.name}",
            reminder.certification.state_label,
            [f"Prepare: {reminder.what.lower()}"],
            reminder.due,
            reminder.days_left < 0,
        )
        for reminder in reminders(today, owner_id=actor.id)
    ]


def _review_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """The open actions of reviews (ISO change, organisational change, management review) the user owns."""
    from .reviews import open_actions_for, reviews_of

    items = []
    actions = open_actions_for(actor)
    reviews = reviews_of(actions)
    for action in actions:
        review = reviews.get((action.review_kind, action.review_id))
        if review is None:
            continue
        items.append(
            WorkItem(
                "review_action",
                review.id,
                review.reference,
                action.title,
                "Open action",
                ["Complete the action"],
                action.due_date,
                action.is_overdue(today),
                review_kind=action.review_kind,
            )
        )
    return items


def _training_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """Sessions to hold and evaluate, training to attend, open needs and expiring competences."""
    from .training import training_work

    return training_work(actor, today)


def _risk_and_context_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """Risks to rate, treat or review, risk treatment actions, and context reviews and items due."""
    from . import context, risks

    return risks.work_items(actor, today) + context.work_items(actor, today)


def planning_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """Planning (ISO 9001 6.2, 6.1.3, 6.3): the values due of the objectives the user owns, objectives
    past their deadline, pilots ending, the committee's decisions, change tasks, approvals and
    post-change reviews due."""
    from ..models import ChangeRequest, ChangeTask, Opportunity, QualityObjective
    from ..models.opportunities import committee_members
    from .objectives import last_measured

    items: list[WorkItem] = []
    objectives = list(
        db.session.scalars(
            select(QualityObjective).where(QualityObjective.owner_id == actor.id, QualityObjective.state == "active")
        )
    )
    last = last_measured([o.id for o in objectives])
    for o in objectives:
        if o.deadline < today:
            items.append(
                WorkItem(
                    "objective",
                    o.id,
                    o.reference,
                    o.title,
                    o.state_label,
                    ["Evaluate: achieved or missed"],
                    o.deadline,
                    True,
                )
            )
            continue
        due = o.next_measurement_due(last.get(o.id))
        if due is not None:
            items.append(
                WorkItem(
                    "objective",
                    o.id,
                    o.reference,
                    f"{o.kpi_name}: record the value",
                    o.state_label,
                    ["Record the value"],
                    due,
                    due < today,
                )
            )
    if "manager" in actor.roles:  # drafts whose plan is written wait for a manager's approval
        drafts = list(db.session.scalars(select(QualityObjective).where(QualityObjective.state == "draft")))
        by_id = {o.id: o for o in drafts}
        for objective_id, events in available_events_many(drafts, actor, today).items():
            allowed = [a.event.label for a in events if a.allowed]
            if allowed:
                o = by_id[objective_id]
                items.append(WorkItem("objective", o.id, o.reference, o.title, o.state_label, allowed, None, False))
    mine = select(committee_members.c.committee_id).where(committee_members.c.user_id == actor.id)
    opportunities = db.session.scalars(
        select(Opportunity).where(
            ((Opportunity.owner_id == actor.id) & (Opportunity.state == "piloting"))
            | (Opportunity.committee_id.in_(mine) & Opportunity.state.in_(("evaluated", "piloting")))
        )
    )
    for o in opportunities:
        if o.state == "evaluated":
            items.append(
                WorkItem(
                    "opportunity",
                    o.id,
                    o.reference,
                    o.title,
                    o.state_label,
                    ["Committee: decide on a pilot"],
                    None,
                    False,
                )
            )
        else:
            items.append(
                WorkItem(
                    "opportunity",
                    o.id,
                    o.reference,
                    f"Pilot ends: {o.title}",
                    o.state_label,
                    ["Adopt or drop on the pilot's results"],
                    o.pilot_end,
                    o.pilot_overdue(today),
                )
            )
    reviewer = bool(actor.roles & {"manager", "quality_officer"})
    condition = (ChangeRequest.owner_id == actor.id) & (ChangeRequest.state == "post_review")
    if reviewer:
        condition = condition | (ChangeRequest.state == "post_review")
    if "manager" in actor.roles:
        condition = condition | (ChangeRequest.state == "submitted")
    for c in db.session.scalars(select(ChangeRequest).where(condition)):
        if c.state == "submitted":
            items.append(WorkItem("change", c.id, c.reference, c.title, c.state_label, ["Approve"], None, False))
        else:
            items.append(
                WorkItem(
                    "change",
                    c.id,
                    c.reference,
                    f"Post-change review: {c.title}",
                    c.state_label,
                    ["Review the change"],
                    c.review_due,
                    c.review_overdue(today),
                )
            )
    tasks = db.session.execute(
        select(ChangeTask, ChangeRequest.reference)
        .join(ChangeRequest)
        .where(
            ChangeTask.owner_id == actor.id,
            ChangeTask.status == "open",
            ChangeRequest.state.in_(("draft", "submitted", "approved", "implementing")),
        )
    )
    for task, reference in tasks:
        items.append(
            WorkItem(
                "change",
                task.change_id,
                reference,
                task.title,
                "Open task",
                ["Complete the task"],
                task.due_date,
                task.is_overdue(today),
            )
        )
    return items


#: how far ahead supplier evaluations and calibrations come onto My work
SUPPORT_HORIZON_DAYS = 30


def _supplier_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """Evaluations due on suppliers the user owns, status proposals and SCAR answers to act on."""
    from ..models import APPROVED_STATES, Scar, Supplier
    from .suppliers import EVALUATE_ROLES

    horizon = today + dt.timedelta(days=SUPPORT_HORIZON_DAYS)
    evaluates = bool(actor.roles & EVALUATE_ROLES)
    mine = Supplier.owner_id == actor.id
    if "quality_officer" in actor.roles:
        mine = mine | Supplier.owner_id.is_(None)
    due = Supplier.state.in_((*APPROVED_STATES, "under_evaluation", "suspended")) & (
        Supplier.next_evaluation_due <= horizon
    )
    condition = mine & due
    if evaluates:
        condition = condition | Supplier.proposed_state.is_not(None)
    items = []
    for supplier in db.session.scalars(
        select(Supplier).where(condition) if evaluates else select(Supplier).where(mine & due)
    ):
        actions = []
        if supplier.next_evaluation_due is not None and supplier.next_evaluation_due <= horizon:
            actions.append("Evaluate the supplier")
        if evaluates and supplier.proposed_state is not None:
            actions.append("Decide on the proposed status change")
        due_on = supplier.next_evaluation_due if "Evaluate the supplier" in actions else None
        items.append(
            WorkItem(
                "supplier",
                supplier.id,
                supplier.reference,
                supplier.name,
                supplier.state_label,
                actions,
                due_on,
                bool(due_on and due_on < today),
            )
        )
    scars = list(
        db.session.scalars(
            select(Scar).where(Scar.state.in_(("answered", "accepted"))).options(selectinload(Scar.supplier))
        )
    )
    by_id = {scar.id: scar for scar in scars}
    for scar_id, events in available_events_many(scars, actor, today).items():
        allowed = [a.event.label for a in events if a.allowed]
        if not allowed:
            continue
        scar = by_id[scar_id]
        due_on = (
            scar.verification_due if scar.state == "accepted" else scar.answered_at.date() if scar.answered_at else None
        )
        items.append(
            WorkItem(
                "scar",
                scar.id,
                scar.reference,
                f"{scar.supplier.name}: {'review the answer' if scar.state == 'answered' else 'verify effectiveness'}",
                scar.state_label,
                allowed,
                due_on,
                bool(scar.state == "accepted" and due_on and due_on < today),
            )
        )
    return items


def _equipment_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """Calibrations due or overdue on instruments the user owns, quarantined ones, open impact assessments."""
    from ..models import Equipment, OotAssessment

    horizon = today + dt.timedelta(days=SUPPORT_HORIZON_DAYS)
    mine = Equipment.owner_id == actor.id
    if "quality_officer" in actor.roles:
        mine = mine | Equipment.owner_id.is_(None)
    due = (Equipment.state == "in_service") & (
        Equipment.next_calibration_due.is_(None) | (Equipment.next_calibration_due <= horizon)
    )
    items = []
    for equipment in db.session.scalars(select(Equipment).where(mine & (due | (Equipment.state == "quarantined")))):
        quarantined = equipment.state == "quarantined"
        due_on = None if quarantined else equipment.next_calibration_due
        items.append(
            WorkItem(
                "equipment",
                equipment.id,
                equipment.identifier,
                equipment.name,
                equipment.calibration_status_label(today),
                ["Calibrate, repair or retire it"] if quarantined else ["Calibrate"],
                due_on,
                bool(not quarantined and (due_on is None or due_on < today)),
            )
        )
    assessments = list(
        db.session.scalars(
            select(OotAssessment).where(OotAssessment.state == "open").options(selectinload(OotAssessment.equipment))
        )
    )
    by_id = {a.id: a for a in assessments}
    for assessment_id, events in available_events_many(assessments, actor, today).items():
        allowed = [a.event.label for a in events if a.allowed]
        if allowed:
            assessment = by_id[assessment_id]
            items.append(
                WorkItem(
                    "oot_assessment",
                    assessment.id,
                    assessment.reference,
                    f"{assessment.equipment.identifier} out of tolerance: assess the impact",
                    assessment.state_label,
                    allowed,
                    assessment.window_end,
                    False,
                )
            )
    items += _inspection_work(actor, today)
    return items


def _inspection_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """Inspections waiting for a review the user may give (not their own), rejected ones first."""
    from ..models import Inspection

    if not actor.roles & {"quality_officer", "manager"}:
        return []
    waiting = list(
        db.session.scalars(
            select(Inspection)
            .where(Inspection.state == "recorded", Inspection.inspected_by_id != actor.id)
            .order_by(Inspection.inspected_on, Inspection.id)
            .limit(200)
        )
    )
    by_id = {i.id: i for i in waiting}
    items = []
    for inspection_id, events in available_events_many(waiting, actor, today).items():
        allowed = [a.event.label for a in events if a.allowed and a.name == "review"]  # voiding is not work
        if allowed:
            inspection = by_id[inspection_id]
            items.append(
                WorkItem(
                    "inspection",
                    inspection.id,
                    inspection.reference,
                    f"{inspection.kind_label} inspection of {inspection.item}: {inspection.result_label.lower()}",
                    inspection.state_label,
                    allowed,
                    inspection.inspected_on + dt.timedelta(days=7),
                    inspection.inspected_on + dt.timedelta(days=7) < today,
                )
            )
    return items

"""Figures for the dashboard (My work is in ``my_work.py``)."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..database import db
from ..models import (
    CHANNELS,
    NC_SOURCES,
    SEVERITY_LABELS,
    Certification,
    Complaint,
    Survey,
)
from .dashboard_counts import read_counts

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


def dashboard_figures(today: dt.date, *, panels: bool = True) -> Figures:
    """The NC and action figures, summed from the running counts (``dashboard_counts``): the same
    few hundred rows at 10,000 or 1,000,000 NCs, exact as of the moment they are read; with
    ``panels``, the customer and support panels too (those count their records: see ``dashboard_panels``)."""
    counts = read_counts(db.session.connection(), today, [limit for limit, _ in AGE_BUCKETS if limit is not None])
    by_severity = {severity or None: n for severity, n in counts.of("nc.severity").items()}
    by_source = list(counts.of("nc.source").items())
    by_process = list(counts.of("nc.process").items())[:8]  # most first, then by name
    top_clauses = list(counts.of("nc.clause").items())[:8]
    ages = {label: counts.ages[limit] for limit, label in AGE_BUCKETS}
    implemented_counts = counts.of("action.implemented")
    on_time = implemented_counts.get("on_time", 0)
    implemented = on_time + implemented_counts.get("late", 0)
    open_actions, overdue = counts.open_actions, counts.overdue_actions
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
    if panels:
        figures.customers = customer_panel(today)
        figures.support = support_panel(today)
    return figures


def support_panel(today: dt.date) -> dict[str, Any]:
    """The supplier scores (8.4) and calibration status (7.1.5) shown on the dashboard."""
    from .equipment import status_counts
    from .suppliers import score_panel

    return {"suppliers": score_panel(), "calibration": status_counts(today)}


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

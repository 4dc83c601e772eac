"""Each 9.3.2 input of a management review, designed for a reader: headline figures with their units,
then the tables that matter with plain-language columns and links to the records.

The compiled figures are stored as JSON when the inputs are compiled (``services/reviews/inputs.py``);
one designer per input turns them into a ``DesignedInput`` that the web page
(``templates/reviews/_input.html``) and the minutes PDF (``reports/reviews.py``) both draw, so the
two read alike. A designer reads its figures with defaults, so that figures stored by an older
compilation still draw; an input no designer knows falls back to the generic tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workflows import get_lifecycle

from ..labels import label
from ..models import ACTION_STATES, OUTPUT_CATEGORIES, RESULTS, SEVERITY_LABELS
from ..models.complaints import CHANNELS

DASH = "—"


@dataclass(frozen=True)
class Figure:
    """A headline number: "6 nonconformities raised"; ``alert`` draws it in the warning colour."""

    label: str
    value: str
    note: str = ""
    alert: bool = False


@dataclass(frozen=True)
class Cell:
    """A table cell; a link to a record's page when ``endpoint`` is set (the PDF prints the text)."""

    text: str
    endpoint: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    alert: bool = False


@dataclass(frozen=True)
class Table:
    caption: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    #: what the table says when it has no rows
    empty: str = "None in the period."


@dataclass(frozen=True)
class DesignedInput:
    """One input drawn for a reader: a sentence, the headline figures, the tables."""

    summary: str
    figures: Sequence[Figure] = ()
    tables: Sequence[Table] = ()


# --- small helpers ---------------------------------------------------------------------------


def _n(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _count(value: Any, one: str, many: str | None = None) -> str:
    n = _n(value)
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _percent(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
        return f"{value:.1f}".removesuffix(".0") + " %"
    return DASH


def _number(value: Any, digits: int = 1) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
        return f"{value:.{digits}f}".removesuffix(".0") if isinstance(value, float) else str(value)
    return DASH


def _signed(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
        return f"{value:+.0f}"
    return DASH


def _day(value: Any) -> str:
    if not value:
        return DASH
    try:
        return dt.date.fromisoformat(str(value)[:10]).strftime("%d %b %Y").lstrip("0")
    except ValueError:
        return str(value)


def _text(value: Any) -> str:
    if value is None or value == "":
        return DASH
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def _state(lifecycle: str, value: Any) -> str:
    try:
        return get_lifecycle(lifecycle).state(str(value)).label
    except (KeyError, ValueError, LookupError):
        return label(value)


def _rows(value: Any) -> list[Mapping[str, Any]]:
    return [row for row in value if isinstance(row, Mapping)] if isinstance(value, list) else []


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _link(text: Any, endpoint: str, key: str, record_id: Any, **extra: Any) -> Cell:
    if isinstance(record_id, int) and not isinstance(record_id, bool):
        return Cell(_text(text), endpoint, {key: record_id, **extra})
    return Cell(_text(text))


def _by_severity(counts: Any) -> str:
    counts = _map(counts)
    parts = [f"{_n(counts.get(key))} {words.lower()}" for key, words in SEVERITY_LABELS.items()]
    if _n(counts.get("ungraded")):
        parts.append(f"{_n(counts.get('ungraded'))} not yet graded")
    return ", ".join(parts)


def _tally(caption: str, counts: Any, words: Callable[[str], str], what: str) -> Table:
    counts = _map(counts)
    rows = [[Cell(words(key)), Cell(_text(value))] for key, value in counts.items() if _n(value)]
    return Table(caption, (what, "Number"), rows)


# --- one designer per input ------------------------------------------------------------------


def _previous_actions(c: Mapping[str, Any]) -> DesignedInput:
    actions = _rows(c.get("actions"))
    rows = [
        [
            Cell(_text(a.get("title"))),
            Cell(_text(a.get("review"))),
            Cell(OUTPUT_CATEGORIES.get(str(a.get("category")), label(a.get("category")))),
            Cell(_text(a.get("owner"))),
            Cell(_day(a.get("due_date")), alert=bool(a.get("overdue"))),
            Cell(
                ACTION_STATES.get(str(a.get("status")), label(a.get("status")))
                + (" — overdue" if a.get("overdue") else "")
            ),
            Cell(_text(a.get("outcome"))),
        ]
        for a in actions
    ]
    return DesignedInput(
        f"{_count(len(actions), 'action')} from earlier management reviews"
        f" {'was' if len(actions) == 1 else 'were'} open during the period or finished in it.",
        (
            Figure("Still open", _text(_n(c.get("open")))),
            Figure("Overdue", _text(_n(c.get("overdue"))), "past their due date", alert=_n(c.get("overdue")) > 0),
            Figure("Done", _text(_n(c.get("done")))),
            Figure("Cancelled", _text(_n(c.get("cancelled")))),
        ),
        (
            Table(
                "Actions from earlier reviews",
                ("Action", "Decided in", "Kind", "Owner", "Due", "Status", "Outcome"),
                rows,
                "No action from an earlier review was open or finished in the period.",
            ),
        ),
    )


def _context_changes(c: Mapping[str, Any]) -> DesignedInput:
    rows = []
    for r in _rows(c.get("reviews")):
        iso = r.get("kind") == "iso_change"
        rows.append(
            [
                _link(
                    r.get("reference"),
                    "reviews.detail",
                    "review_id",
                    r.get("id"),
                    kind=str(r.get("kind", "")).replace("_", "-"),
                ),
                Cell(_text(r.get("title"))),
                Cell("Change of ISO standard" if iso else "Organisational change"),
                Cell(_state("iso_change_review" if iso else "org_change_review", r.get("state"))),
                Cell(_day(r.get("opened_on"))),
                Cell(_day(r.get("closed_on")) if r.get("closed_on") else "Still open"),
            ]
        )
    return DesignedInput(
        "Changes in the external and internal issues, as reviewed through change reviews opened or closed in the"
        " period.",
        (
            Figure("Change reviews opened", _text(_n(c.get("opened")))),
            Figure("Change reviews closed", _text(_n(c.get("closed")))),
            Figure("Organisational changes", _text(_n(c.get("org_changes")))),
            Figure("Changes of ISO standard", _text(_n(c.get("iso_changes")))),
        ),
        (
            Table(
                "Change reviews",
                ("Review", "Title", "Kind", "Stage", "Opened", "Closed"),
                rows,
                "No change review was opened or closed in the period.",
            ),
        ),
    )


def _customer_satisfaction(c: Mapping[str, Any]) -> DesignedInput:
    complaints = _map(c.get("complaints"))
    surveys = [
        [
            _link(s.get("reference"), "surveys.detail", "survey_id", s.get("id")),
            Cell(_text(s.get("title"))),
            Cell(_text(s.get("service")) if s.get("service") else "All services"),
            Cell(_text(_n(s.get("responses")))),
            Cell(f"{_signed(s.get('nps'))} (from {_count(s.get('nps_n'), 'answer')})"),
            Cell(f"{_number(s.get('csi'))} of 100 (from {_count(s.get('csi_n'), 'answer')})"),
        ]
        for s in _rows(c.get("surveys"))
    ]
    return DesignedInput(
        "What customers told us: satisfaction surveys answered in the period, and the complaints received.",
        (
            Figure("Survey responses", _text(_n(c.get("responses")))),
            Figure("Complaints received", _text(_n(complaints.get("received")))),
            Figure("Complaints still open", _text(_n(complaints.get("open")))),
            Figure(
                "Complaints overdue",
                _text(_n(complaints.get("overdue"))),
                "past the date promised for a resolution",
                alert=_n(complaints.get("overdue")) > 0,
            ),
        ),
        (
            Table(
                "Satisfaction surveys",
                (
                    "Survey",
                    "Title",
                    "Service",
                    "Responses",
                    "Net Promoter Score (−100 to +100)",
                    "Customer Satisfaction Index",
                ),
                surveys,
                "No survey was answered in the period.",
            ),
            _tally(
                "Complaints by channel",
                complaints.get("by_channel"),
                lambda k: CHANNELS.get(k, label(k)),
                "Channel",
            ),
            _tally("Complaints by stage", complaints.get("by_state"), lambda k: _state("complaint", k), "Stage"),
        ),
    )


def _quality_objectives(c: Mapping[str, Any]) -> DesignedInput:
    rows = [
        [
            _link(o.get("reference"), "objectives.detail", "objective_id", o.get("id")),
            Cell(_text(o.get("title"))),
            Cell(_text(o.get("process"))),
            Cell(_text(o.get("target"))),
            Cell(_day(o.get("deadline"))),
            Cell(_text(o.get("latest"))),
            Cell(_text(o.get("forecast"))),
            Cell(_text(o.get("status")), alert=str(o.get("status", "")).lower() in ("off track", "missed")),
        ]
        for o in _rows(c.get("rows"))
    ]
    return DesignedInput(
        "How far the quality objectives in force during the period were met, each against its target.",
        (
            Figure("Objectives", _text(_n(c.get("objectives")))),
            Figure("Achieved", _text(_n(c.get("achieved")))),
            Figure("Met of those evaluated", _percent(c.get("percent_met_of_evaluated"))),
            Figure("On track", _text(_n(c.get("on_track")))),
            Figure("At risk", _text(_n(c.get("at_risk"))), alert=_n(c.get("at_risk")) > 0),
            Figure(
                "Off track or missed",
                _text(_n(c.get("off_track")) + _n(c.get("missed"))),
                alert=_n(c.get("off_track")) + _n(c.get("missed")) > 0,
            ),
        ),
        (
            Table(
                "Quality objectives",
                ("Objective", "Title", "Process", "Target", "Deadline", "Latest result", "Forecast", "Status"),
                rows,
                "No quality objective was in force in the period.",
            ),
        ),
    )


def _process_performance(c: Mapping[str, Any]) -> DesignedInput:
    rows = [
        [
            Cell("No process named" if p.get("process") in (None, "", "(no process)") else _text(p.get("process"))),
            Cell(_text(_n(p.get("raised")))),
            Cell(_text(_n(p.get("open")))),
            Cell(_by_severity(p.get("by_severity"))),
        ]
        for p in _rows(c.get("processes"))
    ]
    return DesignedInput(
        "How the processes performed, read from the nonconformities raised against each in the period.",
        (Figure("Nonconformities raised", _text(_n(c.get("raised"))), "in the period"),),
        (
            Table(
                "Nonconformities by process",
                ("Process", "Raised", "Still open", "By severity"),
                rows,
                "No nonconformity was raised in the period.",
            ),
        ),
    )


def _nonconformities(c: Mapping[str, Any]) -> DesignedInput:
    actions = _map(c.get("corrective_actions"))
    rows = [
        [
            Cell("Raised in the period"),
            Cell(_text(_n(c.get("raised")))),
            Cell(_by_severity(c.get("raised_by_severity"))),
        ],
        [
            Cell("Closed in the period"),
            Cell(_text(_n(c.get("closed")))),
            Cell(_by_severity(c.get("closed_by_severity"))),
        ],
        [
            Cell("Open at the end of the period"),
            Cell(_text(_n(c.get("open")))),
            Cell(_by_severity(c.get("open_by_severity"))),
        ],
        [Cell("Rejected (not a nonconformity)"), Cell(_text(_n(c.get("rejected")))), Cell(DASH)],
    ]
    return DesignedInput(
        "Nonconformities raised, closed and still open, and how the corrective actions kept their dates.",
        (
            Figure("Nonconformities raised", _text(_n(c.get("raised")))),
            Figure("Still open", _text(_n(c.get("open")))),
            Figure("Corrective actions open", _text(_n(actions.get("open")))),
            Figure(
                "Corrective actions overdue",
                _text(_n(actions.get("overdue"))),
                alert=_n(actions.get("overdue")) > 0,
            ),
            Figure(
                "Completed on time",
                _percent(actions.get("on_time_percent")),
                f"{_n(actions.get('completed_on_time'))} of {_count(actions.get('completed'), 'completed action')}",
            ),
        ),
        (Table("Nonconformities", ("", "Number", "By severity"), rows),),
    )


def _monitoring_results(c: Mapping[str, Any]) -> DesignedInput:
    coverage = _map(c.get("audit_coverage"))
    training = _map(c.get("training_effectiveness"))
    figures = [
        Figure(
            "Documents overdue for review",
            _text(_n(c.get("documents_overdue_for_review"))),
            alert=_n(c.get("documents_overdue_for_review")) > 0,
        )
    ]
    if coverage:
        figures.append(
            Figure(
                f"Audit programme coverage {_text(coverage.get('year'))}",
                _percent(coverage.get("percent_audited")),
                f"{_n(coverage.get('audited'))} of "
                f"{_count(coverage.get('relevant'), 'process and clause pair')} audited,"
                f" {_n(coverage.get('planned'))} planned",
            )
        )
    if training:
        figures += [
            Figure(
                "Training found effective",
                _percent(training.get("effective_percent")),
                f"{_n(training.get('attendees_effective'))} of "
                f"{_count(training.get('attendees_evaluated'), 'attendee')} evaluated,"
                f" {_day(training.get('from'))} to {_day(training.get('to'))}",
            ),
            Figure("Required competences met", _text(training.get("required_competences_met"))),
            Figure("Open training needs", _text(_n(training.get("open_training_needs")))),
        ]
    tables = [
        Table(
            "Documents overdue for review",
            ("Document", "Title", "Review was due"),
            [
                [
                    _link(d.get("number"), "documents.detail", "document_id", d.get("id")),
                    Cell(_text(d.get("title"))),
                    Cell(_day(d.get("next_review_due")), alert=True),
                ]
                for d in _rows(c.get("documents"))
            ],
            "No document is overdue for review.",
        )
    ]
    uncovered = coverage.get("uncovered_clauses") if coverage else None
    if isinstance(uncovered, list) and uncovered:
        tables.append(
            Table(
                "Clauses no audit covers yet",
                ("Clause",),
                [[Cell(_text(clause))] for clause in uncovered],
            )
        )
    if training:
        tables.append(
            Table(
                "Training sessions evaluated",
                ("Session", "Evaluated on", "Attendees evaluated", "Found effective"),
                [
                    [
                        _link(s.get("reference") or s.get("title"), "training.detail", "session_id", s.get("id")),
                        Cell(_day(s.get("evaluated_on"))),
                        Cell(_text(s.get("evaluated", s.get("attendees_evaluated")))),
                        Cell(_text(s.get("effective", s.get("attendees_effective")))),
                    ]
                    for s in _rows(training.get("sessions"))
                ],
                "No training session was evaluated in the twelve months to the end of the period.",
            )
        )
    return DesignedInput(
        "What monitoring and measurement showed: documents kept under review, how much of the QMS the audit"
        " programme covered, and whether training worked.",
        figures,
        tables,
    )


def _audit_results(c: Mapping[str, Any]) -> DesignedInput:
    results = _map(c.get("checklist_results"))
    findings = sum(_n(results.get(key)) for key in ("major", "minor", "observation"))
    audits = [
        [
            _link(a.get("reference"), "audits.detail", "audit_id", a.get("id")),
            Cell(_text(a.get("title"))),
            Cell(_day(a.get("held_on"))),
            Cell(_state("internal_audit", a.get("state"))),
        ]
        for a in _rows(c.get("audits"))
    ]
    answers = [
        [Cell(RESULTS.get(key, "Not answered" if key == "unanswered" else label(key))), Cell(_text(value))]
        for key, value in results.items()
        if _n(value)
    ]
    grades = [
        [Cell(_text(g.get("label") or label(g.get("grade")))), Cell(_text(_n(g.get("count"))))]
        for g in _rows(c.get("findings_by_grade"))
    ]
    return DesignedInput(
        "What the internal audits held in the period found, and the findings of external audits.",
        (
            Figure("Internal audits held", _text(_n(c.get("internal_audits")))),
            Figure(
                "Findings raised", _text(findings), "major, minor and observations", alert=_n(results.get("major")) > 0
            ),
            Figure("Opportunities for improvement", _text(_n(results.get("ofi")))),
            Figure("External audits", _text(_n(c.get("external_audits")))),
            Figure("External findings", _text(_n(c.get("external_findings")))),
        ),
        (
            Table(
                "Internal audits held",
                ("Audit", "Title", "Held on", "Stage"),
                audits,
                "No internal audit was held in the period.",
            ),
            Table("Checklist answers", ("Answer", "Questions"), answers, "No checklist answer in the period."),
            Table(
                "External findings by grade", ("Grade", "Findings"), grades, "No external audit finding in the period."
            ),
        ),
    )


def _external_providers(c: Mapping[str, Any]) -> DesignedInput:
    statuses = _map(c.get("suppliers_by_status"))
    status_rows = [[Cell(_state("supplier", key)), Cell(_text(value))] for key, value in statuses.items() if _n(value)]
    ncs = [
        [
            _link(nc.get("reference"), "nonconformities.detail", "nc_id", nc.get("id")),
            Cell(_text(nc.get("title"))),
            Cell(SEVERITY_LABELS.get(str(nc.get("severity")), "Not yet graded")),
            Cell(_state("nonconformity", nc.get("state"))),
            Cell(_day(nc.get("detected_on"))),
        ]
        for nc in _rows(c.get("nonconformities"))
    ]
    lowest = [
        [
            Cell(_text(e.get("supplier"))),
            Cell(_text(e.get("reference"))),
            Cell(f"{_number(e.get('score'))} of 100"),
            Cell(_day(e.get("period_end"))),
        ]
        for e in _rows(c.get("lowest_scores"))
    ]
    return DesignedInput(
        "How the external providers performed: their evaluations, deliveries, corrective action requests and the"
        " nonconformities raised against them.",
        (
            Figure("Evaluations", _text(_n(c.get("evaluations")))),
            Figure(
                "Average score",
                f"{_number(c.get('average_score'))} of 100" if c.get("average_score") is not None else DASH,
            ),
            Figure(
                "Deliveries on time",
                _percent(c.get("on_time_rate")),
                f"of {_count(c.get('deliveries'), 'delivery', 'deliveries')}",
            ),
            Figure(
                "Corrective action requests open",
                _text(_n(c.get("requests_open"))),
                f"{_n(c.get('requests_verified'))} verified of {_n(c.get('corrective_action_requests'))}",
            ),
            Figure(
                "Evaluations overdue",
                _text(_n(c.get("evaluations_overdue"))),
                alert=_n(c.get("evaluations_overdue")) > 0,
            ),
            Figure("Supplier nonconformities", _text(_n(c.get("raised"))), f"{_n(c.get('open'))} still open"),
        ),
        (
            Table("Suppliers by status", ("Status", "Suppliers"), status_rows, "No supplier is registered."),
            Table(
                "Lowest evaluation scores",
                ("Supplier", "Evaluation", "Score", "Period ending"),
                lowest,
                "No evaluation in the period.",
            ),
            Table(
                "Nonconformities of external providers",
                ("Nonconformity", "Title", "Severity", "Stage", "Detected on"),
                ncs,
                "No nonconformity was raised against an external provider in the period.",
            ),
        ),
    )


def _risks_opportunities(c: Mapping[str, Any]) -> DesignedInput:
    levels = _map(c.get("by_level"))
    treatments = [
        [
            Cell(_text(t.get("risk"))),
            Cell(_text(t.get("title"))),
            Cell(_text(t.get("inherent"))),
            Cell(_text(t.get("residual"))),
            Cell(
                "Yes: the rating fell" if t.get("effective") else "No: the rating did not fall",
                alert=not t.get("effective"),
            ),
        ]
        for t in _rows(c.get("treatments"))
    ]
    realised = [
        [Cell(_text(r.get("risk"))), Cell(_text(r.get("nonconformity"))), Cell(_text(r.get("title")))]
        for r in _rows(c.get("realisations"))
    ]
    return DesignedInput(
        "Whether the actions taken on risks and opportunities worked: ratings before and after treatment, and the"
        " risks that happened.",
        (
            Figure(
                "Open risks",
                _text(_n(c.get("open_risks"))),
                ", ".join(f"{_n(v)} {str(k).lower()}" for k, v in levels.items()),
            ),
            Figure("Treatments verified", _text(_n(c.get("treatment_actions_verified")))),
            Figure(
                "Treatments overdue",
                _text(_n(c.get("treatment_actions_overdue"))),
                alert=_n(c.get("treatment_actions_overdue")) > 0,
            ),
            Figure("Risks accepted", _text(_n(c.get("accepted")))),
            Figure("Risk reviews overdue", _text(_n(c.get("reviews_overdue"))), alert=_n(c.get("reviews_overdue")) > 0),
            Figure(
                "Risks that happened",
                _text(_n(c.get("realised_risks"))),
                "cited by a nonconformity",
                alert=_n(c.get("realised_risks")) > 0,
            ),
        ),
        (
            Table(
                "Treatments and their effect",
                ("Risk", "Title", "Rating before (1–25)", "Rating after (1–25)", "Effective"),
                treatments,
                "No treatment was verified in the period.",
            ),
            Table(
                "Risks that happened",
                ("Risk", "Nonconformity", "What happened"),
                realised,
                "No risk happened in the period.",
            ),
        ),
    )


def _improvement_opportunities(c: Mapping[str, Any]) -> DesignedInput:
    pipeline = _map(c.get("pipeline"))
    found = [
        [
            _link(o.get("audit"), "audits.detail", "audit_id", o.get("audit_id")),
            Cell(_text(o.get("clause"))),
            Cell(_text(o.get("question"))),
            Cell(_text(o.get("notes"))),
        ]
        for o in _rows(c.get("opportunities"))
    ]
    ideas = [
        [
            _link(o.get("reference"), "opportunities.detail", "opportunity_id", o.get("id")),
            Cell(_text(o.get("title"))),
            Cell(_text(o.get("source"))),
            Cell(_text(o.get("stage"))),
            Cell(_day(o.get("proposed_on"))),
        ]
        for o in _rows(pipeline.get("opportunities"))
    ]
    figures = [Figure("Found by internal audits", _text(_n(c.get("count"))))]
    if pipeline:
        figures += [
            Figure("Proposed in the period", _text(_n(pipeline.get("proposed_in_period")))),
            Figure("Being piloted", _text(_n(pipeline.get("piloting")))),
            Figure("Adopted in the period", _text(_n(pipeline.get("adopted_in_period")))),
            Figure("Benefits realised", _text(_n(pipeline.get("realised_in_period")))),
        ]
    return DesignedInput(
        "Opportunities for improvement: those the internal audits found, and the ideas in the improvement pipeline.",
        figures,
        (
            Table(
                "Found by internal audits",
                ("Audit", "Clause", "Question", "Auditor's note"),
                found,
                "No internal audit found an opportunity for improvement in the period.",
            ),
            Table(
                "Improvement pipeline",
                ("Opportunity", "Title", "Source", "Stage", "Proposed on"),
                ideas,
                "No opportunity was proposed or open in the period.",
            ),
        ),
    )


DESIGNERS: dict[str, Callable[[Mapping[str, Any]], DesignedInput]] = {
    "previous_actions": _previous_actions,
    "context_changes": _context_changes,
    "customer_satisfaction": _customer_satisfaction,
    "quality_objectives": _quality_objectives,
    "process_performance": _process_performance,
    "nonconformities": _nonconformities,
    "monitoring_results": _monitoring_results,
    "audit_results": _audit_results,
    "external_providers": _external_providers,
    "risks_opportunities": _risks_opportunities,
    "improvement_opportunities": _improvement_opportunities,
}


def designed(key: str, compiled: Any) -> DesignedInput | None:
    """The input ``key`` drawn from its compiled figures; None when it has none or no designer knows it
    (the caller then draws the figures generically, or says that nothing was compiled)."""
    designer = DESIGNERS.get(key)
    if designer is None or not isinstance(compiled, Mapping) or not compiled:
        return None
    return designer(compiled)

"""The certification pack: what the manager takes into the next external audit.

One PDF gathers the certification (body, standard, scope, site, certificate, state, expiry),
the readiness score with its verdict and every reason with the points it costs (the blocking
reasons first), the certification timeline, the open nonconformities (major first, then the
oldest), the overdue corrective actions, the internal audit coverage of the cycle and the
internal audits held in it, the documents overdue for review, the last management review, the
earlier external audits with their findings on the body's own scale, and the body's profile
(programme rules, severity scale, notes).

The figures come from the services that compute them for the pages (``readiness``,
``timeline``, ``open_findings``, ``audits_of_cycle``, ``coverage``), so the pack and the
screens never disagree.  It reads the database through the session, so it runs inside an
application context.  All user text is escaped for reportlab markup.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from standards import CertificationBody as BodyProfile
from standards import Standard

from ..database import db, utcnow
from ..labels import LABELS, label
from ..models import (
    EXTERNAL_AUDIT_KINDS,
    RESULTS,
    SEVERITY_LABELS,
    Audit,
    Certification,
    CorrectiveAction,
    Document,
    ExternalAudit,
    ExternalFinding,
    ManagementReview,
    Nonconformity,
)
from ..services.audits import Coverage, coverage, result_counts
from ..services.certifications import (
    NC_CLOSED,
    Milestone,
    Readiness,
    Reason,
    audits_of_cycle,
    next_audit,
    open_findings,
    profile,
    readiness,
    rules_of,
    timeline,
)
from .pdf import (
    DASH,
    STYLES,
    PageFurniture,
    build_pdf,
    day,
    field_table,
    frame_width,
    generated_footer,
    grid_table,
    markup,
    or_dash,
    organisation_name,
    para,
    plural,
    text_or_note,
    utc,
)

TITLE = "Certification pack"
#: how the pack orders open nonconformities: major first, ungraded last
SEVERITY_ORDER = ("major", "minor", "observation")
MILESTONE_STATUS = {
    "done": "Done",
    "overdue": "Overdue",
    "due_soon": "Due soon",
    "upcoming": "Upcoming",
    "pending": "Pending",
}
VERDICT_LABELS = {"ready": "Ready", "at risk": "At risk", "not ready": "Not ready"}
#: the results counted per internal audit, findings first
AUDIT_RESULTS = ("major", "minor", "observation", "ofi", "conforming", "not_applicable")

_VERDICT_COLOURS = {"ready": "#1b6e3a", "at risk": "#b54708", "not ready": "#9b1c1c"}
_score_styles = {
    verdict: ParagraphStyle(
        f"score_{verdict}",
        parent=STYLES.body,
        fontName="Helvetica-Bold",
        fontSize=14,
        leading=18,
        textColor=colors.HexColor(colour),
        spaceAfter=4,
    )
    for verdict, colour in _VERDICT_COLOURS.items()
}
_blocking = ParagraphStyle(
    "blocking",
    parent=STYLES.body,
    fontName="Helvetica-Bold",
    textColor=colors.HexColor("#9b1c1c"),
    backColor=colors.HexColor("#fdecea"),
    borderColor=colors.HexColor("#c81e1e"),
    borderWidth=0.6,
    borderPadding=(4, 5, 4, 5),
    spaceBefore=4,
    spaceAfter=8,
)
#: an explanatory line that stays on the page of the table it introduces
_lead = ParagraphStyle("pack_lead", parent=STYLES.meta, keepWithNext=1, spaceAfter=3)
_lead_body = ParagraphStyle("pack_lead_body", parent=STYLES.body, keepWithNext=1)
_alert_cell = ParagraphStyle("alert_cell", parent=STYLES.cell_bold, textColor=colors.HexColor("#9b1c1c"))


# --- small helpers -----------------------------------------------------------


def _standard(identifier: str) -> Standard | None:
    from ..services.standards import find_standard

    try:
        return find_standard(identifier)
    except (KeyError, ValueError):
        return None


def _standard_label(identifier: str) -> str:
    standard = _standard(identifier)
    return label(identifier) if identifier in LABELS or standard is None else standard.label


def _dates(start: dt.date | None, end: dt.date | None) -> str:
    if start is None:
        return DASH if end is None else f"until {day(end)}"
    if end is None or end == start:
        return day(start)
    return f"{day(start)} to {day(end)}"


def _widths(width: float, fixed: Sequence[float], flexible: int) -> list[float]:
    """``fixed`` widths with the column at index ``flexible`` taking what is left."""
    widths = list(fixed)
    widths[flexible] = width - sum(widths)
    return widths


def _severity_label(severity: str | None) -> str:
    return SEVERITY_LABELS.get(severity or "", "Not yet graded")


def _severity_rank(severity: str | None) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


# --- data the pack reads -------------------------------------------------------


def open_nonconformities() -> list[Nonconformity]:
    """Every open nonconformity of the organisation, major first, then minor, observation and
    ungraded; within a severity the oldest first."""
    found = list(
        db.session.scalars(
            select(Nonconformity)
            .options(selectinload(Nonconformity.owner))
            .where(Nonconformity.state.not_in(NC_CLOSED))
            .order_by(Nonconformity.detected_on, Nonconformity.id)
        )
    )
    return sorted(found, key=lambda nc: (_severity_rank(nc.severity), nc.detected_on, nc.id))


def overdue_actions(today: dt.date) -> list[CorrectiveAction]:
    """Corrective actions still open whose due date has passed, the most overdue first."""
    ca = CorrectiveAction
    return list(
        db.session.scalars(
            select(ca)
            .options(selectinload(ca.owner), selectinload(ca.nonconformity))
            .where(ca.state.in_(ca.OPEN_STATES), ca.due_date < today)
            .order_by(ca.due_date, ca.id)
        )
    )


def overdue_documents(today: dt.date, reader: Any = None) -> list[Document]:
    """Documents whose review date has passed (the same documents the readiness score counts); with
    ``reader``, only those they may see (a restricted document's number and title reach only its readers)."""
    from ..services.documents import visible_to

    query = (
        select(Document)
        .options(selectinload(Document.owner))
        .where(Document.obsolete.is_(False), Document.next_review_due.is_not(None), Document.next_review_due < today)
        .order_by(Document.next_review_due, Document.number)
    )
    return list(db.session.scalars(query if reader is None else query.where(visible_to(reader))))


def last_management_review() -> ManagementReview | None:
    """The management review held most recently."""
    return db.session.scalars(
        select(ManagementReview)
        .where(ManagementReview.held_on.is_not(None))
        .order_by(ManagementReview.held_on.desc(), ManagementReview.id.desc())
        .limit(1)
    ).first()


def cycle_coverage(certification: Certification, today: dt.date) -> Coverage | None:
    """The coverage matrix the readiness score uses (this year's; ISO 9001:2015 numbering only)."""
    if certification.standard_identifier != "iso-9001-2015":
        return None
    return coverage(today.year, standard_identifier=certification.standard_identifier)


def is_blocking(reason: Reason, found: Readiness) -> bool:
    """Whether a reason is one of the readiness's blocking ones (an open major NC or major finding)."""
    return reason.blocking


# --- the pack ------------------------------------------------------------------


def certification_pack_pdf(
    certification: Certification,
    *,
    today: dt.date | None = None,
    organisation: str | None = None,
    generated_at: dt.datetime | None = None,
    compress: bool = True,
    reader: Any = None,
) -> bytes:
    """The certification pack as a PDF (A4, pages numbered "Page X of Y").

    ``today`` is the day the readiness, ages and deadlines are computed for (default: today);
    ``organisation`` defaults to the app's ``QMS_ORGANISATION``; ``reader``, who downloads it, is
    shown only the documents they may see.
    """
    today = today or dt.date.today()
    organisation = organisation_name(organisation)
    generated_at = generated_at or utcnow()
    width = frame_width(A4)
    body = certification.body
    found = readiness(certification, today)

    story: list[Flowable] = [
        para(organisation, STYLES.org),
        Paragraph(escape(TITLE), STYLES.title),
        Paragraph(f"{markup(certification.reference)}: {markup(body.name)}", STYLES.subtitle),
        _cover(certification, organisation, found, today, generated_at, width),
        Paragraph("Readiness for the next external audit", STYLES.h2),
        *_readiness(found, today, width),
        Paragraph("Certification timeline", STYLES.h2),
        *_timeline(timeline(certification, today), today, width),
        Paragraph("Open nonconformities", STYLES.h2),
        *_open_ncs(open_nonconformities(), today, width),
        Paragraph("Overdue corrective actions", STYLES.h2),
        *_overdue_actions(overdue_actions(today), today, width),
        Paragraph("Internal audits of the cycle", STYLES.h2),
        *_coverage(cycle_coverage(certification, today), today, width),
        *_internal_audits(certification, audits_of_cycle(certification), width),
        Paragraph("Documents overdue for review", STYLES.h2),
        *_documents(overdue_documents(today, reader), today, width, overdue_documents(today) if reader else None),
        Paragraph("Management review", STYLES.h2),
        *_management_review(last_management_review(), today, width),
        Paragraph("External audits and their findings", STYLES.h2),
        *_external_audits(certification, width),
        Paragraph(f"Certification body: {markup(body.name)}", STYLES.h2),
        *_body_profile(certification, width),
    ]
    return build_pdf(
        story,
        furniture=PageFurniture(
            organisation, f"{certification.reference} {TITLE.lower()}", generated_footer(generated_at)
        ),
        title=f"{TITLE} {certification.reference}",
        author=organisation,
        subject=f"{TITLE}: {body.name}",
        compress=compress,
    )


def _cover(
    certification: Certification,
    organisation: str,
    found: Readiness,
    today: dt.date,
    generated_at: dt.datetime,
    width: float,
) -> Flowable:
    site = certification.site
    coming = next_audit(certification, today)
    expiry = day(certification.expires_on)
    if certification.expires_on is not None:
        left = (certification.expires_on - today).days
        expiry += f" (in {plural(left, 'day')})" if left >= 0 else f" (expired {plural(-left, 'day')} ago)"
    pairs: list[tuple[str, Any]] = [
        ("Organisation", or_dash(organisation)),
        ("Certification body", f"{certification.body.name} ({label(certification.body.code)})"),
        ("Standard", _standard_label(certification.standard_identifier)),
        ("Scope", text_or_note(certification.scope, "Not stated.")),
        ("Site", f"{site.name} ({site.code})" if site else "All sites"),
        ("Certificate number", certification.certificate_number or "Not yet certified"),
        ("State", certification.state_label),
        ("Expiry", expiry),
        ("Next audit due", f"{coming.what}, {day(coming.due)}" if coming else day(certification.next_audit_due)),
        ("Readiness", f"{found.score} of 100: {VERDICT_LABELS.get(found.verdict, found.verdict)}"),
        ("Figures as of", day(today)),
        ("Generated", utc(generated_at)),
    ]
    if certification.status_reason.strip():
        pairs.insert(7, ("Status reason", certification.status_reason))
    return field_table(pairs, [36 * mm, width - 36 * mm])


def _readiness(found: Readiness, today: dt.date, width: float) -> list[Flowable]:
    verdict = VERDICT_LABELS.get(found.verdict, found.verdict)
    out: list[Flowable] = [
        Paragraph(escape(f"Score {found.score} of 100: {verdict}"), _score_styles.get(found.verdict, STYLES.h3)),
        Paragraph(
            "The score starts at 100 and loses points for each open issue, up to a cap per kind of issue. "
            "Ready from 85, at risk from 60; any blocking issue means not ready whatever the score.",
            STYLES.meta,
        ),
    ]
    if found.blocking:
        out.append(Paragraph(escape("Blocking: " + "; ".join(found.blocking) + "."), _blocking))
    if not found.reasons:
        out.append(Paragraph("Nothing lowers the score: no open issues found.", STYLES.muted))
    else:
        ordered = sorted(found.reasons, key=lambda r: (not is_blocking(r, found), -r.points))
        rows = [
            [
                Paragraph("Blocking", _alert_cell) if is_blocking(reason, found) else "",
                f"-{reason.points}",
                reason.message,
            ]
            for reason in ordered
        ]
        rows.append(["", f"-{sum(r.points for r in found.reasons)}", f"Total deducted: score {found.score} of 100"])
        out += [
            Spacer(0, 2 * mm),
            grid_table(["", "Points", "Reason"], rows, _widths(width, [20 * mm, 16 * mm, 0], 2), plain={1}),
        ]
    figures = found.figures
    coverage_percent = figures.get("coverage_percent")
    days = figures.get("days_since_management_review")
    pairs = [
        ("Open major nonconformities", figures.get("open_major_ncs", 0)),
        ("Open minor nonconformities", figures.get("open_minor_ncs", 0)),
        ("Open nonconformities older than 90 days", figures.get("ncs_older_than_90_days", 0)),
        ("Overdue corrective actions", figures.get("overdue_corrective_actions", 0)),
        ("Internal audit coverage", DASH if coverage_percent is None else f"{coverage_percent:.1f}% of cells audited"),
        ("Clauses not internally audited", len(figures.get("clauses_not_audited") or [])),
        ("Documents overdue for review", figures.get("documents_overdue_for_review", 0)),
        ("Days since the last management review", "None held" if days is None else days),
        ("Open findings of the last external audit", figures.get("open_external_findings", 0)),
        (
            "Required competences missing or expired (7.2)",
            f"{figures.get('competence_gaps', 0)} of {figures.get('competences_required', 0)}",
        ),
        (
            "Evidence of 4.1, 4.2 and 6.1 (issues, interested parties, rated risks)",
            " · ".join(str((figures.get("planning_evidence") or {}).get(c, 0)) for c in ("4.1", "4.2", "6.1")),
        ),
        ("Quality objectives in force (6.2)", figures.get("quality_objectives_in_force", 0)),
        ("Changes planned (6.3)", figures.get("planned_changes", 0)),
    ]
    out += [
        Paragraph("Figures", STYLES.h3),
        grid_table(["Figure", "Value"], [[k, str(v)] for k, v in pairs], _widths(width, [0, 60 * mm], 0), plain={1}),
    ]
    return out


def _timeline(steps: Sequence[Milestone], today: dt.date, width: float) -> list[Flowable]:
    rows = []
    for step in steps:
        status = step.status(today)
        label = MILESTONE_STATUS.get(status, status)
        rows.append(
            [
                step.what,
                day(step.due),
                day(step.done_on),
                day(step.remind_on),
                Paragraph(escape(label), _alert_cell) if status == "overdue" else label,
            ]
        )
    widths = _widths(width, [0, 26 * mm, 26 * mm, 30 * mm, 24 * mm], 0)
    return [
        Paragraph("Due dates follow the body's programme rules; reminders start on the day shown.", _lead),
        grid_table(["Milestone", "Due", "Done", "Remind from", "Status"], rows, widths, plain={1, 2, 3}, bold={0}),
    ]


def _open_ncs(ncs: Sequence[Nonconformity], today: dt.date, width: float) -> list[Flowable]:
    if not ncs:
        return [Paragraph("No open nonconformities.", STYLES.muted)]
    rows = [
        [
            nc.reference,
            nc.title,
            Paragraph(escape(_severity_label(nc.severity)), _alert_cell)
            if nc.severity == "major"
            else _severity_label(nc.severity),
            str((today - nc.detected_on).days),
            nc.state_label,
            nc.owner.name if nc.owner else "No owner",
        ]
        for nc in ncs
    ]
    counts = {key: sum(1 for nc in ncs if nc.severity == key) for key in SEVERITY_ORDER}
    ungraded = len(ncs) - sum(counts.values())
    summary = [f"{counts[key]} {SEVERITY_LABELS[key].lower()}" for key in SEVERITY_ORDER if counts[key]]
    if ungraded:
        summary.append(f"{ungraded} not yet graded")
    widths = _widths(width, [28 * mm, 0, 22 * mm, 16 * mm, 30 * mm, 30 * mm], 1)
    return [
        Paragraph(
            escape(f"{plural(len(ncs), 'open nonconformity', 'open nonconformities')}: {', '.join(summary)}. "),
            _lead_body,
        ),
        Paragraph("Major first, then minor, observations and ungraded; the oldest first within each.", _lead),
        grid_table(
            ["Reference", "Title", "Severity", "Age (days)", "State", "Owner"], rows, widths, plain={0, 3}, bold={0}
        ),
    ]


def _overdue_actions(actions: Sequence[CorrectiveAction], today: dt.date, width: float) -> list[Flowable]:
    if not actions:
        return [Paragraph("No corrective action is overdue.", STYLES.muted)]
    rows = [
        [
            action.reference,
            action.title,
            action.nonconformity.reference,
            action.owner.name,
            day(action.due_date),
            str((today - action.due_date).days),
            action.state_label,
        ]
        for action in actions
    ]
    widths = _widths(width, [26 * mm, 0, 26 * mm, 28 * mm, 20 * mm, 16 * mm, 22 * mm], 1)
    return [
        grid_table(
            ["Reference", "Action", "Nonconformity", "Owner", "Due", "Days late", "State"],
            rows,
            widths,
            plain={0, 2, 4, 5},
            bold={0},
        )
    ]


def _coverage(matrix: Coverage | None, today: dt.date, width: float) -> list[Flowable]:
    if matrix is None:
        return [
            Paragraph(
                "The coverage matrix follows ISO 9001:2015 clause numbering: not computed for this standard.",
                STYLES.muted,
            )
        ]
    if not matrix.processes:
        return [Paragraph("No active processes: there is no coverage matrix to report.", STYLES.muted)]
    uncovered = matrix.uncovered_clauses()
    out: list[Flowable] = [
        Paragraph(f"Coverage of the audit programme {matrix.year}", STYLES.h3),
        field_table(
            [
                ("Audited", f"{matrix.percent_audited:.1f}% of the relevant process × clause cells"),
                (
                    "Cells",
                    f"{matrix.relevant} relevant: {matrix.count('audited')} audited, "
                    f"{matrix.count('planned')} planned, {matrix.count('uncovered')} not covered",
                ),
                ("Processes", str(len(matrix.processes))),
                ("Clauses not audited", str(len(uncovered)) if uncovered else "None: every clause was audited"),
            ],
            [36 * mm, width - 36 * mm],
        ),
    ]
    if uncovered:
        standard = matrix.standard
        rows = [
            [number, standard.clause(number).title if standard.has_clause(number) else DASH] for number in uncovered
        ]
        out += [
            Paragraph("Clauses not internally audited this cycle", STYLES.h3),
            grid_table(["Clause", "Title"], rows, _widths(width, [20 * mm, 0], 1), plain={0}, bold={0}),
        ]
    return out


def _internal_audits(certification: Certification, audits: Sequence[Audit], width: float) -> list[Flowable]:
    since = certification.cycle_start or certification.applied_on
    out: list[Flowable] = [Paragraph(escape(f"Internal audits held since {day(since)}"), STYLES.h3)]
    if not audits:
        return [*out, Paragraph("No internal audit held since then.", STYLES.muted)]
    rows = []
    for audit in audits:
        counts = result_counts(audit)
        findings = [f"{counts[k]} {RESULTS[k].lower()}" for k in AUDIT_RESULTS if counts.get(k)]
        if counts.get("unanswered"):
            findings.append(f"{counts['unanswered']} not answered")
        rows.append(
            [
                audit.reference,
                audit.process.name if audit.process else DASH,
                _dates(audit.planned_start, audit.planned_end),
                _dates(audit.actual_start, audit.actual_end) if audit.actual_start else DASH,
                audit.state_label,
                "\n".join(findings) or "No questions",
            ]
        )
    widths = _widths(width, [26 * mm, 0, 28 * mm, 28 * mm, 24 * mm, 40 * mm], 1)
    return [
        *out,
        grid_table(["Reference", "Process", "Planned", "Held", "State", "Results"], rows, widths, plain={0}, bold={0}),
    ]


def _documents(
    documents: Sequence[Document], today: dt.date, width: float, every: Sequence[Document] | None = None
) -> list[Flowable]:
    """The overdue documents shown (``documents``), and how many more of ``every`` the reader may not see."""
    hidden = len(every) - len(documents) if every is not None else 0
    what = "1 document" if hidden == 1 else f"{hidden} documents"
    more = [Paragraph(f"Also overdue: {what} you may not see.", STYLES.muted)] if hidden else []
    if not documents:
        return more or [Paragraph("No document is overdue for review.", STYLES.muted)]
    rows = [
        [
            doc.number,
            doc.title,
            doc.owner.name,
            day(doc.next_review_due),
            str((today - doc.next_review_due).days) if doc.next_review_due else DASH,
        ]
        for doc in documents
    ]
    widths = _widths(width, [30 * mm, 0, 34 * mm, 24 * mm, 18 * mm], 1)
    return [grid_table(["Number", "Title", "Owner", "Review due", "Days late"], rows, widths, plain={0, 3, 4}), *more]


def _management_review(review: ManagementReview | None, today: dt.date, width: float) -> list[Flowable]:
    if review is None or review.held_on is None:
        return [Paragraph("No management review has been held.", STYLES.muted)]
    days = (today - review.held_on).days
    pairs: list[tuple[str, Any]] = [
        ("Last review", f"{review.reference}: {review.title}"),
        ("Held on", day(review.held_on)),
        ("Days since", f"{days} days" + (" (more than a year)" if days > 365 else "")),
        ("Period reviewed", _dates(review.period_start, review.period_end)),
        ("Chair", review.chair.name),
        ("State", review.state_label),
        ("Minutes approved", utc(review.minutes_approved_at) if review.minutes_approved_at else "Not yet approved"),
    ]
    return [field_table(pairs, [36 * mm, width - 36 * mm])]


def _external_audits(certification: Certification, width: float) -> list[Flowable]:
    audits: list[ExternalAudit] = list(certification.audits)
    if not audits:
        return [Paragraph("No external audit recorded yet.", STYLES.muted)]
    still_open = {f.id for f in open_findings(certification)}
    body = profile(certification.body)
    out: list[Flowable] = [
        Paragraph(
            "Findings are graded on the body's own scale; each nonconformity finding raised one of our "
            "nonconformities. Latest audit first.",
            _lead,
        )
    ]
    for index, audit in enumerate(reversed(audits)):
        kind = EXTERNAL_AUDIT_KINDS.get(audit.kind, audit.kind)
        heading = f"{kind} audit, {_dates(audit.start_date, audit.end_date)}"
        if index == 0:
            heading += " (latest)"
        out.append(Paragraph(escape(heading), STYLES.h3))
        details = [
            f"Body reference: {or_dash(audit.body_reference)}",
            f"Lead auditor: {or_dash(audit.lead_auditor)}",
            f"{plural(len(audit.findings), 'finding')}",
        ]
        out.append(para(" · ".join(details), _lead))
        if audit.outcome.strip():
            out.append(Paragraph(f"<b>Outcome:</b> {markup(audit.outcome)}", _lead_body))
        if audit.findings:
            out.append(_findings_table(audit.findings, body, still_open, width))
    return out


def _grade_label(body: BodyProfile, code: str) -> str:
    try:
        return body.grade(code).label
    except KeyError:
        return code


def _findings_table(
    findings: Sequence[ExternalFinding], body: BodyProfile, still_open: set[int], width: float
) -> Flowable:
    rows = []
    for finding in findings:
        grade = finding.grade_label or _grade_label(body, finding.grade)
        notes = [finding.description]
        if finding.group_label:
            notes.append(f"Grouped as {finding.group_label}")
        if finding.regraded_from:
            was = _grade_label(body, finding.regraded_from)
            notes.append(f"Re-graded from {was}: {finding.regrade_reason}")
        nc = finding.nonconformity
        if nc is None:
            nc_text = "No NC raised"
        else:
            nc_text = f"{nc.reference}\n{nc.state_label}"
            if finding.id in still_open:
                nc_text += "\nStill open"
        rows.append(
            [
                finding.body_reference,
                grade,
                finding.clause_number or DASH,
                "\n".join(notes),
                day(finding.response_due),
                nc_text,
            ]
        )
    widths = _widths(width, [18 * mm, 30 * mm, 16 * mm, 0, 22 * mm, 30 * mm], 3)
    return grid_table(
        ["Body ref.", "Grade", "Clause", "Finding", "Response due", "Nonconformity"],
        rows,
        widths,
        plain={0, 2, 4},
        bold={0},
    )


def _body_profile(certification: Certification, width: float) -> list[Flowable]:
    body = profile(certification.body)
    rules = rules_of(certification)
    pairs: list[tuple[str, Any]] = [
        ("Code", body.code),
        ("Country", or_dash(body.country)),
        ("Accreditation", ", ".join(body.accreditation) or DASH),
        ("Marks", ", ".join(body.marks) or DASH),
        ("Website", or_dash(body.website)),
    ]
    rule_rows = [
        ["Certificate valid", plural(rules.certificate_years, "year")],
        ["Surveillance interval", plural(rules.surveillance_interval_months, "month")],
        [
            "First surveillance at the latest",
            f"{plural(rules.first_surveillance_max_months, 'month')} after the decision",
        ],
        ["Recertification audit", f"{plural(rules.recertification_lead_days, 'day')} before expiry"],
        ["Stage 2 at the latest", f"{plural(rules.stage2_max_days_after_stage1, 'day')} after stage 1"],
        ["Response to findings", f"within {plural(rules.findings_response_days, 'day')}"],
        [
            "Reminders",
            ", ".join(f"{d} days" for d in rules.reminder_days) + " before each deadline"
            if rules.reminder_days
            else "None",
        ],
    ]
    scale_rows = [
        [
            grade.code,
            grade.label,
            SEVERITY_LABELS.get(grade.nc_severity, grade.nc_severity),
            "No answer required" if grade.response_days is None else plural(grade.response_days, "day"),
            "Yes" if grade.blocks_certification else "No",
        ]
        for grade in body.severity_scale
    ]
    return [
        field_table(pairs, [36 * mm, width - 36 * mm]),
        Paragraph("Programme rules", STYLES.h3),
        grid_table(["Rule", "Value"], rule_rows, _widths(width, [60 * mm, 0], 1)),
        Paragraph("Severity scale", STYLES.h3),
        grid_table(
            ["Code", "Grade", "Our NC severity", "Response", "Blocks certification"],
            scale_rows,
            _widths(width, [24 * mm, 0, 30 * mm, 32 * mm, 30 * mm], 1),
            plain={0},
            bold={1},
        ),
        Paragraph("Notes", STYLES.h3),
        text_or_note(body.notes, "No notes."),
    ]


__all__ = [
    "TITLE",
    "certification_pack_pdf",
    "cycle_coverage",
    "is_blocking",
    "last_management_review",
    "open_nonconformities",
    "overdue_actions",
    "overdue_documents",
]

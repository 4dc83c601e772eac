"""PDF reports of internal audits: one audit's report, and a year's audit programme.

The audit report gives what ISO 19011 6.5 asks of one: objectives, scope, the audited
process and site, the team, dates, criteria, findings by clause with their evidence,
conclusions and the degree to which the criteria were fulfilled, then the e-signatures
of the lead auditor (submitted) and the approver.  Until it is approved every page carries
a "Not yet approved — draft" watermark.  Service performance audits add a score per
standard and a chart of the score over the earlier audits of the same process.

The functions read the audit's history, evidence and trend through the database session,
so they run inside an application context.  All user text is escaped for reportlab markup.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.textlabels import NA_Label
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from standards import Standard, get_standard

from ..database import db, utcnow
from ..labels import LABELS, label
from ..models import (
    AUDIT_KINDS,
    RESULTS,
    RISK_LEVELS,
    TEAM_ROLES,
    Attachment,
    Audit,
    AuditProgramme,
    AuditTeamMember,
    ChecklistItem,
    TransitionHistory,
)
from ..services.audits import Score, evidence_of, result_counts, score_trend, scores
from ..services.workflow import history_of
from .pdf import (
    DASH,
    MUTED,
    RULE,
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
    printable,
    text_or_note,
    utc,
)

DRAFT_NOTICE = "Not yet approved — draft"
#: results reported as findings, most serious first
FINDINGS = ("major", "minor", "observation", "ofi")
#: who signs what on an audit report
SIGNER_ROLES = {"draft_report": "Lead auditor", "approve_report": "Approver"}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_CURRENT_BAR = colors.HexColor("#2f80ed")
_EARLIER_BAR = colors.HexColor("#9fb3c8")
_plan_cell = ParagraphStyle("plan_cell", parent=STYLES.cell, fontSize=6.5, leading=8, spaceAfter=2)
_GRADE_COLOURS = {"major": "#9b1c1c", "minor": "#b54708", "observation": "#243b53", "ofi": "#1b6e3a"}
_grade_styles = {
    key: ParagraphStyle(f"grade_{key}", parent=STYLES.cell_bold, textColor=colors.HexColor(colour))
    for key, colour in _GRADE_COLOURS.items()
}


# --- small helpers -----------------------------------------------------------


def _standard(identifier: str) -> Standard | None:
    """The standard (bundled or imported), or None when it is no longer known."""
    try:
        from ..services.standards import find_standard  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # the standards service is optional: bundled standards only
        find_standard = get_standard
    try:
        return find_standard(identifier)
    except (KeyError, ValueError):
        return None


def _standard_label(identifier: str, standard: Standard | None) -> str:
    """The edition's short name ("ISO 9001:2015"), else the standard's own label: never the identifier."""
    return label(identifier) if identifier in LABELS or standard is None else standard.label


def _dates(start: dt.date | None, end: dt.date | None) -> str:
    if start is None:
        return DASH if end is None else f"until {day(end)}"
    if end is None or end == start:
        return day(start)
    return f"{day(start)} to {day(end)}"


def _percent(score: Score) -> str:
    return DASH if score.percent is None else f"{score.percent:.1f}%"


def _clause_order(standard: Standard | None, number: str) -> tuple[int, tuple[Any, ...]]:
    """Where a clause comes in the standard (document order); unknown numbers after, by their digits."""
    if not number:
        return (2, ())
    if standard is not None and standard.has_clause(number):
        return (0, (standard.clauses.index(standard.clause(number)),))
    parts = tuple((0, int(p)) if p.isdigit() else (1, p) for p in number.split("."))
    return (1, parts)


# --- the audit report --------------------------------------------------------


def audit_report_pdf(
    audit: Audit,
    organisation: str | None = None,
    *,
    generated_at: dt.datetime | None = None,
    compress: bool = True,
) -> bytes:
    """The audit report as a PDF (A4, pages numbered "Page X of Y").

    ``organisation`` defaults to the app's ``QMS_ORGANISATION``.  Reads the audit's history
    (signatures), its checklist evidence and, for a service performance audit, the earlier
    audits of the trend through the session.
    """
    organisation = organisation_name(organisation)
    generated_at = generated_at or utcnow()
    width = frame_width(A4)
    items = list(audit.items)
    history = history_of(audit) if audit.id is not None else []
    evidence = evidence_of(items) if audit.id is not None else {}
    approved = audit.report_approved_at is not None
    standards = {identifier: _standard(identifier) for identifier in _identifiers(audit, items)}
    kind = AUDIT_KINDS.get(audit.kind, audit.kind)

    story: list[Flowable] = [
        para(organisation, STYLES.org),
        Paragraph(escape(f"{kind} report"), STYLES.title),
        Paragraph(f"{markup(audit.reference)}: {markup(audit.title)}", STYLES.subtitle),
        field_table(
            [
                ("Reference", audit.reference),
                ("Kind", kind),
                ("State", audit.state_label),
                ("Report approved", utc(audit.report_approved_at) if approved else "Not yet approved"),
                ("Generated", utc(generated_at)),
            ],
            [34 * mm, width - 34 * mm],
        ),
    ]
    if not approved:
        story.append(Paragraph(escape(_draft_text(audit)), STYLES.notice))
    story += [
        Paragraph("Audit details", STYLES.h2),
        _details(audit, standards, width),
        Paragraph("Results", STYLES.h2),
        *_results(audit, items, width),
        Paragraph("Findings by clause", STYLES.h2),
        *_findings(items, evidence, standards, width),
        Paragraph("Conforming and other questions", STYLES.h2),
        *_other_questions(items, evidence, standards, width),
    ]
    if audit.kind == "service_performance":
        story += [
            Paragraph("Score per standard", STYLES.h2),
            *_score_table(scores(audit), standards, width),
            Paragraph("Trend", STYLES.h2),
            *_trend(audit, standards, width),
        ]
    story += [
        Paragraph("Conclusion", STYLES.h2),
        text_or_note(audit.summary, "No conclusions recorded yet: the report has not been drafted."),
        *_other_reasons(audit),
        Paragraph("Signatures", STYLES.h2),
        *_signatures(history, approved, width),
    ]
    return build_pdf(
        story,
        furniture=PageFurniture(
            organisation, audit.reference, generated_footer(generated_at), watermark="" if approved else DRAFT_NOTICE
        ),
        title=f"{audit.reference} {audit.title}",
        author=organisation,
        subject=f"{kind} report",
        compress=compress,
    )


def _identifiers(audit: Audit, items: Sequence[ChecklistItem]) -> list[str]:
    return list(dict.fromkeys([audit.standard_identifier, *(item.standard_identifier for item in items)]))


def _draft_text(audit: Audit) -> str:
    if audit.state == "cancelled":
        return f"{DRAFT_NOTICE}: this audit was cancelled and its report was never approved."
    return f"{DRAFT_NOTICE}: findings and conclusions may still change until the report is approved."


def _details(audit: Audit, standards: dict[str, Standard | None], width: float) -> Flowable:
    programme = audit.programme
    process = audit.process
    site = audit.site
    if process is not None:
        owner = process.owner.name if process.owner else "no owner"
        process_text = f"{process.name} ({process.code}); owner: {owner}"
    else:
        process_text = DASH
    site_text = DASH
    if site is not None:
        site_text = f"{site.name} ({site.code})" + (f"\n{site.address}" if site.address.strip() else "")
    standard = standards.get(audit.standard_identifier)
    pairs: list[tuple[str, Any]] = [
        ("Programme", f"{programme.title} ({programme.year})" if programme else "Not part of a programme"),
        ("Process", process_text),
        ("Site", site_text),
        ("Standard", _standard_label(audit.standard_identifier, standard)),
        ("Criteria", or_dash(audit.criteria)),
        ("Clauses", ", ".join(audit.clause_numbers or []) or "All clauses"),
        ("Scope", text_or_note(audit.scope, "Not stated.")),
        ("Objectives", text_or_note(audit.objectives, "Not stated.")),
        ("Planned dates", _dates(audit.planned_start, audit.planned_end)),
        ("Actual dates", _dates(audit.actual_start, audit.actual_end) if audit.actual_start else "Not started"),
        ("Lead auditor", audit.lead_auditor.name if audit.lead_auditor else "Not assigned"),
        ("Audit team", _team(audit.team)),
    ]
    return field_table(pairs, [34 * mm, width - 34 * mm])


def _team(team: Sequence[AuditTeamMember]) -> str:
    if not team:
        return "The lead auditor alone"
    return "\n".join(f"{member.user.name} — {TEAM_ROLES.get(member.role, member.role)}" for member in team)


def _results(audit: Audit, items: Sequence[ChecklistItem], width: float) -> list[Flowable]:
    if not items:
        return [Paragraph("The checklist has no questions yet.", STYLES.muted)]
    counts = result_counts(audit)
    keys = [*RESULTS, "unanswered"]
    header = [RESULTS.get(key, "Not answered") for key in keys] + ["Total"]
    row = [str(counts.get(key, 0)) for key in keys] + [str(len(items))]
    table = grid_table(header, [row], [width / len(header)] * len(header))
    found = scores(audit)
    conforming = sum(s.conforming for s in found)
    applicable = sum(s.applicable for s in found)
    if applicable:
        degree = (
            f"Degree of fulfilment of the audit criteria: {conforming} of {applicable} applicable answers "
            f"conform ({100 * conforming / applicable:.1f}%)."
        )
    else:
        degree = "Degree of fulfilment of the audit criteria: no applicable answers recorded yet."
    findings = [f"{counts[key]} {RESULTS[key].lower()}" for key in FINDINGS if counts.get(key)]
    out: list[Flowable] = [table, Spacer(0, 2 * mm), Paragraph(escape(degree), STYLES.body)]
    if findings:
        out.append(Paragraph(escape("Findings: " + ", ".join(findings) + "."), STYLES.body))
    if counts.get("unanswered"):
        out.append(Paragraph(escape(f"{counts['unanswered']} questions are not answered yet."), STYLES.muted))
    return out


def _group_heading(identifier: str, number: str, standards: dict[str, Standard | None], several: bool) -> str:
    standard = standards.get(identifier)
    if not number:
        label = "General questions (no clause)"
    elif standard is not None and standard.has_clause(number):
        label = f"Clause {standard.clause(number).label}"
    else:
        label = f"Clause {number}"
    return f"{_standard_label(identifier, standard)}: {label}" if several else label


def _sorted_groups(
    items: Sequence[ChecklistItem], standards: dict[str, Standard | None]
) -> list[tuple[tuple[str, str], list[ChecklistItem]]]:
    """Items grouped by (standard, clause), the groups in the standards' document order."""
    groups: dict[tuple[str, str], list[ChecklistItem]] = {}
    for item in items:
        groups.setdefault((item.standard_identifier, item.clause_number or ""), []).append(item)
    rank = {identifier: index for index, identifier in enumerate(standards)}
    return sorted(
        groups.items(),
        key=lambda kv: (rank.get(kv[0][0], len(rank)), _clause_order(standards.get(kv[0][0]), kv[0][1])),
    )


def _files(attachments: Sequence[Attachment]) -> str:
    return ", ".join(a.filename for a in attachments)


def _findings(
    items: Sequence[ChecklistItem],
    evidence: dict[int, list[Attachment]],
    standards: dict[str, Standard | None],
    width: float,
) -> list[Flowable]:
    found = [item for item in items if item.result in FINDINGS]
    if not found:
        return [Paragraph("No nonconformities, observations or opportunities for improvement recorded.", STYLES.muted)]
    several = len({item.standard_identifier for item in items}) > 1
    widths = [30 * mm, 0, 34 * mm]
    widths[1] = width - sum(widths)
    out: list[Flowable] = []
    number = 0
    for (identifier, clause), group in _sorted_groups(found, standards):
        rows = []
        for item in group:
            number += 1
            rows.append(
                [
                    [
                        Paragraph(f"F{number}", STYLES.cell_bold),
                        Paragraph(escape(item.result_label), _grade_styles[item.result or "observation"]),
                    ],
                    _finding_text(item, evidence.get(item.id, [])),
                    _nc_cell(item),
                ]
            )
        out.append(Paragraph(markup(_group_heading(identifier, clause, standards, several)), STYLES.h3))
        out.append(grid_table(["Finding", "Question and evidence", "Nonconformity"], rows, widths))
    return out


def _finding_text(item: ChecklistItem, attachments: Sequence[Attachment]) -> list[Flowable]:
    parts: list[Flowable] = [Paragraph(markup(item.question), STYLES.cell_bold)]
    if item.notes.strip():
        parts.append(Paragraph(f"<b>Evidence:</b> {markup(item.notes)}", STYLES.cell))
    else:
        parts.append(Paragraph("No evidence notes.", STYLES.cell_small))
    if attachments:
        parts.append(Paragraph(f"<b>Evidence files:</b> {markup(_files(attachments))}", STYLES.cell))
    if item.answered_at is not None:
        who = item.answered_by.name if item.answered_by else DASH
        parts.append(Paragraph(markup(f"Recorded by {who}, {utc(item.answered_at, seconds=False)}"), STYLES.cell_small))
    return parts


def _nc_cell(item: ChecklistItem) -> list[Flowable] | str:
    nc = item.nonconformity
    if nc is not None:
        return [Paragraph(markup(nc.reference), STYLES.cell_bold), Paragraph(markup(nc.state_label), STYLES.cell)]
    if item.result in ("major", "minor"):
        return "Not raised"
    return "None (no nonconformity)"


def _other_questions(
    items: Sequence[ChecklistItem],
    evidence: dict[int, list[Attachment]],
    standards: dict[str, Standard | None],
    width: float,
) -> list[Flowable]:
    others = [item for item in items if item.result not in FINDINGS]
    if not others:
        return [Paragraph("Every question led to a finding.", STYLES.muted)]
    several = len({item.standard_identifier for item in items}) > 1
    rows = []
    for (identifier, clause), group in _sorted_groups(others, standards):
        for item in group:
            notes = item.notes.strip()
            files = _files(evidence.get(item.id, []))
            if files:
                notes = f"{notes}\nFiles: {files}" if notes else f"Files: {files}"
            label = clause or DASH
            rows.append(
                [
                    f"{_standard_label(identifier, standards.get(identifier))} {label}" if several else label,
                    item.question,
                    item.result_label,
                    notes or DASH,
                ]
            )
    widths = [16 * mm, 0, 24 * mm, 52 * mm]
    widths[1] = width - sum(widths)
    return [
        Paragraph("Questions answered conforming or not applicable, and any not answered yet.", STYLES.meta),
        Spacer(0, 1 * mm),
        grid_table(["Clause", "Question", "Result", "Notes"], rows, widths, plain={0, 2}),
    ]


def _score_table(found: Sequence[Score], standards: dict[str, Standard | None], width: float) -> list[Flowable]:
    if not found:
        return [Paragraph("No checklist: nothing to score.", STYLES.muted)]
    rows = []
    for score in found:
        findings = ", ".join(f"{score.findings[k]} {RESULTS[k].lower()}" for k in FINDINGS if score.findings.get(k))
        rows.append(
            [
                _standard_label(score.standard_identifier, standards.get(score.standard_identifier)),
                _percent(score),
                f"{score.conforming} of {score.applicable}",
                f"n={score.applicable}",
                findings or "None",
            ]
        )
    widths = [0, 22 * mm, 26 * mm, 20 * mm, 48 * mm]
    widths[0] = width - sum(widths)
    return [
        Paragraph(
            "Score: conforming answers (observations and opportunities for improvement included) as a share of "
            "the applicable answers; n is the number of applicable answers.",
            STYLES.meta,
        ),
        Spacer(0, 1 * mm),
        grid_table(["Standard", "Score", "Conforming", "Answered", "Findings"], rows, widths, bold={1}),
    ]


def _trend(audit: Audit, standards: dict[str, Standard | None], width: float) -> list[Flowable]:
    trend = score_trend(audit)
    identifiers = list(dict.fromkeys(s.standard_identifier for _, found in trend for s in found))
    if not identifiers:
        return [Paragraph("No answers to show a trend of yet.", STYLES.muted)]
    out: list[Flowable] = [
        Paragraph(
            escape(
                f"The score of this audit and of up to {len(trend) - 1} earlier conducted audits of "
                "the same kind, standard and process, oldest first (n: applicable answers)."
            ),
            STYLES.meta,
        )
    ]
    if len(trend) == 1:
        out.append(
            Paragraph("No earlier audits of this process against this standard: the trend starts here.", STYLES.muted)
        )
    for identifier in identifiers:
        points = [(a, next((s for s in found if s.standard_identifier == identifier), None)) for a, found in trend]
        rows = [
            [
                a.reference,
                day(a.planned_start),
                day(a.actual_start),
                a.state_label,
                _percent(s) if s else DASH,
                f"n={s.applicable}" if s else DASH,
                "This audit" if a.id == audit.id else "",
            ]
            for a, s in points
        ]
        widths = [28 * mm, 20 * mm, 20 * mm, 28 * mm, 18 * mm, 18 * mm, 0]
        widths[-1] = width - sum(widths)
        out.append(
            KeepTogether(
                [
                    Paragraph(markup(_standard_label(identifier, standards.get(identifier))), STYLES.h3),
                    trend_chart(points, current_id=audit.id, width=width),
                ]
            )
        )
        out.append(
            grid_table(
                ["Audit", "Planned", "Held", "State", "Score", "Answered", "Note"], rows, widths, plain={0, 1, 2, 4, 5}
            )
        )
    return out


def trend_chart(
    points: Sequence[tuple[Audit, Score | None]], *, current_id: int | None = None, width: float = 180 * mm
) -> Drawing:
    """A bar chart of the score (percent conforming) per audit, each bar labelled with its score and n."""
    height = 62 * mm
    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y = 14 * mm, 14 * mm
    chart.width, chart.height = width - 20 * mm, height - 28 * mm
    values = [s.percent if s is not None else None for _, s in points]
    chart.data = [values]
    chart.barLabelArray = [
        [f"{s.percent:.0f}% (n={s.applicable})" if s is not None and s.percent is not None else "" for _, s in points]
    ]
    chart.barLabelFormat = "values"  # the labels come from barLabelArray
    chart.barLabels.nudge = 6
    chart.barLabels.fontName = "Helvetica"
    chart.barLabels.fontSize = 7
    chart.naLabel = NA_Label()
    chart.naLabel.text = "no answers"
    chart.naLabel.fontName = "Helvetica"
    chart.naLabel.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = 100
    chart.valueAxis.valueStep = 20
    chart.valueAxis.labelTextFormat = "%d%%"
    chart.valueAxis.labels.fontName = "Helvetica"
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = colors.HexColor("#e4e7eb")
    chart.valueAxis.strokeColor = RULE
    chart.categoryAxis.strokeColor = RULE
    chart.categoryAxis.categoryNames = [f"{printable(a.reference)}\n{day(a.planned_start)}" for a, _ in points]
    chart.categoryAxis.labels.fontName = "Helvetica"
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.boxAnchor = "n"
    chart.categoryAxis.labels.dy = -2
    chart.barWidth = 10
    chart.groupSpacing = 10 if len(points) > 4 else 30
    chart.bars[0].fillColor = _EARLIER_BAR
    chart.bars[0].strokeColor = None
    for index, (a, _) in enumerate(points):
        if a.id == current_id:
            chart.bars[(0, index)].fillColor = _CURRENT_BAR
    drawing.add(chart)
    drawing.add(String(0, height - 6, "Score (% conforming)", fontName="Helvetica-Bold", fontSize=8, fillColor=MUTED))
    return drawing


def _other_reasons(audit: Audit) -> list[Flowable]:
    out: list[Flowable] = []
    if audit.postpone_reason.strip():
        out.append(Paragraph(f"<b>Postponed:</b> {markup(audit.postpone_reason)}", STYLES.body))
    if audit.cancel_reason.strip():
        out.append(Paragraph(f"<b>Cancelled:</b> {markup(audit.cancel_reason)}", STYLES.body))
    return out


def _signatures(history: Sequence[TransitionHistory], approved: bool, width: float) -> list[Flowable]:
    signed = [row for row in history if row.signature_manifest]
    rows: list[list[Any]] = []
    for row in signed:
        superseded = any(later.id > row.id and later.event == "request_changes" for later in history)
        status = "Superseded: changes were requested" if row.event == "draft_report" and superseded else "Valid"
        rows.append(
            [
                SIGNER_ROLES.get(row.event, row.event.replace("_", " ").capitalize()),
                Paragraph(markup(row.signed_by_name), STYLES.cell_bold),
                row.signature_meaning,
                utc(row.signed_at),
                status,
            ]
        )
    events = {row.event for row in signed}
    if "draft_report" not in events:
        rows.append(["Lead auditor", "Not yet signed", DASH, DASH, "Report not submitted"])
    if "approve_report" not in events:
        rows.append(["Approver", "Not yet signed", DASH, DASH, "Not yet approved"])
    widths = [24 * mm, 0, 40 * mm, 36 * mm, 34 * mm]
    widths[1] = width - sum(widths)
    out: list[Flowable] = [
        Paragraph(
            "Each signature was applied in qmsflow with the signer's password and is linked to its history "
            "entry: printed name, meaning, date and time (UTC).",
            STYLES.meta,
        ),
        Spacer(0, 2 * mm),
        grid_table(["Role", "Printed name", "Meaning", "Date and time", "Status"], rows, widths),
    ]
    if signed:
        out.append(Spacer(0, 1 * mm))
    for row in signed:
        out.append(Paragraph(markup(row.signature_manifest), STYLES.cell_small))
    if not approved:
        out.append(Paragraph(escape(f"{DRAFT_NOTICE}."), STYLES.notice))
    return out


# --- the programme -----------------------------------------------------------


def _programme_audits(programme: AuditProgramme) -> list[Audit]:
    return list(
        db.session.scalars(
            select(Audit)
            .options(
                selectinload(Audit.team).selectinload(AuditTeamMember.user),
                selectinload(Audit.lead_auditor),
                selectinload(Audit.process),
            )
            .where(Audit.programme_id == programme.id)
            .order_by(Audit.planned_start, Audit.id)
        )
    )


def programme_pdf(
    programme: AuditProgramme,
    organisation: str | None = None,
    *,
    audits: Sequence[Audit] | None = None,
    generated_at: dt.datetime | None = None,
    compress: bool = True,
) -> bytes:
    """The year's audit programme as a printable plan (landscape A4).

    Processes with their risk and audits per year, a month-by-month plan, and every audit
    with its dates, lead auditor, team and state.  ``audits`` defaults to the programme's
    audits from the database.
    """
    organisation = organisation_name(organisation)
    generated_at = generated_at or utcnow()
    pagesize = landscape(A4)
    width = frame_width(pagesize)
    audits = list(audits) if audits is not None else _programme_audits(programme)
    standard = _standard(programme.standard_identifier)
    heading = f"Audit programme {programme.year}"
    cancelled = sum(1 for a in audits if a.state == "cancelled")
    conducted = sum(1 for a in audits if a.state in Audit.CONDUCTED_STATES)

    story: list[Flowable] = [
        para(organisation, STYLES.org),
        Paragraph(escape(heading), STYLES.title),
        Paragraph(markup(programme.title), STYLES.subtitle),
        field_table(
            [
                ("Year", str(programme.year)),
                ("Site", f"{programme.site.name} ({programme.site.code})" if programme.site else "All sites"),
                ("Standard", _standard_label(programme.standard_identifier, standard)),
                ("Objectives", text_or_note(programme.objectives, "Not stated.")),
                ("Prepared by", f"{programme.created_by.name}, {utc(programme.created_at, seconds=False)}"),
                (
                    "Audits",
                    f"{len(audits)} in the programme: {conducted} conducted, {cancelled} cancelled, "
                    f"{len(audits) - conducted - cancelled} to come",
                ),
                ("Generated", utc(generated_at)),
            ],
            [34 * mm, width - 34 * mm],
        ),
        Paragraph("Processes and risk", STYLES.h2),
        *_entries(programme, audits, width),
        Paragraph("Plan by month", STYLES.h2),
        *_month_plan(programme, audits, width),
        Paragraph("Audits", STYLES.h2),
        *_audit_list(audits, width),
    ]
    return build_pdf(
        story,
        furniture=PageFurniture(organisation, heading, generated_footer(generated_at)),
        title=f"{heading}: {programme.title}",
        author=organisation,
        subject="Audit programme",
        pagesize=pagesize,
        compress=compress,
    )


def _entries(programme: AuditProgramme, audits: Sequence[Audit], width: float) -> list[Flowable]:
    if not programme.entries:
        return [Paragraph("No processes in this programme.", STYLES.muted)]
    planned: dict[int | None, int] = {}
    for audit in audits:
        if audit.state != "cancelled":
            planned[audit.process_id] = planned.get(audit.process_id, 0) + 1
    rows = []
    for entry in programme.entries:
        process = entry.process
        rows.append(
            [
                f"{process.name} ({process.code})",
                process.owner.name if process.owner else DASH,
                RISK_LEVELS.get(entry.risk, entry.risk),
                str(entry.audits_per_year),
                str(entry.duration_days),
                str(planned.get(process.id, 0)),
                ", ".join(process.clause_numbers or []) or "All clauses",
            ]
        )
    widths = [0, 40 * mm, 18 * mm, 22 * mm, 20 * mm, 24 * mm, 60 * mm]
    widths[0] = width - sum(widths)
    header = ["Process", "Owner", "Risk", "Audits per year", "Days per audit", "Audits planned", "Clauses"]
    return [grid_table(header, rows, widths, bold={0})]


def _month_plan(programme: AuditProgramme, audits: Sequence[Audit], width: float) -> list[Flowable]:
    live = [a for a in audits if a.state != "cancelled" and a.planned_start is not None]
    if not live:
        return [Paragraph("No audits generated yet.", STYLES.muted)]
    names: dict[int | None, str] = {entry.process_id: entry.process.name for entry in programme.entries}
    for audit in live:
        if audit.process_id not in names:
            names[audit.process_id] = audit.process.name if audit.process else "Other audits"
    cells: dict[tuple[int | None, int], list[Flowable]] = {}
    for audit in live:
        assert audit.planned_start is not None
        if audit.planned_start.year != programme.year:
            continue
        cells.setdefault((audit.process_id, audit.planned_start.month), []).append(
            Paragraph(f"<b>{audit.planned_start.day}</b><br/>{markup(audit.reference)}", _plan_cell)
        )
    rows = [[name, *(cells.get((process_id, m), "") for m in range(1, 13))] for process_id, name in names.items()]
    first = 38 * mm
    widths = [first] + [(width - first) / 12] * 12
    return [
        Paragraph("Each cell gives the planned start day and the audit's reference.", STYLES.meta),
        Spacer(0, 1 * mm),
        grid_table(["Process", *MONTHS], rows, widths, bold={0}),
    ]


def _audit_list(audits: Sequence[Audit], width: float) -> list[Flowable]:
    if not audits:
        return [Paragraph("No audits generated yet.", STYLES.muted)]
    rows = [
        [
            audit.reference,
            audit.process.name if audit.process else DASH,
            audit.title,
            _dates(audit.planned_start, audit.planned_end),
            _dates(audit.actual_start, audit.actual_end) if audit.actual_start else DASH,
            audit.lead_auditor.name if audit.lead_auditor else "Not assigned",
            "\n".join(f"{m.user.name} ({TEAM_ROLES.get(m.role, m.role).lower()})" for m in audit.team) or DASH,
            audit.state_label,
        ]
        for audit in audits
    ]
    widths = [28 * mm, 34 * mm, 0, 30 * mm, 30 * mm, 30 * mm, 34 * mm, 24 * mm]
    widths[2] = width - sum(widths)
    header = ["Reference", "Process", "Title", "Planned", "Actual", "Lead auditor", "Team", "State"]
    return [grid_table(header, rows, widths, plain={0, 3, 4, 7}, bold={0})]


__all__ = ["DRAFT_NOTICE", "audit_report_pdf", "programme_pdf", "trend_chart"]

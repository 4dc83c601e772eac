"""The minutes of a management review (ISO 9001 9.3) as a PDF.

The header gives the review (reference, title, period, planned and held dates, chair and
attendees); then every 9.3.2 input in the standard's order with the figures compiled from the
system and the notes written for it; the minutes; the outputs and decisions (9.3.3), which are
tracked review actions, grouped by category with their owner, due date, status and outcome; and
the approval e-signature from the review's history.  Until the minutes are approved every page
carries a "Draft — minutes not approved" watermark.

Each compiled input is drawn as designed for it in ``review_inputs.py`` (a sentence, headline
figures with their units, tables with plain-language columns), as on the web page. Figures no
designer knows are rendered generically: numbers and words as a small key/value table, lists of
records as tables, lists of words as bullets, nested groups as sub-tables.  The report reads the review's actions and
history through the session, so it runs inside an application context.  All user text is
escaped for reportlab markup.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Indenter, ListFlowable, Paragraph, Spacer, Table, TableStyle
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..database import db, utcnow
from ..labels import figure_label as label_of
from ..labels import words
from ..models import (
    ACTION_STATES,
    MANAGEMENT_REVIEW_INPUTS,
    OUTPUT_CATEGORIES,
    ManagementReview,
    ReviewAction,
    TransitionHistory,
)
from ..services.workflow import history_of
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
    organisation_name,
    para,
    printable,
    text_or_note,
    utc,
)
from .review_inputs import DesignedInput, designed

TITLE = "Management review minutes"
DRAFT_NOTICE = "Draft — minutes not approved"
#: the event whose signature approves the minutes
APPROVAL_EVENT = "approve_minutes"
#: words printed in capitals when a compiled figure's key is turned into a label
#: nested groups deeper than this are printed as text
MAX_DEPTH = 3
_INDENT = 5 * mm

_group = ParagraphStyle(
    "mr_group",
    parent=STYLES.label,
    fontSize=8.5,
    spaceBefore=4,
    spaceAfter=2,
    keepWithNext=1,
    textColor=STYLES.h3.textColor,
)
_lead = ParagraphStyle("mr_lead", parent=STYLES.meta, keepWithNext=1, spaceAfter=2)
_notes = ParagraphStyle("mr_notes", parent=STYLES.body, spaceBefore=3)
_bullet = ParagraphStyle("mr_bullet", parent=STYLES.cell)
_overdue = ParagraphStyle("mr_overdue", parent=STYLES.cell_bold, textColor=colors.HexColor("#9b1c1c"))


# --- small helpers -----------------------------------------------------------


def _dates(start: dt.date | None, end: dt.date | None) -> str:
    if start is None:
        return DASH if end is None else f"until {day(end)}"
    if end is None or end == start:
        return day(start)
    return f"{day(start)} to {day(end)}"


def value_text(value: Any) -> str:
    """One compiled value as text: numbers without noise, yes/no, a dash for nothing."""
    if value is None or value == "":
        return DASH
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float):
        return f"{value:.1f}".removesuffix(".0") if value == value else DASH  # NaN is no figure
    if isinstance(value, Mapping):
        return "; ".join(f"{label_of(k)}: {value_text(v)}" for k, v in value.items()) or DASH
    if isinstance(value, list | tuple):
        return ", ".join(value_text(v) for v in value) or DASH
    return words(str(value))


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, Mapping | list | tuple)


# --- generic rendering of compiled figures ----------------------------------------------


def render_figures(value: Any, width: float, depth: int = 0) -> list[Flowable]:
    """Compiled figures as flowables: scalars as a key/value table, lists of records as tables,
    lists of words as bullets, nested groups as indented sub-tables."""
    if isinstance(value, Mapping):
        return _render_mapping(value, width, depth)
    if isinstance(value, list | tuple):
        return _render_list(value, width, depth)
    return [para(value_text(value), STYLES.body)]


def _render_mapping(value: Mapping[str, Any], width: float, depth: int) -> list[Flowable]:
    if not value:
        return [Paragraph("Nothing recorded.", STYLES.muted)]
    out: list[Flowable] = []
    scalars = [(k, v) for k, v in value.items() if _is_scalar(v) or depth >= MAX_DEPTH]
    if scalars:
        key_width = min(70 * mm, width * 0.6)
        rows = [[label_of(k), value_text(v)] for k, v in scalars]
        out.append(grid_table(["Figure", "Value"], rows, [key_width, width - key_width]))
    for key, nested in value.items():
        if _is_scalar(nested) or depth >= MAX_DEPTH:
            continue
        # the indenter first, so that the heading keeps with the table that follows it
        out += [
            Indenter(left=_INDENT),
            Paragraph(markup(label_of(key)), _group),
            *render_figures(nested, width - _INDENT, depth + 1),
            Indenter(left=-_INDENT),
        ]
    return out


def _render_list(items: Sequence[Any], width: float, depth: int) -> list[Flowable]:
    if not items:
        return [Paragraph("None.", STYLES.muted)]
    if all(isinstance(item, Mapping) for item in items):
        columns = list(dict.fromkeys(k for item in items for k in item if k != "id"))
        if not columns:
            return [Paragraph(f"{len(items)} entries.", STYLES.muted)]
        rows = [[value_text(item.get(column)) for column in columns] for item in items]
        return [grid_table([label_of(c) for c in columns], rows, [width / len(columns)] * len(columns))]
    bullets = [para(value_text(item), _bullet) for item in items]
    return [ListFlowable(bullets, bulletType="bullet", start="•", leftIndent=10, bulletFontSize=8)]


# --- the designed inputs (reports/review_inputs.py) -----------------------------------------

#: columns that hold sentences get a double share of a table's width
_WIDE_COLUMNS = {"Title", "Action", "Question", "Auditor's note", "What happened", "Outcome", "By severity"}
#: columns of references (OBJ-2026-0003) get room enough not to break them
_REFERENCE_COLUMNS = {"Objective", "Survey", "Review", "Audit", "Nonconformity", "Opportunity", "Document", "Risk"}
_TILES_PER_ROW = 3
_tile = ParagraphStyle("mr_tile", parent=STYLES.cell, leading=11)
_tile_alert = ParagraphStyle("mr_tile_alert", parent=_tile, textColor=colors.HexColor("#9b1c1c"))


def designed_input(view: DesignedInput, width: float) -> list[Flowable]:
    """An input as designed for a reader: its sentence, its headline figures as tiles, its tables."""
    out: list[Flowable] = [para(view.summary, _lead)]
    if view.figures:
        tiles = [
            Paragraph(
                f'<font size="7" color="#555555">{markup(f.label)}</font><br/>'
                f'<font size="12"><b>{markup(f.value)}</b></font>'
                + (f'<br/><font size="7" color="#555555">{markup(f.note)}</font>' if f.note else ""),
                _tile_alert if f.alert else _tile,
            )
            for f in view.figures
        ]
        rows = [tiles[i : i + _TILES_PER_ROW] for i in range(0, len(tiles), _TILES_PER_ROW)]
        rows[-1] += [""] * (_TILES_PER_ROW - len(rows[-1]))
        table = Table(rows, colWidths=[width / _TILES_PER_ROW] * _TILES_PER_ROW, hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("BOX", (0, 0), (-1, -1), 0.5, colors.HexColor("#c8ccd2")),
                    ("INNERGRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#dfe2e6")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("TOPPADDING", (0, 0), (-1, -1), 3),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ]
            )
        )
        out += [table, Spacer(1, 3)]
    for t in view.tables:
        out.append(Paragraph(markup(t.caption), _group))
        if not t.rows:
            out.append(Paragraph(markup(t.empty), STYLES.muted))
            continue
        weights = [2 if c in _WIDE_COLUMNS else 1.4 if c in _REFERENCE_COLUMNS else 1 for c in t.columns]
        widths = [width * w / sum(weights) for w in weights]
        rows = [[para(cell.text, _overdue if cell.alert else STYLES.cell) for cell in row] for row in t.rows]
        out.append(grid_table(list(t.columns), rows, widths))
    return out


# --- data the report reads ------------------------------------------------------


def actions_of(review: ManagementReview) -> list[ReviewAction]:
    """The actions (9.3.3 outputs) this management review decided, by due date."""
    if review.id is None:
        return []
    return list(
        db.session.scalars(
            select(ReviewAction)
            .options(selectinload(ReviewAction.owner))
            .where(ReviewAction.review_kind == "management", ReviewAction.review_id == review.id)
            .order_by(ReviewAction.due_date, ReviewAction.id)
        )
    )


def approvals(history: Sequence[TransitionHistory]) -> list[TransitionHistory]:
    """The signed approvals of the minutes in the review's history."""
    return [row for row in history if row.event == APPROVAL_EVENT and row.signature_manifest]


# --- the minutes ---------------------------------------------------------------


def management_review_pdf(
    review: ManagementReview,
    *,
    organisation: str | None = None,
    generated_at: dt.datetime | None = None,
    today: dt.date | None = None,
    compress: bool = True,
    reader: Any = None,
) -> bytes:
    """The minutes of the management review as a PDF (A4, pages numbered "Page X of Y").

    Approved minutes carry the approver's e-signature; until then every page is watermarked
    "Draft — minutes not approved".  ``today`` decides which actions are overdue.  ``reader``: who
    downloads them; a document they may not see is not named (``inputs_for``).
    """
    organisation = organisation_name(organisation)
    generated_at = generated_at or utcnow()
    today = today or dt.date.today()
    width = frame_width(A4)
    history = history_of(review) if review.id is not None else []
    signed = approvals(history)
    approved = bool(signed)

    story: list[Flowable] = [
        para(organisation, STYLES.org),
        Paragraph(escape(TITLE), STYLES.title),
        Paragraph(f"{markup(review.reference)}: {markup(review.title)}", STYLES.subtitle),
        _header(review, generated_at, approved, width),
    ]
    if not approved:
        story.append(Paragraph(escape(_draft_text(review)), STYLES.notice))
    story += [
        Paragraph("Inputs (ISO 9001 9.3.2)", STYLES.h2),
        *_inputs(review, width, reader),
        Paragraph("Minutes", STYLES.h2),
        text_or_note(review.minutes, "No minutes written yet."),
        Paragraph("Outputs and decisions (ISO 9001 9.3.3)", STYLES.h2),
        *_actions(actions_of(review), today, width),
        Paragraph("Approval", STYLES.h2),
        *_signatures(signed, approved, width),
    ]
    return build_pdf(
        story,
        furniture=PageFurniture(
            organisation,
            f"{review.reference} {TITLE.lower()}",
            generated_footer(generated_at),
            watermark="" if approved else DRAFT_NOTICE,
        ),
        title=f"{review.reference} {review.title}",
        author=organisation,
        subject=TITLE,
        compress=compress,
    )


def _draft_text(review: ManagementReview) -> str:
    if review.state == "cancelled":
        return f"{DRAFT_NOTICE}: this review was cancelled."
    if review.held_on is None:
        return f"{DRAFT_NOTICE}: the meeting has not been held yet; inputs may still change."
    return f"{DRAFT_NOTICE}: the minutes may still change until a manager approves them."


def _header(review: ManagementReview, generated_at: dt.datetime, approved: bool, width: float) -> Flowable:
    attendees = [str(a) for a in (review.attendees or []) if str(a).strip()]
    pairs: list[tuple[str, Any]] = [
        ("Reference", review.reference),
        ("Title", review.title),
        ("Period reviewed", _dates(review.period_start, review.period_end)),
        ("Planned for", day(review.planned_for)),
        ("Held on", day(review.held_on) if review.held_on else "Not held yet"),
        ("Chair", review.chair.name if review.chair else DASH),
        ("Attendees", "\n".join(attendees) if attendees else "Not recorded"),
        ("State", review.state_label),
        (
            "Minutes approved",
            utc(review.minutes_approved_at)
            if approved and review.minutes_approved_at
            else ("Approved" if approved else "Not yet approved"),
        ),
        ("Generated", utc(generated_at)),
    ]
    return field_table(pairs, [34 * mm, width - 34 * mm])


def _inputs(review: ManagementReview, width: float, reader: Any = None) -> list[Flowable]:
    from ..services.reviews.management import inputs_for

    inputs = (review.inputs or {}) if reader is None else inputs_for(review, reader)
    out: list[Flowable] = [
        Paragraph(
            "Each input as compiled from qmsflow's records for the period reviewed, with the notes written for it.",
            STYLES.meta,
        )
    ]
    keys = list(MANAGEMENT_REVIEW_INPUTS) + [k for k in inputs if k not in MANAGEMENT_REVIEW_INPUTS]
    for key in keys:
        entry = inputs.get(key) or {}
        if not isinstance(entry, Mapping):
            entry = {"notes": entry}
        out.append(Paragraph(markup(MANAGEMENT_REVIEW_INPUTS.get(key, label_of(key))), STYLES.h3))
        compiled = entry.get("compiled")
        notes = str(entry.get("notes") or "").strip()
        if compiled not in (None, {}, []):
            at = entry.get("compiled_at")
            if at:
                out.append(para(f"Compiled {_when(at)}", _lead))
            view = designed(key, compiled)
            out += render_figures(compiled, width) if view is None else designed_input(view, width)
        if notes:
            out.append(Paragraph(f"<b>Notes:</b> {markup(notes)}", _notes))
        if compiled in (None, {}, []) and not notes:
            out.append(Paragraph("Not provided.", STYLES.muted))
    return out


def _when(value: Any) -> str:
    """A stored ISO timestamp as ``2026-05-01 14:03 UTC``; anything else as given."""
    try:
        return utc(dt.datetime.fromisoformat(str(value)), seconds=False)
    except ValueError:
        return printable(value)


def _actions(actions: Sequence[ReviewAction], today: dt.date, width: float) -> list[Flowable]:
    if not actions:
        return [Paragraph("No outputs or actions recorded for this review.", STYLES.muted)]
    groups: dict[str, list[ReviewAction]] = {key: [] for key in OUTPUT_CATEGORIES}
    for action in actions:
        groups.setdefault(action.category if action.category in OUTPUT_CATEGORIES else "", []).append(action)
    widths = [0, 32 * mm, 20 * mm, 22 * mm, 46 * mm]
    widths[0] = width - sum(widths)
    out: list[Flowable] = [
        Paragraph("Each decision is a tracked action; status as of " + escape(day(today)) + ".", _lead)
    ]
    for key, group in groups.items():
        out.append(Paragraph(escape(OUTPUT_CATEGORIES.get(key, "Other actions")), STYLES.h3))
        if not group:
            out.append(Paragraph("None decided.", STYLES.muted))
            continue
        rows = []
        for action in group:
            what: list[Flowable] = [Paragraph(markup(action.title), STYLES.cell_bold)]
            if action.description.strip():
                what.append(para(action.description, STYLES.cell))
            status = ACTION_STATES.get(action.status, action.status)
            if action.is_overdue(today):
                status_cell: Any = Paragraph(escape(f"{status}, overdue"), _overdue)
            elif action.status == "done" and action.done_at is not None:
                status_cell = f"{status} {utc(action.done_at, seconds=False)[:10]}"
            else:
                status_cell = status
            rows.append(
                [
                    what,
                    action.owner.name if action.owner else DASH,
                    day(action.due_date),
                    status_cell,
                    action.outcome or DASH,
                ]
            )
        out.append(grid_table(["Action", "Owner", "Due", "Status", "Outcome"], rows, widths, plain={2}))
    return out


def _signatures(
    signed: Sequence[TransitionHistory],
    approved: bool,
    width: float,
    *,
    intro: str = "The minutes are approved by a manager's e-signature, applied in qmsflow with the signer's password "
    "and linked to its history entry: printed name, meaning, date and time (UTC).",
    notice: str = DRAFT_NOTICE,
) -> list[Flowable]:
    rows: list[list[Any]] = [
        [
            "Approver",
            Paragraph(markup(row.signed_by_name), STYLES.cell_bold),
            row.signature_meaning,
            utc(row.signed_at),
        ]
        for row in signed
    ]
    if not rows:
        rows.append(["Approver", "Not yet signed", DASH, DASH])
    widths = [24 * mm, 0, 40 * mm, 40 * mm]
    widths[1] = width - sum(widths)
    out: list[Flowable] = [
        Paragraph(escape(intro), STYLES.meta),
        Spacer(0, 2 * mm),
        grid_table(["Role", "Printed name", "Meaning", "Date and time"], rows, widths),
    ]
    if signed:
        out.append(Spacer(0, 1 * mm))
    for row in signed:
        out.append(Paragraph(markup(row.signature_manifest), STYLES.cell_small))
    if not approved:
        out.append(Paragraph(escape(f"{notice}."), STYLES.notice))
    return out


__all__ = [
    "DRAFT_NOTICE",
    "TITLE",
    "actions_of",
    "approvals",
    "label_of",
    "management_review_pdf",
    "render_figures",
    "transition_plan_pdf",
    "value_text",
]


# --------------------------------------------------------------------------- transition plan (ISO-change review)

PLAN_TITLE = "Transition plan"
PLAN_DRAFT = "Draft — gap assessment not signed"


def transition_plan_pdf(
    review: Any,
    *,
    organisation: str | None = None,
    generated_at: dt.datetime | None = None,
    today: dt.date | None = None,
    compress: bool = True,
    reader: Any = None,
) -> bytes:
    """The plan of an ISO-change review as a PDF: each clause change with what cites it, its assessment
    and actions; the transition audit; the signed gap assessment (watermarked "draft" until signed).

    ``reader``: who downloads it; a document they may not see is not named (``visible_references``).
    """
    from ..services.reviews import actions_of as review_actions
    from ..services.reviews.iso_change import visible_references
    from ..services.standards import find_standard

    organisation = organisation_name(organisation)
    generated_at = generated_at or utcnow()
    today = today or dt.date.today()
    width = frame_width(A4)
    history = history_of(review) if review.id is not None else []
    signed = [row for row in history if row.event == "complete_gap_analysis" and row.signature_manifest]
    actions = review_actions(review)
    by_item: dict[int, list[ReviewAction]] = {}
    for action in actions:
        by_item.setdefault(action.change_item_id or 0, []).append(action)

    def label(identifier: str) -> str:
        try:
            return find_standard(identifier).label
        except KeyError:
            return identifier

    assessed = sum(1 for i in review.items if i.status != "not_assessed")
    gaps = sum(1 for i in review.items if i.status == "gap")
    header = field_table(
        [
            ("Review", f"{review.reference} · {review.state_label}"),
            ("Edition in use", label(review.old_standard)),
            ("New edition", label(review.new_standard)),
            ("Transition deadline", day(review.transition_deadline) if review.transition_deadline else DASH),
            ("Owner", review.owner.name if review.owner else DASH),
            ("Progress", f"{assessed} of {len(review.items)} clause changes assessed; {gaps} gap(s)"),
            ("Generated", utc(generated_at)),
        ],
        [40 * mm, width - 40 * mm],
    )
    story: list[Flowable] = [
        para(organisation, STYLES.org),
        Paragraph(escape(PLAN_TITLE), STYLES.title),
        Paragraph(f"{markup(review.reference)}: {markup(review.title)}", STYLES.subtitle),
        header,
    ]
    if not signed:
        story.append(Paragraph(escape(f"{PLAN_DRAFT}: the plan may still change."), STYLES.notice))
    if review.gap_summary:
        story += [Paragraph("Gap assessment", STYLES.h2), para(review.gap_summary)]
    rows = []
    references = visible_references(review.items, reader) if reader is not None else {}
    for item in review.items:
        refs = references.get(item.id, item.references or {})
        cited = [
            f"{group.get('label')}: " + ", ".join(str(c.get("label")) for c in group.get("items", [])[:8])
            for group in refs.get("cited_by") or []
        ] or ["—"]
        planned = [
            f"{a.title} ({a.owner.name}, due {day(a.due_date)}, {ACTION_STATES.get(a.status, a.status).lower()})"
            for a in by_item.get(item.id, [])
        ]
        rows.append(
            [
                f"{item.new_clause or item.old_clause}",
                f"{item.change}: {item.description}",
                "\n".join(cited),
                f"{item.status.replace('_', ' ')}" + (f": {item.assessment}" if item.assessment else ""),
                "\n".join(planned) or DASH,
            ]
        )
    widths = [14 * mm, 0, 40 * mm, 34 * mm, 36 * mm]
    widths[1] = width - sum(widths)
    story += [
        Paragraph("Clause changes", STYLES.h2),
        grid_table(["Clause", "What changed", "Cited by", "Assessment", "Actions"], rows, widths)
        if rows
        else para("No clause changes."),
    ]
    general = by_item.get(0, [])
    if general:
        story += [Paragraph("Actions for the whole transition", STYLES.h2), *_actions(general, today, width)]
    audit = review.verification_audit
    story += [
        Paragraph("Transition audit", STYLES.h2),
        para(
            f"{audit.reference} {audit.title}, planned {day(audit.planned_start) if audit.planned_start else DASH} "
            f"({audit.state_label.lower()}), {len(audit.items)} checklist questions"
            if audit
            else "Not planned yet."
        ),
        Paragraph("Signature of the gap assessment", STYLES.h2),
        *_signatures(
            signed,
            bool(signed),
            width,
            intro="The gap assessment is signed by a manager's e-signature when the gap analysis completes, applied "
            "with the signer's password and linked to its history entry: printed name, meaning, date and time (UTC).",
            notice=PLAN_DRAFT,
        ),
    ]
    return build_pdf(
        story,
        furniture=PageFurniture(
            organisation,
            f"{review.reference} {PLAN_TITLE.lower()}",
            generated_footer(generated_at),
            watermark="" if signed else PLAN_DRAFT,
        ),
        title=f"{review.reference} {review.title}",
        author=organisation,
        subject=PLAN_TITLE,
        compress=compress,
    )

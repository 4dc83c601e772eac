"""PDF reports of nonconformities: one NC in full, and the register of many.

The functions take model objects and strings and return PDF bytes; they know
nothing of requests.  ``nonconformity_report`` reads the NC's transition
history through the NC's own session unless it is given; ``register_report``
reads only what is loaded on the objects (see ``register_load_options``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, ListFlowable, ListItem, Paragraph, Spacer
from sqlalchemy import and_, inspect, or_, select
from sqlalchemy.orm import object_session, selectinload
from sqlalchemy.orm.strategy_options import Load

from workflows import Lifecycle, UnknownLifecycle, get_lifecycle

from ..labels import ROOT_CAUSE_METHOD_LABELS
from ..models import NC_SOURCES, SEVERITY_LABELS, CorrectiveAction, Nonconformity, TransitionHistory
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
    para,
    text_or_note,
    utc,
)

_NC = "nonconformity"
_CA = "corrective_action"


def _now(generated_at: dt.datetime | None) -> dt.datetime:
    return generated_at or dt.datetime.now(dt.UTC)


def _label(mapping: Mapping[str, str], key: str | None, empty: str = DASH) -> str:
    return mapping.get(key, key) if key else empty


# --- history ---------------------------------------------------------------


def load_history(nc: Nonconformity) -> list[TransitionHistory]:
    """The transitions of ``nc`` and of its corrective actions, oldest first, in one query."""
    session = object_session(nc)
    if session is None:
        raise ValueError(f"{nc!r} is not attached to a session: pass its history explicitly")
    action_ids = [a.id for a in nc.actions]
    condition = and_(TransitionHistory.lifecycle == _NC, TransitionHistory.record_id == nc.id)
    if action_ids:
        condition = or_(
            condition, and_(TransitionHistory.lifecycle == _CA, TransitionHistory.record_id.in_(action_ids))
        )
    return list(session.scalars(select(TransitionHistory).where(condition).order_by(TransitionHistory.id)))


class _Labels:
    """Event and state labels of history rows, each under the lifecycle version it was written with."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int], Lifecycle | None] = {}

    def _lifecycle(self, row: TransitionHistory) -> Lifecycle | None:
        key = (row.lifecycle, row.lifecycle_version)
        if key not in self._cache:
            try:
                self._cache[key] = get_lifecycle(*key)
            except UnknownLifecycle:
                self._cache[key] = None
        return self._cache[key]

    def event(self, row: TransitionHistory) -> str:
        lifecycle = self._lifecycle(row)
        try:
            return lifecycle.event(row.event).label if lifecycle else row.event
        except KeyError:
            return row.event

    def state(self, row: TransitionHistory, name: str) -> str:
        lifecycle = self._lifecycle(row)
        try:
            return lifecycle.state(name).label if lifecycle else name
        except KeyError:
            return name


def _reason(row: TransitionHistory) -> str:
    data = row.data or {}
    parts = [row.comment or ""]
    for key in ("reason", "justification"):
        value = data.get(key)
        if value and str(value) not in parts:
            parts.append(str(value))
    return "\n".join(p for p in parts if p)


# --- one nonconformity -----------------------------------------------------


def nonconformity_report(
    nc: Nonconformity,
    organisation: str,
    *,
    history: Sequence[TransitionHistory] | None = None,
    generated_at: dt.datetime | None = None,
    compress: bool = True,
) -> bytes:
    """The full record of one nonconformity as a PDF, with its history and e-signatures.

    ``history`` defaults to ``load_history(nc)`` (the NC's and its actions'
    transitions); ``compress=False`` leaves the text readable in the bytes.
    """
    generated_at = _now(generated_at)
    rows = list(history) if history is not None else load_history(nc)
    refs = {(_NC, nc.id): nc.reference} | {(_CA, a.id): a.reference for a in nc.actions}
    labels = _Labels()
    width = frame_width(A4)

    story: list[Flowable] = [
        para(organisation, STYLES.org),
        Paragraph("Nonconformity report", STYLES.title),
        Paragraph(f"{markup(nc.reference)}: {markup(nc.title)}", STYLES.subtitle),
        field_table(
            [
                ("Reference", nc.reference),
                ("State", nc.state_label),
                ("Generated", utc(generated_at)),
            ],
            [32 * mm, width - 32 * mm],
        ),
        Paragraph("Details", STYLES.h2),
        field_table(
            [
                ("Source", _label(NC_SOURCES, nc.source)),
                ("Severity", _label(SEVERITY_LABELS, nc.severity, "Not graded yet")),
                ("Process", or_dash(nc.process)),
                ("ISO clauses", ", ".join(nc.clause_refs or []) or DASH),
                ("Detected on", day(nc.detected_on)),
                ("Raised by", nc.raised_by.name if nc.raised_by else DASH),
                ("Owner", nc.owner.name if nc.owner else "Not assigned"),
                ("Containment due", day(nc.containment_due)),
                ("Recorded", utc(nc.created_at)),
            ],
            [32 * mm, width - 32 * mm],
        ),
        Paragraph("Description", STYLES.h3),
        text_or_note(nc.description, "No description."),
        Paragraph("Containment and correction", STYLES.h2),
        Paragraph("Containment", STYLES.h3),
        text_or_note(nc.containment, "Not recorded yet."),
        Paragraph("Correction", STYLES.h3),
        text_or_note(nc.correction, "Not recorded yet."),
        Paragraph("Root cause", STYLES.h2),
        *_root_cause(nc, width),
        Paragraph("Corrective actions", STYLES.h2),
        *_actions(nc, rows, width),
        Paragraph("Effectiveness and closure", STYLES.h2),
        *_closure(nc, width),
        Paragraph("History", STYLES.h2),
        *_history(rows, refs, labels, width),
        Paragraph("Electronic signatures", STYLES.h2),
        *_signatures(rows, refs, labels, width),
    ]
    return build_pdf(
        story,
        furniture=PageFurniture(organisation, nc.reference, generated_footer(generated_at)),
        title=f"{nc.reference} {nc.title}",
        author=organisation,
        subject="Nonconformity report",
        compress=compress,
    )


def _root_cause(nc: Nonconformity, width: float) -> list[Flowable]:
    if not nc.root_cause_method and not nc.root_cause:
        return [Paragraph("Not analysed yet.", STYLES.muted)]
    out: list[Flowable] = [
        field_table(
            [
                ("Method", _label(ROOT_CAUSE_METHOD_LABELS, nc.root_cause_method)),
                ("Root cause", or_dash(nc.root_cause)),
            ],
            [32 * mm, width - 32 * mm],
        )
    ]
    whys = [w for w in (nc.root_cause_whys or []) if str(w).strip()]
    if whys:
        out.append(Paragraph("Five whys", STYLES.h3))
        out.append(
            ListFlowable(
                [ListItem(para(w), value=i) for i, w in enumerate(whys, 1)],
                bulletType="1",
                bulletFormat="Why %s.",
                bulletFontName="Helvetica-Bold",
                bulletFontSize=8.5,
                leftIndent=14 * mm,
                bulletDedent=14 * mm,
            )
        )
    fishbone = {k: v for k, v in (nc.root_cause_fishbone or {}).items() if v}
    if fishbone:
        out.append(Paragraph("Fishbone categories", STYLES.h3))
        rows = [
            [str(category).replace("_", " ").capitalize(), "\n".join(f"• {c}" for c in _as_list(causes))]
            for category, causes in fishbone.items()
        ]
        out.append(grid_table(["Category", "Causes"], rows, [32 * mm, width - 32 * mm]))
    return out


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return [str(value)]


def _actions(nc: Nonconformity, rows: Sequence[TransitionHistory], width: float) -> list[Flowable]:
    actions = list(nc.actions)
    if not actions:
        return [Paragraph("No corrective actions planned.", STYLES.muted)]
    last_by = {}  # (action id, event) → the latest row of that event: the name as it was at the time
    for row in rows:
        if row.lifecycle == _CA:
            last_by[(row.record_id, row.event)] = row
    table_rows = []
    for action in actions:
        implemented = last_by.get((action.id, "implement"))
        verified = last_by.get((action.id, "verify"))
        table_rows.append(
            [
                Paragraph(markup(action.reference), STYLES.cell_bold),
                _action_text(action),
                or_dash(action.owner.name if action.owner else None),
                day(action.due_date),
                action.state_label,
                _by_at(action, "implemented", implemented),
                _by_at(action, "verified", verified),
            ]
        )
    widths = [23 * mm, 0, 22 * mm, 17 * mm, 19 * mm, 25 * mm, 25 * mm]
    widths[1] = width - sum(widths)
    header = ["Reference", "Action", "Owner", "Due", "State", "Implemented (UTC)", "Verified (UTC)"]
    return [grid_table(header, table_rows, widths)]


def _action_text(action: CorrectiveAction) -> list[Flowable]:
    parts: list[Flowable] = [Paragraph(markup(action.title), STYLES.cell_bold)]
    for label, text in (
        ("Plan", action.description),
        ("Done", action.implementation),
        ("Verification", action.verification),
        ("Cancelled", action.cancel_reason),
    ):
        if text and text.strip():
            parts.append(Paragraph(f"<b>{label}:</b> {markup(text)}", STYLES.cell))
    return parts


def _by_at(action: CorrectiveAction, what: str, row: TransitionHistory | None) -> str:
    """Who did ``what`` ("implemented", "verified") and when: the name as the history recorded it."""
    user_id = getattr(action, f"{what}_by_id")
    at = getattr(action, f"{what}_at")
    if user_id is None and row is None:
        return DASH
    if row is not None:
        name = row.signed_by_name or row.actor_name
    else:  # history not given: the user's current name
        user = getattr(action, f"{what}_by", None)
        name = user.name if user is not None else f"user #{user_id}"
    return f"{name}\n{utc(at, seconds=False).removesuffix(' UTC')}"


def _closure(nc: Nonconformity, width: float) -> list[Flowable]:
    pairs: list[tuple[str, Any]] = [("Effectiveness check due", day(nc.verification_due))]
    pairs.append(("Evidence of effectiveness", text_or_note(nc.effectiveness_evidence, "Not verified yet.")))
    if nc.closure_note:
        pairs.append(("Closure justification", para(nc.closure_note)))
    if nc.rejection_reason:
        pairs.append(("Reason for rejection", para(nc.rejection_reason)))
    ended = "Rejected" if nc.state == "rejected" else "Closed"
    pairs.append((ended, utc(nc.closed_at) if nc.closed_at else "Open"))
    return [field_table(pairs, [42 * mm, width - 42 * mm])]


def _history(
    rows: Sequence[TransitionHistory], refs: Mapping[tuple[str, int], str], labels: _Labels, width: float
) -> list[Flowable]:
    if not rows:
        return [Paragraph("No transitions recorded yet.", STYLES.muted)]
    table_rows = [
        [
            utc(row.at).removesuffix(" UTC"),
            refs.get((row.lifecycle, row.record_id), f"{row.lifecycle} #{row.record_id}"),
            Paragraph(markup(labels.event(row)), STYLES.cell_bold),
            f"{labels.state(row, row.from_state)} → {labels.state(row, row.to_state)}",
            row.actor_name,
            _reason(row) or DASH,
        ]
        for row in rows
    ]
    widths = [19 * mm, 22 * mm, 30 * mm, 39 * mm, 22 * mm, 0]
    widths[-1] = width - sum(widths)
    header = ["Time (UTC)", "Record", "Event", "From → to", "By", "Comment or reason"]
    return [grid_table(header, table_rows, widths)]


def _signatures(
    rows: Sequence[TransitionHistory], refs: Mapping[tuple[str, int], str], labels: _Labels, width: float
) -> list[Flowable]:
    signed = [row for row in rows if row.signature_manifest]
    if not signed:
        return [Paragraph("No electronic signatures recorded.", STYLES.muted)]
    table_rows = [
        [
            refs.get((row.lifecycle, row.record_id), f"{row.lifecycle} #{row.record_id}"),
            labels.event(row),
            Paragraph(markup(row.signature_manifest), STYLES.cell_bold),
        ]
        for row in signed
    ]
    widths = [24 * mm, 36 * mm, 0]
    widths[-1] = width - sum(widths)
    return [
        Paragraph(
            "Each signature was applied in qmsflow with the signer's password and is linked to its history "
            "entry: printed name — meaning — date and time (UTC).",
            STYLES.meta,
        ),
        Spacer(0, 2 * mm),
        grid_table(["Record", "Event", "Signature"], table_rows, widths),
    ]


# --- the register ----------------------------------------------------------


def register_load_options() -> tuple[Load, ...]:
    """Loader options that give ``register_report`` all it reads, in two extra queries in total."""
    return (selectinload(Nonconformity.owner), selectinload(Nonconformity.actions))


def _open_actions(nc: Nonconformity) -> int | None:
    """Open corrective actions of ``nc``, or None when they are not loaded (never lazy-loads them)."""
    state = inspect(nc)
    if "actions" in state.unloaded and state.has_identity:
        return None
    return sum(1 for a in nc.actions if a.state in CorrectiveAction.OPEN_STATES)


def register_report(
    ncs: Sequence[Nonconformity],
    organisation: str,
    filters: Mapping[str, str],
    *,
    generated_at: dt.datetime | None = None,
    compress: bool = True,
) -> bytes:
    """The nonconformity register for the current filter as a landscape PDF.

    ``filters`` maps a filter's label to its value as shown to the user.  Only
    what is loaded on ``ncs`` is read; load them with ``register_load_options()``.
    The open-actions column appears when the NCs' actions are loaded.
    """
    generated_at = _now(generated_at)
    pagesize = landscape(A4)
    width = frame_width(pagesize)
    ncs = list(ncs)
    open_counts = [_open_actions(nc) for nc in ncs]
    with_actions = any(count is not None for count in open_counts)

    shown = [(str(k), str(v)) for k, v in filters.items() if v not in (None, "")]
    filter_text = "; ".join(f"<b>{markup(k)}:</b> {markup(v)}" for k, v in shown) if shown else "none (all)"
    story: list[Flowable] = [
        para(organisation, STYLES.org),
        Paragraph("Nonconformity register", STYLES.title),
        Paragraph(f"Filter: {filter_text}", STYLES.body),
        Paragraph(f"Generated {escape(utc(generated_at))}", STYLES.meta),
        Spacer(0, 2 * mm),
        *_totals(ncs, open_counts if with_actions else None),
        Spacer(0, 3 * mm),
    ]
    if not ncs:
        story.append(Paragraph("No nonconformities match this filter.", STYLES.subtitle))
    else:
        story.append(_register_table(ncs, open_counts, with_actions, width))
    return build_pdf(
        story,
        furniture=PageFurniture(organisation, "Nonconformity register", generated_footer(generated_at)),
        title="Nonconformity register",
        author=organisation,
        subject="Nonconformity register",
        pagesize=pagesize,
        compress=compress,
    )


def _totals(ncs: Sequence[Nonconformity], open_counts: Sequence[int | None] | None) -> list[Flowable]:
    noun = "nonconformity" if len(ncs) == 1 else "nonconformities"
    lines = [f"<b>Total: {len(ncs)} {noun}</b>"]
    if ncs:
        by_state = Counter(nc.state_label for nc in ncs)
        by_severity = Counter(_label(SEVERITY_LABELS, nc.severity, "Not graded") for nc in ncs)
        lines.append("By state: " + ", ".join(f"{escape(k)} {n}" for k, n in by_state.most_common()))
        lines.append("By severity: " + ", ".join(f"{escape(k)} {n}" for k, n in by_severity.most_common()))
        if open_counts is not None:
            lines.append(f"Open corrective actions: {sum(c or 0 for c in open_counts)}")
    return [Paragraph(line, STYLES.body) for line in lines]


def _register_table(
    ncs: Sequence[Nonconformity], open_counts: Sequence[int | None], with_actions: bool, width: float
) -> Flowable:
    header = ["Reference", "Title", "Source", "Severity", "Process", "Clauses", "State", "Detected", "Owner"]
    widths = [25 * mm, 0, 28 * mm, 17 * mm, 27 * mm, 22 * mm, 30 * mm, 18 * mm, 25 * mm]
    if with_actions:
        header.append("Open actions")
        widths.append(14 * mm)
    widths[1] = width - sum(widths)
    rows = []
    for nc, open_count in zip(ncs, open_counts, strict=True):
        row: list[Any] = [
            nc.reference,
            nc.title,
            _label(NC_SOURCES, nc.source),
            _label(SEVERITY_LABELS, nc.severity),
            or_dash(nc.process),
            ", ".join(nc.clause_refs or []) or DASH,
            nc.state_label,
            day(nc.detected_on),
            nc.owner.name if nc.owner else DASH,
        ]
        if with_actions:
            row.append(DASH if open_count is None else str(open_count))
        rows.append(row)
    plain = set(range(len(header))) - {1}  # drawn without a Paragraph when the value fits on one line
    return grid_table(header, rows, widths, plain=plain, bold={0}, split_in_row=False)


__all__ = ["load_history", "nonconformity_report", "register_load_options", "register_report"]

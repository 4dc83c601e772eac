"""The virtual platforms report as a PDF: the complaints received through social platforms in a
period — counts, response times and outcomes per platform, the other channels for context, and the
list of the platform complaints. An input to the management review (ISO 9001 9.3.2 c 1). All user
text is escaped.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from xml.sax.saxutils import escape

from flask import current_app, has_app_context
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer
from sqlalchemy import select

from workflows import get_lifecycle

from ..database import db, utcnow
from ..models import (
    CHANNELS,
    VIRTUAL_PLATFORMS,
    Complaint,
)
from ..services.complaints import PlatformFigures, platform_figures
from ..services.surveys.measures import MIN_RESPONSES
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
    headed,
    organisation_name,
    para,
    plural,
    share,
    utc,
)
from .surveys import _BAR_COLOUR, _GRID_LINE, _OTHER_BAR, _days

#: the channels that are not virtual platforms, shown for context
OTHER_CHANNELS = tuple(channel for channel in CHANNELS if channel not in VIRTUAL_PLATFORMS)


NO_COMPLAINTS = "No complaints in this period."


def _targets() -> tuple[int, int]:
    config = current_app.config if has_app_context() else {}
    return int(config.get("QMS_COMPLAINT_ACK_DAYS", 2)), int(config.get("QMS_COMPLAINT_RESOLVE_DAYS", 20))


def _complaints(start: dt.date, end: dt.date) -> list[Complaint]:
    """The period's complaints from every channel, as ``platform_figures`` selects them."""
    first = dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC)
    last = dt.datetime.combine(end, dt.time.max, tzinfo=dt.UTC)
    return list(
        db.session.scalars(
            select(Complaint)
            .where(Complaint.received_at.between(first, last))
            .order_by(Complaint.received_at, Complaint.id)
        )
    )


def _outcomes(outcomes: dict[str, int]) -> str:
    if not outcomes:
        return DASH
    labels = get_lifecycle(Complaint.lifecycle_name)
    order = [s.name for s in labels.states]
    return "\n".join(
        f"{outcomes[state]} {labels.state(state).label.lower()}"
        for state in sorted(outcomes, key=lambda s: order.index(s) if s in order else len(order))
    )


def _figure_row(label: str, f: PlatformFigures, items: Sequence[Complaint]) -> list[str]:
    acknowledged = sum(1 for c in items if c.acknowledged_on)
    resolved = sum(1 for c in items if c.resolved_at)
    return [
        label,
        str(f.total),
        str(f.open),
        str(f.overdue),
        str(f.escalated),
        _days(f.median_ack_days, acknowledged),
        _days(f.median_resolve_days, resolved),
        f"{f.satisfied} / {f.not_satisfied}",
        _outcomes(f.outcomes),
    ]


def _total_row(label: str, figures: Sequence[PlatformFigures], items: Sequence[Complaint]) -> list[str]:
    ack = [(c.acknowledged_on - c.received_at.date()).days for c in items if c.acknowledged_on]
    resolve = [(c.resolved_at - c.received_at).total_seconds() / 86400 for c in items if c.resolved_at]
    outcomes: Counter[str] = Counter()
    for f in figures:
        outcomes.update(f.outcomes)
    return [
        label,
        str(sum(f.total for f in figures)),
        str(sum(f.open for f in figures)),
        str(sum(f.overdue for f in figures)),
        str(sum(f.escalated for f in figures)),
        _days(float(statistics.median(ack)) if ack else None, len(ack)),
        _days(round(statistics.median(resolve), 1) if resolve else None, len(resolve)),
        f"{sum(f.satisfied for f in figures)} / {sum(f.not_satisfied for f in figures)}",
        _outcomes(dict(outcomes)),
    ]


_FIGURE_HEADER = [
    "Channel",
    "Total",
    "Open",
    "Overdue",
    "Escalated to NC",
    "Median days to acknowledge",
    "Median days to resolve",
    "Satisfied / not",
    "Outcomes (state now)",
]


def _figure_table(rows: Sequence[Sequence[str]], width: float, *, total_row: bool = True) -> Flowable:
    widths = [32 * mm, 14 * mm, 14 * mm, 16 * mm, 20 * mm, 30 * mm, 30 * mm, 22 * mm, 0]
    widths[-1] = width - sum(widths)
    table = grid_table(_FIGURE_HEADER, rows, widths, plain={1, 2, 3, 4, 5, 6, 7}, bold={0})
    if total_row:
        table.setStyle([("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 8), ("LINEABOVE", (0, -1), (-1, -1), 0.8, RULE)])
    return table


def virtual_platforms_report_pdf(
    start: dt.date,
    end: dt.date,
    *,
    organisation: str | None = None,
    today: dt.date | None = None,
    generated_at: dt.datetime | None = None,
    compress: bool = True,
) -> bytes:
    """The virtual platforms report: complaints received from ``start`` to ``end`` (inclusive) on social platforms.

    Per platform the counts, response times and outcomes, the other channels for comparison, and the
    list of the platform complaints.  Overdue is judged on ``today`` (default: the current date).
    """
    if end < start:
        raise ValueError("the period ends before it starts")
    organisation = organisation_name(organisation)
    generated_at = generated_at or utcnow()
    today = today or dt.date.today()
    pagesize = landscape(A4)
    width = frame_width(pagesize)
    virtual = platform_figures(start, end, channels=VIRTUAL_PLATFORMS, today=today)
    others = platform_figures(start, end, channels=OTHER_CHANNELS, today=today)
    complaints = _complaints(start, end)
    by_channel: dict[str, list[Complaint]] = defaultdict(list)
    for complaint in complaints:
        by_channel[complaint.channel].append(complaint)
    on_platforms = [c for c in complaints if c.channel in VIRTUAL_PLATFORMS]
    heading = "Virtual platforms report"
    period = f"{day(start)} to {day(end)}"
    ack_days, resolve_days = _targets()

    story: list[Flowable] = [
        para(organisation, STYLES.org),
        Paragraph(escape(heading), STYLES.title),
        Paragraph(escape(f"Complaints received from {period}"), STYLES.subtitle),
        field_table(
            [
                ("Period", f"{period} (received dates, UTC)"),
                ("Platforms", ", ".join(CHANNELS[c] for c in VIRTUAL_PLATFORMS)),
                (
                    "Targets",
                    f"Acknowledge within {plural(ack_days, 'day')} and resolve within "
                    f"{plural(resolve_days, 'day')} of receipt",
                ),
                ("Status as of", f"{day(today)} (states, open and overdue complaints)"),
                ("Generated", utc(generated_at)),
            ],
            [34 * mm, width - 34 * mm],
        ),
        Paragraph("Summary", STYLES.h2),
        *_platform_summary(virtual, others),
        *_platform_section("Concerns per platform", virtual, by_channel, on_platforms, width),
        Paragraph("Compared with the other channels", STYLES.h2),
        *_comparison(virtual, others, by_channel, complaints, width),
        Paragraph("Complaints from virtual platforms", STYLES.h2),
        *_platform_list(on_platforms, today, width),
    ]
    return build_pdf(
        story,
        furniture=PageFurniture(organisation, f"{heading} {period}", generated_footer(generated_at)),
        title=f"{heading} {period}",
        author=organisation,
        subject=heading,
        pagesize=pagesize,
        compress=compress,
    )


def _platform_summary(virtual: Sequence[PlatformFigures], others: Sequence[PlatformFigures]) -> list[Flowable]:
    total = sum(f.total for f in virtual)
    everything = total + sum(f.total for f in others)
    if not everything:
        return [Paragraph(escape(NO_COMPLAINTS), STYLES.muted)]
    if not total:
        text = f"No complaints came from virtual platforms; {plural(everything, 'complaint')} from other channels."
        return [Paragraph(escape(text), STYLES.body)]
    text = (
        f"{plural(total, 'complaint')} came from virtual platforms, {share(total, everything)} of the "
        f"{everything} received in the period. Open now: {sum(f.open for f in virtual)}; overdue: "
        f"{sum(f.overdue for f in virtual)}; escalated to a nonconformity: {sum(f.escalated for f in virtual)}. "
        f"Customer satisfied with the resolution: {sum(f.satisfied for f in virtual)}; not satisfied: "
        f"{sum(f.not_satisfied for f in virtual)}."
    )
    out: list[Flowable] = [Paragraph(escape(text), STYLES.body)]
    if total < MIN_RESPONSES:
        out.append(
            Paragraph(
                escape(f"Only {plural(total, 'complaint')}: medians and shares are indicative only."), STYLES.meta
            )
        )
    return out


def _platform_section(
    title: str,
    virtual: Sequence[PlatformFigures],
    by_channel: dict[str, list[Complaint]],
    on_platforms: Sequence[Complaint],
    width: float,
) -> list[Flowable]:
    if not any(f.total for f in virtual):
        out: list[Flowable] = [headed(title, [Paragraph(escape(NO_COMPLAINTS), STYLES.muted)])]
    else:
        out = [headed(title, [platform_chart(virtual, width=width)])]
    rows = [_figure_row(CHANNELS[f.channel], f, by_channel.get(f.channel, [])) for f in virtual]
    rows.append(_total_row("All virtual platforms", virtual, on_platforms))
    out += [
        Spacer(0, 2 * mm),
        _figure_table(rows, width),
        Paragraph(
            escape(
                "Open: received, acknowledged, investigating or escalated. Overdue: not acknowledged or not "
                "resolved by its target date. Days are counted from receipt; n is the number of complaints "
                "acknowledged or resolved. Satisfied / not: the customer's view recorded at resolution."
            ),
            STYLES.meta,
        ),
    ]
    return out


def platform_chart(figures: Sequence[PlatformFigures], *, width: float = 180 * mm) -> Drawing:
    """A bar of complaints per channel, the open ones beside it."""
    height = 55 * mm
    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y = 14 * mm, 10 * mm
    chart.width, chart.height = width - 20 * mm, height - 22 * mm
    chart.data = [[f.total for f in figures], [f.open for f in figures]]
    chart.barLabelFormat = "%d"
    chart.barLabels.nudge = 5
    chart.barLabels.fontName = "Helvetica"
    chart.barLabels.fontSize = 7
    top = max([f.total for f in figures] + [1])
    step = max(1, -(-top // 5))
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = step * (-(-top // step) + 1)
    chart.valueAxis.valueStep = step
    chart.valueAxis.labels.fontName = "Helvetica"
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = _GRID_LINE
    chart.valueAxis.strokeColor = RULE
    chart.categoryAxis.strokeColor = RULE
    chart.categoryAxis.categoryNames = [CHANNELS.get(f.channel, f.channel) for f in figures]
    chart.categoryAxis.labels.fontName = "Helvetica"
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.boxAnchor = "n"
    chart.barWidth = 10
    chart.groupSpacing = 20
    chart.barSpacing = 2
    chart.bars[0].fillColor = _BAR_COLOUR
    chart.bars[1].fillColor = _OTHER_BAR
    chart.bars.strokeColor = None
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = width - 60 * mm, height - 3
    legend.fontName = "Helvetica"
    legend.fontSize = 7
    legend.columnMaximum = 1
    legend.deltax = 60
    legend.alignment = "right"
    legend.colorNamePairs = [(_BAR_COLOUR, "Complaints"), (_OTHER_BAR, "Still open")]
    drawing.add(legend)
    title = String(0, height - 6, "Complaints per platform", fontName="Helvetica-Bold", fontSize=8, fillColor=MUTED)
    drawing.add(title)
    return drawing


def _comparison(
    virtual: Sequence[PlatformFigures],
    others: Sequence[PlatformFigures],
    by_channel: dict[str, list[Complaint]],
    complaints: Sequence[Complaint],
    width: float,
) -> list[Flowable]:
    rows = [_figure_row(CHANNELS[f.channel], f, by_channel.get(f.channel, [])) for f in others]
    rows.append(_total_row("All other channels", others, [c for c in complaints if c.channel not in VIRTUAL_PLATFORMS]))
    rows.append(_total_row("All virtual platforms", virtual, [c for c in complaints if c.channel in VIRTUAL_PLATFORMS]))
    return [
        Paragraph(
            escape(
                "The other channels (" + ", ".join(CHANNELS[c] for c in OTHER_CHANNELS) + ") in the same period, "
                "for context."
            ),
            STYLES.meta,
        ),
        Spacer(0, 1 * mm),
        _figure_table(rows, width),
    ]


def _overdue(complaint: Complaint, today: dt.date) -> str:
    if complaint.acknowledgement_overdue(today):
        return f"Acknowledgement overdue (due {day(complaint.acknowledge_due)})"
    if complaint.resolution_overdue(today):
        return f"Resolution overdue (due {day(complaint.resolve_due)})"
    return "No"


def _platform_list(complaints: Sequence[Complaint], today: dt.date, width: float) -> list[Flowable]:
    if not complaints:
        return [Paragraph(escape(NO_COMPLAINTS), STYLES.muted)]
    rows = []
    for c in complaints:
        nc = c.nonconformity
        rows.append(
            [
                c.reference,
                day(c.received_at.date()),
                CHANNELS.get(c.channel, c.channel),
                c.customer_handle or c.customer_name or c.post_url or DASH,
                c.summary,
                c.state_label,
                _overdue(c, today),
                f"{nc.reference}\n{nc.state_label}" if nc is not None else DASH,
            ]
        )
    widths = [26 * mm, 20 * mm, 22 * mm, 38 * mm, 0, 24 * mm, 42 * mm, 28 * mm]
    widths[4] = width - sum(widths)
    header = ["Reference", "Received", "Platform", "Handle", "Summary", "State", "Overdue", "Linked NC"]
    return [grid_table(header, rows, widths, plain={0, 1, 2, 5}, bold={0})]


__all__ = ["NO_COMPLAINTS", "platform_chart", "virtual_platforms_report_pdf"]

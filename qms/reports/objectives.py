"""The quality objectives plan and status report (ISO 9001 6.2, 9.1.3) as a PDF: a summary of every
objective not withdrawn — target, latest value, forecast at the deadline, status — then, per
objective, its plan (what, resources, who, when, how evaluated) and the trend of its KPI. All user
text is escaped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..database import db, utcnow
from ..models import QualityObjective
from ..services.objectives import MEASURES, ObjectiveStatus, measurement_points, objective_status
from .pdf import (
    DASH,
    MUTED,
    STYLES,
    PageFurniture,
    build_pdf,
    day,
    field_table,
    frame_width,
    generated_footer,
    grid_table,
    organisation_name,
    para,
    plural,
    utc,
)

TARGET_COLOUR = colors.HexColor("#1a7f37")
SUMMARY_COLUMNS = [
    "Reference",
    "Objective",
    "KPI",
    "Target",
    "Latest",
    "Forecast",
    "Deadline",
    "Owner",
    "State",
    "Status",
]
STATUS_COLOURS = {
    "on_track": colors.HexColor("#1d6b34"),
    "achieved": colors.HexColor("#1d6b34"),
    "at_risk": colors.HexColor("#7a5200"),
    "off_track": colors.HexColor("#c81e1e"),
    "missed": colors.HexColor("#c81e1e"),
}


def _value(value: float | None, unit: str) -> str:
    return DASH if value is None else f"{value:g} {unit}".strip()


def _chart(objective: QualityObjective, points: Sequence[tuple[dt.date, float]], width: float) -> Drawing:
    """The KPI's values, the target line and the deadline."""
    height = 45 * mm
    left, bottom, right, top = 12 * mm, 6 * mm, 4 * mm, 4 * mm
    drawing = Drawing(width, height)
    start = min([objective.starts_on, *(d for d, _ in points)])
    end = max([objective.deadline, *(d for d, _ in points)])
    span = max((end - start).days, 1)
    values = [v for _, v in points] + [objective.target]
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.1
    low, high = low - pad, high + pad
    plot_w, plot_h = width - left - right, height - bottom - top

    def x(d: dt.date) -> float:
        return left + plot_w * (d - start).days / span

    def y(v: float) -> float:
        return bottom + plot_h * (v - low) / (high - low)

    drawing.add(Line(left, bottom, left + plot_w, bottom, strokeColor=MUTED, strokeWidth=0.5))
    drawing.add(Line(left, bottom, left, bottom + plot_h, strokeColor=MUTED, strokeWidth=0.5))
    for v in (low + pad, high - pad):
        drawing.add(String(left - 2, y(v) - 2, f"{v:g}", fontSize=6, fillColor=MUTED, textAnchor="end"))
    drawing.add(String(left, 0, start.isoformat(), fontSize=6, fillColor=MUTED))
    drawing.add(String(left + plot_w, 0, end.isoformat(), fontSize=6, fillColor=MUTED, textAnchor="end"))
    ty = y(objective.target)
    drawing.add(
        Line(
            left, ty, left + plot_w, ty, strokeColor=colors.HexColor("#1a7f37"), strokeDashArray=[3, 2], strokeWidth=0.8
        )
    )
    drawing.add(
        String(left + 2, ty + 2, f"Target {objective.target:g}", fontSize=6, fillColor=colors.HexColor("#1a7f37"))
    )
    dx = x(objective.deadline)
    drawing.add(Line(dx, bottom, dx, bottom + plot_h, strokeColor=MUTED, strokeDashArray=[1, 2], strokeWidth=0.5))
    if points:
        coords: list[float] = []
        for d, v in points:
            coords += [x(d), y(v)]
        if len(points) > 1:
            drawing.add(PolyLine(coords, strokeColor=colors.HexColor("#1f5fbf"), strokeWidth=1.2))
        for d, v in points:
            drawing.add(Circle(x(d), y(v), 1.4, fillColor=colors.HexColor("#1f5fbf"), strokeColor=None))
    return drawing


def _objectives() -> list[QualityObjective]:
    return list(
        db.session.scalars(
            select(QualityObjective)
            .options(selectinload(QualityObjective.owner), selectinload(QualityObjective.process))
            .where(QualityObjective.state != "withdrawn")
            .order_by(QualityObjective.deadline, QualityObjective.id)
        )
    )


def _status_cell(status: ObjectiveStatus) -> Paragraph:
    colour = STATUS_COLOURS.get(status.status, MUTED).hexval()[2:]
    return Paragraph(f'<font color="#{colour}"><b>{escape(status.label)}</b></font>', STYLES.cell)


def objectives_report_pdf(
    *,
    organisation: str | None = None,
    today: dt.date | None = None,
    generated_at: dt.datetime | None = None,
    compress: bool = True,
) -> bytes:
    """The plan and status of every objective that was not withdrawn, as of ``today``."""
    organisation = organisation_name(organisation)
    generated_at = generated_at or utcnow()
    today = today or dt.date.today()
    pagesize = landscape(A4)
    width = frame_width(pagesize)
    objectives = _objectives()
    points = measurement_points([o.id for o in objectives])
    statuses = {o.id: objective_status(o, points[o.id], today) for o in objectives}
    heading = "Quality objectives: plan and status"
    story: list[Flowable] = [
        para(organisation, STYLES.org),
        Paragraph(escape(heading), STYLES.title),
        Paragraph(escape(f"ISO 9001 6.2 and 9.1.3 — status as of {day(today)}"), STYLES.subtitle),
        field_table(
            [
                ("Objectives", plural(len(objectives), "objective")),
                ("Status as of", day(today)),
                ("Generated", utc(generated_at)),
                (
                    "How status is judged",
                    "On track: the forecast at the deadline (a straight line through the values) meets the target. "
                    "At risk: it falls short by no more than the objective's tolerance. Off track: by more.",
                ),
            ],
            [40 * mm, width - 40 * mm],
        ),
        Paragraph("Summary", STYLES.h2),
    ]
    if not objectives:
        story.append(Paragraph("No quality objectives have been set.", STYLES.muted))
    else:
        story.append(
            grid_table(
                [
                    "Reference",
                    "Objective",
                    "KPI",
                    "Target",
                    "Latest",
                    "Forecast",
                    "Deadline",
                    "Owner",
                    "State",
                    "Status",
                ],
                [
                    [
                        o.reference,
                        o.title,
                        o.kpi_name,
                        ("≥ " if o.direction == "up" else "≤ ") + _value(o.target, o.unit),
                        _value(statuses[o.id].latest, o.unit),
                        _value(statuses[o.id].forecast if statuses[o.id].slope is not None else None, o.unit),
                        day(o.deadline),
                        o.owner.name,
                        o.state_label,
                        _status_cell(statuses[o.id]),
                    ]
                    for o in objectives
                ],
                [w * mm for w in (24, 52, 40, 22, 22, 22, 20, 28, 20, 17)],
                plain=(0, 3, 4, 5, 6, 8),
            )
        )
    for o in objectives:
        status = statuses[o.id]
        measure = MEASURES.get(o.measure)
        block: list[Flowable] = [
            Paragraph(escape(f"{o.reference} · {o.title}"), STYLES.h2),
            field_table(
                [
                    ("KPI", f"{o.kpi_name} — " + (f"computed: {measure.label}" if measure else "entered or imported")),
                    ("Target", ("at least " if o.direction == "up" else "at most ") + _value(o.target, o.unit)),
                    ("Process", o.process.name if o.process else "Organisation-wide"),
                    ("Owner", o.owner.name),
                    ("Period", f"{day(o.starts_on)} to {day(o.deadline)}"),
                    ("Status", _status_cell(status)),
                    ("What will be done", o.plan_what or DASH),
                    ("Resources", o.plan_resources or DASH),
                    ("Who is responsible", o.plan_who or DASH),
                    ("When", o.plan_when or DASH),
                    ("How results are evaluated", o.plan_evaluation or DASH),
                ],
                [46 * mm, width - 46 * mm],
            ),
            Spacer(1, 2 * mm),
        ]
        if points[o.id]:
            block.append(_chart(o, points[o.id], min(width, 160 * mm)))
        else:
            block.append(Paragraph("Not measured yet.", STYLES.muted))
        story.append(KeepTogether(block))
    return build_pdf(
        story,
        furniture=PageFurniture(organisation, heading, generated_footer(generated_at)),
        title=heading,
        author=organisation,
        subject="Quality objectives",
        pagesize=pagesize,
        compress=compress,
    )

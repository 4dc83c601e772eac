"""Where an objective stands against its target: the status, a linear forecast to the deadline, and
the trend chart (server-rendered SVG, with a title, a description and a value per point for screen
readers)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from ...models import QualityObjective

STATUS_LABELS = {
    "on_track": "On track",
    "at_risk": "At risk",
    "off_track": "Off track",
    "no_data": "Not measured yet",
    "achieved": "Achieved",
    "missed": "Missed",
    "not_started": "Not started",
    "withdrawn": "Withdrawn",
}
#: the fewest points a trend line is fitted to; with fewer the latest value stands for the forecast
MIN_TREND_POINTS = 3


@dataclass(frozen=True)
class ObjectiveStatus:
    status: str
    latest: float | None
    latest_on: dt.date | None
    forecast: float | None
    #: the fitted change per 30 days, None without a trend
    slope: float | None
    points: int

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]


def linear_fit(points: Sequence[tuple[dt.date, float]]) -> tuple[float, float, dt.date] | None:
    """Least squares ``value = a + b × days`` since the first point: (a, b per day, first day)."""
    if len(points) < 2:
        return None
    origin = points[0][0]
    xs = [(day - origin).days for day, _ in points]
    ys = [value for _, value in points]
    n = len(points)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    return mean_y - slope * mean_x, slope, origin


def forecast_at(points: Sequence[tuple[dt.date, float]], day: dt.date) -> tuple[float | None, float | None]:
    """(value forecast for ``day``, change per 30 days) from the trend of ``points``."""
    if not points:
        return None, None
    fit = linear_fit(points) if len(points) >= MIN_TREND_POINTS else None
    if fit is None:
        return points[-1][1], None
    intercept, slope, origin = fit
    return round(intercept + slope * (day - origin).days, 2), round(slope * 30, 3)


def tolerance_of(objective: QualityObjective) -> float:
    """How far short of the target is "at risk" rather than "off track" (default 10 % of the target)."""
    if objective.tolerance is not None:
        return abs(objective.tolerance)
    scale = abs(objective.target) or abs(objective.baseline or 0) or 1.0
    return 0.1 * scale


def objective_status(
    objective: QualityObjective, points: Sequence[tuple[dt.date, float]], today: dt.date
) -> ObjectiveStatus:
    """The objective's status from its measurements (oldest first)."""
    latest_on, latest = points[-1] if points else (None, None)
    forecast, slope = forecast_at(points, objective.deadline)
    state = objective.state
    if state in ("achieved", "missed", "withdrawn"):
        status = state
    elif state == "closed":
        status = "achieved" if objective.meets(latest) else "missed"
    elif state in ("draft", "approved"):
        status = "not_started"
    elif not points:
        status = "no_data"
    else:
        projected = forecast if forecast is not None else latest
        if objective.meets(projected) and objective.meets(latest if today < objective.deadline else projected):
            status = "on_track"
        elif objective.meets(projected) or abs((projected or 0) - objective.target) <= tolerance_of(objective):
            status = "at_risk"
        else:
            status = "off_track"
    return ObjectiveStatus(status, latest, latest_on, forecast, slope, len(points))


# --- the trend chart --------------------------------------------------------------------------

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 20, 16, 36


def _number(value: float) -> str:
    return f"{value:,.1f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value):,}"


def trend_svg(objective: QualityObjective, points: Sequence[tuple[dt.date, float]], status: ObjectiveStatus) -> Markup:
    """The KPI's values over time, the target line and the forecast to the deadline, as SVG."""
    unit = f" {objective.unit}" if objective.unit else ""
    title = f"{objective.kpi_name}: trend against the target of {_number(objective.target)}{unit}"
    if points:
        first, last = points[0], points[-1]
        desc = (
            f"{len(points)} measurements from {first[0].isoformat()} ({_number(first[1])}{unit}) to "
            f"{last[0].isoformat()} ({_number(last[1])}{unit}). Target {_number(objective.target)}{unit} by "
            f"{objective.deadline.isoformat()}, {'higher' if objective.direction == 'up' else 'lower'} is better. "
            f"Status: {status.label}."
        )
        if status.forecast is not None and len(points) >= MIN_TREND_POINTS:
            desc += f" Forecast at the deadline: {_number(status.forecast)}{unit}."
    else:
        desc = f"No measurements yet. Target {_number(objective.target)}{unit} by {objective.deadline.isoformat()}."
    start = min([objective.starts_on, *(d for d, _ in points)])
    end = max([objective.deadline, *(d for d, _ in points)])
    span = max((end - start).days, 1)
    values = [v for _, v in points] + [objective.target]
    if objective.baseline is not None:
        values.append(objective.baseline)
    show_forecast = status.forecast is not None and len(points) >= MIN_TREND_POINTS
    if show_forecast:
        values.append(status.forecast)
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.08
    low, high = low - pad, high + pad
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: dt.date) -> float:
        return round(LEFT + plot_w * (day - start).days / span, 1)

    def y(value: float) -> float:
        return round(TOP + plot_h * (high - value) / (high - low), 1)

    out = [
        f'<svg class="trend-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="trend-title-{objective.id} trend-desc-{objective.id}">',
        f'<title id="trend-title-{objective.id}">{escape(title)}</title>',
        f'<desc id="trend-desc-{objective.id}">{escape(desc)}</desc>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#c8ccd4"/>',
    ]
    for i in range(5):
        value = low + (high - low) * i / 4
        out.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(value)}" y2="{y(value)}" stroke="#eceef2"/>'
            f'<text x="{LEFT - 6}" y="{y(value) + 4}" text-anchor="end" font-size="11" fill="#555">'
            f"{escape(_number(round(value, 1)))}</text>"
        )
    for day, anchor in ((start, "start"), (end, "end")):
        out.append(
            f'<text x="{x(day)}" y="{HEIGHT - 12}" text-anchor="{anchor}" font-size="11" fill="#555">'
            f"{day.isoformat()}</text>"
        )
    ty = y(objective.target)
    out.append(
        f'<line class="target" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{ty}" y2="{ty}" stroke="#1a7f37" '
        f'stroke-width="1.5" stroke-dasharray="6 4"><title>Target {escape(_number(objective.target))}{escape(unit)}'
        "</title></line>"
        f'<text x="{LEFT + 4}" y="{ty - 4}" font-size="11" fill="#1a7f37">Target {escape(_number(objective.target))}'
        f"{escape(unit)}</text>"
    )
    dx = x(objective.deadline)
    out.append(
        f'<line x1="{dx}" x2="{dx}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#8a8f98" stroke-dasharray="2 3"/>'
        f'<text x="{dx - 4}" y="{TOP + 12}" text-anchor="end" font-size="11" fill="#555">Deadline</text>'
    )
    if points:
        path = " ".join(f"{x(d)},{y(v)}" for d, v in points)
        out.append(f'<polyline class="values" points="{path}" fill="none" stroke="#1f5fbf" stroke-width="2"/>')
        for day, value in points:
            out.append(
                f'<circle cx="{x(day)}" cy="{y(value)}" r="3.5" fill="#1f5fbf">'
                f"<title>{day.isoformat()}: {escape(_number(value))}{escape(unit)}</title></circle>"
            )
        if show_forecast:
            last_day = points[-1][0]
            fit = linear_fit(points)
            if fit is not None and objective.deadline > last_day:
                intercept, slope, origin = fit
                from_value = intercept + slope * (last_day - origin).days
                out.append(
                    f'<line class="forecast" x1="{x(last_day)}" y1="{y(from_value)}" x2="{dx}" '
                    f'y2="{y(status.forecast)}" stroke="#b35c00" stroke-width="1.5" stroke-dasharray="4 4">'
                    f"<title>Forecast at the deadline: {escape(_number(status.forecast))}{escape(unit)}</title></line>"
                )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704  (every piece of user text above is escaped)

"""The customer satisfaction report (ISO 10004, ISO 9001 9.1.2) as a PDF.

It gives a survey's results with their number of responses and 95 % margins, the trend per period
with each change flagged "within noise" unless it is beyond what chance explains, SERVQUAL
dimension scores, segments by service and channel, a summary per question, the customers' own
words, the actions the survey's rules took (complaints or nonconformities raised), the analysis
and its approval signature. An input to the management review (ISO 9001 9.3.2 c 1). It reads the
database through the session, so it runs inside an application context. All user text is escaped.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer
from sqlalchemy import func, select

from ..database import db, utcnow
from ..lifecycles.survey import METHODS
from ..models import (
    CHANNELS,
    QUESTION_KINDS,
    RULE_ACTIONS,
    SCALES,
    SERVQUAL_DIMENSIONS,
    Complaint,
    Nonconformity,
    RuleTrigger,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyResponse,
    TransitionHistory,
)
from ..services.surveys import (
    PERIODS,
    Measures,
    TrendPoint,
    response_rate,
    segments,
    survey_measures,
    trend,
    triggers_of,
    verbatims,
)
from ..services.surveys.measures import MIN_RESPONSES, Csi, Nps
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
    headed,
    markup,
    organisation_name,
    para,
    plural,
    printable,
    share,
    text_or_note,
    utc,
)

#: the most recent free-text answers printed in the satisfaction report
VERBATIM_LIMIT = 50


WITHIN_NOISE = "within noise"


NO_RESPONSES = "No responses yet."


RULE_LABELS = {
    "nps_low": "NPS below threshold",
    "csi_low": "CSI below threshold",
    "nps_drop": "NPS drop beyond noise",
    "csi_drop": "CSI drop beyond noise",
}


METHOD_LABELS = {"nps": "Net Promoter Score", "csi": "Customer Satisfaction Index", "servqual": "SERVQUAL"}


SATISFACTION_LABELS = {"yes": "satisfied", "no": "not satisfied", "unknown": "not known"}


_NPS_COLOUR = colors.HexColor("#2f80ed")


_CSI_COLOUR = colors.HexColor("#1b6e3a")


_BAR_COLOUR = colors.HexColor("#2f80ed")


_OTHER_BAR = colors.HexColor("#9fb3c8")


_GRID_LINE = colors.HexColor("#e4e7eb")


_caution = ParagraphStyle(
    "caution",
    parent=STYLES.body,
    textColor=colors.HexColor("#7a4a00"),
    backColor=colors.HexColor("#fff4e5"),
    borderColor=colors.HexColor("#e0a040"),
    borderWidth=0.5,
    borderPadding=(3, 4, 3, 4),
    spaceBefore=4,
    spaceAfter=6,
)


_headline = ParagraphStyle("headline", parent=STYLES.body, fontName="Helvetica-Bold", fontSize=10, leading=13)


NOISE_NOTE = (
    "Figures are shown with their number of responses (n) and a 95 % margin (±), which is not given below "
    f"{MIN_RESPONSES} responses. A change between two periods is labelled 'within noise' when it is smaller than "
    "chance alone explains (1.96 standard errors of the difference) or when either period has fewer than "
    f"{MIN_RESPONSES} responses: such a change is not a rise or a fall. Only changes beyond noise are labelled "
    "'Rise' or 'Fall'. A margin of ±0.0 means every answer was alike; it does not mean the figure is exact."
)


def _with_margin(score: str, margin: float | None, n: int) -> str:
    """The score with its 95 % margin and n; below ``MIN_RESPONSES`` no margin is claimed.

    (With one answer, or answers all alike, the standard error is 0: a "±0.0" would pretend a
    precision a handful of answers cannot have.)
    """
    if n < MIN_RESPONSES:
        return f"{score} (n={n}, too few for a margin)"
    if margin is None:
        return f"{score} (n={n})"
    return f"{score} ±{margin:.1f} (n={n})"


def nps_text(nps: Nps) -> str:
    """``+25.0 ±42.4 (n=12)``, or a dash when nobody answered the question."""
    if nps.score is None:
        return f"{DASH} (n=0)"
    return _with_margin(f"{nps.score:+.1f}", nps.margin, nps.n)


def csi_text(csi: Csi) -> str:
    """``62.5 ±20.1 (n=12)``, or a dash when no rated question was answered."""
    if csi.score is None:
        return f"{DASH} (n=0)"
    return _with_margin(f"{csi.score:.1f}", csi.margin, csi.n)


def change_text(change: float | None, noise: bool, *, first: bool = False) -> str:
    """How a trend table labels a change: ``Rise +12.0``, ``Fall -8.5`` or ``+3.0 within noise``."""
    if first:
        return f"{DASH} (first period)"
    if change is None:
        return f"{DASH} (no score to compare)"
    if noise:
        return f"{change:+.1f} {WITHIN_NOISE}"
    if change > 0:
        return f"Rise {change:+.1f}"
    if change < 0:
        return f"Fall {change:+.1f}"
    return "No change"


def _few(n: int) -> str:
    return f"Fewer than {MIN_RESPONSES} responses: indicative only" if 0 < n < MIN_RESPONSES else ""


def _days(value: float | None, count: int) -> str:
    return DASH if value is None else f"{value:.1f} (n={count})"


@dataclass
class _QuestionSummary:
    """What one question's answers add up to."""

    answered: int = 0
    numbers: Counter[float] = field(default_factory=Counter)
    choices: Counter[str] = field(default_factory=Counter)


def satisfaction_report_pdf(
    survey: Survey,
    *,
    period: str = "month",
    organisation: str | None = None,
    generated_at: dt.datetime | None = None,
    compress: bool = True,
) -> bytes:
    """The customer satisfaction report of ``survey`` as a PDF (A4, pages numbered "Page X of Y").

    ``period`` groups the trend: ``month``, ``quarter`` or ``year``.  ``organisation`` defaults to
    the app's ``QMS_ORGANISATION``.
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
    organisation = organisation_name(organisation)
    generated_at = generated_at or utcnow()
    width = frame_width(A4)
    overall = survey_measures(survey)
    history = history_of(survey)
    points = trend(survey, period) if overall.responses else []
    summaries = _question_summaries(survey)
    heading = "Customer satisfaction report"

    story: list[Flowable] = [
        para(organisation, STYLES.org),
        Paragraph(escape(heading), STYLES.title),
        Paragraph(f"{markup(survey.reference)}: {markup(survey.title)}", STYLES.subtitle),
        _title_block(survey, history, generated_at, width),
    ]
    if survey.state != "reported":
        story.append(Paragraph(escape(_status_note(survey)), _caution))
    story += [
        Paragraph("Headline figures", STYLES.h2),
        *_headline_figures(survey, overall, points, width),
        *_trend_section(f"Trend per {period}", points, period, width),
    ]
    if overall.dimensions:
        story += _servqual("SERVQUAL dimensions", survey, overall, summaries, width)
    story += [
        Paragraph("Segments", STYLES.h2),
        *_segments(survey, overall, width),
        *_questions("Answers per question", survey, summaries, width),
        Paragraph("Verbatims: the customers' own words", STYLES.h2),
        *_verbatims(survey, summaries, width),
        Paragraph("Actions taken", STYLES.h2),
        *_actions(survey, width),
        Paragraph("Analysis", STYLES.h2),
        *_analysis(survey),
        Paragraph("Approval", STYLES.h2),
        *_approval(survey, history, width),
    ]
    return build_pdf(
        story,
        furniture=PageFurniture(organisation, f"{survey.reference} {heading}", generated_footer(generated_at)),
        title=f"{survey.reference} {survey.title}",
        author=organisation,
        subject=heading,
        compress=compress,
    )


def _events(history: Sequence[TransitionHistory], *names: str) -> list[TransitionHistory]:
    return [row for row in history if row.event in names]


def _response_dates(survey: Survey) -> tuple[dt.date | None, dt.date | None]:
    first, last = db.session.execute(
        select(func.min(SurveyResponse.responded_on), func.max(SurveyResponse.responded_on)).where(
            SurveyResponse.survey_id == survey.id
        )
    ).one()
    return first, last


def _title_block(
    survey: Survey, history: Sequence[TransitionHistory], generated_at: dt.datetime, width: float
) -> Flowable:
    opened = _events(history, "open")
    closed = _events(history, "close")
    reopened = _events(history, "reopen")
    collection = []
    if opened:
        collection.append(f"Opened {utc(opened[0].at, seconds=False)}")
    else:
        collection.append("Not opened yet")
    if reopened:
        collection.append(f"reopened {plural(len(reopened), 'time')}")
    if survey.state == "open":
        collection.append(f"closes on {day(survey.closes_on)}" if survey.closes_on else "no closing date set")
    elif closed:
        collection.append(f"closed {utc(closed[-1].at, seconds=False)}")
    first, last = _response_dates(survey)
    answered = f"Responses dated {day(first)} to {day(last)}" if first else NO_RESPONSES
    rules = _rules_text(survey)
    pairs: list[tuple[str, Any]] = [
        ("Reference", survey.reference),
        ("Title", survey.title),
        ("Service", survey.service or "All services"),
        ("State", survey.state_label),
        ("Owner", survey.owner.name if survey.owner else DASH),
        ("Collection", "; ".join(collection) + f"\n{answered}"),
        ("Rules", rules),
        ("Generated", utc(generated_at)),
    ]
    return field_table(pairs, [34 * mm, width - 34 * mm])


def _rules_text(survey: Survey) -> str:
    rules = []
    if survey.nps_threshold is not None:
        rules.append(f"NPS below {survey.nps_threshold:+.0f}")
    if survey.csi_threshold is not None:
        rules.append(f"CSI below {survey.csi_threshold:.1f}")
    if survey.drop_threshold is not None:
        rules.append(f"a drop of more than {survey.drop_threshold:g} points beyond noise")
    if not rules:
        return "None set"
    action = RULE_ACTIONS.get(survey.rule_action, survey.rule_action).lower()
    return f"{'; '.join(rules)} (per month, at least {MIN_RESPONSES} responses): {action}"


def _status_note(survey: Survey) -> str:
    if survey.state == "cancelled":
        return f"This survey was cancelled: {survey.cancel_reason or 'no reason recorded'}. Figures are as collected."
    if survey.state in ("draft", "open", "closed"):
        return (
            f"Interim figures: the survey is {survey.state_label.lower()} and its analysis is not yet approved; "
            "the figures may still change."
        )
    return "The analysis is not yet approved for distribution."


def _headline_figures(survey: Survey, overall: Measures, points: Sequence[TrendPoint], width: float) -> list[Flowable]:
    n = overall.responses
    if not n:
        return [Paragraph(escape(NO_RESPONSES), STYLES.muted)]
    nps, csi = overall.nps, overall.csi
    pairs: list[tuple[str, Any]] = [("Responses", plural(n, "response"))]
    used, issued, rate = response_rate(survey)
    if issued:
        pairs.append(("Response rate", f"{rate:.1f}% ({used} of {plural(issued, 'invitation')} answered)"))
    if nps.n:
        split = (
            f"{nps.promoters} promoters ({share(nps.promoters, nps.n)}), "
            f"{nps.passives} passives ({share(nps.passives, nps.n)}), "
            f"{nps.detractors} detractors ({share(nps.detractors, nps.n)})"
        )
        pairs.append(
            ("Net Promoter Score", Paragraph(f"<b>{escape(nps_text(nps))}</b><br/>{escape(split)}", STYLES.body))
        )
    else:
        pairs.append(("Net Promoter Score", "No likelihood-to-recommend answers"))
    if csi.score is not None:
        pairs.append(("Satisfaction index (CSI, 0-100)", Paragraph(escape(csi_text(csi)), _headline)))
    else:
        pairs.append(("Satisfaction index (CSI, 0-100)", "No weighted rating answers"))
    if len(points) > 1:
        latest, before = points[-1], points[-2]
        pairs.append(
            (
                "Latest change",
                f"{latest.measures.label} against {before.measures.label}: "
                f"NPS {change_text(latest.nps_change, latest.nps_noise)}; "
                f"CSI {change_text(latest.csi_change, latest.csi_noise)} "
                f"(n={latest.measures.responses} and {before.measures.responses})",
            )
        )
    out: list[Flowable] = [field_table(pairs, [42 * mm, width - 42 * mm])]
    if n < MIN_RESPONSES:
        out.append(Paragraph(escape(f"Only {plural(n, 'response')}: the figures are indicative only."), _caution))
    out.append(Paragraph(escape(NOISE_NOTE), STYLES.meta))
    return out


def _trend_section(title: str, points: Sequence[TrendPoint], period: str, width: float) -> list[Flowable]:
    if not points:
        return [headed(title, [Paragraph(escape(NO_RESPONSES), STYLES.muted)])]
    rows = []
    for index, point in enumerate(points):
        m = point.measures
        rows.append(
            [
                m.label,
                str(m.responses),
                nps_text(m.nps),
                change_text(point.nps_change, point.nps_noise, first=index == 0),
                csi_text(m.csi),
                change_text(point.csi_change, point.csi_noise, first=index == 0),
            ]
        )
    widths = [18 * mm, 12 * mm, 0, 36 * mm, 0, 36 * mm]
    rest = (width - sum(widths)) / 2
    widths[2] = widths[4] = rest
    out: list[Flowable] = [
        headed(
            title,
            [
                Paragraph(
                    escape(f"NPS (-100 to +100) and CSI (0 to 100) per {period}; n is the number of responses."),
                    STYLES.meta,
                ),
                trend_chart(points, width=width),
            ],
        ),
        Spacer(0, 2 * mm),
        grid_table(["Period", "n", "NPS", "NPS change", "CSI", "CSI change"], rows, widths, plain={0, 1}),
    ]
    if len(points) == 1:
        out.append(Paragraph(escape(f"A single {period} so far: no change to show yet."), STYLES.muted))
    return out


def trend_chart(points: Sequence[TrendPoint], *, width: float = 180 * mm) -> Drawing:
    """NPS and CSI per period as two lines, each period labelled with its number of responses."""
    height = 70 * mm
    drawing = Drawing(width, height)
    chart = HorizontalLineChart()
    chart.x, chart.y = 14 * mm, 16 * mm
    chart.width, chart.height = width - 20 * mm, height - 28 * mm
    chart.data = [
        [p.measures.nps.score for p in points],
        [p.measures.csi.score for p in points],
    ]
    chart.joinedLines = 1
    for index, colour in enumerate((_NPS_COLOUR, _CSI_COLOUR)):
        scored = sum(1 for value in chart.data[index] if value is not None)
        # a line needs two points: a single period shows as a dot
        chart.lines[index].strokeColor = colour if scored > 1 else None
        chart.lines[index].strokeWidth = 1.5
        chart.lines[index].symbol = makeMarker("FilledCircle", size=4, fillColor=colour, strokeColor=colour)
    lowest = min([v for series in chart.data for v in series if v is not None] + [0])
    chart.valueAxis.valueMin = max(-100, 25 * math.floor(lowest / 25))  # 0 unless a score is negative
    chart.valueAxis.valueMax = 100
    chart.valueAxis.valueStep = 25
    chart.valueAxis.labels.fontName = "Helvetica"
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = _GRID_LINE
    chart.valueAxis.strokeColor = RULE
    chart.categoryAxis.strokeColor = RULE
    chart.categoryAxis.categoryNames = [f"{printable(p.measures.label)}\nn={p.measures.responses}" for p in points]
    chart.categoryAxis.labels.fontName = "Helvetica"
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.boxAnchor = "n"
    chart.categoryAxis.labels.dy = -2
    chart.categoryAxis.joinAxisMode = "bottom"
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = width - 60 * mm, height - 3
    legend.fontName = "Helvetica"
    legend.fontSize = 7
    legend.columnMaximum = 1
    legend.deltax = 60
    legend.alignment = "right"
    legend.colorNamePairs = [
        (colour, name if any(value is not None for value in values) else f"{name} (no answers)")
        for colour, name, values in zip((_NPS_COLOUR, _CSI_COLOUR), ("NPS", "CSI"), chart.data, strict=True)
    ]
    drawing.add(legend)
    drawing.add(String(0, height - 6, "NPS and CSI", fontName="Helvetica-Bold", fontSize=8, fillColor=MUTED))
    return drawing


def _question_summaries(survey: Survey) -> dict[int, _QuestionSummary]:
    """Per question: how many answered it, the count of each value, the count of each option."""
    summaries: dict[int, _QuestionSummary] = defaultdict(_QuestionSummary)
    base = select(SurveyAnswer.question_id).join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
    base = base.where(SurveyResponse.survey_id == survey.id)
    for question_id, number, count in db.session.execute(
        base.add_columns(SurveyAnswer.number, func.count())
        .where(SurveyAnswer.number.is_not(None))
        .group_by(SurveyAnswer.question_id, SurveyAnswer.number)
    ):
        summaries[question_id].numbers[float(number)] += count
        summaries[question_id].answered += count
    choice_ids = [q.id for q in survey.questions if q.kind in ("single", "multiple")]
    if choice_ids:
        for question_id, chosen in db.session.execute(
            base.add_columns(SurveyAnswer.choices).where(SurveyAnswer.question_id.in_(choice_ids))
        ):
            if chosen:
                summaries[question_id].choices.update(chosen)
                summaries[question_id].answered += 1
    text_ids = [q.id for q in survey.questions if q.kind == "text"]
    if text_ids:
        for question_id, count in db.session.execute(
            select(SurveyAnswer.question_id, func.count())
            .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
            .where(
                SurveyResponse.survey_id == survey.id,
                SurveyAnswer.question_id.in_(text_ids),
                SurveyAnswer.text != "",
            )
            .group_by(SurveyAnswer.question_id)
        ):
            summaries[question_id].answered += count
    return summaries


def _servqual(
    title: str, survey: Survey, overall: Measures, summaries: dict[int, _QuestionSummary], width: float
) -> list[Flowable]:
    dimensions = [d for d in SERVQUAL_DIMENSIONS if d in overall.dimensions]
    counts = {
        d: sum(summaries[q.id].answered for q in survey.questions if q.kind == "servqual" and q.dimension == d)
        for d in dimensions
    }
    questions = {d: sum(1 for q in survey.questions if q.kind == "servqual" and q.dimension == d) for d in dimensions}
    rows = [
        [SERVQUAL_DIMENSIONS[d], f"{overall.dimensions[d]:.1f}", str(questions[d]), str(counts[d])] for d in dimensions
    ]
    widths = [0, 30 * mm, 30 * mm, 30 * mm]
    widths[0] = width - sum(widths)
    return [
        headed(
            title,
            [
                Paragraph(
                    "Agreement with the SERVQUAL statements (1-7), rescaled to 0-100; n is the number of answers.",
                    STYLES.meta,
                ),
                servqual_chart(overall.dimensions, counts, width=width),
            ],
        ),
        Spacer(0, 2 * mm),
        grid_table(["Dimension", "Score (0-100)", "Statements", "Answers"], rows, widths, plain={1, 2, 3}),
    ]


def servqual_chart(dimensions: dict[str, float], counts: dict[str, int], *, width: float = 180 * mm) -> Drawing:
    """A bar per SERVQUAL dimension (0-100), labelled with its score and number of answers."""
    keys = [d for d in SERVQUAL_DIMENSIONS if d in dimensions]
    height = 55 * mm
    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y = 14 * mm, 10 * mm
    chart.width, chart.height = width - 20 * mm, height - 22 * mm
    chart.data = [[dimensions[d] for d in keys]]
    chart.barLabelArray = [[f"{dimensions[d]:.1f} (n={counts.get(d, 0)})" for d in keys]]
    chart.barLabelFormat = "values"
    chart.barLabels.nudge = 6
    chart.barLabels.fontName = "Helvetica"
    chart.barLabels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = 100
    chart.valueAxis.valueStep = 20
    chart.valueAxis.labels.fontName = "Helvetica"
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = _GRID_LINE
    chart.valueAxis.strokeColor = RULE
    chart.categoryAxis.strokeColor = RULE
    chart.categoryAxis.categoryNames = [SERVQUAL_DIMENSIONS[d] for d in keys]
    chart.categoryAxis.labels.fontName = "Helvetica"
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.boxAnchor = "n"
    chart.barWidth = 10
    chart.groupSpacing = 30 if len(keys) <= 3 else 15
    chart.bars[0].fillColor = _BAR_COLOUR
    chart.bars[0].strokeColor = None
    drawing.add(chart)
    drawing.add(String(0, height - 6, "SERVQUAL score (0-100)", fontName="Helvetica-Bold", fontSize=8, fillColor=MUTED))
    return drawing


def _segments(survey: Survey, overall: Measures, width: float) -> list[Flowable]:
    if not overall.responses:
        return [Paragraph(escape(NO_RESPONSES), STYLES.muted)]
    widths = [0, 18 * mm, 42 * mm, 42 * mm, 40 * mm]
    widths[0] = width - sum(widths)
    out: list[Flowable] = []
    for by, title in (("service", "By service"), ("channel", "By channel")):
        rows = [
            [m.label, str(m.responses), nps_text(m.nps), csi_text(m.csi), _few(m.responses)]
            for m in segments(survey, by)
        ]
        out.append(Paragraph(escape(title), STYLES.h3))
        out.append(grid_table([title[3:].capitalize(), "Responses", "NPS", "CSI", "Caution"], rows, widths, plain={1}))
    out.append(
        Paragraph(
            "Segments with few responses have wide margins: compare them with care. '(none)' means the response "
            "did not say.",
            STYLES.meta,
        )
    )
    return out


def _questions(title: str, survey: Survey, summaries: dict[int, _QuestionSummary], width: float) -> list[Flowable]:
    if not survey.questions:
        return [headed(title, [Paragraph("The survey has no questions.", STYLES.muted)])]
    out: list[Flowable] = []
    for question in survey.questions:
        summary = summaries.get(question.id, _QuestionSummary())
        kind = QUESTION_KINDS.get(question.kind, question.kind)
        extra = ""
        if question.kind == "servqual" and question.dimension:
            extra = f", {SERVQUAL_DIMENSIONS.get(question.dimension, question.dimension)}"
        if question.kind in ("rating", "servqual"):
            extra += f", CSI weight {question.weight:g}"
        parts: list[Flowable] = [
            Paragraph(f"Q{question.position}. {markup(question.text)}", STYLES.h3),
            Paragraph(escape(f"{kind}{extra}; answered by {summary.answered}"), STYLES.meta),
        ]
        if not summary.answered:
            parts.append(Paragraph("No answers yet.", STYLES.muted))
        elif question.kind in SCALES:
            parts.append(_distribution(question, summary, width))
        elif question.kind in ("single", "multiple"):
            parts.append(_choice_table(question, summary, width))
        else:
            parts.append(Paragraph(escape("Free-text answers: see the verbatims below."), STYLES.muted))
        out.append(KeepTogether(parts) if out else headed(title, parts))
    return out


def _distribution(question: SurveyQuestion, summary: _QuestionSummary, width: float) -> Flowable:
    low, high = SCALES[question.kind]
    values = list(range(low, high + 1))
    total = sum(summary.numbers.values())
    mean = sum(v * c for v, c in summary.numbers.items()) / total
    header = [str(v) for v in values] + ["n", "Mean"]
    counts = [summary.numbers.get(float(v), 0) for v in values]
    row = [f"{c} ({share(c, total)})" if c else "0" for c in counts] + [str(total), f"{mean:.2f}"]
    side = 16 * mm
    cell = (width - 2 * side) / len(values)
    return grid_table(header, [row], [cell] * len(values) + [side, side])


def _choice_table(question: SurveyQuestion, summary: _QuestionSummary, width: float) -> Flowable:
    options = list(question.choices) + [c for c in summary.choices if c not in question.choices]
    rows = [
        [option, str(summary.choices.get(option, 0)), share(summary.choices.get(option, 0), summary.answered)]
        for option in options
    ]
    widths = [0, 24 * mm, 40 * mm]
    widths[0] = width - sum(widths)
    note = "% of those who answered" + (" (several options may be chosen)" if question.kind == "multiple" else "")
    return grid_table(["Option", "Chosen", note], rows, widths, plain={1, 2})


def _verbatims(survey: Survey, summaries: dict[int, _QuestionSummary], width: float) -> list[Flowable]:
    total = sum(summaries[q.id].answered for q in survey.questions if q.kind == "text" and q.id in summaries)
    found = verbatims(survey, limit=VERBATIM_LIMIT)
    if not found:
        if not any(q.kind == "text" for q in survey.questions):
            return [Paragraph("The survey asks no free-text question.", STYLES.muted)]
        return [Paragraph("No comments yet.", STYLES.muted)]
    rows = [
        [
            day(response.responded_on),
            f"Q{question.position}",
            "\n".join(x for x in (response.service, CHANNELS.get(response.channel, "")) if x) or DASH,
            text,
        ]
        for response, question, text in found
    ]
    widths = [20 * mm, 16 * mm, 34 * mm, 0]
    widths[3] = width - sum(widths)
    intro = f"{plural(total, 'comment')}, newest first"
    if total > len(found):
        intro += f"; the {len(found)} most recent are shown"
    return [
        Paragraph(escape(intro + ". Printed as the customers wrote them."), STYLES.meta),
        Spacer(0, 1 * mm),
        grid_table(["Date", "Question", "Service / channel", "Comment"], rows, widths, plain={0, 1}),
    ]


def _actions(survey: Survey, width: float) -> list[Flowable]:
    triggers = triggers_of(survey)
    if not triggers:
        if _rules_text(survey) == "None set":
            return [Paragraph("No rules are set on this survey, so none raised a record.", STYLES.muted)]
        return [Paragraph("No rule was breached: no complaint or nonconformity was raised.", STYLES.muted)]
    rows = [[t.period, RULE_LABELS.get(t.rule, t.rule), t.message, *_raised(t)] for t in triggers]
    widths = [18 * mm, 30 * mm, 0, 30 * mm, 26 * mm]
    widths[2] = width - sum(widths)
    return [
        Paragraph(
            "Each breach of the survey's rules raised one record, once per rule and period; its current state is "
            "shown.",
            STYLES.meta,
        ),
        Spacer(0, 1 * mm),
        grid_table(["Period", "Rule", "Finding", "Raised", "State"], rows, widths, plain={0}, bold={3}),
    ]


def _raised(trigger: RuleTrigger) -> list[str]:
    if trigger.nonconformity_id is not None:
        nc = db.session.get(Nonconformity, trigger.nonconformity_id)
        if nc is not None:
            return [f"Nonconformity {nc.reference}", nc.state_label]
    if trigger.complaint_id is not None:
        complaint = db.session.get(Complaint, trigger.complaint_id)
        if complaint is not None:
            return [f"Complaint {complaint.reference}", complaint.state_label]
    return ["Nothing recorded", DASH]


def _analysis(survey: Survey) -> list[Flowable]:
    if not survey.analysis.strip():
        return [Paragraph("Not analysed yet.", STYLES.muted)]
    method = survey.analysis_method
    label = METHOD_LABELS.get(method, "Other method" if method in METHODS else method or DASH)
    return [
        Paragraph(f"<b>Method:</b> {markup(label)}", STYLES.body),
        text_or_note(survey.analysis, "No findings recorded."),
    ]


def _approval(survey: Survey, history: Sequence[TransitionHistory], width: float) -> list[Flowable]:
    out: list[Flowable] = []
    returned = _events(history, "request_changes")
    for row in returned:
        comments = str((row.data or {}).get("comments", "")) or row.comment
        out.append(
            Paragraph(
                f"Sent back for re-analysis by {markup(row.actor_name)}, {escape(utc(row.at, seconds=False))}: "
                f"{markup(comments or DASH)}",
                STYLES.body,
            )
        )
    signed = [row for row in history if row.signature_manifest]
    if not signed:
        out.append(Paragraph("Not yet approved for distribution.", STYLES.muted))
        return out
    rows = [
        [
            "Approver" if row.event == "report" else row.event.replace("_", " ").capitalize(),
            Paragraph(markup(row.signed_by_name), STYLES.cell_bold),
            row.signature_meaning,
            utc(row.signed_at),
        ]
        for row in signed
    ]
    widths = [24 * mm, 0, 48 * mm, 40 * mm]
    widths[1] = width - sum(widths)
    out += [
        Paragraph(
            "The signature was applied in qmsflow with the signer's password and is linked to its history entry.",
            STYLES.meta,
        ),
        Spacer(0, 1 * mm),
        grid_table(["Role", "Printed name", "Meaning", "Date and time"], rows, widths),
        Spacer(0, 1 * mm),
    ]
    for row in signed:
        out.append(Paragraph(markup(row.signature_manifest), STYLES.cell_small))
        distribution = (row.data or {}).get("distribution")
        if distribution:
            names = ", ".join(str(x) for x in distribution) if isinstance(distribution, list) else str(distribution)
            out.append(Paragraph(f"<b>Distributed to:</b> {markup(names)}", STYLES.body))
    return out


__all__ = [
    "NO_RESPONSES",
    "WITHIN_NOISE",
    "change_text",
    "csi_text",
    "nps_text",
    "satisfaction_report_pdf",
    "servqual_chart",
    "trend_chart",
]

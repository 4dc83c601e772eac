"""Survey trends a risk or an opportunity can be raised from (ISO 9001 6.1 with 9.1.2).

Detected from a survey's responses per period (month by default):

- **NPS falling** or **CSI falling**: the figure fell in each of the last ``FALLING_PERIODS - 1``
  period changes (three periods in a row, each below the one before);
- **a question below its threshold**: a rating question's average in the latest period, on a
  0–100 scale, is below the survey's CSI threshold (or ``QUESTION_THRESHOLD`` when none is set).

Periods with fewer than ``measures.MIN_RESPONSES`` responses are left out: their figures are noise.
Each trend has a stable ``key`` that names it (``nps-falling``, ``csi-falling``, ``question-<id>``),
so a risk or opportunity raised from it keeps the trend in words and links back to the survey.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from sqlalchemy import func, select

from ...database import db, id_in
from ...models import SCALES, Survey, SurveyAnswer, SurveyResponse
from . import measures
from .results import TrendPoint, trend

#: a figure falling over this many consecutive periods is a trend
FALLING_PERIODS = 3
#: a rating question whose average (0–100) in the latest period is below this is a trend
QUESTION_THRESHOLD = 60.0

__all__ = ["FALLING_PERIODS", "QUESTION_THRESHOLD", "SurveyTrend", "detect_trends", "find_trend"]


@dataclass(frozen=True)
class SurveyTrend:
    """One detected trend of a survey, with what it is in words."""

    key: str
    kind: str  # nps, csi or question
    title: str
    words: str
    latest: float


def _falling(key: str, name: str, series: list[tuple[str, float]]) -> SurveyTrend | None:
    run = series[-FALLING_PERIODS:]
    if len(run) < FALLING_PERIODS or any(later >= earlier for (_, earlier), (_, later) in itertools.pairwise(run)):
        return None
    values = " → ".join(f"{value:g}" for _, value in run)
    return SurveyTrend(
        key,
        key.split("-")[0],
        f"{name} falling",
        f"{name} fell in {len(run)} consecutive periods, {run[0][0]} to {run[-1][0]}: {values}",
        run[-1][1],
    )


def detect_trends(survey: Survey, period: str = "month", points: list[TrendPoint] | None = None) -> list[SurveyTrend]:
    """The trends the survey's responses show now (none when it has too few responses).

    ``points``: ``trend(survey, period)`` when the caller has it already (the survey's page draws it).
    """
    if points is None:
        points = trend(survey, period)
    points = [p for p in points if p.measures.responses >= measures.MIN_RESPONSES]
    found: list[SurveyTrend] = []
    nps = [(p.measures.label, p.measures.nps.score) for p in points if p.measures.nps.score is not None]
    csi = [(p.measures.label, p.measures.csi.score) for p in points if p.measures.csi.score is not None]
    for key, name, series in (("nps-falling", "NPS", nps), ("csi-falling", "CSI", csi)):
        detected = _falling(key, name, series)  # type: ignore[arg-type]
        if detected is not None:
            found.append(detected)
    rated = {q.id: q for q in survey.questions if q.kind in ("rating", "servqual")}
    if rated and points and period == "month":
        latest = points[-1].measures.label
        threshold = survey.csi_threshold if survey.csi_threshold is not None else QUESTION_THRESHOLD
        year, month = (int(part) for part in latest.split("-"))
        first = dt.date(year, month, 1)
        last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
        answered = db.session.execute(
            select(SurveyAnswer.question_id, func.count(), func.sum(SurveyAnswer.number))
            .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
            .where(
                SurveyResponse.survey_id == survey.id,
                SurveyResponse.responded_on.between(first, last),
                id_in(SurveyAnswer.question_id, list(rated)),
                SurveyAnswer.number.is_not(None),
            )
            .group_by(SurveyAnswer.question_id)
        ).all()
        for question_id, count, total in sorted(answered, key=lambda row: rated[row[0]].position):
            if count < measures.MIN_RESPONSES:
                continue
            low, high = SCALES[rated[question_id].kind]
            average = round(measures.rescale(float(total) / count, low, high), 1)
            if average < threshold:
                question = rated[question_id]
                found.append(
                    SurveyTrend(
                        f"question-{question_id}",
                        "question",
                        f"Low score: {question.text[:120]}",
                        f"“{question.text[:200]}” averaged {average:g} of 100 in {latest} "
                        f"({count} answers), below the threshold of {threshold:g}",
                        average,
                    )
                )
    return found


def find_trend(survey: Survey, key: str) -> SurveyTrend | None:
    """The trend named ``key`` if the survey shows it now."""
    return next((t for t in detect_trends(survey) if t.key == key), None)

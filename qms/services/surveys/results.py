"""Survey results: NPS, CSI and SERVQUAL measures, per segment and period, trends, verbatims."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select

from ...database import db, id_in
from ...models import (
    CHANNELS,
    SCALES,
    SERVQUAL_DIMENSIONS,
    Survey,
    SurveyAnswer,
    SurveyInvitation,
    SurveyQuestion,
    SurveyResponse,
)
from . import measures

PERIODS = ("month", "quarter", "year")


# --------------------------------------------------------------------------- measures


def period_key(day: dt.date, period: str) -> str:
    if period == "year":
        return f"{day.year}"
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year}-{day.month:02d}"


@dataclass(frozen=True)
class Measures:
    """A survey's figures for one segment or period."""

    label: str
    responses: int
    nps: measures.Nps
    csi: measures.Csi
    dimensions: Mapping[str, float]

    @property
    def nps_score(self) -> float | None:
        return self.nps.score


@dataclass(frozen=True)
class TrendPoint:
    measures: Measures
    nps_change: float | None
    nps_noise: bool
    csi_change: float | None
    csi_noise: bool


def _load(survey: Survey, **filters: Any) -> list[tuple[SurveyResponse, dict[int, float]]]:
    """Responses (optionally of one service or channel, from/to a date) with their numeric answers."""
    query = select(SurveyResponse).where(SurveyResponse.survey_id == survey.id)
    if filters.get("service"):
        query = query.where(SurveyResponse.service == filters["service"])
    if filters.get("channel"):
        query = query.where(SurveyResponse.channel == filters["channel"])
    if filters.get("start"):
        query = query.where(SurveyResponse.responded_on >= filters["start"])
    if filters.get("end"):
        query = query.where(SurveyResponse.responded_on <= filters["end"])
    responses = list(db.session.scalars(query.order_by(SurveyResponse.responded_on, SurveyResponse.id)))
    numbers: dict[int, dict[int, float]] = defaultdict(dict)
    ids = [r.id for r in responses]
    if ids:
        for response_id, question_id, number in db.session.execute(
            select(SurveyAnswer.response_id, SurveyAnswer.question_id, SurveyAnswer.number).where(
                id_in(SurveyAnswer.response_id, ids), SurveyAnswer.number.is_not(None)
            )
        ):
            numbers[response_id][question_id] = number
    return [(r, numbers[r.id]) for r in responses]


def _measure(survey: Survey, label: str, rows: Sequence[tuple[SurveyResponse, dict[int, float]]]) -> Measures:
    nps_ids = {q.id for q in survey.questions if q.kind == "nps"}
    rated = {q.id: q for q in survey.questions if q.kind in ("rating", "servqual")}
    scales = {qid: SCALES[q.kind] for qid, q in rated.items()}
    weights = {qid: q.weight for qid, q in rated.items()}
    nps_values = [value for _, answers in rows for qid, value in answers.items() if qid in nps_ids]
    csi_value = measures.csi([answers for _, answers in rows], scales, weights)
    dimensions: dict[str, float] = {}
    for dimension in SERVQUAL_DIMENSIONS:
        ids = {qid for qid, q in rated.items() if q.dimension == dimension}
        values = [measures.rescale(v, 1, 7) for _, a in rows for qid, v in a.items() if qid in ids]
        if values:
            dimensions[dimension] = round(sum(values) / len(values), 1)
    return Measures(label, len(rows), measures.nps(nps_values), csi_value, dimensions)


def survey_measures(survey: Survey, **filters: Any) -> Measures:
    """NPS, CSI and SERVQUAL dimension scores of the survey (or of one service, channel or date range).

    Counted in SQL (a survey of a large organisation has tens of thousands of responses); the
    figures are those ``_measure`` computes from the loaded rows.
    """
    label = filters.get("label", "All responses")
    conditions = [SurveyResponse.survey_id == survey.id]
    if filters.get("service"):
        conditions.append(SurveyResponse.service == filters["service"])
    if filters.get("channel"):
        conditions.append(SurveyResponse.channel == filters["channel"])
    if filters.get("start"):
        conditions.append(SurveyResponse.responded_on >= filters["start"])
    if filters.get("end"):
        conditions.append(SurveyResponse.responded_on <= filters["end"])
    session = db.session
    responses = session.scalar(select(func.count()).where(*conditions)) or 0
    answer = SurveyAnswer
    answered = [answer.response_id.in_(select(SurveyResponse.id).where(*conditions)), answer.number.is_not(None)]
    nps_ids = [q.id for q in survey.questions if q.kind == "nps"]
    rated = {q.id: q for q in survey.questions if q.kind in ("rating", "servqual")}
    # NPS: answers counted by band
    band = case((answer.number >= 9, "promoter"), (answer.number >= 7, "passive"), else_="detractor")
    bands: dict[str, int] = {}
    if nps_ids:
        bands = dict(
            session.execute(
                select(band, func.count()).where(*answered, answer.question_id.in_(nps_ids)).group_by(band)
            ).all()
        )
    promoters, passives, detractors = (bands.get(b, 0) for b in ("promoter", "passive", "detractor"))
    nps = measures.Nps(promoters + passives + detractors, promoters, passives, detractors)
    # per rated question: how many answers and their sum
    sums: dict[int, tuple[int, float]] = {}
    if rated:
        sums = {
            qid: (count, float(total))
            for qid, count, total in session.execute(
                select(answer.question_id, func.count(), func.sum(answer.number))
                .where(*answered, answer.question_id.in_(list(rated)))
                .group_by(answer.question_id)
            )
        }
    csi = _csi_in_sql(rated, sums, answered)
    dimensions: dict[str, float] = {}
    for dimension in SERVQUAL_DIMENSIONS:
        ids = [qid for qid, q in rated.items() if q.dimension == dimension and qid in sums]
        count = sum(sums[qid][0] for qid in ids)
        if count:
            total = sum(sums[qid][1] for qid in ids)
            dimensions[dimension] = round(measures.rescale(total / count, 1, 7), 1)
    return Measures(label, responses, nps, csi, dimensions)


def _csi_in_sql(
    rated: Mapping[int, SurveyQuestion], sums: Mapping[int, tuple[int, float]], answered: list[Any]
) -> measures.Csi:
    """``measures.csi`` counted in SQL: the per-response scores are aggregated by the database."""
    counted = {qid: q for qid, q in rated.items() if q.weight > 0}
    answered_counted = [qid for qid in counted if qid in sums]
    weight_total = sum(counted[qid].weight for qid in answered_counted)
    if not answered_counted or not weight_total:
        return measures.Csi(0, None, None)
    score = 0.0
    for qid in answered_counted:
        low, high = SCALES[counted[qid].kind]
        count, total = sums[qid]
        score += counted[qid].weight * measures.rescale(total / count, low, high)
    score /= weight_total
    answer = SurveyAnswer
    scaled = case(
        *[
            (
                answer.question_id == qid,
                100.0 * (answer.number - SCALES[q.kind][0]) / (SCALES[q.kind][1] - SCALES[q.kind][0]),
            )
            for qid, q in counted.items()
        ]
    )
    weight = case(*[(answer.question_id == qid, float(q.weight)) for qid, q in counted.items()])
    per_response = (
        select((func.sum(weight * scaled) / func.sum(weight)).label("x"))
        .where(*answered, answer.question_id.in_(list(counted)))
        .group_by(answer.response_id)
        .subquery()
    )
    n, total, squares = db.session.execute(
        select(func.count(), func.sum(per_response.c.x), func.sum(per_response.c.x * per_response.c.x))
    ).one()
    if not n:
        return measures.Csi(0, None, None)
    # two pseudo-responses (0 and 100), as measures.csi: no certainty from a few identical ones
    size, total, squares = n + 2, float(total) + 100.0, float(squares) + 10_000.0
    variance = max(squares - total * total / size, 0.0) / (size - 1)
    return measures.Csi(n, round(score, 1), round(math.sqrt(variance / n), 2))


def segments(survey: Survey, by: str) -> list[Measures]:
    """Measures per service, channel or period (month, quarter, year)."""
    rows = _load(survey)
    groups: dict[str, list[tuple[SurveyResponse, dict[int, float]]]] = defaultdict(list)
    for response, answers in rows:
        if by == "service":
            key = response.service or "(none)"
        elif by == "channel":
            key = CHANNELS.get(response.channel, "(none)")
        elif by in PERIODS:
            key = period_key(response.responded_on, by)
        else:
            raise ValueError(f"cannot segment by {by!r}")
        groups[key].append((response, answers))
    return [_measure(survey, key, groups[key]) for key in sorted(groups)]


def trend(survey: Survey, period: str = "month") -> list[TrendPoint]:
    """Measures per period with the change from the previous one, flagged when within noise."""
    points: list[TrendPoint] = []
    previous: Measures | None = None
    for current in segments(survey, period):
        nps_change = csi_change = None
        nps_noise = csi_noise = True
        if previous is not None:
            if previous.nps.score is not None and current.nps.score is not None:
                nps_change = round(current.nps.score - previous.nps.score, 1)
                nps_noise = measures.change_is_noise(
                    previous.nps.score,
                    current.nps.score,
                    previous.nps.standard_error,
                    current.nps.standard_error,
                    previous.nps.n,
                    current.nps.n,
                )
            if previous.csi.score is not None and current.csi.score is not None:
                csi_change = round(current.csi.score - previous.csi.score, 1)
                csi_noise = measures.change_is_noise(
                    previous.csi.score,
                    current.csi.score,
                    previous.csi.standard_error,
                    current.csi.standard_error,
                    previous.csi.n,
                    current.csi.n,
                )
        points.append(TrendPoint(current, nps_change, nps_noise, csi_change, csi_noise))
        previous = current
    return points


def response_rate(survey: Survey) -> tuple[int, int, float | None]:
    """(responses through invitations, invitations issued, rate in %); rate None without invitations."""
    issued = db.session.scalar(select(func.count()).where(SurveyInvitation.survey_id == survey.id)) or 0
    used = (
        db.session.scalar(
            select(func.count()).where(SurveyInvitation.survey_id == survey.id, SurveyInvitation.used_at.is_not(None))
        )
        or 0
    )
    return used, issued, (round(100 * used / issued, 1) if issued else None)


def verbatims(survey: Survey, limit: int = 50) -> list[tuple[SurveyResponse, SurveyQuestion, str]]:
    """Free-text answers, newest first (shown escaped wherever they appear)."""
    questions = {q.id: q for q in survey.questions if q.kind == "text"}
    if not questions:
        return []
    rows = db.session.execute(
        select(SurveyResponse, SurveyAnswer.question_id, SurveyAnswer.text)
        .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
        .where(SurveyResponse.survey_id == survey.id, id_in(SurveyAnswer.question_id, list(questions)))
        .order_by(SurveyResponse.responded_on.desc(), SurveyResponse.id.desc())
        .limit(limit)
    ).all()
    return [(response, questions[qid], text) for response, qid, text in rows if text]

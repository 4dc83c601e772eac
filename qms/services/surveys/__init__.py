"""Customer satisfaction surveys: questions, public responses, invitations, CSV import, measures, rules.

The public response page is the only unauthenticated write path besides the complaint form, so
``submit_response`` accepts exactly what the survey defines and nothing else: unknown questions,
values off the scale, choices not offered, oversize text and missing required answers are refused
with a message per field, and nothing is written unless everything is valid.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
import secrets
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from workflows import FireResult
from workflows.errors import InvalidData, InvalidTransition, NotPermitted

from ...database import db, id_in, utcnow
from ...models import (
    CHANNELS,
    QUESTION_KINDS,
    RULE_ACTIONS,
    SCALES,
    SERVQUAL_DIMENSIONS,
    Actor,
    Nonconformity,
    RuleTrigger,
    Survey,
    SurveyAnswer,
    SurveyInvitation,
    SurveyQuestion,
    SurveyResponse,
    User,
)
from ..audit_trail import recorded_change, register_audited
from ..references import next_reference
from ..validation import clean_text
from ..workflow import as_actor, effect, facts_provider
from . import measures

register_audited(SurveyQuestion, SurveyInvitation, SurveyResponse, RuleTrigger)

MANAGE_ROLES = frozenset({"manager", "quality_officer"})
MAX_QUESTIONS = 60
MAX_CHOICES = 30
MAX_TEXT_ANSWER = 5000
MAX_IMPORT_ROWS = 50_000
MAX_IMPORT_BYTES = 10 * 1024 * 1024
PERIODS = ("month", "quarter", "year")


def _require(actor: Actor) -> None:
    if not actor.roles & MANAGE_ROLES:
        raise NotPermitted("Requires the role manager or quality officer to manage surveys")


def _number(errors: dict[str, str], name: str, value: Any, low: float, high: float) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors[name] = f"must be a number from {low:g} to {high:g}"
        return None
    if not low <= number <= high or number != number:  # NaN
        errors[name] = f"must be a number from {low:g} to {high:g}"
        return None
    return number


# --------------------------------------------------------------------------- surveys and questions


def create_survey(
    actor: User | Actor,
    *,
    title: str,
    introduction: str = "",
    service: str = "",
    invitation_only: bool = False,
    nps_threshold: Any = None,
    csi_threshold: Any = None,
    drop_threshold: Any = None,
    rule_action: str = "nonconformity",
    questions: Iterable[Mapping[str, Any]] = (),
) -> Survey:
    """A draft survey with its questions, all validated before anything is written."""
    actor = as_actor(actor)
    _require(actor)
    errors: dict[str, str] = {}
    fields = _survey_fields(errors, title, introduction, service, nps_threshold, csi_threshold, drop_threshold)
    if rule_action not in RULE_ACTIONS:
        errors["rule_action"] = "must be one of: " + ", ".join(RULE_ACTIONS)
    rows = []
    for index, question in enumerate(questions):
        if index >= MAX_QUESTIONS:
            errors["questions"] = f"a survey has at most {MAX_QUESTIONS} questions"
            break
        rows.append(_question_fields(errors, question if isinstance(question, Mapping) else {}, f"questions[{index}]."))
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, "survey drafted") as session:
        survey = Survey(
            reference=next_reference(session, "SUR", utcnow().year),
            public_token=secrets.token_urlsafe(24),
            invitation_only=bool(invitation_only),
            rule_action=rule_action,
            owner_id=actor.id,
            **fields,
        )
        survey.questions = [SurveyQuestion(position=i, **row) for i, row in enumerate(rows, start=1)]
        session.add(survey)
    return survey


def _survey_fields(
    errors: dict[str, str], title: Any, introduction: Any, service: Any, nps_t: Any, csi_t: Any, drop_t: Any
) -> dict[str, Any]:
    return {
        "title": clean_text(errors, "title", title, limit=200),
        "introduction": clean_text(errors, "introduction", introduction, required=False, limit=5000),
        "service": clean_text(errors, "service", service, required=False, limit=120),
        "nps_threshold": _number(errors, "nps_threshold", nps_t, -100, 100),
        "csi_threshold": _number(errors, "csi_threshold", csi_t, 0, 100),
        "drop_threshold": _number(errors, "drop_threshold", drop_t, 0, 200),
    }


def update_survey(survey: Survey, actor: User | Actor, **changes: Any) -> Survey:
    """Change a survey's text and rules (thresholds may change at any time before it is reported)."""
    actor = as_actor(actor)
    _require(actor)
    if survey.is_terminal:
        raise InvalidTransition(f"The survey is {survey.state_label.lower()}")
    errors: dict[str, str] = {}
    current = {
        "title": survey.title,
        "introduction": survey.introduction,
        "service": survey.service,
        "nps_threshold": survey.nps_threshold,
        "csi_threshold": survey.csi_threshold,
        "drop_threshold": survey.drop_threshold,
    }
    unknown = set(changes) - {*current, "rule_action", "invitation_only"}
    for name in unknown:
        errors[name] = "cannot be changed"
    merged = {**current, **{k: v for k, v in changes.items() if k in current}}
    fields = _survey_fields(
        errors,
        merged["title"],
        merged["introduction"],
        merged["service"],
        merged["nps_threshold"],
        merged["csi_threshold"],
        merged["drop_threshold"],
    )
    rule_action = changes.get("rule_action", survey.rule_action)
    if rule_action not in RULE_ACTIONS:
        errors["rule_action"] = "must be one of: " + ", ".join(RULE_ACTIONS)
    if "invitation_only" in changes and survey.state != "draft":
        errors["invitation_only"] = "can be changed only while the survey is a draft"
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"survey {survey.reference} changed"):
        for name, value in fields.items():
            setattr(survey, name, value)
        survey.rule_action = rule_action
        if "invitation_only" in changes:
            survey.invitation_only = bool(changes["invitation_only"])
    return survey


def _question_fields(errors: dict[str, str], data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    kind = data.get("kind")
    if kind not in QUESTION_KINDS:
        errors[prefix + "kind"] = "must be one of: " + ", ".join(QUESTION_KINDS)
    text = clean_text(errors, prefix + "text", data.get("text"), limit=1000)
    choices_raw = data.get("choices") or []
    if isinstance(choices_raw, str):
        choices_raw = [line for line in choices_raw.splitlines()]
    choices: list[str] = []
    if not isinstance(choices_raw, list):
        errors[prefix + "choices"] = "must be a list of options"
    else:
        for value in choices_raw:
            option = str(value).strip() if isinstance(value, (str, int, float)) else ""
            if option and option not in choices:
                choices.append(option)
        if any(len(c) > 200 or "\x00" in c for c in choices) or len(choices) > MAX_CHOICES:
            errors[prefix + "choices"] = f"at most {MAX_CHOICES} options of at most 200 characters"
    if kind in ("single", "multiple") and len(choices) < 2:
        errors[prefix + "choices"] = "a choice question needs at least two options"
    if kind not in ("single", "multiple"):
        choices = []
    dimension = data.get("dimension") or None
    if kind == "servqual" and dimension not in SERVQUAL_DIMENSIONS:
        errors[prefix + "dimension"] = "must be one of: " + ", ".join(SERVQUAL_DIMENSIONS)
    if kind != "servqual":
        dimension = None
    weight = _number(errors, prefix + "weight", data.get("weight", 1), 0, 100)
    return {
        "kind": kind,
        "text": text,
        "required": bool(data.get("required", False)),
        "choices": choices,
        "dimension": dimension,
        "weight": 1.0 if weight is None else weight,
    }


def add_question(survey: Survey, actor: User | Actor, **data: Any) -> SurveyQuestion:
    actor = as_actor(actor)
    _require(actor)
    if survey.state != "draft":
        raise InvalidTransition("Questions can change only while the survey is a draft")
    errors: dict[str, str] = {}
    row = _question_fields(errors, data)
    if len(survey.questions) >= MAX_QUESTIONS:
        errors["questions"] = f"a survey has at most {MAX_QUESTIONS} questions"
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"question added to {survey.reference}"):
        question = SurveyQuestion(position=max((q.position for q in survey.questions), default=0) + 1, **row)
        survey.questions.append(question)
    return question


def update_question(question: SurveyQuestion, actor: User | Actor, **data: Any) -> SurveyQuestion:
    """Reword a question; its weight may change at any time (it only affects the CSI)."""
    actor = as_actor(actor)
    _require(actor)
    survey = question.survey
    if survey.is_terminal:
        raise InvalidTransition(f"The survey is {survey.state_label.lower()}")
    errors: dict[str, str] = {}
    if survey.state != "draft":
        if set(data) - {"weight"}:
            raise InvalidTransition("Once a survey is open only a question's CSI weight may change")
        weight = _number(errors, "weight", data.get("weight"), 0, 100)
        if weight is None:
            errors.setdefault("weight", "is required")
        if errors:
            raise InvalidData(errors)
        with recorded_change(actor, f"CSI weight changed on {survey.reference}"):
            question.weight = weight
        return question
    merged = {
        "kind": question.kind,
        "text": question.text,
        "required": question.required,
        "choices": question.choices,
        "dimension": question.dimension,
        "weight": question.weight,
        **data,
    }
    row = _question_fields(errors, merged)
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"question changed on {survey.reference}"):
        for name, value in row.items():
            setattr(question, name, value)
    return question


def remove_question(question: SurveyQuestion, actor: User | Actor) -> None:
    actor = as_actor(actor)
    _require(actor)
    survey = question.survey
    if survey.state != "draft":
        raise InvalidTransition("Questions can change only while the survey is a draft")
    with recorded_change(actor, f"question removed from {survey.reference}") as session:
        survey.questions.remove(question)
        session.delete(question)


def renew_public_link(survey: Survey, actor: User | Actor) -> str:
    """A new unguessable public link; the old one stops working."""
    actor = as_actor(actor)
    _require(actor)
    if survey.is_terminal:
        raise InvalidTransition(f"The survey is {survey.state_label.lower()}; its link cannot be renewed")
    with recorded_change(actor, f"public link of {survey.reference} renewed"):
        survey.public_token = secrets.token_urlsafe(24)
    return survey.public_token


def survey_for_token(token: str) -> Survey | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(Survey).where(Survey.public_token == token))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_invitations(survey: Survey, actor: User | Actor, labels: Sequence[str]) -> list[tuple[str, str]]:
    """One personal token per label (a customer name or e-mail); returns (label, token), shown once."""
    actor = as_actor(actor)
    _require(actor)
    if survey.is_terminal or survey.state not in ("draft", "open"):
        raise InvalidTransition("Invitations are issued while the survey is a draft or open")
    errors: dict[str, str] = {}
    cleaned = [str(label).strip() for label in labels if str(label).strip()]
    if not cleaned:
        errors["labels"] = "give at least one customer (one per line)"
    elif len(cleaned) > 10_000:
        errors["labels"] = "at most 10000 invitations at once"
    elif any(len(label) > 200 or "\x00" in label for label in cleaned):
        errors["labels"] = "each label must be at most 200 characters"
    if errors:
        raise InvalidData(errors)
    issued = [(label, secrets.token_urlsafe(24)) for label in cleaned]
    with recorded_change(actor, f"{len(issued)} invitations to {survey.reference}") as session:
        session.add_all(SurveyInvitation(survey_id=survey.id, token_hash=_hash(t), label=label) for label, t in issued)
    return issued


def invitation_for(survey: Survey, token: str | None) -> SurveyInvitation | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(
        select(SurveyInvitation).where(
            SurveyInvitation.survey_id == survey.id, SurveyInvitation.token_hash == _hash(token)
        )
    )


# --------------------------------------------------------------------------- responses


def accepts_responses(survey: Survey, today: dt.date | None = None) -> bool:
    today = today or dt.date.today()
    return survey.state == "open" and (survey.closes_on is None or today <= survey.closes_on)


def _answer_values(
    errors: dict[str, str], survey: Survey, answers: Mapping[str, Any], where: str = ""
) -> list[SurveyAnswer]:
    """SurveyAnswer rows for the answers keyed ``q<id>`` (or the question id), or errors per field."""
    by_key = {f"q{q.id}": q for q in survey.questions}
    rows: list[SurveyAnswer] = []
    seen: set[int] = set()
    for key, raw in answers.items():
        question = by_key.get(str(key)) or by_key.get(f"q{key}")
        name = f"{where}{key}"
        if question is None:
            errors[name] = "is not a question of this survey"
            continue
        if question.id in seen:
            errors[name] = "is answered twice"
            continue
        seen.add(question.id)
        answer = _one_answer(errors, name, question, raw)
        if answer is not None:
            rows.append(answer)
    answered = {row.question_id for row in rows}
    for question in survey.questions:
        if question.required and question.id not in answered and f"{where}q{question.id}" not in errors:
            errors[f"{where}q{question.id}"] = "is required"
    return rows


def _one_answer(errors: dict[str, str], name: str, question: SurveyQuestion, raw: Any) -> SurveyAnswer | None:
    if raw is None or raw == "" or raw == []:
        return None
    if question.kind in SCALES:
        low, high = SCALES[question.kind]
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            errors[name] = f"must be a whole number from {low} to {high}"
            return None
        try:
            value = int(str(raw).strip())
        except ValueError:
            errors[name] = f"must be a whole number from {low} to {high}"
            return None
        if not low <= value <= high:
            errors[name] = f"must be a whole number from {low} to {high}"
            return None
        return SurveyAnswer(question_id=question.id, number=float(value))
    if question.kind in ("single", "multiple"):
        values = raw if isinstance(raw, list) else [raw]
        if not all(isinstance(v, str) for v in values):
            errors[name] = "must be one of the options offered"
            return None
        chosen = list(dict.fromkeys(v.strip() for v in values if v.strip()))
        if question.kind == "single" and len(chosen) > 1:
            errors[name] = "choose one option"
            return None
        unknown = [v for v in chosen if v not in question.choices]
        if unknown:
            errors[name] = "must be one of the options offered"
            return None
        return SurveyAnswer(question_id=question.id, choices=chosen) if chosen else None
    if not isinstance(raw, str):
        errors[name] = "must be text"
        return None
    text = clean_text(errors, name, raw, required=False, limit=MAX_TEXT_ANSWER)
    return SurveyAnswer(question_id=question.id, text=text) if text else None


def _segment(errors: dict[str, str], service: Any, channel: Any, prefix: str = "") -> tuple[str, str]:
    service = clean_text(errors, prefix + "service", service or "", required=False, limit=120)
    channel = str(channel or "").strip()
    if channel and channel not in CHANNELS:
        errors[prefix + "channel"] = "must be one of: " + ", ".join(CHANNELS)
    return service, channel


def submit_response(
    survey: Survey,
    answers: Mapping[str, Any],
    *,
    invitation_token: str | None = None,
    service: str = "",
    channel: str = "",
    source: str = "web",
    today: dt.date | None = None,
    actor: User | Actor | None = None,
) -> SurveyResponse:
    """Record one response from the public page or the API; all or nothing.

    With invitations, the token admits exactly one response: two concurrent submissions with the
    same token race on a conditional UPDATE of the invitation, and the loser is refused.
    """
    today = today or dt.date.today()
    if not accepts_responses(survey, today):
        raise InvalidTransition("This survey is not accepting responses")
    errors: dict[str, str] = {}
    if not isinstance(answers, Mapping):
        raise InvalidData({"answers": "must be an object of question → answer"})
    rows = _answer_values(errors, survey, answers)
    service, channel = _segment(errors, service or survey.service, channel)
    invitation = None
    if survey.invitation_only or invitation_token:
        invitation = invitation_for(survey, invitation_token)
        if invitation is None:
            errors["invitation"] = "this survey needs the personal link from your invitation"
        elif invitation.used_at is not None:
            errors["invitation"] = "this invitation has already been used to respond"
    if not rows and "invitation" not in errors:
        errors.setdefault("answers", "answer at least one question")
    if errors:
        raise InvalidData(errors)
    who = as_actor(actor) if actor is not None else None
    if who is not None and "viewer" in who.roles and not who.roles - {"viewer"}:
        raise NotPermitted("Viewers cannot enter survey responses")
    with recorded_change(who, f"response to {survey.reference}") as session:
        if invitation is not None:
            claimed = session.execute(
                update(SurveyInvitation)
                .where(SurveyInvitation.id == invitation.id, SurveyInvitation.used_at.is_(None))
                .values(used_at=utcnow())
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed != 1:
                raise InvalidData({"invitation": "this invitation has already been used to respond"})
        response = SurveyResponse(
            survey_id=survey.id,
            responded_on=today,
            source=source,
            service=service,
            channel=channel,
            invitation_id=invitation.id if invitation else None,
            answers=rows,
        )
        session.add(response)
    if invitation is not None:
        db.session.refresh(invitation)
    return response


def import_responses_csv(survey: Survey, actor: User | Actor, data: bytes | str) -> int:
    """Responses collected elsewhere, one per row; every row validated, all or nothing.

    Columns: ``responded_on`` (YYYY-MM-DD, required), ``service`` and ``channel`` (optional), and
    one column per question named ``q<position>`` (``q1``, ``q2``…; choices of a multiple-choice
    question separated by ``;``). Errors name the row (the file's line) and the column.
    """
    actor = as_actor(actor)
    _require(actor)
    if survey.state not in ("open", "closed"):
        raise InvalidTransition("Responses are imported while the survey is open or closed (before analysis)")
    if isinstance(data, bytes):
        if len(data) > MAX_IMPORT_BYTES:
            raise InvalidData({"file": f"is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB"})
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidData({"file": "must be UTF-8 text (save the sheet as CSV UTF-8)"}) from None
    else:
        text = data
    if "\x00" in text:
        raise InvalidData({"file": "is not a text CSV file"})
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise InvalidData({"file": "is empty"}) from None
    except csv.Error as exc:
        raise InvalidData({"file": f"line 1: {exc}"}) from None
    by_column = {f"q{q.position}": q for q in survey.questions}
    errors: dict[str, str] = {}
    unknown = [h for h in header if h not in by_column and h not in ("responded_on", "service", "channel")]
    if unknown:
        errors["line 1"] = (
            "unknown column(s): "
            + ", ".join(repr(h) for h in unknown[:10])
            + (" (expected responded_on, service, channel, " + ", ".join(by_column) + ")")
        )
    if "responded_on" not in header:
        errors["line 1, column 'responded_on'"] = "is missing"
    if len(set(header)) != len(header):
        errors["line 1"] = "a column is repeated"
    if errors:
        raise InvalidData(errors)
    responses: list[SurveyResponse] = []
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(responses) >= MAX_IMPORT_ROWS:
                raise InvalidData({"file": f"has more than {MAX_IMPORT_ROWS} rows; split it"})
            if len(row) != len(header):
                errors[f"line {line}"] = f"has {len(row)} cells, the header has {len(header)}"
                continue
            values = dict(zip(header, row, strict=True))
            row_errors: dict[str, str] = {}
            where = f"line {line}, column "
            responded_on = _csv_date(row_errors, f"{where}'responded_on'", values["responded_on"])
            service, channel = _segment(row_errors, values.get("service"), values.get("channel"))
            answers: dict[str, Any] = {}
            for column, question in by_column.items():
                if column in values:
                    raw = values[column].strip()
                    answers[f"q{question.id}"] = [v for v in raw.split(";")] if question.kind == "multiple" else raw
            rows = _answer_values(row_errors, survey, answers)
            for key, message in row_errors.items():
                if key.startswith("line "):
                    errors[key] = message
                elif key in ("service", "channel"):
                    errors[f"{where}'{key}'"] = message
                else:  # a question key q<id> → the column q<position>
                    question = next(q for q in survey.questions if f"q{q.id}" == key)
                    errors[f"{where}'q{question.position}'"] = message
            if not row_errors and not rows:
                errors[f"line {line}"] = "answers no question"
            if not row_errors and rows:
                responses.append(
                    SurveyResponse(
                        survey_id=survey.id,
                        responded_on=responded_on,
                        source="import",
                        service=service or survey.service,
                        channel=channel,
                        answers=rows,
                    )
                )
            if len(errors) >= 50:
                errors["file"] = "too many errors; the first 50 are listed"
                break
    except csv.Error as exc:
        errors[f"line {reader.line_num}"] = f"is not valid CSV: {exc}"
    if errors:
        raise InvalidData(errors)
    if not responses:
        raise InvalidData({"file": "has no responses"})
    with recorded_change(actor, f"{len(responses)} responses imported into {survey.reference}") as session:
        session.add_all(responses)
        session.flush()
        _apply_rules(session, survey, actor)
    return len(responses)


def _csv_date(errors: dict[str, str], name: str, value: str) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        errors[name] = "must be a date (YYYY-MM-DD)"
        return None
    if day > dt.date.today():
        errors[name] = "cannot be in the future"
        return None
    return day


def response_count(survey: Survey) -> int:
    return db.session.scalar(select(func.count()).where(SurveyResponse.survey_id == survey.id)) or 0


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


# --------------------------------------------------------------------------- rules


def _rule_breaches(survey: Survey, period: str = "month") -> list[tuple[str, str, float, str]]:
    """(rule, period, value, message) for every period that breaks one of the survey's rules."""
    found = []
    for point in trend(survey, period):
        m = point.measures
        if m.responses < measures.MIN_RESPONSES:
            continue
        nps_score, csi_score = m.nps.score, m.csi.score
        if survey.nps_threshold is not None and nps_score is not None and nps_score < survey.nps_threshold:
            message = (
                f"NPS {nps_score:+.0f} in {m.label} (n={m.nps.n}) is below the threshold {survey.nps_threshold:+.0f}"
            )
            found.append(("nps_low", m.label, nps_score, message))
        if survey.csi_threshold is not None and csi_score is not None and csi_score < survey.csi_threshold:
            message = (
                f"CSI {csi_score:.1f} in {m.label} (n={m.csi.n}) is below the threshold {survey.csi_threshold:.1f}"
            )
            found.append(("csi_low", m.label, csi_score, message))
        if survey.drop_threshold is None:
            continue
        for name, change, noise in (
            ("NPS", point.nps_change, point.nps_noise),
            ("CSI", point.csi_change, point.csi_noise),
        ):
            if change is not None and -change > survey.drop_threshold and not noise:
                message = (
                    f"{name} fell {-change:.1f} points in {m.label} (n={m.responses}), more than the "
                    f"{survey.drop_threshold:g}-point threshold and beyond noise"
                )
                found.append((f"{name.lower()}_drop", m.label, change, message))
    return found


def apply_rules(survey: Survey, actor: User | Actor | None = None) -> list[RuleTrigger]:
    """Open a complaint or raise an NC for each rule breach not acted on before (once per rule and month).

    ``actor`` None is the system (a scheduled job); a person needs a manager or quality officer role.
    """
    actor_ = as_actor(actor) if actor is not None else Actor(None, "system", frozenset())
    if actor is not None:
        _require(actor_)
    with recorded_change(actor_, f"satisfaction rules of {survey.reference}") as session:
        triggers = _apply_rules(session, survey, actor_)
    return triggers


def _apply_rules(session: Session, survey: Survey, actor: Actor) -> list[RuleTrigger]:
    """The rule triggers and their complaints or NCs, added to the caller's transaction.

    The unique (survey, rule, period) constraint makes a concurrent second evaluation fail
    instead of raising a duplicate record.
    """
    done = set(
        session.execute(select(RuleTrigger.rule, RuleTrigger.period).where(RuleTrigger.survey_id == survey.id)).all()
    )
    triggers = []
    for rule, key, value, message in _rule_breaches(survey):
        if (rule, key) in done:
            continue
        trigger = RuleTrigger(survey_id=survey.id, rule=rule, period=key, value=value, message=message)
        _act_on(session, survey, trigger, actor)
        session.add(trigger)
        triggers.append(trigger)
    return triggers


def _act_on(session: Session, survey: Survey, trigger: RuleTrigger, actor: Actor) -> None:
    from ..complaints import new_complaint_record

    title = f"{survey.reference}: {trigger.message}"[:200]
    description = (
        f"Raised automatically by the satisfaction rules of survey {survey.reference} ({survey.title}).\n\n"
        f"{trigger.message}."
    )
    if survey.rule_action == "complaint":
        complaint = new_complaint_record(
            session,
            channel="web_form",
            summary=title,
            description=description,
            service=survey.service,
            origin="survey_rule",
            logged_by_id=actor.id,
            owner_id=survey.owner_id,
        )
        session.flush()
        trigger.complaint_id = complaint.id
    else:
        nc = Nonconformity(
            reference=next_reference(session, "NC", dt.date.today().year),
            title=title,
            description=description,
            source="survey",
            process=survey.service,
            clause_refs=["9.1.2"],
            detected_on=dt.date.today(),
            raised_by_id=actor.id if actor.id is not None else survey.owner_id,
            owner_id=survey.owner_id,
        )
        session.add(nc)
        session.flush()
        trigger.nonconformity_id = nc.id


def triggers_of(survey: Survey) -> list[RuleTrigger]:
    return list(
        db.session.scalars(select(RuleTrigger).where(RuleTrigger.survey_id == survey.id).order_by(RuleTrigger.id))
    )


# --------------------------------------------------------------------------- lifecycle effects and facts


@effect("survey", "open", "reopen")
def _opened(survey: Survey, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    closes_on = result.data.get("closes_on")
    if closes_on is not None and closes_on < now.date():
        raise InvalidData({"closes_on": "cannot be in the past"})
    survey.closes_on = closes_on


@effect("survey", "analyse")
def _analysed(survey: Survey, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    survey.analysis_method = result.data["method"]
    survey.analysis = result.data["summary"]


@effect("survey", "close")
def _closed(survey: Survey, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    session = db.session()
    session.flush()
    _apply_rules(session, survey, actor)


@effect("survey", "report")
def _reported(survey: Survey, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    survey.reported_at = now


@effect("survey", "cancel")
def _survey_cancelled(survey: Survey, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    survey.cancel_reason = result.data["reason"]


@facts_provider("survey", provides=("question_count", "response_count"))
def _survey_facts(session: Session, surveys: Sequence[Survey]) -> dict[int, dict[str, Any]]:
    ids = [s.id for s in surveys]
    facts = {i: {"question_count": 0, "response_count": 0} for i in ids}
    for survey_id, count in session.execute(
        select(SurveyQuestion.survey_id, func.count())
        .where(id_in(SurveyQuestion.survey_id, ids))
        .group_by(SurveyQuestion.survey_id)
    ):
        facts[survey_id]["question_count"] = count
    for survey_id, count in session.execute(
        select(SurveyResponse.survey_id, func.count())
        .where(id_in(SurveyResponse.survey_id, ids))
        .group_by(SurveyResponse.survey_id)
    ):
        facts[survey_id]["response_count"] = count
    return facts

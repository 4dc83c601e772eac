"""Surveys and their questions, public links and invitations; the lifecycle's effects and facts."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows import FireResult
from workflows.errors import InvalidData, InvalidTransition

from ...database import db, id_in, utcnow
from ...models import (
    QUESTION_KINDS,
    RULE_ACTIONS,
    SERVQUAL_DIMENSIONS,
    Actor,
    Survey,
    SurveyInvitation,
    SurveyQuestion,
    SurveyResponse,
    User,
)
from ..audit_trail import recorded_change
from ..references import next_reference
from ..validation import clean_text
from ..workflow import as_actor, effect, facts_provider
from .common import _require
from .rules import _apply_rules, withdraw_undone

#: the survey's fields its satisfaction rules read: a correction of one re-checks the NCs they raised
RULE_FIELDS = ("nps_threshold", "csi_threshold", "drop_threshold")

MAX_QUESTIONS = 60
MAX_CHOICES = 30


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
    with recorded_change(actor, f"survey {survey.reference} changed") as session:
        rules_changed = any(getattr(survey, name) != fields[name] for name in RULE_FIELDS)
        for name, value in fields.items():
            setattr(survey, name, value)
        survey.rule_action = rule_action
        if "invitation_only" in changes:
            survey.invitation_only = bool(changes["invitation_only"])
        if rules_changed:
            withdraw_undone(session, survey, actor)
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
        with recorded_change(actor, f"CSI weight changed on {survey.reference}") as session:
            question.weight = weight
            withdraw_undone(session, survey, actor)
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

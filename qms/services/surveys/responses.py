"""Survey responses: the public response form's submission and the CSV import."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, update

from workflows.errors import InvalidData, InvalidTransition, NotPermitted

from ...database import db, utcnow
from ...models import (
    CHANNELS,
    SCALES,
    Actor,
    Survey,
    SurveyAnswer,
    SurveyInvitation,
    SurveyQuestion,
    SurveyResponse,
    User,
)
from ..audit_trail import recorded_change
from ..validation import clean_text
from ..workflow import as_actor
from .common import _require
from .rules import _apply_rules
from .surveys import invitation_for

MAX_TEXT_ANSWER = 5000
MAX_IMPORT_ROWS = 50_000
MAX_IMPORT_BYTES = 10 * 1024 * 1024


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
            used_at = utcnow()
            claimed = session.execute(
                update(SurveyInvitation)
                .where(SurveyInvitation.id == invitation.id, SurveyInvitation.used_at.is_(None))
                .values(used_at=used_at)
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed != 1:
                raise InvalidData({"invitation": "this invitation has already been used to respond"})
            # the same value through the ORM, so that the audit trail records the claim
            invitation.used_at = used_at
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

"""Customer satisfaction surveys (ISO 9001 9.1.2, ISO 10004).

A *survey* follows the ``survey`` lifecycle; its questions are of a few kinds (a 1–5 rating, the
0–10 likelihood to recommend, SERVQUAL statements, choices, free text). Responses come from the
public page (an unguessable link, optionally one invitation per customer), from a CSV import or
from the API; each answer is a row, so measures are computed in SQL. A *rule trigger* records what
a survey's rule raised (a complaint or a nonconformity).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db, quoted_list, utcnow
from .users import User
from .workflow import WorkflowRecord

QUESTION_KINDS = {
    "rating": "Rating (1–5)",
    "nps": "Likelihood to recommend (0–10)",
    "servqual": "SERVQUAL statement (1–7 agreement)",
    "single": "Single choice",
    "multiple": "Multiple choice",
    "text": "Free text",
}


#: kinds answered with a number, and their scale
SCALES = {"rating": (1, 5), "nps": (0, 10), "servqual": (1, 7)}


SERVQUAL_DIMENSIONS = {
    "tangibles": "Tangibles",
    "reliability": "Reliability",
    "responsiveness": "Responsiveness",
    "assurance": "Assurance",
    "empathy": "Empathy",
}


RESPONSE_SOURCES = {"web": "Public page", "import": "CSV import", "api": "API"}


RULE_ACTIONS = {"complaint": "Open a complaint", "nonconformity": "Raise a nonconformity"}


class Survey(WorkflowRecord, db.Model):
    __tablename__ = "surveys"
    #: the register's default sort and the id, for keyset paging
    __table_args__ = (Index("ix_surveys_created_at_id", "created_at", "id"),)
    lifecycle_name = "survey"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    introduction: Mapped[str] = mapped_column(Text, default="")
    service: Mapped[str] = mapped_column(String(120), default="")
    #: the secret in the public link (/s/<token>); unguessable, replaced when the link is renewed
    public_token: Mapped[str] = mapped_column(String(64), unique=True)
    invitation_only: Mapped[bool] = mapped_column(default=False)
    closes_on: Mapped[dt.date | None]
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: rules: NPS below, CSI below, or a drop of more than this many points from the previous period
    nps_threshold: Mapped[float | None] = mapped_column(Float)
    csi_threshold: Mapped[float | None] = mapped_column(Float)
    drop_threshold: Mapped[float | None] = mapped_column(Float)
    rule_action: Mapped[str] = mapped_column(String(20), default="nonconformity")
    analysis_method: Mapped[str] = mapped_column(String(20), default="")
    analysis: Mapped[str] = mapped_column(Text, default="")
    reported_at: Mapped[dt.datetime | None]
    cancel_reason: Mapped[str] = mapped_column(Text, default="")

    owner: Mapped[User] = relationship()
    questions: Mapped[list[SurveyQuestion]] = relationship(
        back_populates="survey",
        order_by="(SurveyQuestion.position, SurveyQuestion.id)",
        cascade="all, delete-orphan",
    )

    def __repr__(self) -> str:
        return f"<Survey {self.reference} {self.state}>"


class SurveyQuestion(db.Model):
    __tablename__ = "survey_questions"
    __table_args__ = (
        CheckConstraint(f"kind IN ({quoted_list(QUESTION_KINDS)})", "kind"),
        CheckConstraint("weight >= 0", "weight"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    required: Mapped[bool] = mapped_column(default=False)
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)
    dimension: Mapped[str | None] = mapped_column(String(20))
    #: weight in the Customer Satisfaction Index (rating and SERVQUAL questions)
    weight: Mapped[float] = mapped_column(Float, default=1.0)

    survey: Mapped[Survey] = relationship(back_populates="questions")

    @property
    def scale(self) -> tuple[int, int] | None:
        return SCALES.get(self.kind)


class SurveyInvitation(db.Model):
    """One customer's personal link: it admits exactly one response."""

    __tablename__ = "survey_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    used_at: Mapped[dt.datetime | None]


class SurveyResponse(db.Model):
    __tablename__ = "survey_responses"
    __table_args__ = (
        CheckConstraint(f"source IN ({quoted_list(RESPONSE_SOURCES)})", "source"),
        Index("ix_survey_responses_survey_date", "survey_id", "responded_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    responded_on: Mapped[dt.date]
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(10), default="web")
    service: Mapped[str] = mapped_column(String(120), default="")
    channel: Mapped[str] = mapped_column(String(30), default="")
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("survey_invitations.id"), unique=True)

    answers: Mapped[list[SurveyAnswer]] = relationship(back_populates="response", cascade="all, delete-orphan")


class SurveyAnswer(db.Model):
    __tablename__ = "survey_answers"
    __table_args__ = (UniqueConstraint("response_id", "question_id", name="uq_survey_answers_question"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("survey_responses.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("survey_questions.id", ondelete="CASCADE"), index=True)
    number: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text, default="")
    #: chosen options of a single or multiple choice question
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)

    response: Mapped[SurveyResponse] = relationship(back_populates="answers")


class RuleTrigger(db.Model):
    """A survey rule that fired for a period: at most once, so one low score raises one record."""

    __tablename__ = "survey_rule_triggers"
    __table_args__ = (UniqueConstraint("survey_id", "rule", "period", name="uq_survey_rule_triggers_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(20))
    period: Mapped[str] = mapped_column(String(20))
    value: Mapped[float] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    nonconformity_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformities.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)

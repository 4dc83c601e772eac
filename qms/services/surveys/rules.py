"""Satisfaction rules: a breach opens a complaint or raises an NC, once per rule and period."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...database import db
from ...models import Actor, Nonconformity, RuleTrigger, Survey, User
from ..audit_trail import recorded_change
from ..references import next_reference
from ..workflow import as_actor
from . import measures
from .common import _require
from .results import trend

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


def withdraw_undone(session: Session, survey: Survey, actor: Actor) -> list[Nonconformity]:
    """After a survey's rules or weights were corrected: the NCs its rules raised for breaches that no
    longer hold are withdrawn while nobody has triaged them, with the reason in their history, and
    their triggers removed (a later breach of the same period raises a new NC). A triaged NC stands:
    someone has taken it up, and a quality officer or a manager can reject it."""
    from ..nonconformities import withdraw_raised

    session.flush()
    holding = {(rule, period) for rule, period, _value, _message in _rule_breaches(survey)}
    withdrawn = []
    for trigger in session.scalars(
        select(RuleTrigger).where(RuleTrigger.survey_id == survey.id, RuleTrigger.nonconformity_id.is_not(None))
    ):
        if (trigger.rule, trigger.period) in holding:
            continue
        nc = session.get(Nonconformity, trigger.nonconformity_id)
        if nc is None or nc.state != "reported":
            continue
        reason = (
            f"The satisfaction rules of survey {survey.reference} were corrected: “{trigger.message}” no longer holds."
        )
        withdraw_raised(nc, actor, reason, what="correct the survey")
        session.delete(trigger)
        withdrawn.append(nc)
    return withdrawn


def triggers_of(survey: Survey) -> list[RuleTrigger]:
    return list(
        db.session.scalars(select(RuleTrigger).where(RuleTrigger.survey_id == survey.id).order_by(RuleTrigger.id))
    )

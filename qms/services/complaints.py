"""Customer complaints (ISO 10002) from any channel, social platforms included, to closure or an NC.

Targets: a complaint is to be acknowledged within ``QMS_COMPLAINT_ACK_DAYS`` (default 2) and
resolved within ``QMS_COMPLAINT_RESOLVE_DAYS`` (default 20) days of receipt; overdue ones are
flagged on the register, on My work and in the virtual platforms report.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import FireResult
from workflows.errors import InvalidData, InvalidTransition, NotPermitted

from ..database import db, id_in, utcnow
from ..models import CHANNELS, NC_ENDED_STATES, VIRTUAL_PLATFORMS, Actor, Complaint, Nonconformity, User
from .audit_trail import recorded_change
from .competence import assignment_problem
from .references import next_reference
from .validation import clean_text
from .workflow import as_actor, effect, facts_provider

LOG_ROLES = frozenset({"admin", "manager", "quality_officer", "process_owner"})
OWNER_ROLES = ("quality_officer", "manager", "process_owner")
NC_CLOSED_STATES = NC_ENDED_STATES


def _targets() -> tuple[int, int]:
    config = current_app.config if has_app_context() else {}
    return int(config.get("QMS_COMPLAINT_ACK_DAYS", 2)), int(config.get("QMS_COMPLAINT_RESOLVE_DAYS", 20))


def _clean_url(errors: dict[str, str], value: Any) -> str:
    url = clean_text(errors, "post_url", value or "", required=False, limit=500)
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            errors["post_url"] = "must be a web address starting with https:// or http://"
    return url


def new_complaint_record(
    session: Session,
    *,
    channel: str,
    summary: str,
    description: str,
    received_at: dt.datetime | None = None,
    origin: str = "staff",
    logged_by_id: int | None = None,
    owner_id: int | None = None,
    **fields: Any,
) -> Complaint:
    """The complaint row with its reference and targets, added to ``session`` (validated by the caller)."""
    received_at = received_at or utcnow()
    ack_days, resolve_days = _targets()
    complaint = Complaint(
        reference=next_reference(session, "CMP", received_at.year),
        channel=channel,
        summary=summary,
        description=description,
        received_at=received_at,
        acknowledge_due=received_at.date() + dt.timedelta(days=ack_days),
        resolve_due=received_at.date() + dt.timedelta(days=resolve_days),
        origin=origin,
        logged_by_id=logged_by_id,
        owner_id=owner_id,
        **fields,
    )
    session.add(complaint)
    return complaint


def _validated(data: dict[str, Any], *, public: bool) -> dict[str, Any]:
    errors: dict[str, str] = {}
    channel = data.get("channel") or ("web_form" if public else "")
    if channel not in CHANNELS:
        errors["channel"] = "must be one of: " + ", ".join(CHANNELS)
    values = {
        "channel": channel,
        "summary": clean_text(errors, "summary", data.get("summary"), limit=200),
        "description": clean_text(errors, "description", data.get("description"), limit=10_000),
        "customer_name": clean_text(errors, "customer_name", data.get("customer_name"), required=False, limit=200),
        "customer_handle": clean_text(
            errors, "customer_handle", data.get("customer_handle"), required=False, limit=200
        ),
        "customer_contact": clean_text(
            errors, "customer_contact", data.get("customer_contact"), required=public, limit=254
        ),
        "service": clean_text(errors, "service", data.get("service"), required=False, limit=120),
        "remedy_sought": clean_text(errors, "remedy_sought", data.get("remedy_sought"), required=False, limit=5000),
        "post_url": _clean_url(errors, data.get("post_url")),
    }
    if channel in VIRTUAL_PLATFORMS and not public and not (values["customer_handle"] or values["post_url"]):
        errors["customer_handle"] = "give the customer's handle or a link to the post for a social platform"
    received = data.get("received_at")
    if received not in (None, "") and not public:
        try:
            at = received if isinstance(received, dt.datetime) else dt.datetime.fromisoformat(str(received))
            if at.tzinfo is None:
                at = at.replace(tzinfo=dt.UTC)
            if at > utcnow() + dt.timedelta(minutes=5):
                errors["received_at"] = "cannot be in the future"
            values["received_at"] = at
        except ValueError:
            errors["received_at"] = "must be a date and time (YYYY-MM-DDTHH:MM)"
    if errors:
        raise InvalidData(errors)
    return values


def log_complaint(actor: User | Actor, *, origin: str = "staff", **data: Any) -> Complaint:
    """A complaint logged by staff (from a post, a call, an e-mail, a visit) or by an integration (``api``)."""
    actor = as_actor(actor)
    if origin not in ("staff", "api"):
        raise InvalidData({"origin": "must be staff or api"})
    if not actor.roles & LOG_ROLES:
        raise NotPermitted("Requires the role quality officer, manager, process owner or admin to log complaints")
    owner_id = data.pop("owner_id", None)
    values = _validated(data, public=False)
    owner = None
    if owner_id not in (None, ""):
        owner = db.session.get(User, owner_id) if isinstance(owner_id, int) and 0 < owner_id < 2**31 else None
        if owner is None or not owner.active or not owner.has_role(*OWNER_ROLES):
            raise InvalidData({"owner_id": "must be an active quality officer, manager or process owner"})
    if values["channel"] in VIRTUAL_PLATFORMS:
        owner_user = owner or db.session.get(User, actor.id)
        if owner_user is not None and (problem := assignment_problem(owner_user, "complaint_owner", values["channel"])):
            raise InvalidData({"owner_id": problem})
    with recorded_change(actor, "complaint logged") as session:
        complaint = new_complaint_record(
            session, origin=origin, logged_by_id=actor.id, owner_id=owner.id if owner else actor.id, **values
        )
    return complaint


def submit_public_complaint(**data: Any) -> Complaint:
    """A complaint from the public web form: only the form's fields, the channel is always the web form."""
    allowed = {"summary", "description", "customer_name", "customer_contact", "service", "remedy_sought"}
    unknown = set(data) - allowed
    if unknown:
        raise InvalidData({name: "is not a field of this form" for name in sorted(unknown)})
    values = _validated({**data, "channel": "web_form"}, public=True)
    with recorded_change(None, "complaint received from the public form") as session:
        complaint = new_complaint_record(session, origin="public_form", **values)
    return complaint


def escalate_to_nc(session: Session, complaint: Complaint, actor: Actor, reason: str) -> Nonconformity:
    nc = Nonconformity(
        reference=next_reference(session, "NC", dt.date.today().year),
        title=f"{complaint.reference}: {complaint.summary}"[:200],
        description=(
            f"Escalated from customer complaint {complaint.reference} ({CHANNELS[complaint.channel]}).\n\n"
            f"{complaint.description}\n\nWhy a nonconformity: {reason}"
        ),
        source="customer_complaint",
        process=complaint.service,
        clause_refs=["8.2.1", "9.1.2"],
        detected_on=complaint.received_at.date(),
        raised_by_id=actor.id if actor.id is not None else complaint.owner_id,
        owner_id=complaint.owner_id,
    )
    session.add(nc)
    return nc


# --------------------------------------------------------------------------- reporting


@dataclass(frozen=True)
class PlatformFigures:
    """One channel's complaints in a period: counts, response times and outcomes."""

    channel: str
    total: int
    open: int
    overdue: int
    escalated: int
    median_ack_days: float | None
    median_resolve_days: float | None
    outcomes: dict[str, int]
    satisfied: int
    not_satisfied: int


def _median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return float(ordered[middle]) if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def platform_figures(
    start: dt.date, end: dt.date, *, channels: Sequence[str] = VIRTUAL_PLATFORMS, today: dt.date | None = None
) -> list[PlatformFigures]:
    """Per channel, complaints received between ``start`` and ``end``: the virtual platforms report."""
    today = today or utcnow().date()
    first = dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC)
    last = dt.datetime.combine(end, dt.time.max, tzinfo=dt.UTC)
    rows = db.session.scalars(
        select(Complaint).where(Complaint.received_at.between(first, last), Complaint.channel.in_(list(channels)))
    ).all()
    grouped: dict[str, list[Complaint]] = defaultdict(list)
    for complaint in rows:
        grouped[complaint.channel].append(complaint)
    result = []
    for channel in channels:
        items = grouped.get(channel, [])
        ack = [(c.acknowledged_on - c.received_at.date()).days for c in items if c.acknowledged_on]
        resolve = [(c.resolved_at - c.received_at).total_seconds() / 86400 for c in items if c.resolved_at]
        result.append(
            PlatformFigures(
                channel=channel,
                total=len(items),
                open=sum(1 for c in items if c.state in Complaint.OPEN_STATES),
                overdue=sum(1 for c in items if c.resolution_overdue(today) or c.acknowledgement_overdue(today)),
                escalated=sum(1 for c in items if c.nonconformity_id is not None),
                median_ack_days=_median(ack),
                median_resolve_days=None if not resolve else round(_median(resolve) or 0, 1),
                outcomes=dict(Counter(c.state for c in items)),
                satisfied=sum(1 for c in items if c.customer_satisfied == "yes"),
                not_satisfied=sum(1 for c in items if c.customer_satisfied == "no"),
            )
        )
    return result


# --------------------------------------------------------------------------- lifecycle effects and facts


@effect("complaint", "acknowledge")
def _acknowledged(complaint: Complaint, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    day = result.data["acknowledged_on"]
    if day > now.date():
        raise InvalidData({"acknowledged_on": "cannot be in the future"})
    if day < complaint.received_at.date():
        raise InvalidData({"acknowledged_on": "cannot be before the complaint was received"})
    complaint.acknowledged_on = day
    complaint.severity = result.data["severity"]
    if complaint.owner_id is None:
        complaint.owner_id = actor.id


@effect("complaint", "reject")
def _rejected(complaint: Complaint, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    complaint.rejection_reason = result.data["reason"]
    complaint.closed_at = now


@effect("complaint", "escalate")
def _escalated(complaint: Complaint, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    if complaint.nonconformity_id is None:
        complaint.nonconformity = escalate_to_nc(db.session(), complaint, actor, result.data["reason"])


@effect("complaint", "withdraw_escalation")
def _escalation_withdrawn(complaint: Complaint, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    """The escalation is undone: its NC, still untriaged, is withdrawn (its history says why) and unlinked,
    so that a later escalation raises a new one; a triaged NC refuses the change."""
    from .nonconformities import withdraw_raised

    nc = complaint.nonconformity
    if nc is None:
        return
    if nc.state == "closed":
        raise InvalidTransition(
            f"{nc.reference}, raised by this escalation, is closed: the escalation stands; record the resolution"
        )
    reason = f"The escalation of complaint {complaint.reference} was withdrawn: {result.data['reason']}"
    withdraw_raised(nc, actor, reason, what="withdraw the escalation")
    complaint.nonconformity = None


@effect("complaint", "resolve")
def _resolved(complaint: Complaint, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    complaint.resolution = result.data["resolution"]
    complaint.customer_satisfied = result.data.get("customer_satisfied") or "unknown"
    complaint.resolved_at = now


@effect("complaint", "reopen")
def _reopened(complaint: Complaint, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    complaint.customer_satisfied = "no"
    complaint.resolved_at = None


@effect("complaint", "close")
def _closed(complaint: Complaint, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    day = result.data["communicated_on"]
    if day > now.date():
        raise InvalidData({"communicated_on": "cannot be in the future"})
    complaint.communicated_on = day
    complaint.closed_at = now


@facts_provider("complaint", provides=("linked_nc_open",))
def _complaint_facts(session: Session, complaints: Sequence[Complaint]) -> dict[int, dict[str, Any]]:
    nc_ids = {c.id: c.nonconformity_id for c in complaints}
    states = dict(
        session.execute(
            select(Nonconformity.id, Nonconformity.state).where(
                id_in(Nonconformity.id, [i for i in nc_ids.values() if i is not None])
            )
        ).all()
    )
    return {
        cid: {"linked_nc_open": nc_id is not None and states.get(nc_id) not in NC_CLOSED_STATES}
        for cid, nc_id in nc_ids.items()
    }

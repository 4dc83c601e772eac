"""The audit calendar: audits between dates, month grids, personal iCalendar feeds."""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from workflows.errors import NotPermitted

from ...database import db, utcnow
from ...models import Actor, Audit, User
from ..audit_trail import recorded_change
from ..workflow import as_actor
from .common import NOT_HAPPENING

# --------------------------------------------------------------------------- calendar


def audits_between(
    first: dt.date, last: dt.date, *, auditor_id: int | None = None, site_id: int | None = None
) -> list[Audit]:
    """Audits whose planned dates touch [first, last], for the calendar (cancelled ones left out)."""
    query = (
        select(Audit)
        .options(selectinload(Audit.team), selectinload(Audit.process))
        .where(
            Audit.state.not_in(NOT_HAPPENING),
            Audit.planned_start <= last,
            func.coalesce(Audit.planned_end, Audit.planned_start) >= first,
        )
        .order_by(Audit.planned_start, Audit.id)
    )
    if site_id is not None:
        query = query.where(Audit.site_id == site_id)
    audits = list(db.session.scalars(query))
    if auditor_id is not None:
        audits = [a for a in audits if auditor_id in a.member_ids]
    return audits


def month_grid(year: int, month: int) -> list[list[dt.date | None]]:
    """Weeks (Monday first) of a month; days outside it are None."""
    return [[day or None for day in week] for week in calendar.Calendar().monthdatescalendar(year, month)]


def _feed_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_calendar_feed(user: User, actor: User | Actor) -> str:
    """A new secret feed address token for ``user`` (the old one stops working); shown once."""
    actor = as_actor(actor)
    if actor.id != user.id and "admin" not in actor.roles:
        raise NotPermitted("Only the user or an administrator can create their calendar feed")
    secret = secrets.token_urlsafe(24)
    with recorded_change(actor, "calendar feed address issued"):
        user.calendar_feed_hash = _feed_hash(secret)
    return secret


def revoke_calendar_feed(user: User, actor: User | Actor) -> None:
    actor = as_actor(actor)
    if actor.id != user.id and "admin" not in actor.roles:
        raise NotPermitted("Only the user or an administrator can revoke their calendar feed")
    with recorded_change(actor, "calendar feed address revoked"):
        user.calendar_feed_hash = None


def user_for_feed(secret: str) -> User | None:
    if not secret or len(secret) > 100:
        return None
    user = db.session.scalar(select(User).where(User.calendar_feed_hash == _feed_hash(secret)))
    return user if user is not None and user.active else None


def ical_feed(user: User, *, base_url: str = "", today: dt.date | None = None) -> bytes:
    """The user's audits (from a year back) as an iCalendar document (RFC 5545)."""
    from icalendar import Calendar, Event

    today = today or dt.date.today()
    cal = Calendar()
    cal.add("prodid", "-//qmsflow//audit calendar//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"Audits — {user.name}")
    for audit in audits_between(today - dt.timedelta(days=366), today + dt.timedelta(days=3 * 366), auditor_id=user.id):
        event = Event()
        event.add("uid", f"audit-{audit.id}@qmsflow")
        event.add("summary", f"{audit.reference} {audit.title}")
        event.add("dtstart", audit.planned_start)
        event.add("dtend", (audit.planned_end or audit.planned_start) + dt.timedelta(days=1))
        event.add("dtstamp", utcnow())
        role = "Lead auditor" if audit.lead_auditor_id == user.id else "Audit team"
        description = f"{role}. State: {audit.state_label}. Scope: {audit.scope}"
        event.add("description", description)
        if audit.site is not None:
            event.add("location", audit.site.name)
        if base_url:
            event.add("url", f"{base_url.rstrip('/')}/audits/{audit.id}")
        event.add("status", "TENTATIVE" if audit.state in ("planned", "postponed") else "CONFIRMED")
        cal.add_component(event)
    return cal.to_ical()

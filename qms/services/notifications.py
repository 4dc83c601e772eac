"""E-mail notifications: the daily digest, sent once per user and day.

Each message is recorded (user, kind, subject, day: unique) before it is sent, so a retried or
doubled job sends nothing twice.  With no mail server configured (``QMS_MAIL_SERVER`` empty,
the embedded default) nothing is sent: the digest is written to the log and recorded with
status ``logged``.  Only active users who have not opted out receive a digest.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_mail import Message
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..database import begin_write, db, utcnow
from ..extensions import mail
from ..models import Notification, NotificationPreference, User
from .reminders import KIND_LABELS, digest_items_many, item_url, watched_certifications
from .users import active_users_with_roles

log = logging.getLogger(__name__)

#: a message still pending after this long was abandoned by a killed worker
ABANDONED_AFTER = dt.timedelta(hours=2)
DIGEST = ("digest", "daily")  # (kind, subject) of the daily digest notification


def public_url(endpoint: str, **values: Any) -> str:
    """The address of ``endpoint`` on ``QMS_BASE_URL``, for links given to people outside (a supplier's
    answer link, a survey's public page): never on the host name the request came in on, which may be an
    intranet name the outsider cannot reach, or a ``Host`` header the client chose."""
    base = urlsplit(current_app.config["QMS_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https")
    return adapter.build(endpoint, values, force_external=True)


def mail_configured() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


@contextmanager
def mail_context() -> Iterator[None]:
    """A request context on ``QMS_BASE_URL`` so templates and ``url_for`` work inside a task."""
    with current_app.test_request_context("/", base_url=current_app.config["QMS_BASE_URL"]):
        yield


def wants_digest(user: User) -> bool:
    preference = db.session.get(NotificationPreference, user.id)
    return preference is None or preference.daily_digest


def set_digest_preference(user: User, wanted: bool) -> None:
    """The user's own choice of receiving the daily digest."""
    begin_write(db.session)
    preference = db.session.get(NotificationPreference, user.id)
    if preference is None:
        db.session.add(NotificationPreference(user_id=user.id, daily_digest=wanted))
    else:
        preference.daily_digest = wanted
    db.session.commit()


def claim_notification(user_id: int, kind: str, subject: str, day: dt.date, items: int) -> int | None:
    """Record a message about to be sent; its id, or None when it was sent (or is being sent) already.

    A message whose sending failed, or that a killed worker left pending long ago, may be claimed again.
    """
    session = db.session
    begin_write(session)
    row = Notification(user_id=user_id, kind=kind, subject=subject, day=day, status="pending", items=items, error="")
    session.add(row)
    try:
        session.commit()
        return row.id
    except IntegrityError:
        session.rollback()
    where = (
        (Notification.user_id == user_id)
        & (Notification.kind == kind)
        & (Notification.subject == subject)
        & (Notification.day == day)
    )
    begin_write(session)
    abandoned = (Notification.status == "pending") & (Notification.created_at < utcnow() - ABANDONED_AFTER)
    taken = session.execute(
        update(Notification)
        .where(where, (Notification.status == "failed") | abandoned)
        .values(status="pending", error="", created_at=utcnow())
    ).rowcount
    session.commit()
    return session.scalar(select(Notification.id).where(where)) if taken else None


def _mark(notification_id: int, status: str, error: str = "") -> None:
    begin_write(db.session)
    db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id)
        .values(status=status, error=error[:2000], sent_at=utcnow() if status == "sent" else None)
    )
    db.session.commit()


def render_digest(user: User, items: list, day: dt.date) -> Message:
    """The digest e-mail (text and HTML) for ``user``; call inside ``mail_context``."""
    rows = [(item, KIND_LABELS.get(item.kind, item.kind), item_url(item)) for item in items]
    overdue = sum(1 for item in items if item.overdue)
    context = {
        "user": user,
        "rows": rows,
        "day": day,
        "overdue": overdue,
        "organisation": current_app.config["QMS_ORGANISATION"],
        "base_url": current_app.config["QMS_BASE_URL"],
    }
    subject = f"[{current_app.config['QMS_ORGANISATION']}] Your quality tasks for {day}: " + (
        f"{overdue} overdue, {len(items) - overdue} due soon" if overdue else f"{len(items)} due soon"
    )
    return Message(
        subject=subject.replace("\r", " ").replace("\n", " ")[:200],
        recipients=[(user.name, user.email)],
        body=render_template("email/digest.txt", **context),
        html=render_template("email/digest.html", **context),
    )


def send_daily_digests(day: dt.date) -> dict[str, int]:
    """Send each active, opted-in user with something overdue or due soon their digest for ``day``."""
    counts = {"users": 0, "sent": 0, "logged": 0, "nothing_due": 0, "opted_out": 0, "already_sent": 0, "failed": 0}
    configured = mail_configured()
    users = list(db.session.scalars(active_users_with_roles()))
    opted_out = set(
        db.session.scalars(select(NotificationPreference.user_id).where(NotificationPreference.daily_digest.is_(False)))
    )
    watched = watched_certifications(day)  # the same for every manager and quality officer: once per run
    with mail_context(), ExitStack() as stack:
        # every digest worked out before the first is sent: each user's own queries, the records they
        # found loaded once for all (claiming a digest commits, which would expire them)
        wanted = [user for user in users if user.id not in opted_out]
        digests = digest_items_many(wanted, day, watched=watched)
        connection = stack.enter_context(mail.connect()) if configured else None  # one SMTP session for all
        for user in users:
            counts["users"] += 1
            if user.id in opted_out:
                counts["opted_out"] += 1
                continue
            items = digests[user.id]
            if not items:
                counts["nothing_due"] += 1
                continue
            message = render_digest(user, items, day)
            notification_id = claim_notification(user.id, *DIGEST, day, len(items))
            if notification_id is None:
                counts["already_sent"] += 1
                continue
            if connection is None:
                log.info("digest for %s (mail not configured, not sent):\n%s", user.email, message.body)
                _mark(notification_id, "logged")
                counts["logged"] += 1
                continue
            try:
                connection.send(message)
            except Exception as exc:  # recorded; the next run (or a retry) sends it
                log.exception("digest to %s failed", user.email)
                _mark(notification_id, "failed", f"{type(exc).__name__}: {exc}")
                counts["failed"] += 1
            else:
                _mark(notification_id, "sent")
                counts["sent"] += 1
    if counts["failed"]:
        raise DigestFailures(counts)
    return counts


class DigestFailures(RuntimeError):
    """Some digests could not be sent; the job run is recorded as failed and may be run again."""

    def __init__(self, counts: dict[str, int]) -> None:
        super().__init__(f"{counts['failed']} digest(s) could not be sent; sent {counts['sent']}")
        self.counts = counts

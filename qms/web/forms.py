"""Form helpers every feature's pages share: choice lists read in SQL, and service errors shown as sentences."""

from __future__ import annotations

from flask import flash
from flask_wtf import FlaskForm
from sqlalchemy import select

from ..database import db
from ..models import Process, Site, User, UserRole


def standard_choices() -> list[tuple[str, str]]:
    """(identifier, label) of every standard an audit may use: bundled and imported ones."""
    try:
        from ..services.standards import standard_choices as service_choices
    except ImportError:  # until the standards service lands: the bundled standards only
        from standards import bundled_standards

        return [(s.identifier, s.title) for s in bundled_standards()]
    return [(str(choice[0]), str(choice[1])) for choice in service_choices()]


def user_choices(*roles: str, blank: str = "") -> list[tuple[int, str]]:
    """(id, name) of the active users holding any of ``roles`` (all active users without roles), by name.

    Read as plain rows filtered in SQL: an organisation has hundreds of users and every form shows them.
    """
    query = select(User.id, User.name).where(User.active.is_(True)).order_by(User.name, User.id)
    if roles:
        query = query.where(User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(roles))))
    found = [(user_id, name) for user_id, name in db.session.execute(query)]
    return ([(0, blank)] if blank else []) + found


def site_choices(blank: str = "—") -> list[tuple[int, str]]:
    sites = db.session.scalars(select(Site).where(Site.active.is_(True)).order_by(Site.name))
    return [(0, blank)] + [(s.id, f"{s.name} ({s.code})") for s in sites]


def process_choices(blank: str = "—") -> list[tuple[int, str]]:
    processes = db.session.scalars(select(Process).where(Process.active.is_(True)).order_by(Process.name))
    return [(0, blank)] + [(p.id, p.name) for p in processes]


def sentence(subject: str, message: str) -> str:
    """A service's "must be an active user" about ``owner_id`` as "Owner must be an active user."."""
    if message[:1].islower():
        message = f"{subject} {message}"
    return message if message.endswith((".", "!", "?")) else f"{message}."


def apply_errors(form: FlaskForm, errors: dict[str, str], mapping: dict[str, str] | None = None) -> None:
    """Service errors next to their form fields, each a sentence; those without a field become flash messages."""
    for name, message in errors.items():
        target = getattr(form, (mapping or {}).get(name, name), None)
        if target is not None and hasattr(target, "errors"):
            text = sentence(target.label.text if hasattr(target, "label") else name, message)
            target.errors = [*target.errors, text] if isinstance(target.errors, list) else [text]
        else:
            subject = name.removesuffix("_id").replace("_", " ").replace(".", " ")
            flash(sentence(subject[:1].upper() + subject[1:], message))

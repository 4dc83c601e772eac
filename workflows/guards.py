"""Reusable guard factories; each returns a Guard whose check gives a reason or None."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .definition import Guard, GuardContext


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


def none_open(fact: str, singular: str, plural: str | None = None, *, still: str = "still open") -> Guard:
    """Block while the count fact ``fact`` is above zero: "2 tasks are still open"."""

    def check(ctx: GuardContext) -> str | None:
        count = int(ctx.fact(fact) or 0)
        if count > 0:
            verb = "is" if count == 1 else "are"
            return f"{_plural(count, singular, plural)} {verb} {still}"
        return None

    return Guard(f"no_{fact}", check, f"No {plural or singular + 's'} {still}")


def at_least_one(fact: str, singular: str, plural: str | None = None, *, purpose: str = "") -> Guard:
    """Block until the count fact is at least one: "Add at least one task first"."""

    def check(ctx: GuardContext) -> str | None:
        if int(ctx.fact(fact) or 0) < 1:
            return f"Add at least one {singular} first" + (f" ({purpose})" if purpose else "")
        return None

    return Guard(f"has_{fact}", check, f"At least one {singular}")


def not_actor(attribute: str, reason: str, *, name: str | None = None) -> Guard:
    """Segregation of duties: the actor must not be the user in ``record.<attribute>``."""

    def check(ctx: GuardContext) -> str | None:
        other = ctx.fact(attribute)
        if other is not None and other == ctx.actor.id:
            return reason
        return None

    return Guard(name or f"not_{attribute}", check, reason)


def actor_is_or_role(attribute: str, role: str, reason: str, *, name: str | None = None) -> Guard:
    """Only the user in ``record.<attribute>`` or a holder of ``role`` may act."""

    def check(ctx: GuardContext) -> str | None:
        owner = ctx.fact(attribute)
        if owner is None or owner == ctx.actor.id or role in ctx.actor.roles:
            return None
        return reason

    return Guard(name or f"{attribute}_or_{role}", check, reason)


def date_reached(attribute: str, what: str, *, name: str | None = None) -> Guard:
    """Block until today is on or after the date in ``record.<attribute>``."""

    def check(ctx: GuardContext) -> str | None:
        due = ctx.fact(attribute)
        if due is not None and ctx.today < due:
            days = (due - ctx.today).days
            return f"{what} is not due until {due.isoformat()} ({_plural(days, 'day')} from now)"
        return None

    return Guard(name or f"{attribute}_reached", check, f"{what} date reached")


def fact_true(fact: str, reason: str, *, name: str | None = None) -> Guard:
    """Block unless the fact is truthy."""

    def check(ctx: GuardContext) -> str | None:
        return None if ctx.fact(fact) else reason

    return Guard(name or fact, check, reason)


def custom(name: str, check: Callable[[GuardContext], str | None], description: str = "", **kw: Any) -> Guard:
    return Guard(name, check, description, **kw)

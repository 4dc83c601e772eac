"""Date arithmetic for the ISO/IEC 17021-1 certification cycle (pure functions, no I/O).

A certificate is valid for ``certificate_years`` from the certification decision: decided on
2026-12-30, it expires on 2029-12-29. Surveillance audits fall due no later than
``first_surveillance_max_months`` after the decision and then every
``surveillance_interval_months``, as long as they come before the recertification audit, which
is due ``recertification_lead_days`` before expiry. With the ISO/IEC 17021-1 defaults
(3 years, 12 months, 12 months) that is two surveillance audits, in years 1 and 2.

Months are added by calendar, clamping to the end of a shorter month (``add_months``), so a
deadline never moves past the month it belongs to. A certificate decided on 29 February runs
until the last day of February of its expiry year: its anniversary in a common year is 1 March.

Suspension does not change any of these dates: a suspended certificate keeps its expiry and
its surveillance deadlines (ISO/IEC 17021-1 has the body reinstate, reduce or withdraw it, not
restart the cycle), so nothing here takes a suspension into account.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

__all__ = [
    "RESTORE_WITHIN_MONTHS",
    "STAGE2_MAJOR_VERIFY_MONTHS",
    "CycleDates",
    "Reminder",
    "add_months",
    "cycle_dates",
    "next_deadline",
    "recertified_cycle",
    "reminders",
]

#: ISO/IEC 17021-1: an expired certificate may be restored within 6 months if the outstanding
#: recertification activities are completed; the expiry then stays based on the prior cycle.
RESTORE_WITHIN_MONTHS = 6
#: ISO/IEC 17021-1: a major nonconformity found at initial certification whose correction and
#: corrective action are not verified within 6 months of the last day of stage 2 means stage 2
#: is repeated.
STAGE2_MAJOR_VERIFY_MONTHS = 6
ONE_DAY = dt.timedelta(days=1)


class ProgrammeRules(Protocol):
    """What the cycle needs of a body's programme (``standards.bodies.AuditProgrammeRules``)."""

    @property
    def certificate_years(self) -> int: ...
    @property
    def surveillance_interval_months(self) -> int: ...
    @property
    def first_surveillance_max_months(self) -> int: ...
    @property
    def recertification_lead_days(self) -> int: ...
    @property
    def reminder_days(self) -> Sequence[int]: ...


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole calendar months, clamped to the end of a shorter month.

    2024-02-29 + 12 → 2025-02-28; 2026-01-31 + 1 → 2026-02-28; negative months go back.
    """
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _anniversary(day: dt.date, years: int) -> dt.date:
    """The same date ``years`` later; 29 February falls on 1 March in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return dt.date(day.year + years, 3, 1)


@dataclass(frozen=True)
class CycleDates:
    """The dates of one certification cycle.

    ``cycle_start`` anchors the cycle (the decision for an initial certification, the day after
    the old expiry for a recertification); ``valid_from`` is the first day the certificate is
    valid, later than ``cycle_start`` only for a certificate restored after it had expired.
    """

    decision_date: dt.date
    cycle_start: dt.date
    valid_from: dt.date
    expires_on: dt.date
    surveillance_due: tuple[dt.date, ...]
    recertification_due: dt.date

    def deadlines(self) -> list[tuple[str, dt.date]]:
        """Every deadline as (what, due) in date order: surveillance-1…, recertification, expiry."""
        found = [(f"surveillance-{number}", due) for number, due in enumerate(self.surveillance_due, start=1)]
        found += [("recertification", self.recertification_due), ("expiry", self.expires_on)]
        return sorted(found, key=lambda pair: pair[1])


class Reminder(NamedTuple):
    """Remind on ``remind_on`` that ``what`` is due on ``due``."""

    what: str
    due: dt.date
    remind_on: dt.date


def _cycle(
    decision_date: dt.date, cycle_start: dt.date, valid_from: dt.date, rules: ProgrammeRules, years: int
) -> CycleDates:
    expires_on = _anniversary(cycle_start, years) - ONE_DAY
    recertification_due = expires_on - dt.timedelta(days=rules.recertification_lead_days)
    surveillance: list[dt.date] = []
    months = rules.first_surveillance_max_months
    while (due := add_months(cycle_start, months)) < recertification_due:
        # from the cycle's start each time, so clamping in one month does not drift into the next
        surveillance.append(due)
        months += rules.surveillance_interval_months
    return CycleDates(
        decision_date=decision_date,
        cycle_start=cycle_start,
        valid_from=valid_from,
        expires_on=expires_on,
        surveillance_due=tuple(surveillance),
        recertification_due=recertification_due,
    )


def cycle_dates(decision_date: dt.date, rules: ProgrammeRules, *, certificate_years: int | None = None) -> CycleDates:
    """The cycle of a certificate decided on ``decision_date`` (initial certification).

    ``certificate_years`` overrides the body's validity (a scheme with other rules). Surveillance
    audits are those due before the recertification audit. A suspension changes none of the
    dates.
    """
    years = certificate_years if certificate_years is not None else rules.certificate_years
    if years < 1:
        raise ValueError(f"certificate_years must be at least 1, not {years}")
    return _cycle(decision_date, decision_date, decision_date, rules, years)


def recertified_cycle(
    old_expiry: dt.date,
    new_decision_date: dt.date,
    rules: ProgrammeRules,
    *,
    certificate_years: int | None = None,
    restore_within_months: int = RESTORE_WITHIN_MONTHS,
) -> CycleDates:
    """The cycle after a recertification decided on ``new_decision_date``.

    ISO/IEC 17021-1: when recertification is completed before expiry, the new certificate's
    expiry is based on the old one, so the new cycle starts the day after the old expiry and
    there is no gap (deciding early loses no time). Decided after expiry but within
    ``restore_within_months`` of it, the certificate is restored: the expiry stays based on the
    prior cycle but it is valid only from the decision (the gap was uncertified). Later still,
    the body must audit afresh (at least a stage 2) and a new cycle starts at the decision.
    """
    years = certificate_years if certificate_years is not None else rules.certificate_years
    if years < 1:
        raise ValueError(f"certificate_years must be at least 1, not {years}")
    continued = old_expiry + ONE_DAY
    if new_decision_date <= old_expiry:
        return _cycle(new_decision_date, continued, continued, rules, years)
    if new_decision_date <= add_months(old_expiry, restore_within_months):
        return _cycle(new_decision_date, continued, new_decision_date, rules, years)
    return _cycle(new_decision_date, new_decision_date, new_decision_date, rules, years)


def reminders(dates: CycleDates, rules: ProgrammeRules, today: dt.date) -> list[Reminder]:
    """The reminders still to send from ``today`` on, in the order they fall.

    One per deadline (``CycleDates.deadlines``) and per entry of ``rules.reminder_days``, on
    that many days before the deadline; reminders that fall before ``today`` or before the
    cycle starts are left out, as are deadlines already past. A daily job sends those whose
    ``remind_on`` is today.
    """
    start = min(dates.cycle_start, dates.decision_date)
    found = [
        Reminder(what, due, due - dt.timedelta(days=days))
        for what, due in dates.deadlines()
        for days in rules.reminder_days
        if due >= today and due - dt.timedelta(days=days) >= max(today, start)
    ]
    return sorted(found, key=lambda reminder: (reminder.remind_on, reminder.due, reminder.what))


def next_deadline(dates: CycleDates, today: dt.date) -> tuple[str, dt.date] | None:
    """The first deadline on or after ``today`` as (what, due); None once the certificate has expired."""
    return next(((what, due) for what, due in dates.deadlines() if due >= today), None)

"""standards.cycle: the ISO/IEC 17021-1 three-year cycle, worked by hand."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from standards import (
    AuditProgrammeRules,
    CycleDates,
    Reminder,
    add_months,
    cycle_dates,
    get_body,
    next_deadline,
    recertified_cycle,
    reminders,
)

RULES = AuditProgrammeRules(
    certificate_years=3,
    surveillance_interval_months=12,
    first_surveillance_max_months=12,
    recertification_lead_days=90,
    stage2_max_days_after_stage1=180,
    findings_response_days=90,
    reminder_days=(90, 30, 7),
)


# --------------------------------------------------------------------------- add_months


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2026, 8, 31), 1, date(2026, 9, 30)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 1, 15), -1, date(2025, 12, 15)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 12, 30), 12, date(2027, 12, 30)),
        (date(2026, 5, 5), 0, date(2026, 5, 5)),
    ],
)
def test_add_months(day, months, expected):
    assert add_months(day, months) == expected


# --------------------------------------------------------------------------- cycle_dates


def test_ordinary_cycle():
    dates = cycle_dates(date(2025, 6, 15), RULES)
    assert dates == CycleDates(
        decision_date=date(2025, 6, 15),
        cycle_start=date(2025, 6, 15),
        valid_from=date(2025, 6, 15),
        expires_on=date(2028, 6, 14),
        surveillance_due=(date(2026, 6, 15), date(2027, 6, 15)),
        recertification_due=date(2028, 3, 16),  # 14 June − 90 days: 14 + 31 + 30 + 15
    )


def test_decision_late_in_the_year():
    dates = cycle_dates(date(2026, 12, 30), RULES)
    assert dates.surveillance_due == (date(2027, 12, 30), date(2028, 12, 30))
    assert dates.expires_on == date(2029, 12, 29)
    assert dates.recertification_due == date(2029, 9, 30)


def test_decision_on_29_february():
    dates = cycle_dates(date(2024, 2, 29), RULES)
    # "no later than 12 months" clamps back to the end of February
    assert dates.surveillance_due == (date(2025, 2, 28), date(2026, 2, 28))
    # valid for three full years: the anniversary in a common year is 1 March
    assert dates.expires_on == date(2027, 2, 28)
    assert dates.recertification_due == date(2026, 11, 30)


def test_two_surveillance_audits_in_three_years_for_every_bundled_body():
    for body in (get_body("generic"), get_body("kebs"), get_body("sgs")):
        assert len(cycle_dates(date(2026, 3, 1), body.programme).surveillance_due) == 2


def test_semi_annual_surveillance_continues_until_recertification():
    rules = dataclasses.replace(RULES, surveillance_interval_months=6, first_surveillance_max_months=6)
    dates = cycle_dates(date(2026, 1, 31), rules)
    assert dates.recertification_due == date(2028, 11, 1)
    assert dates.surveillance_due == (
        date(2026, 7, 31),
        date(2027, 1, 31),
        date(2027, 7, 31),
        date(2028, 1, 31),
        date(2028, 7, 31),
    )


def test_monthly_dates_do_not_drift_after_a_short_month():
    rules = dataclasses.replace(RULES, surveillance_interval_months=1, first_surveillance_max_months=1)
    dates = cycle_dates(date(2026, 1, 31), rules, certificate_years=1)
    assert dates.expires_on == date(2027, 1, 30)
    assert dates.recertification_due == date(2026, 11, 1)
    assert dates.surveillance_due[:3] == (date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30))
    assert dates.surveillance_due[-1] == date(2026, 10, 31)
    assert len(dates.surveillance_due) == 9


def test_certificate_years_override():
    dates = cycle_dates(date(2026, 12, 30), RULES, certificate_years=1)
    assert dates.expires_on == date(2027, 12, 29)
    assert dates.surveillance_due == ()  # the recertification audit comes first
    with pytest.raises(ValueError, match="at least 1"):
        cycle_dates(date(2026, 12, 30), RULES, certificate_years=0)


def test_deadlines_in_date_order():
    assert cycle_dates(date(2026, 12, 30), RULES).deadlines() == [
        ("surveillance-1", date(2027, 12, 30)),
        ("surveillance-2", date(2028, 12, 30)),
        ("recertification", date(2029, 9, 30)),
        ("expiry", date(2029, 12, 29)),
    ]


# --------------------------------------------------------------------------- recertification


def test_recertification_decided_before_expiry_keeps_continuity():
    old = cycle_dates(date(2026, 12, 30), RULES)
    new = recertified_cycle(old.expires_on, date(2029, 10, 1), RULES)
    assert new.decision_date == date(2029, 10, 1)
    assert new.cycle_start == new.valid_from == date(2029, 12, 30)  # the day after the old expiry
    assert new.expires_on == date(2032, 12, 29)  # deciding early loses no time
    assert new.surveillance_due == (date(2030, 12, 30), date(2031, 12, 30))
    assert new.recertification_due == date(2032, 9, 30)


def test_recertification_decided_on_the_expiry_day_keeps_continuity():
    new = recertified_cycle(date(2029, 12, 29), date(2029, 12, 29), RULES)
    assert (new.valid_from, new.expires_on) == (date(2029, 12, 30), date(2032, 12, 29))


def test_recertification_of_a_29_february_cycle():
    old = cycle_dates(date(2024, 2, 29), RULES)
    new = recertified_cycle(old.expires_on, date(2026, 12, 1), RULES)
    assert new.cycle_start == date(2027, 3, 1)
    assert new.expires_on == date(2030, 2, 28)


def test_restored_within_six_months_keeps_the_prior_cycle_but_not_the_gap():
    new = recertified_cycle(date(2029, 12, 29), date(2030, 2, 15), RULES)
    assert new.cycle_start == date(2029, 12, 30)
    assert new.valid_from == date(2030, 2, 15)
    assert new.expires_on == date(2032, 12, 29)
    last_day = recertified_cycle(date(2029, 12, 29), date(2030, 6, 29), RULES)
    assert last_day.expires_on == date(2032, 12, 29)


def test_decided_more_than_six_months_after_expiry_starts_a_new_cycle():
    new = recertified_cycle(date(2029, 12, 29), date(2030, 7, 1), RULES)
    assert new.cycle_start == new.valid_from == date(2030, 7, 1)
    assert new.expires_on == date(2033, 6, 30)


# --------------------------------------------------------------------------- reminders


def test_all_reminders_of_a_new_cycle():
    dates = cycle_dates(date(2026, 12, 30), RULES)
    found = reminders(dates, RULES, date(2026, 12, 30))
    assert len(found) == 12
    assert found[:3] == [
        Reminder("surveillance-1", date(2027, 12, 30), date(2027, 10, 1)),
        Reminder("surveillance-1", date(2027, 12, 30), date(2027, 11, 30)),
        Reminder("surveillance-1", date(2027, 12, 30), date(2027, 12, 23)),
    ]
    assert [r.remind_on for r in found] == sorted(r.remind_on for r in found)
    what, due, remind_on = found[0]  # a plain tuple too
    assert (what, due, remind_on) == ("surveillance-1", date(2027, 12, 30), date(2027, 10, 1))


def test_reminders_from_today_on():
    dates = cycle_dates(date(2026, 12, 30), RULES)
    assert reminders(dates, RULES, date(2029, 9, 1)) == [
        Reminder("recertification", date(2029, 9, 30), date(2029, 9, 23)),
        Reminder("expiry", date(2029, 12, 29), date(2029, 9, 30)),
        Reminder("expiry", date(2029, 12, 29), date(2029, 11, 29)),
        Reminder("expiry", date(2029, 12, 29), date(2029, 12, 22)),
    ]
    assert reminders(dates, RULES, date(2029, 12, 23)) == []
    assert reminders(dates, RULES, date(2030, 1, 1)) == []


def test_reminders_before_the_cycle_starts_are_left_out():
    rules = dataclasses.replace(RULES, first_surveillance_max_months=1)
    dates = cycle_dates(date(2026, 1, 10), rules)
    first = [r for r in reminders(dates, rules, date(2026, 1, 10)) if r.what == "surveillance-1"]
    # 90 days before would be 12 November 2025, before the decision
    assert first == [
        Reminder("surveillance-1", date(2026, 2, 10), date(2026, 1, 11)),
        Reminder("surveillance-1", date(2026, 2, 10), date(2026, 2, 3)),
    ]


def test_next_deadline():
    dates = cycle_dates(date(2026, 12, 30), RULES)
    assert next_deadline(dates, date(2027, 1, 1)) == ("surveillance-1", date(2027, 12, 30))
    assert next_deadline(dates, date(2027, 12, 30)) == ("surveillance-1", date(2027, 12, 30))
    assert next_deadline(dates, date(2027, 12, 31)) == ("surveillance-2", date(2028, 12, 30))
    assert next_deadline(dates, date(2029, 10, 1)) == ("expiry", date(2029, 12, 29))
    assert next_deadline(dates, date(2029, 12, 30)) is None

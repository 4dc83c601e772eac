"""The customer satisfaction report and the virtual platforms report, read back with pypdf."""

from __future__ import annotations

import datetime as dt

import pytest

from qms.database import utcnow
from qms.reports.complaints import NO_COMPLAINTS, virtual_platforms_report_pdf
from qms.services import fire
from qms.services.complaints import log_complaint, platform_figures

from ..surveys.test_reports import GENERATED, HOSTILE, ORG, assert_numbered, read


def platform_report(start: dt.date, end: dt.date, **kw) -> tuple[list[str], str]:
    pages, text = read(virtual_platforms_report_pdf(start, end, organisation=ORG, generated_at=GENERATED, **kw))
    assert_numbered(pages, f"Virtual platforms report {start.isoformat()} to {end.isoformat()}")
    return pages, text


def _complaint(org, channel: str, days_ago: float, **fields):
    received = utcnow() - dt.timedelta(days=days_ago)
    fields.setdefault("summary", f"{channel} complaint")
    fields.setdefault("customer_handle", f"@{channel}_customer")
    return log_complaint(org.quality, channel=channel, description="Details", received_at=received, **fields)


def _acknowledge(org, complaint, after_days: int) -> None:
    on = complaint.received_at.date() + dt.timedelta(days=after_days)
    fire(complaint, "acknowledge", org.quality, {"acknowledged_on": on, "severity": "medium"})


def test_virtual_platforms_report_counts_and_medians(app, org):
    today = dt.date.today()
    start, end = today - dt.timedelta(days=30), today
    resolved = _complaint(org, "facebook", 6, summary="Order never arrived")
    _acknowledge(org, resolved, 1)
    fire(resolved, "investigate", org.owner)
    fire(resolved, "resolve", org.owner, {"resolution": "Refunded", "customer_satisfied": "yes"})
    fire(resolved, "close", org.quality, {"communicated_on": today})
    waiting = _complaint(org, "facebook", 4)
    _acknowledge(org, waiting, 3)
    late = _complaint(org, "facebook", 10, summary="Nobody answered my message")
    escalated = _complaint(org, "twitter", 5, customer_handle="@wanjiku")
    _acknowledge(org, escalated, 0)
    fire(escalated, "escalate", org.quality, {"reason": "Systematic packaging failure"})
    hostile = _complaint(org, "whatsapp", 3, summary=HOSTILE[:150], customer_handle="@<b>x</b>")
    _complaint(org, "phone", 2, customer_name="Otieno", customer_handle="")
    _complaint(org, "facebook", 45, summary="Outside the period")

    figures = {f.channel: f for f in platform_figures(start, end)}
    facebook = figures["facebook"]
    assert (facebook.total, facebook.open, facebook.overdue, facebook.escalated) == (3, 2, 1, 0)
    assert facebook.median_ack_days == 2.0 and facebook.median_resolve_days == 6.0
    assert figures["instagram"].total == 0 and figures["twitter"].escalated == 1

    _, text = platform_report(start, end)
    assert "Virtual platforms report" in text and f"Complaints received from {start} to {end}" in text
    assert "Acknowledge within 2 days and resolve within 20 days of receipt" in text
    assert "5 complaints came from virtual platforms, 83% of the 6 received in the period" in text
    assert "Open now: 4; overdue: 2; escalated to a nonconformity: 1" in text
    assert "Facebook 3 2 1 0 2.0 (n=2) 6.0 (n=1) 1 / 0" in text
    assert "Twitter / X 1 1 0 1 0.0 (n=1) — 0 / 0" in text
    assert "WhatsApp 1 1 1 0 — — 0 / 0" in text
    assert "Instagram 0 0 0 0 — — 0 / 0 —" in text
    assert "All virtual platforms 5 4 2 1 1.0 (n=3) 6.0 (n=1) 1 / 0" in text
    # the other channels for context
    assert "Compared with the other channels" in text
    assert "Phone 1 1 0 0 — — 0 / 0" in text and "E-mail 0 0 0 0" in text and "Web form 0 0 0 0" in text
    assert "All other channels 1 1 0 0" in text
    # the list: references, handles, states, overdue flags, the linked NC
    for complaint in (resolved, waiting, late, escalated, hostile):
        assert complaint.reference in text
    assert "Outside the period" not in text
    assert f"Acknowledgement overdue (due {late.acknowledge_due})" in text
    assert escalated.nonconformity.reference in text and "@wanjiku" in text
    assert HOSTILE[:150] in text and "@<b>x</b>" in text
    assert "Closed" in text and "Escalated" in text
    assert NO_COMPLAINTS not in text


def test_empty_virtual_platforms_report(app, org):
    _complaint(org, "email", 1, customer_handle="")
    end = dt.date.today() - dt.timedelta(days=100)
    start = end - dt.timedelta(days=30)
    pages, text = platform_report(start, end)
    assert len(pages) >= 1
    assert text.count(NO_COMPLAINTS) >= 3  # summary, chart, list
    assert "Facebook 0 0 0 0 — — 0 / 0 —" in text
    assert "All virtual platforms 0 0 0 0 — — 0 / 0 —" in text
    # a period with complaints on other channels only
    today = dt.date.today()
    _, text = platform_report(today - dt.timedelta(days=7), today)
    assert "No complaints came from virtual platforms; 1 complaint from other channels." in text
    assert "E-mail 1 1 0 0" in text
    with pytest.raises(ValueError):
        virtual_platforms_report_pdf(today, today - dt.timedelta(days=1))

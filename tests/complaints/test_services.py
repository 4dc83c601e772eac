"""Surveys and complaints through the services (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from qms.models import Complaint
from qms.services import available_events, fire
from qms.services.complaints import log_complaint, platform_figures, submit_public_complaint
from workflows.errors import InvalidData, InvalidTransition, NotPermitted

from ..surveys.test_services import count


def test_complaint_from_a_social_platform_to_closure(org):
    complaint = log_complaint(
        org.quality,
        channel="twitter",
        summary="Order arrived damaged",
        description="Customer posted a photo of a crushed box.",
        customer_handle="@wanjiku",
        post_url="https://x.com/wanjiku/status/1",
        service="Deliveries",
    )
    assert complaint.reference.startswith("CMP-") and complaint.state == "received"
    assert (complaint.acknowledge_due - complaint.received_at.date()).days == 2
    assert (complaint.resolve_due - complaint.received_at.date()).days == 20
    assert complaint.acknowledgement_overdue(complaint.received_at.date() + dt.timedelta(days=3))
    today = dt.date.today()
    fire(complaint, "acknowledge", org.quality, {"acknowledged_on": today, "severity": "medium"})
    fire(complaint, "investigate", org.owner)
    fire(complaint, "resolve", org.owner, {"resolution": "Replacement sent", "customer_satisfied": "yes"})
    fire(complaint, "close", org.quality, {"communicated_on": today})
    assert complaint.state == "closed" and complaint.customer_satisfied == "yes"
    figures = {f.channel: f for f in platform_figures(today - dt.timedelta(days=1), today)}
    assert figures["twitter"].total == 1 and figures["twitter"].median_ack_days == 0
    assert figures["twitter"].satisfied == 1 and figures["facebook"].total == 0


def test_complaint_escalated_to_an_nc_resolves_only_when_the_nc_is_closed(org):
    complaint = log_complaint(
        org.quality, channel="phone", summary="Wrong invoice", description="Billed twice", customer_name="Otieno"
    )
    fire(complaint, "acknowledge", org.quality, {"acknowledged_on": dt.date.today(), "severity": "high"})
    fire(complaint, "escalate", org.quality, {"reason": "Billing process fails systematically"})
    nc = complaint.nonconformity
    assert nc.source == "customer_complaint" and complaint.reference in nc.title
    blocked = {a.event.name: a.reason for a in available_events(complaint, org.quality) if not a.allowed}
    assert "still open" in blocked["resolve"]
    fire(nc, "reject", org.quality, {"reason": "Handled as a billing correction"})
    fire(complaint, "resolve", org.quality, {"resolution": "Refund issued"})
    assert complaint.customer_satisfied == "unknown"
    fire(complaint, "reopen", org.quality, {"reason": "Customer still charged"})
    assert complaint.state == "investigating" and complaint.nonconformity_id == nc.id


def test_complaint_validation(org):
    with pytest.raises(InvalidData) as caught:
        log_complaint(org.quality, channel="facebook", summary="", description="x", post_url="javascript:alert(1)")
    assert {"summary", "post_url"} <= set(caught.value.errors)
    with pytest.raises(InvalidData) as caught:
        log_complaint(org.quality, channel="instagram", summary="S", description="D")
    assert "handle" in caught.value.errors["customer_handle"]
    with pytest.raises(InvalidData):
        log_complaint(org.quality, channel="pigeon", summary="S", description="D")
    with pytest.raises(NotPermitted):
        log_complaint(org.viewer, channel="phone", summary="S", description="D")
    assert count(Complaint) == 0


def test_public_complaint_form_accepts_only_its_fields(org):
    with pytest.raises(InvalidData) as caught:
        submit_public_complaint(summary="Late", description="Two weeks late", state="closed", owner_id=1)
    assert set(caught.value.errors) == {"owner_id", "state"}
    with pytest.raises(InvalidData) as caught:
        submit_public_complaint(summary="Late", description="Two weeks late")
    assert "customer_contact" in caught.value.errors
    complaint = submit_public_complaint(
        summary="Late <b>delivery</b>", description="Two weeks late", customer_contact="amina@example.test"
    )
    assert complaint.channel == "web_form" and complaint.origin == "public_form" and complaint.logged_by_id is None
    assert complaint.summary == "Late <b>delivery</b>"


def test_complaint_targets_come_from_the_configuration(app, org, monkeypatch):
    from qms.config import from_environment

    app.config.update(QMS_COMPLAINT_ACK_DAYS=1, QMS_COMPLAINT_RESOLVE_DAYS=5)
    complaint = log_complaint(org.quality, channel="phone", summary="S", description="D")
    assert (complaint.acknowledge_due - complaint.received_at.date()).days == 1
    assert (complaint.resolve_due - complaint.received_at.date()).days == 5
    monkeypatch.setenv("QMS_COMPLAINT_ACK_DAYS", "3")
    assert from_environment(Path(app.instance_path))["QMS_COMPLAINT_ACK_DAYS"] == 3
    for bad in ("two", "0", "400"):
        monkeypatch.setenv("QMS_COMPLAINT_ACK_DAYS", bad)
        with pytest.raises(ValueError, match="QMS_COMPLAINT_ACK_DAYS"):
            from_environment(Path(app.instance_path))


def _escalated(org) -> Complaint:
    complaint = log_complaint(
        org.quality, channel="phone", summary="Wrong invoice", description="Billed twice", customer_name="Otieno"
    )
    fire(complaint, "acknowledge", org.quality, {"acknowledged_on": dt.date.today(), "severity": "high"})
    fire(complaint, "escalate", org.quality, {"reason": "Billing process fails systematically"})
    return complaint


def test_withdrawing_an_escalation_withdraws_its_untriaged_nc(org):
    from qms.services.workflow import history_of

    complaint = _escalated(org)
    nc = complaint.nonconformity

    fire(complaint, "withdraw_escalation", org.manager, {"reason": "A one-off keying error, not systematic"})

    assert complaint.state == "investigating" and complaint.nonconformity_id is None
    assert nc.state == "withdrawn"
    row = history_of(nc)[-1]
    assert row.event == "withdraw" and row.actor_name == org.manager.name
    assert complaint.reference in row.data["reason"] and "keying error" in row.data["reason"]
    # escalated again, it raises a new NC
    fire(complaint, "escalate", org.quality, {"reason": "It happened again"})
    assert complaint.nonconformity_id not in (None, nc.id)


def test_a_triaged_escalation_nc_refuses_the_withdrawal_naming_who_triaged_it(org):
    complaint = _escalated(org)
    nc = complaint.nonconformity
    fire(nc, "triage", org.quality, {"severity": "minor"})

    with pytest.raises(InvalidTransition, match=f"{nc.reference} was already triaged by {org.quality.name}"):
        fire(complaint, "withdraw_escalation", org.quality, {"reason": "Mistake"})

    assert complaint.state == "escalated" and complaint.nonconformity_id == nc.id and nc.state == "triaged"


def test_only_quality_officers_and_managers_withdraw_an_escalation(org):
    complaint = _escalated(org)
    with pytest.raises(NotPermitted):
        fire(complaint, "withdraw_escalation", org.owner, {"reason": "Mine"})

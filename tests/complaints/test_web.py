"""The customer web pages: surveys (editor, results, invitations, CSV import, rules, PDF), the public
survey page, complaints from every channel through their lifecycle, the public complaint form,
the virtual platforms report, and the customer panel of the dashboard and My work."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from qms.database import db
from qms.models import Complaint, Nonconformity

from ..surveys.test_web import anonymous, complaint_of, count, signed_in, text


def test_log_complaint_form_and_safe_link(app, org):
    client = signed_in(app, org.owner)
    page = text(client.get("/complaints/new"))
    assert "WhatsApp" in page and "Link to the post" in page
    response = client.post(
        "/complaints/new",
        data={
            "channel": "instagram",
            "summary": "Rude reply",
            "description": "On our page",
            "post_url": "javascript:x",
        },
    )
    assert response.status_code == 422
    page = text(response)
    assert "must be a web address starting with https://" in page
    assert (
        client.post("/complaints/new", data={"channel": "pigeon", "summary": "", "description": ""}).status_code == 422
    )
    response = client.post(
        "/complaints/new",
        data={
            "channel": "instagram",
            "summary": "Rude reply",
            "description": "On our page <b>bold</b>",
            "customer_handle": "@amina.k",
            "post_url": "https://instagram.com/p/abc",
            "received_at": "2026-01-05T09:30",
        },
    )
    assert response.status_code == 302
    complaint = db.session.scalar(select(Complaint))
    assert complaint.owner_id == org.owner.id and complaint.received_at.date() == dt.date(2026, 1, 5)
    page = text(client.get(f"/complaints/{complaint.id}"))
    assert '<a href="https://instagram.com/p/abc" rel="noopener noreferrer nofollow"' in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "virtual platform" in page
    # a customer known by their handle alone is named by it, without a dash for the missing name
    assert '<dt>Customer</dt><dd><span class="handle">@amina.k</span></dd>' in page and "— · " not in page
    assert "acknowledgement overdue" in page and "resolution overdue" in page  # received in January
    assert signed_in(app, org.viewer).post("/complaints/new", data={}).status_code == 403


def test_complaint_lifecycle_with_every_role(app, org):
    complaint = complaint_of(org)
    url = f"/complaints/{complaint.id}/events"
    today = dt.date.today().isoformat()
    viewer, auditor, admin = (signed_in(app, getattr(org, who)) for who in ("viewer", "auditor", "admin"))
    owner, quality, manager = (signed_in(app, getattr(org, who)) for who in ("owner", "quality", "manager"))
    for client in (viewer, auditor, admin, owner):
        response = client.post(f"{url}/acknowledge", data={"acknowledged_on": today, "severity": "low"})
        assert response.status_code == 403
    response = quality.post(f"{url}/acknowledge", data={"acknowledged_on": today, "severity": "extreme"})
    assert response.status_code == 422 and complaint.state == "received"
    response = quality.post(f"{url}/acknowledge", data={"acknowledged_on": today, "severity": "medium"})
    assert response.status_code == 302 and complaint.state == "acknowledged"
    assert viewer.post(f"{url}/investigate").status_code == 403
    assert owner.post(f"{url}/investigate").status_code == 302 and complaint.state == "investigating"
    assert owner.post(f"{url}/resolve", data={"resolution": ""}).status_code == 422
    response = owner.post(f"{url}/resolve", data={"resolution": "Replacement sent", "customer_satisfied": "no"})
    assert response.status_code == 302 and complaint.state == "resolved"
    assert owner.post(f"{url}/reopen", data={"reason": "x"}).status_code == 403
    assert manager.post(f"{url}/reopen", data={"reason": "Still broken"}).status_code == 302
    owner.post(f"{url}/resolve", data={"resolution": "Second replacement", "customer_satisfied": "yes"})
    assert complaint.customer_satisfied == "yes"
    assert owner.post(f"{url}/close", data={"communicated_on": today}).status_code == 403
    response = quality.post(f"{url}/close", data={"communicated_on": "2999-01-01"})
    assert response.status_code == 422
    assert quality.post(f"{url}/close", data={"communicated_on": today}).status_code == 302
    assert complaint.state == "closed"
    page = text(viewer.get(f"/complaints/{complaint.id}"))
    assert "Closed" in page and "Second replacement" in page and 'id="satisfaction">Yes' in page
    assert "Record resolution" in page  # history
    assert quality.post(f"{url}/close", data={"communicated_on": today}).status_code == 409
    assert quality.post(f"{url}/fly").status_code == 404


def test_escalation_creates_the_linked_nc(app, org):
    complaint = complaint_of(org, channel="phone", customer_handle="", post_url="", customer_name="Otieno")
    client = signed_in(app, org.quality)
    url = f"/complaints/{complaint.id}/events"
    client.post(f"{url}/acknowledge", data={"acknowledged_on": dt.date.today().isoformat(), "severity": "high"})
    response = client.post(f"{url}/escalate", data={"reason": "Billing fails systematically"})
    assert response.status_code == 302 and complaint.state == "escalated"
    nc = db.session.scalar(select(Nonconformity))
    assert nc.source == "customer_complaint" and complaint.nonconformity_id == nc.id
    page = text(client.get(f"/complaints/{complaint.id}"))
    assert f'<a href="/nonconformities/{nc.id}">{nc.reference}</a>' in page
    assert "The linked nonconformity is still open" in page
    response = client.post(f"{url}/resolve", data={"resolution": "Refund"})
    assert response.status_code == 409 and complaint.state == "escalated"
    assert nc.reference in text(client.get("/complaints"))


def test_register_filters_and_overdue_flags(app, org):
    late = complaint_of(org, received_at="2026-01-02T10:00")
    fresh = complaint_of(org, channel="email", customer_handle="", post_url="", summary="Invoice twice")
    client = signed_in(app, org.viewer)
    page = text(client.get("/complaints"))
    assert "(2 in all)" in page and "acknowledgement overdue" in page and "virtual platform" in page
    assert "(1 in all)" in text(client.get("/complaints?overdue=1"))
    assert late.reference in text(client.get("/complaints?overdue=1"))
    assert fresh.reference in text(client.get("/complaints?channel=email"))
    assert late.reference not in text(client.get("/complaints?channel=email"))
    assert "(1 in all)" in text(client.get("/complaints?channel=virtual"))
    assert "(2 in all)" in text(client.get("/complaints?state=open&service=Deliveries"))
    assert "(0 in all)" in text(client.get("/complaints?state=closed"))
    assert client.get("/complaints?channel=<script>&state=x&page=-3").status_code == 200


def test_public_complaint_form_and_honeypot(app, org):
    anon = anonymous(app)
    page = text(anon.get("/feedback"))
    assert "Tell us what went wrong" in page and 'name="website"' in page and "Sign out" not in page
    response = anon.post("/feedback", data={"summary": "Late", "description": "Two weeks late"})
    assert response.status_code == 422 and "This field is required" in text(response)
    response = anon.post(
        "/feedback",
        data={"summary": "Late", "description": "Late", "customer_contact": "a@example.test", "state": "closed"},
    )
    assert response.status_code == 422 and "does not ask for: state" in text(response)
    response = anon.post(
        "/feedback",
        data={"summary": "x", "description": "y" * 70_000, "customer_contact": "a@example.test"},
    )
    assert response.status_code == 413
    bot = {"summary": "Cheap pills", "description": "Buy", "customer_contact": "b@spam.test", "website": "spam.test"}
    response = anon.post("/feedback", data=bot)
    assert response.status_code == 302 and count(Complaint) == 0
    assert "Your complaint was received" in text(anon.get(response.headers["Location"]))
    person = {
        "summary": "Delivery <b>late</b>",
        "description": "Two weeks late",
        "customer_contact": "amina@example.test",
        "customer_name": "Amina",
    }
    response = anon.post("/feedback", data=person)
    assert response.status_code == 302
    complaint = db.session.scalar(select(Complaint))
    assert complaint.channel == "web_form" and complaint.origin == "public_form"
    thanks = text(anon.get("/feedback/thanks"))
    assert complaint.reference in thanks
    assert complaint.reference not in text(anon.get("/feedback/thanks"))  # shown once
    staff = text(signed_in(app, org.viewer).get(f"/complaints/{complaint.id}"))
    assert "Delivery &lt;b&gt;late&lt;/b&gt;" in staff and "from the public web form" in staff


def test_virtual_platforms_report_page_and_pdf(app, org):
    complaint_of(org)
    complaint_of(org, channel="email", customer_handle="", post_url="")
    client = signed_in(app, org.viewer)
    today = dt.date.today()
    page = text(client.get(f"/complaints/platforms?start={today - dt.timedelta(days=7)}&end={today}"))
    assert "Twitter / X" in page and "Instagram" in page and "E-mail" in page
    assert re.search(r"Twitter / X</th><td class=\"num\">1</td>", page)
    assert client.get("/complaints/platforms?start=yesterday").status_code == 422
    assert client.get("/complaints/platforms?start=2026-02-01&end=2026-01-01").status_code == 422
    response = client.get(f"/complaints/platforms.pdf?start={today - dt.timedelta(days=7)}&end={today}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert client.get("/complaints/platforms.pdf?end=bad").status_code == 422

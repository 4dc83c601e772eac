"""The demo complaints: from social channels and others, at several stages of their lifecycle."""

from __future__ import annotations

import datetime as dt

from ..services import complaints, fire


def seed_complaints(users: dict, today: dt.date) -> int:
    """Complaints from social channels at several stages; how many."""
    qo, owner = users["quality"], users["owner"]
    complaints_seeded = [
        complaints.log_complaint(
            qo,
            channel=channel,
            summary=summary,
            description=description,
            customer_handle=handle,
            post_url=url,
            service="Customer service",
        )
        for channel, summary, description, handle, url in (
            (
                "twitter",
                "Order arrived damaged",
                "Photo of a crushed box posted publicly.",
                "@wanjiku",
                "https://x.com/wanjiku/status/1",
            ),
            (
                "facebook",
                "No reply to inbox message for a week",
                "Customer asked twice about a refund.",
                "Otieno Ouma",
                "",
            ),
            ("whatsapp", "Wrong item delivered", "Ordered size 42, received 40.", "+254 700 000 001", ""),
            (
                "instagram",
                "Rude response from the page admin",
                "Comment thread on our latest post.",
                "@amina.k",
                "https://instagram.com/p/abc",
            ),
            ("email", "Invoice charged twice", "Billed twice for order 4471.", "", ""),
        )
    ]
    damaged, _unanswered, wrong_item, rude, invoice = complaints_seeded
    for complaint in (damaged, wrong_item, rude, invoice):
        fire(complaint, "acknowledge", qo, {"acknowledged_on": today, "severity": "medium"})
    fire(damaged, "investigate", owner)
    fire(damaged, "resolve", owner, {"resolution": "Replacement sent by courier.", "customer_satisfied": "yes"})
    fire(damaged, "close", qo, {"communicated_on": today})
    fire(wrong_item, "investigate", owner)
    fire(invoice, "escalate", qo, {"reason": "Double billing happened three times this month."})
    return len(complaints_seeded)

"""The demo customers: a satisfaction survey with three months of responses, and complaints."""

from __future__ import annotations

import datetime as dt

from ..services import complaints, fire, surveys

_SURVEY_QUESTIONS = (
    {"kind": "nps", "text": "How likely are you to recommend us to a friend or colleague?", "required": True},
    {"kind": "rating", "text": "How satisfied are you with the time we took to respond?", "weight": 2},
    {"kind": "rating", "text": "How satisfied are you with the solution you received?", "weight": 2},
    {"kind": "servqual", "text": "Our staff were courteous and knowledgeable.", "dimension": "assurance"},
    {"kind": "servqual", "text": "We did what we promised, when we promised.", "dimension": "reliability"},
    {"kind": "single", "text": "Which branch served you?", "choices": ["Nairobi", "Mombasa", "Online"]},
    {"kind": "text", "text": "What one thing should we improve?"},
)
_VERBATIMS = ("Faster replies on WhatsApp please", "Friendly staff", "", "Delivery took too long", "")


def _seed_customers(users: dict, today: dt.date) -> tuple[int, int]:
    """A survey with three months of responses, and complaints from social channels at several stages."""
    qo, owner = users["quality"], users["owner"]
    survey = surveys.create_survey(
        qo,
        title=f"Customer satisfaction survey {today.year}",
        introduction="Five minutes of your time helps us serve you better. Thank you!",
        service="Customer service",
        nps_threshold=-10,
        drop_threshold=25,
        questions=_SURVEY_QUESTIONS,
    )
    fire(survey, "open", qo, {})
    count = 0
    channels = ("whatsapp", "phone", "email", "facebook", "walk_in")
    for month_back, base in ((2, 9), (1, 8), (0, 7)):
        day = today.replace(day=1) - dt.timedelta(days=28 * month_back)
        for i in range(24):
            nps_value = max(0, min(10, base + (i % 5) - 2))
            answers = {
                f"q{survey.questions[0].id}": nps_value,
                f"q{survey.questions[1].id}": 1 + (nps_value // 2) % 5,
                f"q{survey.questions[2].id}": 2 + i % 4,
                f"q{survey.questions[3].id}": 3 + i % 5,
                f"q{survey.questions[4].id}": 2 + (i * 3) % 6,
                f"q{survey.questions[5].id}": ("Nairobi", "Mombasa", "Online")[i % 3],
                f"q{survey.questions[6].id}": _VERBATIMS[i % len(_VERBATIMS)],
            }
            responded = min(day + dt.timedelta(days=i), today)
            surveys.submit_response(
                survey, {k: v for k, v in answers.items() if v != ""}, channel=channels[i % 5], today=responded
            )
            count += 1
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
    return count, len(complaints_seeded)

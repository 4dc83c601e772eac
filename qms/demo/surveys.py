"""The demo satisfaction survey, with three months of responses from several channels."""

from __future__ import annotations

import datetime as dt

from ..services import fire, surveys

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


def seed_survey(users: dict, today: dt.date) -> int:
    """An open survey with three months of responses; the number of responses."""
    qo = users["quality"]
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
    return count

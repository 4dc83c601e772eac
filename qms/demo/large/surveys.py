"""The large organisation's satisfaction surveys and their responses."""

from __future__ import annotations

import datetime as dt

from ..surveys import _SURVEY_QUESTIONS
from .common import HISTORY_DAYS, _at, _SeederBase


class _SurveyPhases(_SeederBase):
    """Surveys spread over the history, each with its responses and answers."""

    def surveys(self, target: int) -> None:
        import secrets

        rng = self.rng
        n_surveys = max(2, min(12, round(12 * min(1.0, self.factor * 50))))
        span = HISTORY_DAYS // n_surveys
        per_survey = max(1, target // n_surveys)
        channels = ("whatsapp", "phone", "email", "facebook", "walk_in", "web_form")
        for k in range(n_surveys):
            opens = self.start + dt.timedelta(days=k * span + 1)
            closes = opens + dt.timedelta(days=span - 2)
            if k == n_surveys - 1:
                closes = self.today + dt.timedelta(days=45)  # the current survey is collecting responses
            survey_id = self.w.new_id("surveys")
            qo, mgr = self.pick("quality_officer"), self.pick("manager")
            created = _at(opens - dt.timedelta(days=7), rng)
            events = [("open", _at(opens, rng), qo, {"closes_on": closes})]
            events.append(("close", _at(closes + dt.timedelta(days=1), rng), qo, {}))
            summary = "NPS and satisfaction by branch compared with the previous survey; verbatims grouped."
            events.append(
                ("analyse", _at(closes + dt.timedelta(days=8), rng), qo, {"method": "nps", "summary": summary})
            )
            events.append(("report", _at(closes + dt.timedelta(days=15), rng), mgr, {"distribution": ["Management"]}))
            events = self.past(events)
            names = [e[0] for e in events]
            quarter = (opens.month - 1) // 3 + 1
            row = {
                "id": survey_id,
                "reference": self.reference("SUR", created.year),
                "title": f"Customer satisfaction survey {opens.year} Q{quarter}",
                "introduction": "Five minutes of your time helps us serve you better. Thank you!",
                "service": "Customer service",
                "public_token": secrets.token_urlsafe(24),
                "invitation_only": False,
                "closes_on": closes,
                "owner_id": qo,
                "nps_threshold": -10.0,
                "drop_threshold": 25.0,
                "rule_action": "nonconformity",
                "analysis_method": "nps" if "analyse" in names else "",
                "analysis": summary if "analyse" in names else "",
                "reported_at": next((e[1] for e in events if e[0] == "report"), None),
                "lifecycle_version": self.lifecycles["survey"].version,
                "version": 1 + len(events),
                "created_at": created,
                "updated_at": events[-1][1] if events else created,
            }
            row["state"] = self.history("survey", survey_id, events) if events else "draft"
            self.w.add("surveys", row)
            questions = []
            for position, question in enumerate(_SURVEY_QUESTIONS, start=1):
                question_id = self.w.new_id("survey_questions")
                questions.append((question_id, question))
                self.w.add(
                    "survey_questions",
                    {
                        "id": question_id,
                        "survey_id": survey_id,
                        "position": position,
                        "kind": question["kind"],
                        "text": question["text"],
                        "required": bool(question.get("required", False)),
                        "choices": list(question.get("choices", [])),
                        "dimension": question.get("dimension"),
                        "weight": float(question.get("weight", 1)),
                    },
                )
            if not events:
                continue
            last_day = min(closes, self.today)
            window = max(0, (last_day - opens).days)
            base = 7 + (k % 4) - (1 if k % 5 == 0 else 0)
            count = per_survey if k < n_surveys - 1 else target - per_survey * (n_surveys - 1)
            for i in range(count):
                responded = opens + dt.timedelta(days=rng.randint(0, window))
                response_id = self.w.new_id("survey_responses")
                self.w.add(
                    "survey_responses",
                    {
                        "id": response_id,
                        "survey_id": survey_id,
                        "responded_on": responded,
                        "submitted_at": min(_at(responded, rng), self.now),
                        "source": "import" if i % 10 == 0 else "web",
                        "service": "Customer service",
                        "channel": rng.choice(channels),
                    },
                )
                nps = max(0, min(10, round(rng.gauss(base, 2))))
                numbers = (nps, 1 + min(4, nps // 2), rng.randint(2, 5), rng.randint(3, 7), rng.randint(2, 7))
                for (question_id, _question), value in zip(questions, numbers, strict=False):
                    self.w.add(
                        "survey_answers",
                        {
                            "id": self.w.new_id("survey_answers"),
                            "response_id": response_id,
                            "question_id": question_id,
                            "number": float(value),
                            "text": "",
                            "choices": [],
                        },
                    )
                branch_id, branch = questions[5]
                self.w.add(
                    "survey_answers",
                    {
                        "id": self.w.new_id("survey_answers"),
                        "response_id": response_id,
                        "question_id": branch_id,
                        "number": None,
                        "text": "",
                        "choices": [rng.choice(branch["choices"])],
                    },
                )
                verbatim = ("Faster replies on WhatsApp please", "Friendly staff", "Delivery took too long")
                if rng.random() < 0.3:
                    self.w.add(
                        "survey_answers",
                        {
                            "id": self.w.new_id("survey_answers"),
                            "response_id": response_id,
                            "question_id": questions[6][0],
                            "number": None,
                            "text": rng.choice(verbatim),
                            "choices": [],
                        },
                    )
        self.w.flush("survey_answers")

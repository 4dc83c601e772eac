"""The customer web pages: surveys (editor, results, invitations, CSV import, rules, PDF), the public
survey page, complaints from every channel through their lifecycle, the public complaint form,
the virtual platforms report, and the customer panel of the dashboard and My work."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from flask import g
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from qms.database import db
from qms.models import Complaint, Nonconformity, RuleTrigger, Survey, SurveyAnswer, SurveyResponse
from qms.services import fire
from qms.services.complaints import log_complaint
from qms.services.surveys import create_invitations, create_survey, submit_response

from ..conftest import PASSWORD, login

ROLE_USERS = ("admin", "manager", "quality", "auditor", "owner", "viewer")


MANAGERS = ("manager", "quality")


QUESTIONS = [
    {"kind": "nps", "text": "How likely are you to recommend us to a friend?", "required": True},
    {"kind": "rating", "text": "How satisfied are you with our response time?", "weight": 2},
    {"kind": "servqual", "text": "Staff were courteous", "dimension": "assurance"},
    {"kind": "single", "text": "Which branch did you visit?", "choices": ["Nairobi", "Mombasa"]},
    {"kind": "multiple", "text": "How did you contact us?", "choices": ["Phone", "E-mail", "WhatsApp"]},
    {"kind": "text", "text": "What could we do better?"},
]


class Client(FlaskClient):
    """A test client whose requests never see the user another client signed in."""

    def open(self, *args, **kwargs):
        g.pop("_login_user", None)
        return super().open(*args, **kwargs)


def signed_in(app, user):
    app.test_client_class = Client
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


def anonymous(app):
    app.test_client_class = Client
    return app.test_client()


def text(response) -> str:
    return response.get_data(as_text=True)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def open_survey(org, **overrides) -> Survey:
    fields = {"title": "Customer satisfaction 2026", "service": "Contact centre", "questions": QUESTIONS}
    fields.update(overrides)
    survey = create_survey(org.quality, **fields)
    fire(survey, "open", org.quality, {})
    return survey


def q(survey: Survey, position: int) -> str:
    return f"q{survey.questions[position - 1].id}"


def some_responses(survey: Survey, values=(10, 9, 6, 8, 3)) -> None:
    for i, value in enumerate(values):
        submit_response(
            survey,
            {q(survey, 1): value, q(survey, 2): 1 + i % 5, q(survey, 6): f"Comment {i}"},
            channel=("phone", "whatsapp")[i % 2],
        )


def complaint_of(org, **overrides) -> Complaint:
    fields = {
        "channel": "twitter",
        "summary": "Order arrived damaged",
        "description": "Customer posted a photo of a crushed box.",
        "customer_handle": "@wanjiku",
        "post_url": "https://x.com/wanjiku/status/1",
        "service": "Deliveries",
    }
    fields.update(overrides)
    return log_complaint(org.quality, **fields)


@pytest.mark.parametrize("who", ROLE_USERS)
def test_customer_pages_render_for_every_role(app, org, who):
    survey = open_survey(org)
    some_responses(survey)
    complaint = complaint_of(org)
    client = signed_in(app, getattr(org, who))
    for url in (
        "/surveys",
        "/surveys?state=open&service=Contact+centre",
        f"/surveys/{survey.id}",
        f"/surveys/{survey.id}?period=quarter",
        "/complaints",
        "/complaints?channel=virtual&state=open&overdue=1",
        f"/complaints/{complaint.id}",
        "/complaints/platforms",
        "/",
        "/my-work",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Customers" in text(response), url
    manage = who in MANAGERS
    assert client.get("/surveys/new").status_code == (200 if manage else 403)
    assert client.get(f"/surveys/{survey.id}/edit").status_code == (200 if manage else 403)
    logs = who in ("admin", "manager", "quality", "owner")
    assert client.get("/complaints/new").status_code == (200 if logs else 403)
    page = text(client.get(f"/surveys/{survey.id}"))
    assert ("Import responses" in page) == manage and ("Check rules now" in page) == manage
    assert ("Create personal links" in page) == manage


def test_survey_page_shows_results_with_margins_trend_and_segments(app, org):
    survey = open_survey(org)
    some_responses(survey)
    page = text(signed_in(app, org.viewer).get(f"/surveys/{survey.id}"))
    assert survey.reference in page and "Open" in page
    # 2 promoters, 1 passive, 2 detractors of 5: NPS 0
    assert 'id="nps-n">5<' in page and "2 promoters · 1 passives · 2 detractors" in page
    assert re.search(r"<strong>\+0 <span class=\"muted\">± \d+</span></strong>", page)
    assert "CSI (0–100) · n = 5" in page
    assert 'id="trend-table"' in page and "<svg" in page and "n=5" in page
    assert "Phone" in page and "WhatsApp" in page and "Contact centre" in page
    assert "Comment 4" in page
    assert 'class="lc-diagram"' in page and "Close responses" in page
    assert 'value="' + app.config["QMS_BASE_URL"] + "/s/" + survey.public_token + '"' in page


def test_within_noise_is_shown_instead_of_an_arrow(app, org):
    survey = open_survey(org)
    text_csv = "responded_on,q1\n" + "".join(f"2026-01-{d:02d},{v}\n" for d, v in enumerate([10, 9, 9, 8, 10], 1))
    text_csv += "".join(f"2026-02-{d:02d},{v}\n" for d, v in enumerate([9, 10, 8, 9, 7], 1))
    client = signed_in(app, org.quality)
    response = client.post(f"/surveys/{survey.id}/import", data={"file": (io.BytesIO(text_csv.encode()), "r.csv")})
    assert response.status_code == 302
    page = text(client.get(f"/surveys/{survey.id}"))
    assert "within noise" in page and "▼" not in page and "▲" not in page


def test_new_survey_form_with_questions_and_errors(app, org):
    client = signed_in(app, org.quality)
    page = text(client.get("/surveys/new"))
    assert 'name="question-0-kind"' in page and "SERVQUAL dimension" in page
    bad = {
        "title": "Q3 survey",
        "nps_threshold": "lots",
        "rule_action": "nonconformity",
        "question_rows": "3",
        "question-0-kind": "single",
        "question-0-text": "Pick one",
        "question-0-choices": "Only one",
        "question-1-kind": "servqual",
        "question-1-text": "Reliable",
        "question-2-kind": "nps",
        "question-2-text": "",
    }
    response = client.post("/surveys/new", data=bad)
    assert response.status_code == 422
    page = text(response)
    assert "must be a number from -100 to 100" in page
    assert "a choice question needs at least two options" in page
    assert "Dimension must be one of" in page
    assert 'value="lots"' in page and "Pick one" in page  # what was typed is kept
    assert count(Survey) == 0
    good = dict(bad, nps_threshold="-10")
    good["question-0-choices"] = "Nairobi\nMombasa\n"
    good["question-1-dimension"] = "reliability"
    good["question-1-weight"] = "2"
    good["question-1-required"] = "1"
    response = client.post("/surveys/new", data=good)
    assert response.status_code == 302
    survey = db.session.scalar(select(Survey))
    assert survey.nps_threshold == -10
    assert [(x.kind, x.choices, x.dimension, x.weight, x.required) for x in survey.questions] == [
        ("single", ["Nairobi", "Mombasa"], None, 1.0, False),
        ("servqual", [], "reliability", 2.0, True),
    ]
    assert client.post("/surveys/new", data={"title": ""}).status_code == 422
    assert signed_in(app, org.owner).post("/surveys/new", data=good).status_code == 403


def test_question_editor_add_edit_remove_then_only_weights(app, org):
    survey = create_survey(org.quality, title="Draft", questions=QUESTIONS[:2])
    client = signed_in(app, org.quality)
    base = f"/surveys/{survey.id}/questions"
    response = client.post(base, data={"kind": "multiple", "text": "Channels?", "choices": "A\nB\nC"})
    assert response.status_code == 302
    assert survey.questions[-1].choices == ["A", "B", "C"]
    response = client.post(base, data={"kind": "slider", "text": ""})
    assert response.status_code == 422 and "Kind must be one of" in text(response)
    first = survey.questions[0]
    response = client.post(f"{base}/{first.id}", data={"kind": "nps", "text": "Recommend us?", "required": "1"})
    assert response.status_code == 302 and first.text == "Recommend us?" and first.required
    response = client.post(f"{base}/{first.id}", data={"kind": "nps", "text": "", "weight": "-1"})
    assert response.status_code == 422 and "Weight must be a number" in text(response)
    last = survey.questions[-1]
    assert client.post(f"{base}/{last.id}/remove").status_code == 302
    assert len(survey.questions) == 2
    assert signed_in(app, org.viewer).post(f"{base}/{first.id}/remove").status_code == 403
    fire(survey, "open", org.quality, {})
    rating = survey.questions[1]
    assert client.post(f"{base}/{rating.id}", data={"weight": "3"}).status_code == 302
    assert rating.weight == 3
    assert client.post(f"{base}/{rating.id}", data={"weight": "heavy"}).status_code == 422
    response = client.post(f"{base}/{rating.id}/remove")
    assert response.status_code == 409 and "only while the survey is a draft" in text(response)
    assert client.post(f"{base}/999999").status_code == 404


def test_edit_survey_rules(app, org):
    survey = open_survey(org)
    client = signed_in(app, org.manager)
    page = text(client.get(f"/surveys/{survey.id}/edit"))
    assert "Customer satisfaction 2026" in page
    data = {"title": "Renamed", "csi_threshold": "60", "drop_threshold": "15", "rule_action": "complaint"}
    assert client.post(f"/surveys/{survey.id}/edit", data=data).status_code == 302
    assert survey.title == "Renamed" and survey.csi_threshold == 60 and survey.rule_action == "complaint"
    response = client.post(f"/surveys/{survey.id}/edit", data=dict(data, csi_threshold="101"))
    assert response.status_code == 422 and "must be a number from 0 to 100" in text(response)


def test_survey_lifecycle_through_the_web_and_public_link(app, org):
    survey = create_survey(org.quality, title="Draft", questions=QUESTIONS[:1])
    client = signed_in(app, org.quality)
    anon = anonymous(app)
    assert anon.get(f"/s/{survey.public_token}").status_code == 404  # not open yet
    assert client.post(f"/surveys/{survey.id}/events/open", data={"closes_on": "2001-01-01"}).status_code == 422
    assert client.post(f"/surveys/{survey.id}/events/open", data={"version": survey.version}).status_code == 302
    assert survey.state == "open"
    assert anon.get(f"/s/{survey.public_token}").status_code == 200
    old = survey.public_token
    assert client.post(f"/surveys/{survey.id}/link").status_code == 302
    assert anon.get(f"/s/{old}").status_code == 404
    response = anon.post(f"/s/{survey.public_token}", data={q(survey, 1): "9"})
    assert response.status_code == 302 and "/thanks" in response.headers["Location"]
    assert client.post(f"/surveys/{survey.id}/events/close").status_code == 302
    response = client.post(f"/surveys/{survey.id}/events/analyse", data={"method": "nps", "summary": "Good"})
    assert response.status_code == 302 and survey.state == "analysed"
    response = signed_in(app, org.manager).post(
        f"/surveys/{survey.id}/events/report", data={"signature_password": "wrong"}
    )
    assert response.status_code == 422 and survey.state == "analysed"
    response = signed_in(app, org.manager).post(
        f"/surveys/{survey.id}/events/report",
        data={"signature_email": org.manager.email, "signature_password": PASSWORD},
    )
    assert response.status_code == 302 and survey.state == "reported"
    assert signed_in(app, org.viewer).post(f"/surveys/{survey.id}/events/cancel", data={"reason": "x"}).status_code in (
        403,
        409,
    )


def test_public_page_good_submission_and_escaped_script(app, org):
    survey = open_survey(org)
    anon = anonymous(app)
    page = text(anon.get(f"/s/{survey.public_token}?c=whatsapp"))
    assert "Send my answers" in page and 'name="channel" value="whatsapp"' in page
    assert "Sign out" not in page and "Nonconformities" not in page  # no staff navigation
    assert f'id="{q(survey, 1)}-10"' in page and 'maxlength="5000"' in page
    data = {
        "channel": "whatsapp",
        q(survey, 1): "10",
        q(survey, 2): "4",
        q(survey, 3): "6",
        q(survey, 4): "Mombasa",
        q(survey, 5): ["Phone", "WhatsApp"],
        q(survey, 6): "<script>alert(1)</script> faster replies",
    }
    response = anon.post(f"/s/{survey.public_token}", data=data)
    assert response.status_code == 302
    thanks = text(anon.get(response.headers["Location"]))
    assert "Thank you" in thanks and "faster replies" not in thanks and "NPS" not in thanks
    assert count(SurveyResponse) == 1 and count(SurveyAnswer) == 6
    assert db.session.scalar(select(SurveyResponse.channel)) == "whatsapp"
    staff = text(signed_in(app, org.viewer).get(f"/surveys/{survey.id}"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; faster replies" in staff
    assert "<script>alert" not in staff


def test_public_page_errors_keep_the_answers(app, org):
    survey = open_survey(org)
    anon = anonymous(app)
    response = anon.post(
        f"/s/{survey.public_token}", data={q(survey, 2): "9", q(survey, 4): "Kisumu", q(survey, 6): "Kept text"}
    )
    assert response.status_code == 422
    page = text(response)
    assert "Is required" in page and "Must be a whole number from 1 to 5" in page
    assert "Must be one of the options offered" in page and "Kept text" in page
    assert count(SurveyResponse) == 0


def test_public_page_refuses_unknown_fields_and_oversize_bodies(app, org):
    survey = open_survey(org)
    other = open_survey(org, title="Other")
    anon = anonymous(app)
    response = anon.post(f"/s/{survey.public_token}", data={q(survey, 1): "9", "state": "closed"})
    assert response.status_code == 422 and "does not ask: state" in text(response)
    response = anon.post(f"/s/{survey.public_token}", data={q(survey, 1): "9", q(other, 1): "0"})
    assert response.status_code == 422
    response = anon.post(f"/s/{survey.public_token}", data={q(survey, 1): "9", q(survey, 6): "x" * 70_000})
    assert response.status_code == 413 and "larger than we can accept" in text(response)
    response = anon.post(f"/s/{survey.public_token}", data={q(survey, 1): "9", q(survey, 6): "x" * 5001})
    assert response.status_code == 422 and "at most 5000" in text(response)
    assert count(SurveyResponse) == 0


def test_invitation_admits_one_response_and_duplicates_are_refused(app, org):
    survey = open_survey(org, invitation_only=True)
    client = signed_in(app, org.quality)
    response = client.post(f"/surveys/{survey.id}/invitations", data={"labels": "amina@example.test\nOtieno\n"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    links = re.findall(r'<code class="token">([^<]+)</code>', text(response))
    assert len(links) == 2 and "shown only this once" in text(response)
    assert client.post(f"/surveys/{survey.id}/invitations", data={"labels": "  "}).status_code == 422
    anon = anonymous(app)
    assert anon.get(f"/s/{survey.public_token}").status_code == 403  # the personal link is needed
    assert anon.get(f"/s/{survey.public_token}?i=forged").status_code == 403
    path = links[0].removeprefix(app.config["QMS_BASE_URL"]).replace("&amp;", "&")
    token = path.split("i=")[1]
    page = text(anon.get(path))
    assert f'name="i" value="{token}"' in page
    assert anon.post(f"/s/{survey.public_token}", data={"i": token, q(survey, 1): "9"}).status_code == 302
    duplicate = anon.post(f"/s/{survey.public_token}", data={"i": token, q(survey, 1): "3"})
    assert duplicate.status_code == 409 and "already been used" in text(duplicate)
    assert anon.get(path).status_code == 409
    assert count(SurveyResponse) == 1
    page = text(client.get(f"/surveys/{survey.id}"))
    assert "50.0 %" in page and "1 of 2 invitations answered" in page


def test_closed_and_unknown_surveys(app, org):
    survey = open_survey(org)
    anon = anonymous(app)
    response = anon.get("/s/not-a-real-token")
    assert response.status_code == 404 and "not valid" in text(response)
    assert anon.get("/s/" + "x" * 300).status_code == 404
    fire(survey, "close", org.quality)
    response = anon.get(f"/s/{survey.public_token}")
    assert response.status_code == 410 and "closed" in text(response)
    assert anon.post(f"/s/{survey.public_token}", data={q(survey, 1): "9"}).status_code == 410
    assert count(SurveyResponse) == 0


def test_public_survey_page_with_a_closing_date_passed(app, org):
    survey = open_survey(org)
    db.session.execute(update(Survey).where(Survey.id == survey.id).values(closes_on=dt.date(2001, 1, 1)))
    db.session.commit()
    assert anonymous(app).get(f"/s/{survey.public_token}").status_code == 410


CSV_GOOD = """responded_on,service,channel,q1,q2,q4,q5,q6
2026-01-10,Contact centre,phone,10,5,Nairobi,Phone;E-mail,Great
2026-01-11,,email,3,2,,,"Slow, rude"
"""


def test_csv_import_good_and_malformed(app, org):
    survey = open_survey(org)
    client = signed_in(app, org.quality)
    page = text(client.get(f"/surveys/{survey.id}"))
    assert "responded_on,service,channel,q1,q2,q3,q4,q5,q6" in page
    bad = "responded_on,q1,q4\n2026-01-10,10,Nairobi\n2026-01-11,12,Kisumu\nyesterday,9,\n"
    response = client.post(f"/surveys/{survey.id}/import", data={"file": (io.BytesIO(bad.encode()), "bad.csv")})
    assert response.status_code == 422
    page = text(response)
    assert "Nothing was imported" in page
    assert "Line 3, column &#39;q1&#39;: must be a whole number from 0 to 10" in page
    assert "Line 3, column &#39;q4&#39;: must be one of the options offered" in page
    assert "Line 4, column &#39;responded_on&#39;: must be a date (YYYY-MM-DD)" in page
    assert count(SurveyResponse) == 0
    response = client.post(f"/surveys/{survey.id}/import", data={"file": (io.BytesIO(b"\xff\xfe\x00"), "x.csv")})
    assert response.status_code == 422 and "UTF-8" in text(response)
    assert client.post(f"/surveys/{survey.id}/import", data={}).status_code == 422
    response = client.post(f"/surveys/{survey.id}/import", data={"file": (io.BytesIO(CSV_GOOD.encode()), "ok.csv")})
    assert response.status_code == 302
    assert count(SurveyResponse) == 2 and "2 responses imported" in text(client.get(f"/surveys/{survey.id}"))
    assert (
        signed_in(app, org.viewer)
        .post(f"/surveys/{survey.id}/import", data={"file": (io.BytesIO(CSV_GOOD.encode()), "ok.csv")})
        .status_code
        == 403
    )


def test_rules_button_raises_exactly_one_nc(app, org):
    survey = open_survey(org)
    for value in (2, 3, 9, 5, 6, 10):
        submit_response(survey, {q(survey, 1): value})
    client = signed_in(app, org.quality)
    client.post(f"/surveys/{survey.id}/edit", data={"title": survey.title, "nps_threshold": "0"})
    assert survey.nps_threshold == 0
    response = client.post(f"/surveys/{survey.id}/rules", follow_redirects=True)
    assert "The rules fired 1 time(s)" in text(response)
    assert client.post(f"/surveys/{survey.id}/rules").status_code == 302
    assert count(Nonconformity) == 1 and count(RuleTrigger) == 1
    nc = db.session.scalar(select(Nonconformity))
    page = text(client.get(f"/surveys/{survey.id}"))
    assert f'href="/nonconformities/{nc.id}">{nc.reference}</a>' in page
    assert "below the threshold" in page
    assert signed_in(app, org.viewer).post(f"/surveys/{survey.id}/rules").status_code == 403


def test_satisfaction_report_pdf(app, org):
    survey = open_survey(org)
    some_responses(survey)
    client = signed_in(app, org.viewer)
    for period in ("month", "quarter", "year"):
        response = client.get(f"/surveys/{survey.id}/report.pdf?period={period}")
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert response.data.startswith(b"%PDF")
    assert client.get(f"/surveys/{survey.id}/report.pdf?period=decade").status_code == 404
    assert client.get("/surveys/999999/report.pdf").status_code == 404


def test_dashboard_panel_and_my_work(app, org):
    survey = open_survey(org)
    some_responses(survey)
    complaint_of(org, received_at="2026-01-02T10:00")
    page = text(signed_in(app, org.viewer).get("/"))
    assert 'id="dashboard-nps"' in page and 'n = <span class="n">5</span>' in page
    assert "open complaints" in page and "complaints overdue" in page and "Open complaints by channel" in page
    work = text(signed_in(app, org.quality).get("/my-work"))
    assert "Order arrived damaged" in work and "Acknowledge" in work and "overdue" in work
    assert survey.reference in work and "Close responses" in work
    fire(survey, "close", org.quality)
    fire(survey, "analyse", org.quality, {"method": "nps", "summary": "Fine"})
    assert survey.reference in text(signed_in(app, org.manager).get("/my-work"))
    assert survey.reference not in text(signed_in(app, org.quality).get("/my-work"))
    assert survey.reference not in text(signed_in(app, org.viewer).get("/my-work"))


def test_invitations_for_an_invitation_survey_created_by_service_are_listed_in_rate(app, org):
    survey = open_survey(org, invitation_only=True)
    create_invitations(survey, org.quality, ["a", "b", "c", "d"])
    page = text(signed_in(app, org.quality).get(f"/surveys/{survey.id}"))
    assert "0.0 %" in page and "0 of 4 invitations answered" in page


@pytest.mark.real_commits
def test_public_posts_are_rate_limited(app, org):
    from qms import create_app
    from qms.security import limiter

    survey = open_survey(org)
    limited = create_app({**app.config, "RATELIMIT_ENABLED": True})
    limiter.reset()
    client = limited.test_client()
    with limited.app_context():
        survey_codes = [client.post(f"/s/{survey.public_token}", data={}).status_code for _ in range(21)]
        form_codes = [client.post("/feedback", data={}).status_code for _ in range(21)]
        reading = client.get(f"/s/{survey.public_token}").status_code
        limiter.reset()
    assert survey_codes[:20] == [422] * 20 and survey_codes[20] == 429
    assert form_codes[:20] == [422] * 20 and form_codes[20] == 429
    assert reading == 200  # reading the page is not limited

"""The surveys API (/api/v1/surveys): questions, responses, CSV import, invitations, measures, rules,
the report, and every answer of the REST contract."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from qms.database import db
from qms.models import Complaint, Nonconformity, RuleTrigger, Survey, SurveyAnswer, SurveyQuestion, SurveyResponse
from qms.services import fire
from qms.services.surveys import create_invitations, create_survey, submit_response

from ..conftest import PASSWORD
from ..helpers import UNNAMED_PART_BODY, UNNAMED_PART_TYPE, ApiClient, error, ok, row_count
from .test_services import CSV_GOOD, QUESTIONS, _month_of_answers, open_survey, q

SURVEYS = "/api/v1/surveys"
NOT_MANAGERS = ("admin", "auditor", "owner", "viewer")


def _url(survey: Survey | int) -> str:
    return f"{SURVEYS}/{survey if isinstance(survey, int) else survey.id}"


def _csv(api: ApiClient, who: str, survey: Survey, text: str | bytes, *, as_file: bool = True):
    data = text.encode() if isinstance(text, str) else text
    url = f"{_url(survey)}/responses/import"
    if as_file:
        return api.post(who, url, data={"file": (io.BytesIO(data), "answers.csv")}, content_type="multipart/form-data")
    return api.post(who, url, data=data, content_type="text/csv")


# --- the whole path -----------------------------------------------------------------------------


def test_a_survey_from_draft_to_its_signed_report_through_the_api(api, org):
    created = api.post(
        "quality",
        SURVEYS,
        json={"title": "Customer satisfaction 2026", "service": "Contact centre", "questions": QUESTIONS[:2]},
    )
    survey = ok(created, 201)
    url = _url(survey["id"])
    assert created.headers["Location"].endswith(url) and created.headers["ETag"] == '"1"'
    assert (survey["state"], survey["reference"][:4], survey["owner"]["id"]) == ("draft", "SUR-", org.quality.id)
    assert [(x["kind"], x["position"], x["csv_column"]) for x in survey["questions"]] == [
        ("nps", 1, "q1"),
        ("rating", 2, "q2"),
    ]
    nps_q = survey["questions"][0]
    assert nps_q["scale"] == {"min": 0, "max": 10} and nps_q["answer_key"] == f"q{nps_q['id']}"
    assert survey["public_link"].startswith("/s/") and len(survey["public_link"]) > 20
    assert survey["measures"]["responses"] == 0 and survey["measures"]["nps"]["score"] is None
    assert survey["links"]["measures"] == f"{url}/measures" and survey["links"]["report"] == f"{url}/report.pdf"
    # the public link is for managers and quality officers only
    for who in ("viewer", "auditor", "owner", "admin"):
        assert ok(api.get(who, url))["public_link"] is None
    assert ok(api.get("manager", url))["public_link"] == survey["public_link"]

    added = ok(
        api.post("quality", f"{url}/questions", json={"kind": "single", "text": "Branch?", "choices": ["A", "B"]}),
        201,
    )
    assert (added["position"], added["choices"], added["scale"]) == (3, ["A", "B"], None)
    changed = ok(api.patch("manager", added["links"]["self"], json={"text": "Which branch?", "required": True}))
    assert (changed["text"], changed["required"], changed["choices"]) == ("Which branch?", True, ["A", "B"])
    assert api.delete("quality", added["links"]["self"]).status_code == 204
    patched = api.patch("quality", url, json={"nps_threshold": 10, "introduction": "Two minutes, please."})
    survey = ok(patched)
    assert (survey["nps_threshold"], survey["introduction"], survey["version"]) == (10.0, "Two minutes, please.", 2)
    assert patched.headers["ETag"] == '"2"'

    survey = ok(api.fire("quality", url, "open", version=2))
    assert survey["state"] == "open"
    key = nps_q["answer_key"]
    rating = survey["questions"][1]["answer_key"]
    response = ok(
        api.post("owner", f"{url}/responses", json={"answers": {key: 9, rating: "4"}, "channel": "phone"}), 201
    )
    assert response["source"] == "api" and response["service"] == "Contact centre"
    assert (response["channel"], response["answered"], response["invited"]) == ("phone", [key, rating], False)
    assert set(response) == {
        "id",
        "survey_id",
        "responded_on",
        "submitted_at",
        "source",
        "service",
        "channel",
        "invited",
        "answered",
    }
    ok(api.post("quality", f"{url}/responses", json={"answers": {key: 3}, "service": "Shop"}), 201)
    survey = ok(api.get("viewer", url))
    assert survey["response_count"] == 2 and survey["measures"]["responses"] == 2
    assert survey["measures"]["nps"]["score"] == 0.0 and survey["measures"]["nps"]["n"] == 2
    assert survey["measures"]["nps"]["margin"] > 0
    assert survey["measures"]["csi"]["score"] == 75.0 and survey["measures"]["csi"]["n"] == 1
    assert survey["measures"]["response_rate"] == {"responded": 0, "invited": 0, "rate": None}
    assert [s["response_count"] for s in ok(api.get("viewer", SURVEYS))["items"]] == [2]

    ok(api.fire("quality", url, "close"))
    error(api.post("quality", f"{url}/responses", json={"answers": {key: 9}}), 409)
    ok(api.fire("quality", url, "analyse", data={"method": "nps", "summary": "Mixed."}))
    error(api.fire("quality", url, "report", signature_password=PASSWORD), 403)
    survey = ok(api.fire("manager", url, "report", signature_password=PASSWORD))
    assert survey["state"] == "reported" and survey["reported_at"]
    history = ok(api.get("viewer", f"{url}/history"))
    assert [h["event"] for h in history] == ["open", "close", "analyse", "report"]
    assert history[-1]["signature_meaning"] == "approved for distribution"
    report = api.get("viewer", f"{url}/report.pdf?period=quarter")
    assert report.status_code == 200 and report.mimetype == "application/pdf"
    assert report.data.startswith(b"%PDF")
    error(api.patch("quality", url, json={"title": "Late"}), 409)
    error(api.post("quality", f"{url}/questions", json={"kind": "text", "text": "Late?"}), 409)


# --- responses ----------------------------------------------------------------------------------


def test_responses_accept_only_what_the_survey_defines(api, org):
    survey = open_survey(org)
    url = f"{_url(survey)}/responses"
    cases = [
        ({"answers": {q(survey, 1): 11}}, {f"answers.{q(survey, 1)}"}),
        ({"answers": {q(survey, 1): "nine"}}, {f"answers.{q(survey, 1)}"}),
        ({"answers": {q(survey, 1): True}}, {f"answers.{q(survey, 1)}"}),
        ({"answers": {q(survey, 1): 9, q(survey, 2): 4.5}}, {f"answers.{q(survey, 2)}"}),
        ({"answers": {q(survey, 1): 9, q(survey, 4): "Kisumu"}}, {f"answers.{q(survey, 4)}"}),
        ({"answers": {q(survey, 1): 9, q(survey, 5): ["Phone", "Fax"]}}, {f"answers.{q(survey, 5)}"}),
        ({"answers": {q(survey, 1): 9, q(survey, 6): "x" * 5001}}, {f"answers.{q(survey, 6)}"}),
        ({"answers": {q(survey, 1): 9, q(survey, 6): {"a": 1}}}, {f"answers.{q(survey, 6)}"}),
        ({"answers": {q(survey, 1): 9, q(survey, 6): "bad \ud800"}}, {f"answers.{q(survey, 6)}"}),
        ({"answers": {q(survey, 1): 9, q(survey, 6): "nul \x00"}}, {f"answers.{q(survey, 6)}"}),
        ({"answers": {q(survey, 1): 9, "q999999": 1}}, {"answers.q999999"}),
        ({"answers": {q(survey, 2): 3}}, {f"answers.{q(survey, 1)}"}),  # the NPS question is required
        ({"answers": {}}, {f"answers.{q(survey, 1)}"}),
        ({"answers": [9]}, {"answers"}),
        ({"answers": {f"q{i}": 1 for i in range(61)}}, {"answers"}),
        ({}, {"answers"}),
        ({"answers": {q(survey, 1): 9}, "channel": "pigeon"}, {"channel"}),
        ({"answers": {q(survey, 1): 9}, "service": "x" * 121}, {"service"}),
        ({"answers": {q(survey, 1): 9}, "invitation_token": "made-up"}, {"invitation_token"}),
        ({"answers": {q(survey, 1): 9}, "source": "web"}, {"source"}),
    ]
    for body, fields in cases:
        assert set(error(api.post("quality", url, json=body), 422)["errors"]) == fields, body
    error(api.post("quality", url, data="{", content_type="application/json"), 400)
    huge = {"answers": {q(survey, 6): "x" * (1024 * 1024)}}
    assert error(api.post("quality", url, json=huge), 413)
    error(api.post("viewer", url, json={"answers": {q(survey, 1): 9}}), 403)
    error(api.post(None, url, json={"answers": {q(survey, 1): 9}}), 401)
    assert row_count(SurveyResponse) == 0 and row_count(SurveyAnswer) == 0
    # every kind of answer, the way the public page stores them
    answers = {
        q(survey, 1): 10,
        q(survey, 2): "5",
        q(survey, 3): 7,
        q(survey, 4): "Mombasa",
        q(survey, 5): ["Phone", "WhatsApp"],
        q(survey, 6): "<b>Quick</b>",
    }
    response = ok(api.post("auditor", url, json={"answers": answers, "channel": "whatsapp"}), 201)
    assert len(response["answered"]) == 6 and response["channel"] == "whatsapp"
    assert row_count(SurveyAnswer) == 6
    stored = db.session.scalar(select(SurveyAnswer.text).where(SurveyAnswer.text != ""))
    assert stored == "<b>Quick</b>"


def test_responses_need_an_open_survey(api, org):
    draft = create_survey(org.quality, title="Draft", questions=QUESTIONS)
    body = {"answers": {f"q{draft.questions[0].id}": 9}}
    error(api.post("quality", f"{_url(draft)}/responses", json=body), 409)
    survey = open_survey(org, title="Closed")
    fire(survey, "close", org.quality)
    body = error(api.post("quality", f"{_url(survey)}/responses", json={"answers": {q(survey, 1): 9}}), 409)
    assert "not accepting responses" in body["message"]
    assert row_count(SurveyResponse) == 0


def test_an_invitation_admits_exactly_one_response(api, org):
    survey = open_survey(org, invitation_only=True)
    url = _url(survey)
    issued = ok(api.post("quality", f"{url}/invitations", json={"labels": ["a@example.test", " b@example.test "]}), 201)
    invitations = issued["invitations"]
    assert [i["label"] for i in invitations] == ["a@example.test", "b@example.test"]
    assert invitations[0]["link"] == f"/s/{survey.public_token}?i={invitations[0]['token']}"
    token = invitations[0]["token"]
    answers = {q(survey, 1): 9}
    assert set(error(api.post("quality", f"{url}/responses", json={"answers": answers}), 422)["errors"]) == {
        "invitation_token"
    }
    first = ok(api.post("quality", f"{url}/responses", json={"answers": answers, "invitation_token": token}), 201)
    assert first["invited"]
    again = error(api.post("quality", f"{url}/responses", json={"answers": answers, "invitation_token": token}), 422)
    assert "already been used" in again["errors"]["invitation_token"]
    assert row_count(SurveyResponse) == 1
    rate = ok(api.get("viewer", f"{url}/measures"))["response_rate"]
    assert rate == {"responded": 1, "invited": 2, "rate": 50.0}

    for body, fields in (
        ({}, {"labels"}),
        ({"labels": []}, {"labels"}),
        ({"labels": ["  "]}, {"labels"}),
        ({"labels": ["x" * 201]}, {"labels.0"}),
        ({"labels": "a@example.test"}, {"labels"}),
        ({"labels": ["a"], "expires": "never"}, {"expires"}),
    ):
        assert set(error(api.post("quality", f"{url}/invitations", json=body), 422)["errors"]) == fields, body
    for who in NOT_MANAGERS:
        error(api.post(who, f"{url}/invitations", json={"labels": ["c@example.test"]}), 403)
    fire(survey, "close", org.quality)
    error(api.post("quality", f"{url}/invitations", json={"labels": ["late@example.test"]}), 409)


# --- CSV import ---------------------------------------------------------------------------------


def test_csv_import_as_a_file_or_a_body(api, org):
    survey = open_survey(org)
    result = ok(_csv(api, "quality", survey, CSV_GOOD), 201)
    assert result == {"imported": 3, "fired": []}
    result = ok(_csv(api, "manager", survey, "responded_on;q1\n2026-02-02;10\n", as_file=False), 201)
    assert result["imported"] == 1
    assert db.session.scalar(select(func.count()).where(SurveyResponse.source == "import")) == 4
    trend = ok(api.get("viewer", f"{_url(survey)}/measures?trend=month"))["trend"]
    assert [(p["label"], p["responses"]) for p in trend] == [("2026-01", 2), ("2026-02", 2)]
    assert trend[0]["nps_change"] is None and trend[1]["nps_change"] == 100.0 and trend[1]["nps_noise"]


@pytest.mark.parametrize(
    ("text", "error_key"),
    [
        ("responded_on,q1\n2026-01-10,10\n2026-01-11,12\n", "line 3, column 'q1'"),
        ("responded_on,q1\n2026-01-10,10\nyesterday,9\n", "line 3, column 'responded_on'"),
        ("responded_on,q1,q99\n2026-01-10,10,1\n", "line 1"),
        ("q1\n10\n", "line 1, column 'responded_on'"),
        ("responded_on,q2\n2026-01-10,4\n", "line 2, column 'q1'"),
        (b"\xff\xfe\x00\x01binary", "file"),
        ("", "file"),
    ],
)
def test_a_bad_csv_is_422_by_line_and_column_and_imports_nothing(api, org, text, error_key):
    survey = open_survey(org)
    body = error(_csv(api, "quality", survey, text), 422)
    assert error_key in body["errors"], body
    assert row_count(SurveyResponse) == 0 and row_count(SurveyAnswer) == 0


def test_csv_import_refuses_other_requests(api, org):
    survey = open_survey(org)
    url = f"{_url(survey)}/responses/import"
    assert set(error(api.post("quality", url, data={}, content_type="multipart/form-data"), 422)["errors"]) == {"file"}
    extra = {"file": (io.BytesIO(CSV_GOOD.encode()), "a.csv"), "replace": "yes"}
    assert set(error(api.post("quality", url, data=extra, content_type="multipart/form-data"), 422)["errors"]) == {
        "replace"
    }
    error(api.post("quality", url, json={"file": CSV_GOOD}), 415)
    unnamed = error(api.post("quality", url, data=UNNAMED_PART_BODY, content_type=UNNAMED_PART_TYPE), 422)
    assert set(unnamed["errors"]) == {"(a part without a name)"}
    too_big = b"responded_on,q1\n" + b"2026-01-10,10\n" * (11 * 1024 * 1024 // 14)
    error(api.post("quality", url, data=too_big, content_type="text/csv"), 413)
    for who in NOT_MANAGERS:
        error(_csv(api, who, survey, CSV_GOOD), 403)
    draft = create_survey(org.quality, title="Draft", questions=QUESTIONS)
    error(_csv(api, "quality", draft, CSV_GOOD), 409)
    assert row_count(SurveyResponse) == 0


# --- rules --------------------------------------------------------------------------------------


def test_a_low_score_raises_exactly_one_nonconformity(api, org):
    survey = open_survey(org, nps_threshold=0)
    text = "responded_on,q1\n" + _month_of_answers("2026-03", [2, 3, 9, 5, 6, 10])
    result = ok(_csv(api, "quality", survey, text), 201)
    assert [(t["rule"], t["period"]) for t in result["fired"]] == [("nps_low", "2026-03")]
    trigger = result["fired"][0]
    assert trigger["nonconformity_reference"].startswith("NC-") and trigger["complaint_id"] is None
    nc = ok(api.get("viewer", trigger["links"]["nonconformity"]))
    assert nc["source"] == "survey" and nc["clause_refs"] == ["9.1.2"]
    applied = ok(api.post("manager", f"{_url(survey)}/rules/apply"))
    assert applied["fired"] == [] and [t["id"] for t in applied["triggers"]] == [trigger["id"]]
    assert [t["id"] for t in ok(api.get("viewer", _url(survey)))["triggers"]] == [trigger["id"]]
    for who in NOT_MANAGERS:
        error(api.post(who, f"{_url(survey)}/rules/apply"), 403)
    assert row_count(Nonconformity) == 1 and row_count(RuleTrigger) == 1


def test_applying_rules_raises_a_complaint_once(api, org):
    survey = open_survey(org, rule_action="complaint")
    for value in (2, 3, 9, 5, 6, 10):
        submit_response(survey, {q(survey, 1): value})
    url = _url(survey)
    assert ok(api.post("quality", f"{url}/rules/apply"))["fired"] == []  # no rule set yet
    ok(api.patch("quality", url, json={"nps_threshold": 0}))
    fired = ok(api.post("quality", f"{url}/rules/apply"))["fired"]
    assert len(fired) == 1 and fired[0]["complaint_reference"].startswith("CMP-")
    complaint = ok(api.get("viewer", fired[0]["links"]["complaint"]))
    assert complaint["origin"] == "survey_rule" and complaint["state"] == "received"
    assert ok(api.post("quality", f"{url}/rules/apply"))["fired"] == []
    assert row_count(Complaint) == 1 and row_count(Nonconformity) == 0


# --- measures -----------------------------------------------------------------------------------


def test_measures_by_segment_and_trend(api, org):
    survey = open_survey(org)
    for nps_value, rating, channel in ((10, 5, "phone"), (9, 5, "phone"), (6, 1, "email"), (8, 3, "email")):
        submit_response(survey, {q(survey, 1): nps_value, q(survey, 2): rating}, channel=channel)
    url = f"{_url(survey)}/measures"
    measures = ok(api.get("viewer", url))
    assert measures["overall"]["nps"]["score"] == 25.0 and measures["overall"]["csi"]["score"] == 62.5
    assert (measures["segments"], measures["trend"], measures["by"]) == (None, None, None)
    by_channel = {s["label"]: s for s in ok(api.get("viewer", f"{url}?by=channel"))["segments"]}
    assert by_channel["Phone"]["nps"]["score"] == 100.0 and by_channel["E-mail"]["nps"]["score"] == -50.0
    assert by_channel["Phone"]["nps"]["n"] == 2 and by_channel["Phone"]["nps"]["margin"] > 0
    both = ok(api.get("viewer", f"{url}?by=service&trend=year"))
    assert [s["label"] for s in both["segments"]] == ["Contact centre"] and len(both["trend"]) == 1
    for query, field in (("by=colour", "by"), ("trend=week", "trend"), ("period=month", "period")):
        assert set(error(api.get("viewer", f"{url}?{query}"), 422)["errors"]) == {field}, query
    error(api.get("viewer", f"{_url(survey)}/report.pdf?period=week"), 422)


# --- creating and changing surveys and questions ------------------------------------------------


def test_invalid_surveys_are_422_naming_each_field_and_store_nothing(api, org):
    cases = [
        ({}, {"title"}),
        ({"title": "  "}, {"title"}),
        ({"title": "x" * 201}, {"title"}),
        ({"title": "T", "nps_threshold": 500}, {"nps_threshold"}),
        ({"title": "T", "csi_threshold": "high"}, {"csi_threshold"}),
        ({"title": "T", "rule_action": "email"}, {"rule_action"}),
        ({"title": "T", "introduction": "\x00"}, {"introduction"}),
        ({"title": "T", "questions": [{"kind": "slider", "text": "x"}]}, {"questions.0.kind"}),
        ({"title": "T", "questions": [{"kind": "text"}]}, {"questions.0.text"}),
        ({"title": "T", "questions": [{"kind": "text", "text": " "}]}, {"questions.0.text"}),
        (
            {"title": "T", "questions": [{"kind": "single", "text": "Pick", "choices": ["one"]}]},
            {"questions.0.choices"},
        ),
        ({"title": "T", "questions": [{"kind": "servqual", "text": "Reliable"}]}, {"questions.0.dimension"}),
        ({"title": "T", "questions": [{"kind": "rating", "text": "R", "weight": -1}]}, {"questions.0.weight"}),
        ({"title": "T", "questions": "all"}, {"questions"}),
        ({"title": "T", "questions": [QUESTIONS[0]] * 61}, {"questions"}),
        ({"title": "T", "state": "open"}, {"state"}),
    ]
    for body, fields in cases:
        assert set(error(api.post("quality", SURVEYS, json=body), 422)["errors"]) == fields, body
    error(api.post("quality", SURVEYS, json=[1]), 422)
    for who in NOT_MANAGERS:
        error(api.post(who, SURVEYS, json={"title": "T"}), 403)
    assert row_count(Survey) == 0 and row_count(SurveyQuestion) == 0


def test_changing_surveys_and_questions(api, org):
    survey = open_survey(org)
    url = _url(survey)
    for body, fields in (
        ({"title": ""}, {"title"}),
        ({"drop_threshold": 201}, {"drop_threshold"}),
        ({"invitation_only": True}, {"invitation_only"}),  # only while a draft
        ({"owner_id": org.manager.id}, {"owner_id"}),
    ):
        assert set(error(api.patch("quality", url, json=body), 422)["errors"]) == fields, body
    for who in NOT_MANAGERS:
        error(api.patch(who, url, json={"title": "Mine"}), 403)
    assert ok(api.patch("quality", url, json={"csi_threshold": 70, "nps_threshold": None}))["csi_threshold"] == 70
    # once open, only a question's weight changes
    question = f"{url}/questions/{survey.questions[1].id}"
    assert ok(api.patch("quality", question, json={"weight": 3}))["weight"] == 3.0
    error(api.patch("quality", question, json={"text": "Reworded"}), 409)
    error(api.delete("quality", question), 409)
    error(api.post("quality", f"{url}/questions", json={"kind": "text", "text": "More?"}), 409)
    assert set(error(api.patch("quality", question, json={"weight": 101}), 422)["errors"]) == {"weight"}
    for who in NOT_MANAGERS:
        error(api.patch(who, question, json={"weight": 1}), 403)
        error(api.delete(who, question), 403)

    draft = create_survey(org.quality, title="Draft", questions=QUESTIONS[:1])
    durl = f"{_url(draft)}/questions"
    for body, fields in (
        ({}, {"kind", "text"}),
        ({"kind": "multiple", "text": "Which?"}, {"choices"}),
        ({"kind": "multiple", "text": "Which?", "choices": ["a"] * 31}, {"choices"}),
        ({"kind": "text", "text": "Why?", "dimension": "speed"}, {"dimension"}),
        ({"kind": "text", "text": "Why?", "position": 1}, {"position"}),
    ):
        assert set(error(api.post("quality", durl, json=body), 422)["errors"]) == fields, body
    qurl = f"{durl}/{draft.questions[0].id}"
    assert set(error(api.patch("quality", qurl, json={"kind": "single"}), 422)["errors"]) == {"choices"}
    assert ok(api.patch("quality", qurl, json={"kind": "text"}))["scale"] is None
    db.session.expire_all()
    assert db.session.get(Survey, survey.id).title == "Customer satisfaction 2026"


def test_questions_of_another_survey_and_ids_out_of_range_are_404(api, org):
    survey = create_survey(org.quality, title="Mine", questions=QUESTIONS[:1])
    other = create_survey(org.quality, title="Other", questions=QUESTIONS[:1])
    foreign = f"{_url(survey)}/questions/{other.questions[0].id}"
    error(api.patch("quality", foreign, json={"text": "Moved?"}), 404)
    error(api.delete("quality", foreign), 404)
    for url in (
        f"{SURVEYS}/0",
        f"{SURVEYS}/2147483648",
        f"{SURVEYS}/999999",
        f"{SURVEYS}/-1/measures",
        f"{SURVEYS}/999999/measures",
        f"{SURVEYS}/999999/report.pdf",
        f"{SURVEYS}/999999/history",
        f"{_url(survey)}/questions/2147483648",
        f"{_url(survey)}/events/fly",
    ):
        for method in ("GET", "PATCH", "DELETE", "POST"):
            response = api.request("quality", method, url, json={})
            assert response.status_code in (404, 405), (method, url, response.status_code)
            assert response.mimetype == "application/json"
    error(api.post("quality", f"{SURVEYS}/999999/responses", json={"answers": {"q1": 1}}), 404)
    error(_csv(api, "quality", 999999, CSV_GOOD), 404)
    error(api.post("quality", f"{SURVEYS}/999999/invitations", json={"labels": ["a"]}), 404)
    error(api.post("quality", f"{SURVEYS}/999999/rules/apply"), 404)
    db.session.expire_all()
    assert db.session.get(SurveyQuestion, other.questions[0].id).text == QUESTIONS[0]["text"]


def test_events_follow_the_lifecycle_contract(api, org):
    survey = create_survey(org.quality, title="Empty")
    url = _url(survey)
    body = error(api.fire("quality", url, "open"), 409)
    assert "question" in body["message"]
    error(api.fire("viewer", url, "open"), 403)
    error(api.fire("quality", url, "fly"), 404)
    api.post("quality", f"{url}/questions", json={"kind": "nps", "text": "Recommend?"})
    assert set(error(api.fire("quality", url, "open", data={"closes_on": "soon"}), 422)["errors"]) == {"data.closes_on"}
    error(api.fire("quality", url, "open", headers={"If-Match": '"7"'}), 409)
    events = ok(api.get("viewer", f"{url}/events"))
    assert {e["event"] for e in events} == {"open", "cancel"} and not any(e["allowed"] for e in events)


def test_survey_list_filters_sorts_and_pages(api, org):
    first = open_survey(org, title="B survey", service="Shop")
    second = create_survey(org.quality, title="A survey", questions=QUESTIONS)
    invited = open_survey(org, title="C survey")
    create_invitations(invited, org.quality, ["x"])

    def ids(query: str) -> list[int]:
        return [s["id"] for s in ok(api.get("viewer", f"{SURVEYS}?{query}"))["items"]]

    assert ids("") == [invited.id, second.id, first.id]
    assert ids("sort=title") == [second.id, first.id, invited.id]
    assert ids("sort=state") == [second.id, first.id, invited.id]
    assert ids("state=draft") == [second.id]
    assert ids("service=Shop") == [first.id]
    page = ok(api.get("viewer", f"{SURVEYS}?per_page=2&page=2"))
    assert (page["total"], page["pages"], len(page["items"])) == (3, 2, 1)
    for query, field in (
        ("colour=red", "colour"),
        ("state=lost", "state"),
        ("sort=colour", "sort"),
        ("per_page=101", "per_page"),
        ("service=" + "x" * 121, "service"),
    ):
        assert set(error(api.get("viewer", f"{SURVEYS}?{query}"), 422)["errors"]) == {field}, query


def test_requests_without_a_token_are_401(api, org):
    survey = open_survey(org)
    for method, url in (
        ("GET", SURVEYS),
        ("POST", SURVEYS),
        ("GET", _url(survey)),
        ("POST", f"{_url(survey)}/responses"),
        ("POST", f"{_url(survey)}/responses/import"),
        ("GET", f"{_url(survey)}/report.pdf"),
    ):
        assert error(api.request(None, method, url, json={}), 401)

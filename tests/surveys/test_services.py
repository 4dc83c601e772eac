"""Surveys and complaints through the services (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from qms.database import db
from qms.models import Complaint, Nonconformity, RuleTrigger, SurveyAnswer, SurveyResponse
from qms.services import available_events, fire
from qms.services.complaints import log_complaint
from qms.services.surveys import (
    add_question,
    apply_rules,
    create_invitations,
    create_survey,
    import_responses_csv,
    renew_public_link,
    response_rate,
    segments,
    submit_response,
    survey_for_token,
    survey_measures,
    trend,
    update_question,
    verbatims,
)
from workflows.errors import GuardFailed, InvalidData, InvalidTransition, NotPermitted

from ..conftest import PASSWORD

QUESTIONS = [
    {"kind": "nps", "text": "How likely are you to recommend us to a friend?", "required": True},
    {"kind": "rating", "text": "How satisfied are you with our response time?", "weight": 2},
    {"kind": "servqual", "text": "Staff were courteous", "dimension": "assurance"},
    {"kind": "single", "text": "Which branch did you visit?", "choices": ["Nairobi", "Mombasa"]},
    {"kind": "multiple", "text": "How did you contact us?", "choices": ["Phone", "E-mail", "WhatsApp"]},
    {"kind": "text", "text": "What could we do better?"},
]


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def open_survey(org, **overrides):
    fields = {"title": "Customer satisfaction 2026", "service": "Contact centre", "questions": QUESTIONS}
    fields.update(overrides)
    survey = create_survey(org.quality, **fields)
    fire(survey, "open", org.quality, {})
    return survey


def q(survey, position: int) -> str:
    return f"q{survey.questions[position - 1].id}"


def test_survey_is_validated_as_a_whole(org):
    with pytest.raises(InvalidData) as caught:
        create_survey(
            org.quality,
            title="",
            nps_threshold=500,
            rule_action="email",
            questions=[
                {"kind": "slider", "text": "x"},
                {"kind": "single", "text": "Pick", "choices": ["only one"]},
                {"kind": "servqual", "text": "Reliable", "dimension": "speed"},
            ],
        )
    errors = caught.value.errors
    assert {"title", "nps_threshold", "rule_action", "questions[0].kind", "questions[1].choices"} <= set(errors)
    assert "questions[2].dimension" in errors
    with pytest.raises(NotPermitted):
        create_survey(org.auditor, title="Mine")
    survey = create_survey(org.quality, title="Empty")
    blocked = {a.event.name: a.reason for a in available_events(survey, org.quality) if not a.allowed}
    assert "question" in blocked["open"]


def test_public_response_accepts_only_what_the_survey_defines(org):
    survey = open_survey(org)
    response = submit_response(
        survey,
        {
            q(survey, 1): "9",
            q(survey, 2): 4,
            q(survey, 3): "7",
            q(survey, 4): "Mombasa",
            q(survey, 5): ["Phone", "WhatsApp"],
            q(survey, 6): "<script>alert(1)</script> faster replies",
        },
        channel="whatsapp",
    )
    assert response.service == "Contact centre" and response.channel == "whatsapp"
    assert count(SurveyAnswer) == 6
    bad = {
        q(survey, 1): "11",
        q(survey, 2): "4.5",
        q(survey, 3): True,
        q(survey, 4): "Kisumu",
        q(survey, 5): ["Phone", "Fax"],
        q(survey, 6): "x" * 5001,
        "q999999": "5",
    }
    with pytest.raises(InvalidData) as caught:
        submit_response(survey, bad)
    assert set(caught.value.errors) == set(bad)
    with pytest.raises(InvalidData) as caught:
        submit_response(survey, {q(survey, 2): "3"})
    assert caught.value.errors == {q(survey, 1): "is required"}
    with pytest.raises(InvalidData):
        submit_response(survey, {q(survey, 1): "9"}, channel="carrier pigeon")
    assert count(SurveyResponse) == 1 and count(SurveyAnswer) == 6
    texts = [text for _, _, text in verbatims(survey)]
    assert texts == ["<script>alert(1)</script> faster replies"]  # stored as typed; templates escape it


def test_closed_survey_refuses_responses_and_link_can_be_renewed(org):
    survey = open_survey(org)
    token = survey.public_token
    assert survey_for_token(token).id == survey.id
    new = renew_public_link(survey, org.quality)
    assert survey_for_token(token) is None and survey_for_token(new).id == survey.id
    fire(survey, "close", org.quality)
    with pytest.raises(InvalidTransition):
        submit_response(survey, {q(survey, 1): "9"})
    fire(survey, "cancel", org.quality, {"reason": "Replaced by the 2027 survey"})
    with pytest.raises(InvalidTransition):
        renew_public_link(survey, org.quality)


def test_invitation_admits_exactly_one_response(org):
    survey = open_survey(org, invitation_only=True)
    (label, token), (_, other) = create_invitations(survey, org.quality, ["a@example.test", "b@example.test"])
    assert label == "a@example.test"
    with pytest.raises(InvalidData) as caught:
        submit_response(survey, {q(survey, 1): "9"})
    assert "invitation" in caught.value.errors
    submit_response(survey, {q(survey, 1): "9"}, invitation_token=token)
    with pytest.raises(InvalidData) as caught:
        submit_response(survey, {q(survey, 1): "3"}, invitation_token=token)
    assert "already been used" in caught.value.errors["invitation"]
    assert count(SurveyResponse) == 1
    assert response_rate(survey) == (1, 2, 50.0)
    submit_response(survey, {q(survey, 1): "10"}, invitation_token=other)
    assert response_rate(survey) == (2, 2, 100.0)


def test_measures_and_segments(org):
    survey = open_survey(org)
    for nps_value, rating, channel in ((10, 5, "phone"), (9, 5, "phone"), (6, 1, "email"), (8, 3, "email")):
        submit_response(survey, {q(survey, 1): nps_value, q(survey, 2): rating}, channel=channel)
    overall = survey_measures(survey)
    assert overall.responses == 4
    assert overall.nps.score == 25.0  # 2 promoters, 1 detractor of 4
    assert overall.csi.score == 62.5  # rating mean 3.5 on 1–5 → 62.5 (the only rated question answered)
    by_channel = {m.label: m for m in segments(survey, "channel")}
    assert by_channel["Phone"].nps.score == 100.0 and by_channel["E-mail"].nps.score == -50.0
    assert by_channel["Phone"].csi.score == 100.0 and by_channel["E-mail"].csi.score == 25.0
    update_question(survey.questions[1], org.quality, weight=0)
    assert survey_measures(survey).csi.score is None  # no weighted question left
    with pytest.raises(InvalidTransition):
        update_question(survey.questions[1], org.quality, text="Reworded after opening")


CSV_GOOD = """responded_on,service,channel,q1,q2,q4,q5,q6
2026-01-10,Contact centre,phone,10,5,Nairobi,Phone;E-mail,Great
2026-01-11,,email,3,2,,,"Slow, rude"
2026-02-01,Contact centre,,9,,Mombasa,WhatsApp,
"""


def test_csv_import_good(org):
    survey = open_survey(org)
    assert import_responses_csv(survey, org.quality, CSV_GOOD.encode()) == 3
    assert db.session.scalar(select(func.count()).where(SurveyResponse.source == "import")) == 3
    points = trend(survey, "month")
    assert [p.measures.label for p in points] == ["2026-01", "2026-02"]
    assert points[0].measures.nps.score == 0.0 and points[1].measures.nps.score == 100.0
    assert points[1].nps_noise  # 2 and 1 responses: nothing to conclude


@pytest.mark.parametrize(
    ("text", "error_key", "message"),
    [
        ("responded_on,q1\n2026-01-10,10\n2026-01-11,12\n", "line 3, column 'q1'", "from 0 to 10"),
        ("responded_on,q1\n2026-01-10,10\nyesterday,9\n", "line 3, column 'responded_on'", "YYYY-MM-DD"),
        ("responded_on,q1,q4\n2026-01-10,10,Kisumu\n", "line 2, column 'q4'", "options offered"),
        ("responded_on,q1,q99\n2026-01-10,10,1\n", "line 1", "unknown column"),
        ("q1\n10\n", "line 1, column 'responded_on'", "missing"),
        ("responded_on,q1\n2026-01-10,10,extra\n", "line 2", "cells"),
        ("responded_on,q2\n2026-01-10,4\n", "line 2, column 'q1'", "required"),
        ("responded_on,q1,channel\n2026-01-10,9,fax\n", "line 2, column 'channel'", "must be one of"),
    ],
)
def test_csv_import_errors_name_row_and_column_and_import_nothing(org, text, error_key, message):
    survey = open_survey(org)
    with pytest.raises(InvalidData) as caught:
        import_responses_csv(survey, org.quality, text.encode())
    assert message in caught.value.errors[error_key]
    assert count(SurveyResponse) == 0 and count(SurveyAnswer) == 0


def test_csv_import_refuses_binary_and_other_roles(org):
    survey = open_survey(org)
    with pytest.raises(InvalidData):
        import_responses_csv(survey, org.quality, b"\xff\xfe\x00\x01binary")
    with pytest.raises(InvalidData):
        import_responses_csv(survey, org.quality, b"")
    with pytest.raises(NotPermitted):
        import_responses_csv(survey, org.auditor, CSV_GOOD.encode())


def _month_of_answers(month: str, values: list[int]) -> str:
    return "".join(f"{month}-{day:02d},{value}\n" for day, value in enumerate(values, start=1))


def test_low_score_rule_raises_exactly_one_nc(org):
    survey = open_survey(org, nps_threshold=0)
    text = "responded_on,q1\n" + _month_of_answers("2026-03", [2, 3, 9, 5, 6, 10])
    import_responses_csv(survey, org.quality, text.encode())
    triggers = db.session.scalars(select(RuleTrigger)).all()
    assert [(t.rule, t.period) for t in triggers] == [("nps_low", "2026-03")]
    nc = db.session.get(Nonconformity, triggers[0].nonconformity_id)
    assert nc.source == "survey" and "NPS -33" in nc.title and nc.clause_refs == ["9.1.2"]
    # evaluating again, closing, importing more for the same month: still one NC
    apply_rules(survey, org.quality)
    import_responses_csv(survey, org.quality, ("responded_on,q1\n" + _month_of_answers("2026-03", [1])).encode())
    fire(survey, "close", org.quality)
    assert count(Nonconformity) == 1 and count(RuleTrigger) == 1


def test_drop_rule_ignores_noise_and_can_open_a_complaint(org):
    survey = open_survey(org, drop_threshold=20, rule_action="complaint")
    # March: 6 promoters of 6 (NPS 100); April: 3 promoters, 3 detractors of 6 (NPS 0): a drop of 100
    # with se 0 and 40.8 → noise threshold 80: beyond noise
    text = (
        "responded_on,q1\n" + _month_of_answers("2026-03", [10] * 6) + _month_of_answers("2026-04", [10, 9, 9, 0, 1, 2])
    )
    import_responses_csv(survey, org.quality, text.encode())
    triggers = db.session.scalars(select(RuleTrigger)).all()
    assert [(t.rule, t.period) for t in triggers] == [("nps_drop", "2026-04")]
    complaint = db.session.get(Complaint, triggers[0].complaint_id)
    assert complaint.origin == "survey_rule" and complaint.state == "received"
    assert count(Nonconformity) == 0
    # a smaller, noisy drop does not trigger
    other = open_survey(org, title="Other", drop_threshold=20)
    text = (
        "responded_on,q1\n"
        + _month_of_answers("2026-03", [10, 10, 9, 8, 6, 9])
        + _month_of_answers("2026-04", [10, 9, 7, 6, 5, 9])
    )
    import_responses_csv(other, org.quality, text.encode())
    assert count(RuleTrigger) == 1


def test_survey_lifecycle_to_signed_report(org):
    survey = open_survey(org)
    fire(survey, "close", org.quality)
    with pytest.raises(GuardFailed):
        fire(survey, "analyse", org.quality, {"method": "nps", "summary": "Nothing"})
    fire(survey, "reopen", org.quality, {})
    submit_response(survey, {q(survey, 1): "9"})
    fire(survey, "close", org.quality)
    fire(survey, "analyse", org.quality, {"method": "nps", "summary": "Customers recommend us."})
    with pytest.raises(NotPermitted):
        fire(survey, "report", org.quality, signature_password=PASSWORD)
    fire(survey, "report", org.manager, {}, signature_password=PASSWORD)
    assert survey.state == "reported" and survey.reported_at is not None
    with pytest.raises(InvalidTransition):
        add_question(survey, org.quality, kind="text", text="Late")


def test_rules_and_responses_record_who_acted(org):
    from qms.models import AuditEntry

    survey = open_survey(org, nps_threshold=0)
    with pytest.raises(NotPermitted):
        apply_rules(survey, org.viewer)
    with pytest.raises(NotPermitted):
        submit_response(survey, {q(survey, 1): "9"}, actor=org.viewer)
    submit_response(survey, {q(survey, 1): "9"}, actor=org.owner, source="api")
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.record_type == "survey_responses")).one()
    assert entry.actor_name == org.owner.name
    with pytest.raises(InvalidData) as caught:
        log_complaint(org.quality, channel="phone", summary="S\ud800", description="D")
    assert caught.value.errors == {"summary": "must be valid Unicode text"}
    assert log_complaint(org.quality, origin="api", channel="phone", summary="S", description="D").origin == "api"


def test_correcting_a_rule_withdraws_the_nc_it_raised_while_untriaged(org):
    from qms.services.surveys import update_survey
    from qms.services.workflow import history_of

    survey = open_survey(org, nps_threshold=0)
    text = "responded_on,q1\n" + _month_of_answers("2026-03", [2, 3, 9, 5, 6, 10])
    import_responses_csv(survey, org.quality, text.encode())
    nc = db.session.scalars(select(Nonconformity)).one()
    assert nc.state == "reported"

    # the threshold was a typing error: -50 was meant, which NPS -33 does not break
    update_survey(survey, org.manager, nps_threshold=-50)

    assert nc.state == "withdrawn" and count(RuleTrigger) == 0
    withdrawal = history_of(nc)[-1]
    assert withdrawal.event == "withdraw" and withdrawal.actor_name == org.manager.name
    assert survey.reference in withdrawal.data["reason"] and "no longer holds" in withdrawal.data["reason"]
    # put back, the breach raises a new NC of its own
    update_survey(survey, org.quality, nps_threshold=0)
    apply_rules(survey, org.quality)
    assert count(Nonconformity) == 2 and count(RuleTrigger) == 1


def test_a_triaged_rule_nc_stands_when_the_rule_is_corrected(org):
    from qms.services.surveys import update_survey

    survey = open_survey(org, nps_threshold=0)
    import_responses_csv(
        survey, org.quality, ("responded_on,q1\n" + _month_of_answers("2026-03", [2, 3, 9, 5, 6, 10])).encode()
    )
    nc = db.session.scalars(select(Nonconformity)).one()
    fire(nc, "triage", org.quality, {"severity": "minor"})

    update_survey(survey, org.quality, nps_threshold=-90, title="Renamed")

    assert nc.state == "triaged" and count(RuleTrigger) == 1 and survey.title == "Renamed"

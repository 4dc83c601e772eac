"""The customer satisfaction report and the virtual platforms report, read back with pypdf."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from qms.database import db
from qms.models import Nonconformity, RuleTrigger
from qms.reports.surveys import NO_RESPONSES, WITHIN_NOISE, change_text, csi_text, nps_text, satisfaction_report_pdf
from qms.services import fire
from qms.services.surveys import (
    create_invitations,
    create_survey,
    import_responses_csv,
    response_rate,
    segments,
    submit_response,
    survey_measures,
    trend,
    triggers_of,
)

from ..conftest import PASSWORD

ORG = "Acme Précision – Works"


GENERATED = dt.datetime(2026, 11, 2, 3, 4, 5, tzinfo=dt.UTC)


FOOTER = "Generated 2026-11-02 03:04 UTC by qmsflow"


HOSTILE = "<script>alert('x')</script> & <b>bold</b> </para>"


QUESTIONS = [
    {"kind": "nps", "text": "How likely are you to recommend us to a friend?", "required": True},
    {"kind": "rating", "text": "How satisfied are you with our response time?", "weight": 2},
    {"kind": "servqual", "text": "Staff were courteous", "dimension": "assurance"},
    {"kind": "single", "text": "Which branch did you visit?", "choices": ["Nairobi", "Mombasa"]},
    {"kind": "multiple", "text": "How did you contact us?", "choices": ["Phone", "E-mail", "WhatsApp"]},
    {"kind": "text", "text": "What could we do better?"},
]


# two months of six responses: January NPS +50, February NPS +16.7, a fall well within noise
ROWS = [
    ("2026-01-05", "Contact centre", "phone", 10, 5, 7, "Nairobi", "Phone;E-mail", "Quick and friendly"),
    ("2026-01-08", "Contact centre", "phone", 9, 4, 6, "Nairobi", "Phone", ""),
    ("2026-01-12", "Contact centre", "email", 9, 4, 6, "Mombasa", "E-mail", ""),
    ("2026-01-15", "Deliveries", "email", 8, 3, 5, "Mombasa", "", "Slow, but polite"),
    ("2026-01-20", "Deliveries", "whatsapp", 6, 2, 3, "", "WhatsApp", HOSTILE),
    ("2026-01-28", "Contact centre", "phone", 10, 5, 7, "Nairobi", "Phone", ""),
    ("2026-02-02", "Contact centre", "phone", 10, 5, 6, "Nairobi", "Phone", ""),
    ("2026-02-06", "Contact centre", "email", 9, 4, 6, "Nairobi", "E-mail;WhatsApp", "Call me back sooner"),
    ("2026-02-10", "Deliveries", "email", 7, 3, 4, "Mombasa", "", ""),
    ("2026-02-14", "Deliveries", "whatsapp", 6, 2, 3, "Mombasa", "WhatsApp", "Parcel was late"),
    ("2026-02-19", "Deliveries", "phone", 5, 1, 2, "", "Phone", ""),
    ("2026-02-25", "Contact centre", "phone", 9, 4, 5, "Nairobi", "", ""),
]


def read(pdf: bytes) -> tuple[list[str], str]:
    """The text of each page, and all of it on one line (wrapped cells read as one phrase)."""
    assert pdf.startswith(b"%PDF-")
    pages = [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]
    return pages, " ".join(" ".join(pages).split())


def assert_numbered(pages: list[str], header: str) -> None:
    assert pages
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
        assert FOOTER in text
        assert header in text


def survey_report(survey, **kw) -> tuple[list[str], str]:
    pages, text = read(satisfaction_report_pdf(survey, organisation=ORG, generated_at=GENERATED, **kw))
    assert_numbered(pages, f"{survey.reference} Customer satisfaction report")
    return pages, text


def open_survey(org, **overrides):
    fields = {"title": "Customer satisfaction 2026", "service": "Contact centre", "questions": QUESTIONS}
    fields.update(overrides)
    survey = create_survey(org.quality, **fields)
    fire(survey, "open", org.quality, {})
    return survey


def as_csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["responded_on", "service", "channel", "q1", "q2", "q3", "q4", "q5", "q6"])
    writer.writerows(rows)
    return out.getvalue().encode()


def nps_only(month: str, values: list[int]) -> str:
    return "".join(f"{month}-{day:02d},{value}\n" for day, value in enumerate(values, start=1))


def seeded_survey(org, **overrides):
    survey = open_survey(org, **overrides)
    assert import_responses_csv(survey, org.quality, as_csv(ROWS)) == len(ROWS)
    return survey


def test_satisfaction_report_figures_match_the_services(app, org):
    survey = seeded_survey(org)
    _, text = survey_report(survey)
    overall = survey_measures(survey)

    assert "Customer satisfaction report" in text
    assert survey.reference in text and "Customer satisfaction 2026" in text and "Contact centre" in text
    assert "Open" in text and "Responses dated 2026-01-05 to 2026-02-25" in text
    assert "Interim figures" in text

    # headline figures, with n, margins and the promoter split
    assert overall.responses == 12 and overall.nps.n == 12
    assert f"{len(ROWS)} responses" in text
    assert nps_text(overall.nps) in text
    assert f"{overall.nps.score:+.1f} ±{overall.nps.margin:.1f} (n=12)" in text
    split = f"{overall.nps.promoters} promoters ({100 * overall.nps.promoters / 12:.0f}%)"
    assert split in text and f"{overall.nps.detractors} detractors" in text
    assert csi_text(overall.csi) in text and f"±{overall.csi.margin:.1f}" in text
    assert "Response rate" not in text  # no invitations

    # the trend: both months with n, NPS, CSI, and the fall labelled as noise, not as a fall
    points = trend(survey, "month")
    assert [p.measures.label for p in points] == ["2026-01", "2026-02"]
    january, february = points
    assert january.measures.nps.score == 50.0 and february.measures.nps.score == 16.7
    assert february.nps_noise and february.nps_change == -33.3
    assert f"2026-01 6 {nps_text(january.measures.nps)} — (first period) {csi_text(january.measures.csi)}" in text
    row = (
        f"2026-02 6 {nps_text(february.measures.nps)} -33.3 {WITHIN_NOISE} {csi_text(february.measures.csi)} "
        f"{change_text(february.csi_change, february.csi_noise)}"
    )
    assert row in text
    assert "Fall -33.3" not in text
    assert "2026-01 n=6" in text and "2026-02 n=6" in text  # n under the chart's axis labels
    assert "Latest change 2026-02 against 2026-01: NPS -33.3 within noise" in text

    # SERVQUAL, segments
    assert "SERVQUAL dimensions" in text
    assert f"Assurance {overall.dimensions['assurance']:.1f} 1 12" in text
    for m in segments(survey, "service") + segments(survey, "channel"):
        assert f"{m.label} {m.responses} {nps_text(m.nps)} {csi_text(m.csi)}" in text
    assert "WhatsApp 2 " in text

    # per question: the rating distribution and the choice counts
    assert "Q1. How likely are you to recommend us to a friend?" in text
    assert "Q2. How satisfied are you with our response time?" in text
    assert "Nairobi 6 60%" in text and "Mombasa 4 40%" in text  # 10 answered the single choice
    assert "Phone 5 56%" in text  # 9 answered the multiple choice

    # verbatims printed literally, newest first
    assert "5 comments, newest first" in text
    assert "<script>alert('x')</script> & <b>bold</b> </para>" in text
    assert "Slow, but polite" in text and "Parcel was late" in text

    assert "No rules are set on this survey" in text
    assert "Not analysed yet." in text and "Not yet approved for distribution." in text


def test_a_change_beyond_noise_is_a_fall_and_rule_actions_are_listed(app, org):
    survey = open_survey(org, nps_threshold=50, drop_threshold=20)
    # March: six promoters (NPS +100); April: three promoters, three detractors (NPS 0): beyond noise
    data = "responded_on,q1\n" + nps_only("2026-03", [10] * 6) + nps_only("2026-04", [10, 9, 9, 0, 1, 2])
    import_responses_csv(survey, org.quality, data.encode())
    april = trend(survey)[-1]
    assert april.nps_change == -100.0 and not april.nps_noise
    triggers = triggers_of(survey)
    assert sorted(t.rule for t in triggers) == ["nps_drop", "nps_low"]
    ncs = [db.session.get(Nonconformity, t.nonconformity_id) for t in triggers]
    fire(ncs[0], "reject", org.quality, {"reason": "Seasonal dip"})

    _, text = survey_report(survey)
    assert "Fall -100.0" in text
    assert "NPS below +50; a drop of more than 20 points beyond noise" in text
    assert "Actions taken" in text and "No rule was breached" not in text
    for trigger, nc in zip(triggers, ncs, strict=True):
        assert f"Nonconformity {nc.reference}" in text
        assert trigger.message in text
    assert "NPS below threshold" in text and "NPS drop beyond noise" in text
    assert "Rejected" in text and "Reported" in text  # the NCs' states now
    assert "CSI" in text and "No weighted rating answers" in text  # an NPS-only survey
    assert "The survey asks no free-text question." not in text  # QUESTIONS has one


def test_a_rule_that_opened_a_complaint_is_listed_with_it(app, org):
    survey = open_survey(org, nps_threshold=0, rule_action="complaint")
    import_responses_csv(survey, org.quality, ("responded_on,q1\n" + nps_only("2026-05", [0] * 5)).encode())
    (trigger,) = db.session.scalars(select(RuleTrigger)).all()
    assert trigger.complaint_id is not None
    _, text = survey_report(survey)
    assert "NPS below +0 (per month, at least 5 responses): open a complaint" in text
    assert "Complaint CMP-" in text and "Received" in text


def test_reported_survey_shows_analysis_and_signature(app, org):
    survey = seeded_survey(org)
    fire(survey, "close", org.quality)
    fire(survey, "analyse", org.quality, {"method": "nps", "summary": f"Customers recommend us. {HOSTILE}"})
    fire(survey, "report", org.manager, {"distribution": ["Top management"]}, signature_password=PASSWORD)
    _, text = survey_report(survey, period="quarter")
    assert "Reported" in text and "Interim figures" not in text
    assert "Trend per quarter" in text and "2026-Q1 12" in text
    assert "A single quarter so far: no change to show yet." in text
    assert "Method: Net Promoter Score" in text
    assert f"Customers recommend us. {HOSTILE}" in text
    assert "Approver Manager approved for distribution" in text
    assert "Manager <manager@example.test> — approved for distribution —" in text
    assert "Distributed to: Top management" in text
    assert "Not yet approved for distribution." not in text


def test_response_rate_with_invitations(app, org):
    survey = open_survey(org, invitation_only=True)
    (_, token), _ = create_invitations(survey, org.quality, ["a@example.test", "b@example.test"])
    submit_response(survey, {f"q{survey.questions[0].id}": "9"}, invitation_token=token)
    assert response_rate(survey) == (1, 2, 50.0)
    _, text = survey_report(survey)
    assert "Response rate 50.0% (1 of 2 invitations answered)" in text
    assert "Only 1 response: the figures are indicative only." in text
    assert "+100.0 (n=1, too few for a margin)" in text and "+100.0 ±" not in text
    assert "Fewer than 5 responses: indicative only" in text


def test_empty_surveys_render(app, org):
    survey = open_survey(org)
    pages, text = survey_report(survey)
    assert len(pages) >= 1
    assert text.count(NO_RESPONSES) >= 3  # headline, trend, segments
    assert "No answers yet." in text and "No comments yet." in text
    draft = create_survey(org.quality, title=f"Draft {HOSTILE}")
    _, text = survey_report(draft)
    assert f"Draft {HOSTILE}" in text
    assert "Not opened yet" in text and "The survey has no questions." in text
    assert "The survey asks no free-text question." in text
    with pytest.raises(ValueError):
        satisfaction_report_pdf(survey, period="week")


def test_change_labels():
    assert change_text(None, True, first=True) == "— (first period)"
    assert change_text(-3.0, True) == "-3.0 within noise"
    assert change_text(12.5, False) == "Rise +12.5"
    assert change_text(-8.0, False) == "Fall -8.0"
    assert change_text(0.0, False) == "No change"
    assert change_text(None, True) == "— (no score to compare)"

"""The audit report PDF (ISO 19011 6.5) and the audit programme PDF, read back with pypdf."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from pypdf import PdfReader

from qms.models import RESULTS
from qms.reports.audits import DRAFT_NOTICE, audit_report_pdf, programme_pdf, trend_chart
from qms.services import fire
from qms.services.audits import (
    answer,
    assign_team,
    attach_evidence,
    create_audit,
    create_programme,
    generate_audits,
    score_trend,
    scores,
)
from qms.services.workflow import history_of

from ..conftest import PASSWORD
from ..helpers import PLAN_DAY, audit_in_state, new_process

ORG = "Acme Précision – Works"
GENERATED = dt.datetime(2026, 4, 2, 3, 4, 5, tzinfo=dt.UTC)
FOOTER = "Generated 2026-04-02 03:04 UTC by qmsflow"
HOSTILE = "<script>alert('x')</script> & <b>bold</b> </para>"
SERVICE = "customer-service-standards"


def read(pdf: bytes) -> tuple[list[str], str]:
    """The text of each page, and all of it on one line (wrapped cells read as one phrase)."""
    assert pdf.startswith(b"%PDF-")
    pages = [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]
    return pages, " ".join(" ".join(pages).split())


def assert_numbered(pages: list[str], header: str) -> None:
    assert len(pages) > 0
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
        assert FOOTER in text
        assert header in text


def report(audit, **kw) -> tuple[list[str], str]:
    pages, text = read(audit_report_pdf(audit, ORG, generated_at=GENERATED, **kw))
    assert_numbered(pages, audit.reference)
    return pages, text


def _with_findings(org):
    """An approved audit of clause 8.5 with one finding of each grade, evidence and a file."""
    audit = audit_in_state(org, "in_progress", clauses=("8.5",))
    items = list(audit.items)
    assert len(items) >= 6
    graded = {
        0: ("major", "Work instructions WI-12 missing at station 3 & 4."),
        1: ("minor", "Batch 4711 label lacked the lot number."),
        2: ("observation", "Customer property log kept on paper only."),
        3: ("ofi", "Preservation checks could be scanned."),
        4: ("not_applicable", "No post-delivery activities in scope."),
    }
    for index, item in enumerate(items):
        result, notes = graded.get(index, ("conforming", f"Records sampled for question {index}."))
        answer(item, org.auditor, result=result, notes=notes)
    attach_evidence(items[0], org.auditor, io.BytesIO(b"Station 3 photo notes"), "station-3.txt")
    summary = {"summary": "Production largely conforms; WI control is weak."}
    fire(audit, "draft_report", org.auditor, summary, signature_password=PASSWORD)
    fire(audit, "approve_report", org.manager, signature_password=PASSWORD)
    return audit, items


def test_report_of_audit_with_findings(app, org):
    audit, items = _with_findings(org)
    _, text = report(audit)

    assert "Internal audit report" in text
    assert audit.reference in text and "Production audit" in text
    assert "Report approved" in text and DRAFT_NOTICE not in text
    # summary: process and owner, scope, criteria, dates, team
    for phrase in ("Production (PROD); owner: Owner", "The Production process", "ISO 9001", "8.5", "Auditor"):
        assert phrase in text
    assert "2026-03-16" in text

    # findings by clause, in the standard's document order
    clause_of = {i: item.clause_number for i, item in enumerate(items)}
    headings = [f"Clause {clause_of[i]} " for i in range(4)]
    positions = [text.index(h) for h in dict.fromkeys(headings)]
    assert positions == sorted(positions)
    assert "Clause 8.5.1 Control of production and service provision" in text
    for label in ("Major nonconformity", "Minor nonconformity", "Observation", "Opportunity for improvement"):
        assert label in text
    for index in range(4):
        assert items[index].notes in text
    assert "station-3.txt" in text
    for item in items[:2]:
        assert item.nonconformity is not None
        assert item.nonconformity.reference in text
    assert "Reported" in text  # the state of the NCs
    assert items[2].nonconformity is None

    # the other questions, results and degree of fulfilment
    assert "Conforming and other questions" in text
    assert "No post-delivery activities in scope." in text
    applicable = len(items) - 1
    conforming = applicable - 2
    assert f"{conforming} of {applicable} applicable answers conform ({100 * conforming / applicable:.1f}%)" in text
    assert "1 major nonconformity, 1 minor nonconformity, 1 observation, 1 opportunity for improvement" in text

    assert "Production largely conforms; WI control is weak." in text

    signed = [row for row in history_of(audit) if row.signature_manifest]
    assert [row.event for row in signed] == ["draft_report", "approve_report"]
    assert org.auditor.name in text and "submitted as lead auditor" in text
    assert org.manager.name in text and "approved" in text
    for row in signed:
        assert row.signature_manifest in text
        assert f"{row.signed_at:%Y-%m-%d %H:%M:%S} UTC" in text
    assert "Not yet signed" not in text
    assert "Score per standard" not in text  # only service performance audits are scored


def test_findings_come_before_conclusion_and_signatures(app, org):
    audit, _ = _with_findings(org)
    _, text = report(audit)
    order = ["Audit details", "Results", "Findings by clause", "Conforming and other questions"]
    order += ["Conclusion", "Signatures"]
    assert [text.index(h) for h in order] == sorted(text.index(h) for h in order)


@pytest.mark.parametrize("state", ["report_drafted", "in_progress", "planned"])
def test_unapproved_report_is_marked_draft(app, org, state):
    audit = audit_in_state(org, state)
    pages, text = report(audit)
    for page in pages:
        assert DRAFT_NOTICE in page  # the watermark on every page
    assert f"{DRAFT_NOTICE}: findings and conclusions may still change" in text
    assert "Not yet approved" in text
    if state == "report_drafted":
        assert "submitted as lead auditor" in text and org.auditor.name in text
        assert "The process conforms." in text
        assert "No nonconformities, observations or opportunities for improvement recorded." in text
    else:
        assert "Report not submitted" in text
        assert "No conclusions recorded yet" in text
    if state == "planned":
        assert "The checklist has no questions yet." in text
    if state == "in_progress":
        assert "Not answered" in text and "questions are not answered yet" in text


def test_changes_requested_supersede_the_first_submission(app, org):
    audit = audit_in_state(org, "report_drafted")
    fire(audit, "request_changes", org.manager, {"comments": "Add the sample sizes."})
    fire(audit, "draft_report", org.auditor, {"summary": "Now with sample sizes."}, signature_password=PASSWORD)
    fire(audit, "approve_report", org.manager, signature_password=PASSWORD)
    _, text = report(audit)
    assert "Superseded: changes were requested" in text
    assert text.count("submitted as lead auditor") >= 2
    assert "Now with sample sizes." in text and DRAFT_NOTICE not in text


def test_user_text_is_printed_literally(app, org):
    process = new_process(org, code="HOST")
    audit = create_audit(
        org.quality,
        title=f"Audit {HOSTILE}",
        process_id=process.id,
        clause_numbers=["8.5.1"],
        scope=f"Scope {HOSTILE}",
        objectives="Objectives <i>not italic</i> & more",
        planned_start=PLAN_DAY,
    )
    assign_team(audit, org.quality, lead_auditor_id=org.auditor.id, members=[(org.quality2.id, "observer")])
    fire(audit, "schedule", org.quality, {"planned_start": PLAN_DAY, "planned_end": PLAN_DAY})
    fire(audit, "prepare", org.auditor)
    fire(audit, "start", org.auditor)
    items = list(audit.items)
    answer(items[0], org.auditor, result="major", notes=f"Evidence {HOSTILE}")
    for item in items[1:]:
        answer(item, org.auditor, result="conforming", notes="ok <br/> fine")
    attach_evidence(items[0], org.auditor, io.BytesIO(b"evidence"), "a&b <x>.txt")
    fire(audit, "draft_report", org.auditor, {"summary": f"Summary {HOSTILE}"}, signature_password=PASSWORD)

    _, text = report(audit)
    for phrase in (f"Audit {HOSTILE}", f"Scope {HOSTILE}", f"Evidence {HOSTILE}", f"Summary {HOSTILE}"):
        assert phrase in text
    assert "Objectives <i>not italic</i> & more" in text
    assert "ok <br/> fine" in text
    assert "a&b x.txt" in text  # the stored name drops < and >
    assert "Quality Two — Observer" in text


def _service_audit(org, process, start: dt.date, results: list[str]):
    """A service performance audit of ``process`` conducted with these results, report submitted."""
    audit = create_audit(
        org.quality,
        title=f"Service audit {start:%B}",
        kind="service_performance",
        standard_identifier=SERVICE,
        process_id=process.id,
        clause_numbers=["2"],
        planned_start=start,
    )
    assign_team(audit, org.quality, lead_auditor_id=org.auditor.id)
    fire(audit, "schedule", org.quality, {"planned_start": start, "planned_end": start})
    fire(audit, "prepare", org.auditor)
    fire(audit, "start", org.auditor)
    items = list(audit.items)
    assert len(items) >= len(results)
    for index, item in enumerate(items):
        result = results[index] if index < len(results) else "conforming"
        answer(item, org.auditor, result=result, notes=f"Sampled calls, {result}")
    fire(audit, "draft_report", org.auditor, {"summary": "Service audit done."}, signature_password=PASSWORD)
    return audit


def test_service_performance_report_scores_and_trend(app, org):
    process = new_process(org, code="CS", clauses=("8.2",))
    first = _service_audit(org, process, dt.date(2026, 1, 15), ["minor", "minor", "not_applicable"])
    second = _service_audit(org, process, dt.date(2026, 2, 16), ["minor", "observation"])
    third = _service_audit(org, process, dt.date(2026, 3, 16), ["ofi", "not_applicable"])
    trend = score_trend(third)
    assert [a.id for a, _ in trend] == [first.id, second.id, third.id]

    _, text = report(third)
    assert "Service performance audit report" in text
    assert "Score per standard" in text and "Trend" in text
    (score,) = scores(third)
    assert score.standard_identifier == SERVICE
    assert f"{score.percent:.1f}%" in text
    assert f"{score.conforming} of {score.applicable}" in text and f"n={score.applicable}" in text
    assert "Customer service standards" in text
    # the chart: one bar per audit, labelled with its score and number of answers
    for audit, (found,) in trend:
        assert f"{audit.reference} {audit.planned_start.isoformat()}" in text  # the table row
        assert f"{found.percent:.0f}% (n={found.applicable})" in text  # the bar's label
    assert "Score (% conforming)" in text
    assert "This audit" in text
    assert "No earlier audits" not in text


def test_first_service_performance_audit_starts_the_trend(app, org):
    process = new_process(org, code="CS", clauses=("8.2",))
    audit = _service_audit(org, process, dt.date(2026, 1, 15), [])
    _, text = report(audit)
    assert "100.0%" in text
    assert "No earlier audits of this process against this standard" in text


def test_trend_chart_is_a_reportlab_bar_chart(app, org):
    from reportlab.graphics.charts.barcharts import VerticalBarChart

    process = new_process(org, code="CS", clauses=("8.2",))
    audit = _service_audit(org, process, dt.date(2026, 1, 15), ["major"])
    drawing = trend_chart([(audit, scores(audit)[0])], current_id=audit.id)
    (chart,) = [c for c in drawing.contents if isinstance(c, VerticalBarChart)]
    assert chart.data == [[scores(audit)[0].percent]]


def test_programme_pdf_lists_every_audit(app, org):
    high = new_process(org, code="PROD", risk="high")
    low = new_process(org, code="PUR", risk="low", clauses=("8.4",))
    programme = create_programme(
        org.quality,
        year=2026,
        title="Internal audit programme <2026> & beyond",
        objectives="Verify QMS effectiveness.",
        entries=[{"process_id": high.id}, {"process_id": low.id}],
    )
    audits = generate_audits(programme, org.quality)
    assert len(audits) == 5  # four for high risk, one for low
    assign_team(audits[0], org.quality, lead_auditor_id=org.auditor.id, members=[(org.quality2.id, "auditor")])

    pdf = programme_pdf(programme, ORG, generated_at=GENERATED)
    pages, text = read(pdf)
    assert_numbered(pages, "Audit programme 2026")
    assert "Internal audit programme <2026> & beyond" in text
    assert "Verify QMS effectiveness." in text
    assert "Production (PROD)" in text and "Process PUR (PUR)" in text
    assert "High" in text and "Low" in text
    for audit in audits:
        assert audit.reference in text
        assert audit.planned_start is not None and audit.planned_start.isoformat() in text
        assert f"{audit.planned_start.day} {audit.reference}" in text  # its cell in the month plan
    assert org.auditor.name in text and "Quality Two (auditor)" in text
    assert text.count("Planned") >= len(audits)
    assert "5 in the programme: 0 conducted, 0 cancelled, 5 to come" in text
    for month in ("Jan", "Apr", "Jul", "Oct"):
        assert month in text


def test_empty_programme_pdf(app, org):
    programme = create_programme(org.quality, year=2027, title="Empty")
    pages, text = read(programme_pdf(programme, ORG, generated_at=GENERATED))
    assert_numbered(pages, "Audit programme 2027")
    assert "No processes in this programme." in text
    assert "No audits generated yet." in text


def test_report_defaults_to_the_configured_organisation(app, org):
    app.config["QMS_ORGANISATION"] = "Configured Org Ltd"
    audit = audit_in_state(org, "planned")
    pages, text = read(audit_report_pdf(audit))
    assert "Configured Org Ltd" in text
    assert re.search(r"Page 1 of \d+", pages[0])


def test_every_result_has_a_label_in_the_counts(app, org):
    audit, _ = _with_findings(org)
    _, text = report(audit)
    for label in RESULTS.values():
        assert label in text

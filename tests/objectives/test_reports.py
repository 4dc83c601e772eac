"""The quality objectives plan and status report (PDF)."""

from __future__ import annotations

import datetime as dt

from pypdf import PdfReader

from qms.reports.objectives import objectives_report_pdf
from qms.services.objectives import record_measurement

from .helpers import active_objective, months_ago, new_objective


def _text(data: bytes) -> str:
    import io

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_report_lists_each_objective_with_its_plan_status_and_trend(app, org):
    objective = active_objective(org, title="Deliver <on> time & more")
    for n, value in ((3, 88), (2, 90), (1, 93)):
        record_measurement(objective, org.quality, measured_on=months_ago(n), value=value)
    new_objective(org, title="A draft objective")
    text = _text(objectives_report_pdf(organisation="Acme Doors", today=dt.date.today()))
    assert "Quality objectives: plan and status" in text and "Acme Doors" in text
    assert "Deliver <on> time & more" in text and "A draft objective" in text
    assert "Weekly review of open actions" in text and "Not started" in text
    assert "93 %" in text


def test_an_empty_report_says_so(app, org):
    assert "No quality objectives have been set." in _text(objectives_report_pdf(organisation="Acme"))

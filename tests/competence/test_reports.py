"""The competence matrix (PDF, XLSX) and a person's training record (PDF), read back."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import load_workbook

from qms.reports.competence import matrix_pdf, matrix_xlsx, training_record_pdf
from qms.services import fire
from qms.services.competence import create_job_role, matrix, record_competence, set_profile, training_record
from qms.services.training import raise_need, record_evaluation
from qms.services.users import create_user

from ..conftest import PASSWORD
from ..surveys.test_reports import HOSTILE, ORG, read
from .test_services import held_training, lead_auditing

TODAY = dt.date.today()


def test_training_record_pdf_holds_what_an_auditor_asks(app, org):
    competence = lead_auditing(org)
    amina = create_user("amina@example.test", "Amina Odhiambo", PASSWORD, {"internal_auditor"})
    role = create_job_role(org.quality, name="Internal auditor")
    set_profile(amina, org.quality, job_role_id=role.id, platforms=["facebook", HOSTILE[:50]])
    training = held_training(org, competence, [amina])
    record_evaluation(training, org.quality, user_id=amina.id, score=82)
    fire(training, "evaluate", org.quality, {"evaluated_on": TODAY})
    record_competence(
        amina,
        org.quality,
        title="First aid at work",
        provider="Kenya Red Cross",
        evidence=HOSTILE,
        achieved_on=TODAY - dt.timedelta(days=10),
        expires_on=TODAY + dt.timedelta(days=700),
    )
    raise_need(org.quality, user_id=amina.id, competence_id=competence.id, level="expert", due_date=TODAY)
    pages, text = read(training_record_pdf(training_record(amina), organisation=ORG))
    assert "Page 1 of" in pages[0] and "Training record: Amina Odhiambo" in text
    assert "Internal auditor" in text and "amina@example.test" in text
    assert "Lead auditing (ISO 19011) Practitioner Practitioner" in text and "Met" in text
    assert "Audit role: Lead auditor" in text
    assert "First aid at work" in text and "Kenya Red Cross" in text and HOSTILE in text
    assert training.reference in text and "Effective (score 82)" in text
    assert "Open training needs" in text and "Expert" in text


def test_matrix_pdf_and_xlsx_show_gaps_and_expiries(app, org):
    competence = lead_auditing(org, validity=12)
    record_competence(
        org.auditor,
        org.quality,
        competence_id=competence.id,
        level="practitioner",
        evidence="Course",
        achieved_on=TODAY - dt.timedelta(days=400),
    )
    create_user("amina@example.test", "Amina Odhiambo", PASSWORD, {"internal_auditor"})
    found = matrix()
    _pages, text = read(matrix_pdf(found, organisation=ORG, showing="gaps only"))
    assert "Competence matrix" in text and "Required competences met: 0 of 2 (0%)" in text
    assert "Amina Odhiambo" in text and "—/P GAP" in text
    assert "Auditor" in text and "EXPIRED" in text
    book = load_workbook(io.BytesIO(matrix_xlsx(found)), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:5] == ("Person", "E-mail", "Job role", "Site", "Process")
    assert rows[0][5] == "Lead auditing (ISO 19011)"
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["Amina Odhiambo"][5] == "—/P GAP"
    assert by_name["Auditor"][5].startswith("—/P EXPIRED")

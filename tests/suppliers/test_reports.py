"""The supplier PDFs: the approved supplier list (conditions, expired certificates, escaped text) and a
SCAR with the supplier's answer and the signed verification."""

from __future__ import annotations

import datetime as dt
import io

from pypdf import PdfReader

from qms.reports.suppliers import approved_list_pdf, scar_report_pdf
from qms.services import fire
from qms.services.suppliers import raise_scar, raise_supplier_nc, submit_scar_answer

from ..conftest import PASSWORD
from .builders import TODAY, approved_supplier, new_supplier


def pdf_text(pdf: bytes) -> str:
    """The text of every page, lines joined with spaces (cells wrap)."""
    return " ".join(" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(pdf)).pages)


def test_approved_list_pdf_shows_conditions_and_expired_certificates(app, org):
    approved_supplier(org, name="Kamau <b>Steel</b>")
    other = approved_supplier(org, name="Otieno Fasteners", iso9001_expires_on=TODAY + dt.timedelta(days=1))
    fire(
        other,
        "approve_conditionally",
        org.manager,
        {"conditions": "10 % inspection", "review_by": TODAY},
        signature_password=PASSWORD,
    )
    new_supplier(org, name="Not Listed Ltd")
    text = pdf_text(approved_list_pdf(TODAY + dt.timedelta(days=5), "Acme"))
    assert "10 % inspection" in text and "EXPIRED" in text and "2 suppliers" in text
    assert "Kamau <b>Steel</b>" in text  # printed as typed, not read as markup
    assert "Not Listed Ltd" not in text


def test_scar_pdf_carries_the_answer_and_the_signature(app, org):
    supplier = approved_supplier(org)
    nc = raise_supplier_nc(supplier, org.quality, title="Burrs", description="Edges not deburred")
    scar, token = raise_scar(nc, org.quality, request="Contain and correct")
    submit_scar_answer(
        token, containment="Sorted 400 sheets", root_cause="Worn tool", actions="Tool life", responder="W. Kamau"
    )
    fire(scar, "accept", org.quality, {"verification_due": TODAY})
    fire(scar, "verify", org.manager, {"evidence": "Three lots fine"}, signature_password=PASSWORD)
    text = pdf_text(scar_report_pdf(scar, "Acme"))
    assert "Sorted 400 sheets" in text and "verified effective" in text and scar.reference in text

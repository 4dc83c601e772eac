"""Suppliers: the register, the lifecycle, evaluations and their proposals, deliveries and their CSV
import, the approved list, and SCARs answered through the supplier's link; the NC closes only when
its SCAR is verified."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from qms.database import db
from qms.models import Nonconformity, Scar, Supplier, SupplierDelivery, TransitionHistory
from qms.services import fire
from qms.services.suppliers import (
    add_months,
    approved_list_xlsx,
    approved_suppliers,
    import_deliveries,
    issue_scar_link,
    raise_scar,
    raise_supplier_nc,
    record_delivery,
    record_evaluation,
    submit_scar_answer,
)
from workflows.errors import GuardFailed, InvalidData, InvalidTransition, NotPermitted

from ..conftest import PASSWORD
from .builders import TODAY, approved_supplier, new_supplier


def test_a_new_supplier_is_prospective_and_validated(app, org):
    supplier = new_supplier(org)
    assert supplier.state == "prospective" and supplier.reference.startswith("SUP-")
    assert supplier.owner_id == org.quality.id
    with pytest.raises(InvalidData) as exc:
        new_supplier(org, name="", criticality="vital", contact_email="nope", iso9001_expires_on="soon")
    assert set(exc.value.errors) == {"name", "criticality", "contact_email", "iso9001_expires_on"}
    with pytest.raises(InvalidData) as exc:
        new_supplier(org, iso9001_expires_on=None)
    assert "iso9001_expires_on" in exc.value.errors
    with pytest.raises(NotPermitted):
        from qms.services.suppliers import create_supplier

        create_supplier(org.viewer, name="X", supplies="Y", criticality="low")


def test_approval_needs_an_evaluation_and_a_signature(app, org):
    supplier = new_supplier(org)
    fire(supplier, "start_evaluation", org.quality)
    with pytest.raises(GuardFailed, match="Record an evaluation"):
        fire(supplier, "approve", org.manager, {"scope": "Steel"}, signature_password=PASSWORD)
    record_evaluation(
        supplier, org.quality, period_start=TODAY - dt.timedelta(days=30), period_end=TODAY, price=90, service=80
    )
    with pytest.raises(InvalidData):
        fire(supplier, "approve", org.manager, {"scope": "Steel"}, signature_password="wrong")
    history = fire(supplier, "approve", org.manager, {"scope": "Steel"}, signature_password=PASSWORD)
    assert history.signature_meaning == "approved" and supplier.state == "approved"
    assert [s.id for s in approved_suppliers()] == [supplier.id]
    assert supplier.next_evaluation_due == add_months(TODAY, 6)  # high criticality: every six months


def test_evaluation_computes_quality_delivery_and_certification(app, org):
    supplier = new_supplier(org, criticality="medium")
    fire(supplier, "start_evaluation", org.quality)
    record_delivery(
        supplier,
        org.owner,
        order_reference="PO-1",
        due_on=TODAY - dt.timedelta(days=10),
        delivered_on=TODAY - dt.timedelta(days=11),
    )
    record_delivery(
        supplier,
        org.owner,
        order_reference="PO-2",
        due_on=TODAY - dt.timedelta(days=10),
        delivered_on=TODAY - dt.timedelta(days=5),
    )
    nc = raise_supplier_nc(
        supplier, org.quality, title="Sheet thickness 1.0 mm", description="Batch 88 measured 1.0 mm"
    )
    fire(nc, "triage", org.quality, {"severity": "major"})
    evaluation = record_evaluation(
        supplier, org.quality, period_start=TODAY - dt.timedelta(days=90), period_end=TODAY, price=80, service=60
    )
    assert evaluation.scores == {
        "price": 80.0,
        "service": 60.0,
        "quality": 75.0,
        "delivery": 50.0,
        "certification": 100.0,
    }
    assert evaluation.basis["nonconformities"] == {"major": 1} and evaluation.basis["on_time"] == 1
    # 75*40 + 50*25 + 80*10 + 60*15 + 100*10 = 6950 → 69.5
    assert evaluation.total == 69.5 and supplier.score == 69.5
    assert supplier.next_evaluation_due is not None and supplier.last_evaluated_on == TODAY
    with pytest.raises(InvalidData) as exc:
        record_evaluation(
            supplier, org.quality, period_start=TODAY, period_end=TODAY - dt.timedelta(days=1), price=101, service="x"
        )
    assert set(exc.value.errors) == {"period_end", "price", "service"}
    with pytest.raises(NotPermitted):
        record_evaluation(supplier, org.owner, period_start=TODAY, period_end=TODAY, price=1, service=1)


def test_a_falling_score_proposes_a_status_change(app, org):
    supplier = approved_supplier(org)
    assert supplier.score == 100.0 and supplier.proposed_state is None
    nc = raise_supplier_nc(supplier, org.quality, title="Rust on delivery", description="Sheets rusty")
    assert supplier.score == 96.0  # an ungraded NC counts as a minor: quality 90
    fire(nc, "triage", org.quality, {"severity": "major"})
    db.session.refresh(supplier)
    assert supplier.score == 90.0 and supplier.proposed_state is None
    rejected = raise_supplier_nc(supplier, org.quality, title="Not theirs", description="Our own handling damage")
    assert supplier.score == 86.0
    fire(rejected, "reject", org.quality, {"reason": "Damaged in our store, not by the supplier"})
    db.session.refresh(supplier)
    assert supplier.score == 90.0  # a rejected NC does not count
    for i in range(2):
        more = raise_supplier_nc(supplier, org.quality, title=f"Wrong grade {i}", description="Grade S235 not S355")
        fire(more, "triage", org.quality, {"severity": "major"})
    db.session.refresh(supplier)
    assert supplier.score == 70.0
    assert supplier.proposed_state == "conditionally_approved"
    assert "fell from" in supplier.proposal_reason and "3 major" in supplier.proposal_reason
    fire(
        supplier,
        "approve_conditionally",
        org.manager,
        {"conditions": "100 % inspection", "review_by": TODAY},
        signature_password=PASSWORD,
    )
    assert supplier.proposed_state is None and supplier.conditions == "100 % inspection"


def test_csv_import_is_all_or_nothing_and_names_line_and_column(app, org):
    supplier = new_supplier(org)
    bad = (
        "order_reference,due_on,delivered_on\n"
        "PO-1,2026-01-10,2026-01-09\nPO-2,10/01/2026,2026-01-12\nPO-1,2026-01-10,\n"
    )
    with pytest.raises(InvalidData) as exc:
        import_deliveries(supplier, org.owner, bad.encode())
    message = exc.value.errors["file"]
    assert "line 3, column due_on: must be a date" in message
    assert "line 4, column order_reference: PO-1 is already on line 2" in message
    assert "line 4, column delivered_on: is required" in message
    assert db.session.query(SupplierDelivery).count() == 0
    with pytest.raises(InvalidData, match="header"):
        import_deliveries(supplier, org.owner, b"order,due\n1,2\n")
    good = "order_reference,due_on,delivered_on\nPO-1,2026-01-10,2026-01-09\nPO-2,2026-01-10,2026-01-12\n"
    assert import_deliveries(supplier, org.owner, good.encode()) == 2
    with pytest.raises(InvalidData, match="line 2, column order_reference: PO-1 is already recorded"):
        import_deliveries(supplier, org.owner, good.encode())
    with pytest.raises(NotPermitted):
        import_deliveries(supplier, org.viewer, good.encode())


def test_approved_list_spreadsheet_keeps_formulas_as_text(app, org):
    import io

    from openpyxl import load_workbook

    approved_supplier(org, name='=HYPERLINK("http://evil")')
    new_supplier(org, name="Prospect Ltd")
    book = load_workbook(io.BytesIO(approved_list_xlsx(TODAY, "Acme")))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[2][1] == '\'=HYPERLINK("http://evil")'
    assert len(rows) == 3  # title, header, one approved supplier


def test_scar_answered_through_the_link_once_then_accepted_and_verified(app, org):
    supplier = approved_supplier(org)
    nc = raise_supplier_nc(supplier, org.quality, title="Burrs on edges", description="Edges not deburred")
    with pytest.raises(InvalidData):
        raise_scar(nc, org.quality, request="")
    with pytest.raises(NotPermitted):
        raise_scar(nc, org.owner, request="Fix it")
    scar, token = raise_scar(nc, org.quality, request="Contain the stock and tell us the root cause")
    assert scar.state == "awaiting_response" and scar.token_hash != token and len(token) >= 40
    with pytest.raises(InvalidData, match="already has an open"):
        raise_scar(nc, org.quality, request="Again")
    with pytest.raises(NotPermitted):
        submit_scar_answer("forged", containment="x", root_cause="y", actions="z", responder="n")
    answer = {
        "containment": "Stock sorted",
        "root_cause": "Worn tool",
        "actions": "Tool life monitored",
        "responder": "W. Kamau, QA",
    }
    submit_scar_answer(token, **answer)
    assert scar.state == "answered" and scar.answered_through_link and scar.rounds == 1
    row = db.session.scalars(select(TransitionHistory).where(TransitionHistory.lifecycle == "scar")).all()[-1]
    assert row.actor_id is None and "Kamau Steel Ltd" in row.actor_name
    with pytest.raises(InvalidTransition):
        submit_scar_answer(token, **answer)
    fire(scar, "return_answer", org.quality, {"reason": "Give dates for the actions"})
    assert scar.state == "awaiting_response" and scar.token_hash is None
    token2 = issue_scar_link(scar, org.quality)
    with pytest.raises(NotPermitted):
        submit_scar_answer(token, **answer)
    submit_scar_answer(token2, **{**answer, "actions": "Tool life monitored from 1 March"})
    assert scar.rounds == 2 and scar.actions == "Tool life monitored from 1 March"
    with pytest.raises(InvalidData, match="cannot be in the past"):
        fire(scar, "accept", org.quality, {"verification_due": TODAY - dt.timedelta(days=1)})
    fire(scar, "accept", org.quality, {"verification_due": TODAY + dt.timedelta(days=30)})
    with pytest.raises(GuardFailed, match="not due until"):
        fire(scar, "verify", org.manager, {"evidence": "ok"}, signature_password=PASSWORD)


def test_nc_closes_only_when_its_scar_is_verified(app, org):
    supplier = approved_supplier(org)
    nc = raise_supplier_nc(supplier, org.quality, title="Late certificate", description="No 3.1 certificate")
    scar, token = raise_scar(nc, org.quality, request="Send the certificates")
    fire(nc, "triage", org.quality, {"severity": "observation"})
    with pytest.raises(GuardFailed, match="supplier corrective action request is not yet verified"):
        fire(nc, "close_observation", org.manager, {"justification": "Minor"}, signature_password=PASSWORD)
    submit_scar_answer(token, containment="Sent", root_cause="Forgot", actions="Checklist", responder="QA")
    fire(scar, "accept", org.quality, {"verification_due": TODAY})
    fire(scar, "verify", org.auditor, {"evidence": "Next 3 deliveries had certificates"}, signature_password=PASSWORD)
    assert scar.state == "verified"
    fire(nc, "close_observation", org.manager, {"justification": "Minor"}, signature_password=PASSWORD)
    assert nc.state == "closed"


def test_scar_only_for_a_supplier_nc(app, org):
    from ..helpers import new_nc

    nc = new_nc(org)
    with pytest.raises(InvalidData, match="not against a supplier"):
        raise_scar(nc, org.quality, request="Fix it")
    supplier = new_supplier(org)
    with pytest.raises(InvalidData) as exc:
        from qms.services.nonconformities import raise_nonconformity

        raise_nonconformity(org.quality, title="T", description="D", source="internal_audit", supplier_id=supplier.id)
    assert "supplier_id" in exc.value.errors
    assert db.session.scalar(select(Nonconformity.id).where(Nonconformity.supplier_id == supplier.id)) is None
    assert db.session.query(Scar).count() == 0 and db.session.query(Supplier).count() == 1


def test_a_concurrent_duplicate_is_a_conflict_not_a_server_error(app, org, monkeypatch):
    from qms.services import suppliers as service
    from workflows.errors import Conflict

    supplier = new_supplier(org)
    record_delivery(supplier, org.owner, order_reference="PO-1", due_on=TODAY, delivered_on=TODAY)
    # as if another request had recorded PO-1 between our check and our commit
    monkeypatch.setattr(service, "_existing_orders", lambda supplier, references: set())
    with pytest.raises(Conflict, match="saved at the same time"):
        record_delivery(supplier, org.owner, order_reference="PO-1", due_on=TODAY, delivered_on=TODAY)
    assert db.session.query(SupplierDelivery).count() == 1

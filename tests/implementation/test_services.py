"""The QMS implementation board through the services: building it, evidence, the lifecycle's guards."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from qms.database import db
from qms.models import ImplementationItem
from qms.services import available_events_many, fire, history_of
from qms.services.audits import save_process
from qms.services.documents import create_document
from qms.services.implementation import (
    add_evidence,
    board,
    board_summary,
    build_board,
    clause_item,
    item_for_process,
    remove_evidence,
)
from qms.services.users import create_user
from workflows.errors import GuardFailed, InvalidData, InvalidTransition, NotPermitted

from ..conftest import PASSWORD
from ..helpers import audit_in_state, new_nc, new_process

#: ISO 9001:2015 has 28 clauses two levels deep (4.1 … 10.3)
CLAUSES = 28


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(ImplementationItem))


def procedure(org, **fields):
    values = {"title": "Production control", "doc_type": "procedure", "owner_id": org.owner.id, "process": "Production"}
    values.update(fields)
    return create_document(org.quality, **values)


def test_build_board_adds_every_process_and_clause_once(org):
    production = new_process(org)
    save_process(org.quality, name="Old workshop", code="OLD", active=False)
    for who in (org.viewer, org.owner, org.auditor):
        with pytest.raises(NotPermitted):
            build_board(who)
    with pytest.raises(InvalidData) as bad:
        build_board(org.quality, standard_identifier="iso-9001-1987", depth=9)
    assert set(bad.value.errors) == {"standard_identifier", "depth"}
    assert build_board(org.quality) == CLAUSES + 1
    assert build_board(org.manager) == 0  # idempotent
    assert count() == CLAUSES + 1
    item = item_for_process(production)
    assert item is not None and item.state == "planned" and item.owner_id == org.owner.id
    assert clause_item("9.2") is not None and clause_item("9.2.1") is None
    new_process(org, code="PUR")
    assert build_board(org.quality) == 1
    assert build_board(org.quality, depth=1) == 7  # chapters 4 … 10
    columns = board()
    assert list(columns)[:5] == ["planned", "documented", "implemented", "monitored", "effective"]
    planned = columns["planned"]
    assert [i.process.name for i in planned[:2]] == ["Process PUR", "Production"]  # processes first, by name
    assert [i.clause_number for i in planned[2:5]] == ["4", "4.1", "4.2"]  # then the standard's order
    summary = board_summary(columns)
    assert summary.total == CLAUSES + 2 + 7 and summary.effective == 0 and summary.percent_effective == 0.0
    assert board_summary({}).percent_effective is None


def test_evidence_is_validated(org):
    production = new_process(org)
    build_board(org.quality)
    item = item_for_process(production)
    doc = procedure(org)
    audit = audit_in_state(org, "planned", process=production)
    nc = new_nc(org)
    for kind, ref in (
        ("photo", "1"),
        ("document", 999_999),
        ("audit", "abc"),
        ("nonconformity", None),
        ("document", "²"),
    ):
        with pytest.raises(InvalidData) as bad:
            add_evidence(item, org.quality, kind=kind, ref=ref)
        assert set(bad.value.errors) == {"kind" if kind == "photo" else "ref"}
    for url in ("javascript:alert(1)", "ftp://files.example.test/a", "https://", "", "x" * 600):
        with pytest.raises(InvalidData) as bad:
            add_evidence(item, org.quality, kind="url", ref=url)
        assert set(bad.value.errors) == {"ref"}
    assert add_evidence(item, org.quality, kind="document", ref=doc.id) == {
        "kind": "document",
        "ref": str(doc.id),
        "label": f"{doc.number} Production control",
    }
    add_evidence(item, org.owner, kind="audit", ref=str(audit.id))  # the process owner on their own item
    add_evidence(item, org.quality, kind="nonconformity", ref=nc.id, label="The calibration NC")
    add_evidence(item, org.quality, kind="url", ref="https://intranet.example.test/kpi")
    with pytest.raises(InvalidData) as bad:
        add_evidence(item, org.quality, kind="document", ref=str(doc.id))
    assert bad.value.errors == {"ref": "is already linked as evidence"}
    assert [e["kind"] for e in item.evidence] == ["document", "audit", "nonconformity", "url"]
    assert item.evidence[2]["label"] == "The calibration NC"
    other_owner = create_user("owner2@example.test", "Other Owner", PASSWORD, {"process_owner"})
    with pytest.raises(NotPermitted):
        add_evidence(item, other_owner, kind="url", ref="https://example.test")
    with pytest.raises(NotPermitted):
        add_evidence(clause_item("8.5"), org.owner, kind="url", ref="https://example.test")  # owns no clause
    with pytest.raises(NotPermitted):
        remove_evidence(item, org.viewer, 0)
    for index in (4, -1, "x", None):
        with pytest.raises(InvalidData) as bad:
            remove_evidence(item, org.quality, index)
        assert set(bad.value.errors) == {"index"}
    remove_evidence(item, org.quality, 1)
    assert [e["kind"] for e in item.evidence] == ["document", "nonconformity", "url"]
    fire(item, "retire", org.manager, {"reason": "Process outsourced"})
    with pytest.raises(InvalidTransition):
        add_evidence(item, org.quality, kind="url", ref="https://example.test")


def _to_monitored(org, item, doc) -> None:
    with pytest.raises(GuardFailed) as exc:
        fire(item, "document", org.owner)
    assert exc.value.reason == "Add at least one controlled document linked as evidence first"
    add_evidence(item, org.quality, kind="url", ref="https://intranet.example.test/flow")  # not a document
    with pytest.raises(GuardFailed):
        fire(item, "document", org.quality)
    add_evidence(item, org.quality, kind="document", ref=doc.id)
    fire(item, "document", org.quality)
    fire(item, "implement", org.quality, {"implementation": "Travellers filled in on every job"})
    fire(item, "monitor", org.quality, {"monitoring": "Scrap rate weekly"})
    assert item.state == "monitored"


def test_a_process_is_effective_only_after_an_audit_and_with_no_open_major_nc(org):
    production = new_process(org)
    build_board(org.quality)
    item = item_for_process(production)
    _to_monitored(org, item, procedure(org))
    with pytest.raises(GuardFailed) as exc:
        fire(item, "confirm_effective", org.manager, {"evidence": "Audit"}, signature_password=PASSWORD)
    assert exc.value.reason.startswith("Add at least one completed internal audit covering it first")
    audit_in_state(org, "report_drafted", process=production)  # not yet approved: does not count
    available = {a.name: a for a in available_events_many([item], org.manager)[item.id]}
    assert not available["confirm_effective"].allowed
    audit = audit_in_state(org, "report_approved", process=production)
    major = new_nc(org)  # process Production
    fire(major, "triage", org.quality, {"severity": "major"})
    with pytest.raises(GuardFailed) as exc:
        fire(
            item,
            "confirm_effective",
            org.manager,
            {"evidence": f"Audit {audit.reference}"},
            signature_password=PASSWORD,
        )
    assert exc.value.reason == "1 major nonconformity against it is still open"
    fire(major, "reject", org.quality, {"reason": "Duplicate of an earlier report"})
    with pytest.raises(NotPermitted):
        fire(item, "confirm_effective", org.owner, {"evidence": "x"}, signature_password=PASSWORD)
    fire(item, "confirm_effective", org.manager, {"evidence": f"Audit {audit.reference}"}, signature_password=PASSWORD)
    assert item.state == "effective"
    assert history_of(item)[-1].signature_meaning == "confirmed effective"
    summary = board_summary(board())
    assert summary.effective == 1 and summary.percent_effective == round(100 / (CLAUSES + 1), 1)
    fire(item, "reopen", org.quality, {"reason": "Audit found scrap rising"})
    assert item.state == "implemented"


def test_a_clause_counts_audits_and_major_ncs_on_it_and_its_sub_clauses(org):
    production = new_process(org)
    build_board(org.quality)
    operation, resources, audit_clause = clause_item("8.5"), clause_item("7.1"), clause_item("9.2")
    doc = procedure(org, clause_refs=["8.5.1"])
    for item in (operation, resources):
        _to_monitored(org, item, doc)
    audit_in_state(org, "closed", process=production, clauses=("8.5", "7.1"))
    major = new_nc(org, process="", clause_refs=["7.1.5.2"])
    fire(major, "triage", org.quality, {"severity": "major"})
    minor = new_nc(org, process="", clause_refs=["8.5.1"])
    fire(minor, "triage", org.quality, {"severity": "minor"})
    facts = available_events_many([operation, resources, audit_clause], org.manager)
    assert {a.name: a.allowed for a in facts[operation.id]}["confirm_effective"]
    blocked = {a.name: a for a in facts[resources.id]}["confirm_effective"]
    assert blocked.reason == "1 major nonconformity against it is still open"
    fire(operation, "confirm_effective", org.quality, {"evidence": "Clean audit"}, signature_password=PASSWORD)
    with pytest.raises(GuardFailed):
        fire(resources, "confirm_effective", org.quality, {"evidence": "x"}, signature_password=PASSWORD)
    assert not {a.name: a.allowed for a in facts[audit_clause.id]}["document"]  # no evidence on 9.2

"""The demo audits: sites, processes, this year's programme and audits at several stages."""

from __future__ import annotations

import datetime as dt

from ..services import audits, fire
from .users import DEMO_PASSWORD

_PROCESSES = (
    # name, code, owner, risk, clauses addressed
    ("Production", "PROD", "owner", "high", ["7.1", "8.5", "8.6", "8.7"]),
    ("Purchasing", "PURCH", "owner", "medium", ["8.4"]),
    ("Sales and customer service", "SALES", "manager", "medium", ["8.2", "9.1"]),
    ("Quality management", "QM", "quality", "low", ["4.4", "6.1", "7.5", "9.2", "9.3", "10.2"]),
    ("Human resources", "HR", "manager", "low", ["7.1", "7.2", "7.3"]),
)


def _seed_audits(users: dict, today: dt.date) -> int:
    """Sites, processes, this year's programme and audits at several stages (one with findings)."""
    qo, mgr, auditor, auditor2 = users["quality"], users["manager"], users["auditor"], users["auditor2"]
    site = audits.create_site(qo, name="Nairobi plant", code="NBO", address="Enterprise Road, Nairobi")
    audits.create_site(qo, name="Mombasa depot", code="MBA", address="Port Reitz Road, Mombasa")
    processes = [
        audits.save_process(
            qo, name=name, code=code, owner_id=users[owner].id, site_id=site.id, risk=risk, clause_numbers=clauses
        )
        for name, code, owner, risk, clauses in _PROCESSES
    ]
    programme = audits.create_programme(
        qo,
        year=today.year,
        site_id=site.id,
        title=f"Internal audit programme {today.year} — Nairobi plant",
        objectives="Cover every process and clause of ISO 9001:2015 in the year, high-risk processes quarterly.",
        entries=[{"process_id": p.id} for p in processes],
    )
    generated = audits.generate_audits(programme, qo)
    # the first audit of Production and Purchasing: one finished with a finding, one on site now
    production, purchasing = (next(a for a in generated if a.process_id == p.id) for p in processes[:2])
    start = today - dt.timedelta(days=20)
    for audit, lead in ((production, auditor), (purchasing, auditor2)):
        audits.assign_team(audit, qo, lead_auditor_id=lead.id)
        fire(audit, "schedule", qo, {"planned_start": start.isoformat(), "planned_end": start.isoformat()})
        fire(audit, "prepare", lead)
        fire(audit, "start", lead)
    for index, item in enumerate(production.items):
        if index == 1:
            audits.answer(item, auditor, result="minor", notes="Two traveller cards on line 3 were not signed off.")
        elif index == 2:
            audits.answer(item, auditor, result="ofi", notes="Visual boards could show the daily yield.")
        else:
            audits.answer(item, auditor, result="conforming", notes="Records sampled; complete.")
    fire(
        production,
        "draft_report",
        auditor,
        {"summary": "The process is effective; one minor finding on sign-off of traveller cards."},
        signature_password=DEMO_PASSWORD,
    )
    fire(production, "approve_report", mgr, signature_password=DEMO_PASSWORD)
    fire(production, "start_follow_up", qo)
    for item in purchasing.items[:2]:
        audits.answer(item, auditor2, result="conforming", notes="Approved supplier list current.")
    # a service performance audit of the customer service standards, planned next month
    service = audits.create_audit(
        qo,
        title="Service performance audit — customer contact centre",
        kind="service_performance",
        standard_identifier=_service_standard(),
        process_id=processes[2].id,
        site_id=site.id,
        planned_start=today + dt.timedelta(days=30),
    )
    audits.assign_team(service, qo, lead_auditor_id=auditor2.id, members=[(auditor.id, "auditor")])
    return len(generated) + 1


def _service_standard() -> str:
    from ..services.standards import find_standard

    try:
        return find_standard("customer-service-standards").identifier
    except KeyError:
        return "iso-9001-2015"

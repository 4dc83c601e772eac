"""The demo audits: sites, processes, this year's programme and audits at several stages."""

from __future__ import annotations

import datetime as dt

from ..database import as_of
from ..services import audits, fire
from .users import DEMO_PASSWORD

_PROCESSES = (
    # name, code, owner, risk, clauses addressed
    ("Production", "PROD", "owner", "high", ["7.1", "8.5", "8.6", "8.7"]),
    ("Purchasing", "PURCH", "owner", "medium", ["8.4"]),
    ("Sales and customer service", "SALES", "manager", "medium", ["8.2", "9.1"]),
    ("Quality management", "QM", "quality", "low", ["4.4", "6.1", "7.5", "9.2", "9.3", "10.2"]),
    ("Human resources", "HR", "manager", "low", ["7.1", "7.2", "7.3"]),
    (
        "Leadership and planning",
        "LEAD",
        "manager",
        "high",
        ["4.1", "4.2", "4.3", "5.1", "5.2", "5.3", "6.2", "6.3", "7.4", "8.1", "8.3", "10.1", "10.3"],
    ),
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
    leads = (auditor, auditor2)
    # this quarter's: one on site for each demo auditor (the last of the year of production and of
    # purchasing), the production audit with a minor finding
    production, purchasing = (
        max((a for a in generated if a.process_id == p.id), key=lambda a: (a.planned_start or today, a.id))
        for p in processes[:2]
    )
    # this year's other audits already due are done: held on their dates, reported, approved and closed
    past = [
        a
        for a in generated
        if a not in (production, purchasing) and a.planned_start and a.planned_start < today - dt.timedelta(days=30)
    ]
    for index, audit in enumerate(past):
        _held_and_closed(audit, leads[index % 2], qo, mgr)
    start = today - dt.timedelta(days=3)
    for audit, lead in ((production, auditor), (purchasing, auditor2)):
        with as_of(_moment(start - dt.timedelta(days=14))):
            audits.assign_team(audit, qo, lead_auditor_id=lead.id)
            fire(audit, "schedule", qo, {"planned_start": start.isoformat(), "planned_end": start.isoformat()})
        with as_of(_moment(start - dt.timedelta(days=2))):
            fire(audit, "prepare", lead)
        with as_of(_moment(start)):
            fire(audit, "start", lead)
    with as_of(_moment(start, 11)):
        for index, item in enumerate(production.items[:3]):
            if index == 1:
                audits.answer(item, auditor, result="minor", notes="Two traveller cards on line 3 were not signed off.")
            elif index == 2:
                audits.answer(item, auditor, result="ofi", notes="Visual boards could show the daily yield.")
            else:
                audits.answer(item, auditor, result="conforming", notes="Records sampled; complete.")
        for item in purchasing.items[:2]:
            audits.answer(item, auditor2, result="conforming", notes="Approved supplier list current.")
    # next year's programme, its first audits planned with their teams
    following = audits.create_programme(
        qo,
        year=today.year + 1,
        site_id=site.id,
        title=f"Internal audit programme {today.year + 1} — Nairobi plant",
        objectives=(
            "Cover every process and clause in the year, high-risk processes quarterly; "
            "the 2026 edition's new clauses from the second quarter."
        ),
        entries=[{"process_id": p.id} for p in processes],
    )
    for index, audit in enumerate(audits.generate_audits(following, qo)[:4]):
        audits.assign_team(audit, qo, lead_auditor_id=leads[index % 2].id)
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


def _moment(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def _held_and_closed(audit, lead, qo, mgr) -> None:
    """An audit replayed on its dates: scheduled, prepared, held (every question answered), reported,
    approved, followed up and closed."""
    day = audit.planned_start
    with as_of(_moment(day - dt.timedelta(days=21))):
        audits.assign_team(audit, qo, lead_auditor_id=lead.id)
        fire(audit, "schedule", qo, {"planned_start": day.isoformat(), "planned_end": day.isoformat()})
    with as_of(_moment(day - dt.timedelta(days=3))):
        fire(audit, "prepare", lead)
    with as_of(_moment(day)):
        fire(audit, "start", lead)
    with as_of(_moment(day, 15)):
        for index, item in enumerate(audit.items):
            if index == 2:
                audits.answer(item, lead, result="ofi", notes="Could be simpler; see the report.")
            else:
                audits.answer(item, lead, result="conforming", notes="Records sampled; complete and current.")
    with as_of(_moment(day + dt.timedelta(days=2))):
        fire(
            audit,
            "draft_report",
            lead,
            {"summary": "The process conforms and is effective; one opportunity for improvement."},
            signature_password=DEMO_PASSWORD,
        )
    with as_of(_moment(day + dt.timedelta(days=5))):
        fire(audit, "approve_report", mgr, signature_password=DEMO_PASSWORD)
        fire(audit, "start_follow_up", qo)
    with as_of(_moment(day + dt.timedelta(days=12))):
        fire(audit, "close", qo)


def _service_standard() -> str:
    from ..services.standards import find_standard

    try:
        return find_standard("customer-service-standards").identifier
    except KeyError:
        return "iso-9001-2015"

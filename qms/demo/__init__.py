"""A small, believable demo organisation: users of every role and NCs at every stage.

Everything goes through the services, so the demo history, signatures and
audit trail are exactly what real use produces.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..services import audits, certifications, complaints, fire, implementation, reviews, surveys
from ..services.nonconformities import add_corrective_action, raise_nonconformity
from ..services.users import create_user

DEMO_PASSWORD = "demo-password"
DEMO_USERS = (
    ("admin@example.com", "Amina Admin", ("admin",)),
    ("manager@example.com", "Moses Manager", ("manager",)),
    ("quality@example.com", "Grace Quality", ("quality_officer",)),
    ("quality2@example.com", "Peter Quality", ("quality_officer",)),
    ("auditor@example.com", "Ali Auditor", ("internal_auditor",)),
    ("auditor2@example.com", "Sara Auditor", ("internal_auditor",)),
    ("owner@example.com", "Olivia Owner", ("process_owner",)),
    ("viewer@example.com", "Victor Viewer", ("viewer",)),
)

_NCS = (
    ("Calibration overdue on torque wrench TW-14", "process_monitoring", "Production", ["7.1.5.2"]),
    ("Customer order shipped with wrong revision of manual", "customer_complaint", "Dispatch", ["8.5.2", "7.5.3"]),
    ("Supplier certificate of conformity missing for lot 2291", "supplier", "Purchasing", ["8.4.1"]),
    ("Training records incomplete for two new operators", "internal_audit", "Human resources", ["7.2"]),
    ("Quality objectives not communicated on the shop floor", "external_audit", "Management", ["6.2.1", "7.3"]),
    ("Complaint response exceeded 5-day target", "survey", "Customer service", ["9.1.2"]),
    ("Obsolete work instruction found at assembly station 3", "internal_audit", "Assembly", ["7.5.3"]),
    ("Nonconforming batch released before inspection sign-off", "process_monitoring", "Quality control", ["8.6"]),
)


def seed_demo(today: dt.date | None = None) -> str:
    today = today or dt.date.today()
    users = {
        email.split("@")[0]: create_user(email, name, DEMO_PASSWORD, set(roles)) for email, name, roles in DEMO_USERS
    }
    qo, qo2, mgr, owner, auditor = (
        users["quality"],
        users["quality2"],
        users["manager"],
        users["owner"],
        users["auditor"],
    )
    # the certification history comes first: its stage 2 happened before today's open major NCs
    certification_count = _seed_certifications(users, today)
    ncs = [
        raise_nonconformity(
            qo if i % 2 else auditor,
            title=title,
            description=f"{title}. Found during routine work; details and evidence attached by the reporter.",
            source=source,
            process=process,
            clause_refs=clauses,
            detected_on=today - dt.timedelta(days=40 - 4 * i),
        )
        for i, (title, source, process, clauses) in enumerate(_NCS)
    ]
    # Walk the NCs to different stages so every page has something to show.
    stages = [0, 1, 2, 3, 4, 5, 6, 7]
    for nc, stage in zip(ncs, stages, strict=True):
        if stage >= 1:
            fire(nc, "triage", qo, {"severity": ("major", "minor")[stage % 2]})
        if stage >= 2:
            fire(nc, "contain", owner, {"containment": "Affected items quarantined and labelled.", "correction": ""})
        if stage >= 3:
            fire(
                nc,
                "analyse_root_cause",
                qo,
                {
                    "method": "five_whys",
                    "root_cause": "No reminder when a periodic task falls due.",
                    "whys": ["Task missed", "Not in schedule", "Schedule kept by hand", "No system reminder"],
                },
            )
        if stage >= 4:
            add_corrective_action(
                nc,
                qo,
                title="Add the task to the maintained schedule with reminders",
                owner_id=owner.id,
                due_date=today + dt.timedelta(days=14),
            )
            # planned 40 days ago with the effectiveness check due yesterday
            fire(
                nc,
                "plan_actions",
                qo,
                {"verification_due": (today - dt.timedelta(days=1)).isoformat()},
                today=today - dt.timedelta(days=40),
            )
        if stage >= 5:
            action = nc.actions[0]
            fire(action, "start", owner)
            fire(action, "implement", owner, {"implementation": "Schedule updated; reminders configured."})
            fire(nc, "complete_actions", qo)
        if stage >= 6:
            fire(
                nc.actions[0],
                "verify",
                qo2,
                {"verification": "Checked three cycles."},
                signature_password=DEMO_PASSWORD,
            )
            fire(
                nc,
                "verify_effectiveness",
                mgr,
                {"evidence": "No recurrence in 30 days."},
                signature_password=DEMO_PASSWORD,
            )
        if stage >= 7:
            fire(nc, "close", mgr, signature_password=DEMO_PASSWORD)
    audit_count = _seed_audits(users, today)
    responses, complaint_count = _seed_customers(users, today)
    review_count = _seed_reviews(users, today)
    return (
        f"Loaded {len(users)} demo users, {len(ncs)} nonconformities, {audit_count} audits, {review_count} reviews, "
        f"{responses} survey responses, {complaint_count} complaints and {certification_count} certifications."
    )


def _seed_certifications(users: dict, today: dt.date) -> int:
    """A KEBS certificate in its second year with a surveillance audit, and an SGS application in stage 1."""
    from ..database import db
    from ..models import CertificationBody
    from ..services.audit_trail import recorded_change

    qo, mgr = users["quality"], users["manager"]
    with recorded_change(None, "certification body profiles loaded") as session:
        certifications.ensure_bodies(session)
    by_code = {body.code: body for body in db.session.scalars(select(CertificationBody))}
    decided = today - dt.timedelta(days=400)
    kebs = certifications.create_certification(
        mgr,
        body_id=by_code["kebs"].id,
        scope="Design, manufacture and installation of steel doors and windows",
        applied_on=decided - dt.timedelta(days=150),
    )
    fire(
        kebs,
        "record_contract",
        mgr,
        {"signed_on": decided - dt.timedelta(days=140), "contract_reference": "KEBS/C/2291"},
    )
    fire(kebs, "start_stage1", qo, {"audit_date": decided - dt.timedelta(days=90)})
    fire(kebs, "ready_for_stage2", qo, {"audit_date": decided - dt.timedelta(days=45)})
    fire(kebs, "complete_stage2", qo, {"last_day": decided - dt.timedelta(days=44)})
    fire(kebs, "submit_response", qo)
    fire(kebs, "certify", qo, {"decided_on": decided, "certificate_number": "KEBS-QMS-2291"})
    surveillance_day = today - dt.timedelta(days=20)
    fire(kebs, "start_surveillance", qo, {"audit_date": surveillance_day})
    certifications.record_external_audit(
        kebs,
        qo,
        kind="surveillance",
        start_date=surveillance_day - dt.timedelta(days=1),
        end_date=surveillance_day,
        lead_auditor="Jane Mwangi",
        body_reference="KEBS/SA1/2291",
        outcome="Certificate maintained subject to closure of the findings.",
        findings=[
            {
                "body_reference": "SA1-01",
                "grade": "minor",
                "clause_number": "7.5.3",
                "description": "An obsolete revision of the welding work instruction was found at station 4.",
            },
            {
                "body_reference": "SA1-02",
                "grade": "observation",
                "clause_number": "9.1.2",
                "description": "Customer satisfaction results are not yet trended by product line.",
            },
        ],
    )
    sgs = certifications.create_certification(
        mgr,
        body_id=by_code["sgs"].id,
        scope="Warehousing and distribution (Mombasa depot)",
        applied_on=today - dt.timedelta(days=60),
    )
    fire(sgs, "record_contract", mgr, {"signed_on": today - dt.timedelta(days=50)})
    fire(sgs, "start_stage1", qo, {"audit_date": today - dt.timedelta(days=5)})
    return 2


_SURVEY_QUESTIONS = (
    {"kind": "nps", "text": "How likely are you to recommend us to a friend or colleague?", "required": True},
    {"kind": "rating", "text": "How satisfied are you with the time we took to respond?", "weight": 2},
    {"kind": "rating", "text": "How satisfied are you with the solution you received?", "weight": 2},
    {"kind": "servqual", "text": "Our staff were courteous and knowledgeable.", "dimension": "assurance"},
    {"kind": "servqual", "text": "We did what we promised, when we promised.", "dimension": "reliability"},
    {"kind": "single", "text": "Which branch served you?", "choices": ["Nairobi", "Mombasa", "Online"]},
    {"kind": "text", "text": "What one thing should we improve?"},
)
_VERBATIMS = ("Faster replies on WhatsApp please", "Friendly staff", "", "Delivery took too long", "")


def _seed_customers(users: dict, today: dt.date) -> tuple[int, int]:
    """A survey with three months of responses, and complaints from social channels at several stages."""
    qo, owner = users["quality"], users["owner"]
    survey = surveys.create_survey(
        qo,
        title=f"Customer satisfaction survey {today.year}",
        introduction="Five minutes of your time helps us serve you better. Thank you!",
        service="Customer service",
        nps_threshold=-10,
        drop_threshold=25,
        questions=_SURVEY_QUESTIONS,
    )
    fire(survey, "open", qo, {})
    count = 0
    channels = ("whatsapp", "phone", "email", "facebook", "walk_in")
    for month_back, base in ((2, 9), (1, 8), (0, 7)):
        day = today.replace(day=1) - dt.timedelta(days=28 * month_back)
        for i in range(24):
            nps_value = max(0, min(10, base + (i % 5) - 2))
            answers = {
                f"q{survey.questions[0].id}": nps_value,
                f"q{survey.questions[1].id}": 1 + (nps_value // 2) % 5,
                f"q{survey.questions[2].id}": 2 + i % 4,
                f"q{survey.questions[3].id}": 3 + i % 5,
                f"q{survey.questions[4].id}": 2 + (i * 3) % 6,
                f"q{survey.questions[5].id}": ("Nairobi", "Mombasa", "Online")[i % 3],
                f"q{survey.questions[6].id}": _VERBATIMS[i % len(_VERBATIMS)],
            }
            responded = min(day + dt.timedelta(days=i), today)
            surveys.submit_response(
                survey, {k: v for k, v in answers.items() if v != ""}, channel=channels[i % 5], today=responded
            )
            count += 1
    complaints_seeded = [
        complaints.log_complaint(
            qo,
            channel=channel,
            summary=summary,
            description=description,
            customer_handle=handle,
            post_url=url,
            service="Customer service",
        )
        for channel, summary, description, handle, url in (
            (
                "twitter",
                "Order arrived damaged",
                "Photo of a crushed box posted publicly.",
                "@wanjiku",
                "https://x.com/wanjiku/status/1",
            ),
            (
                "facebook",
                "No reply to inbox message for a week",
                "Customer asked twice about a refund.",
                "Otieno Ouma",
                "",
            ),
            ("whatsapp", "Wrong item delivered", "Ordered size 42, received 40.", "+254 700 000 001", ""),
            (
                "instagram",
                "Rude response from the page admin",
                "Comment thread on our latest post.",
                "@amina.k",
                "https://instagram.com/p/abc",
            ),
            ("email", "Invoice charged twice", "Billed twice for order 4471.", "", ""),
        )
    ]
    damaged, _unanswered, wrong_item, rude, invoice = complaints_seeded
    for complaint in (damaged, wrong_item, rude, invoice):
        fire(complaint, "acknowledge", qo, {"acknowledged_on": today, "severity": "medium"})
    fire(damaged, "investigate", owner)
    fire(damaged, "resolve", owner, {"resolution": "Replacement sent by courier.", "customer_satisfied": "yes"})
    fire(damaged, "close", qo, {"communicated_on": today})
    fire(wrong_item, "investigate", owner)
    fire(invoice, "escalate", qo, {"reason": "Double billing happened three times this month."})
    return count, len(complaints_seeded)


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


def _seed_reviews(users: dict, today: dt.date) -> int:
    """A management review gathering its inputs, an ISO-change review for the 2024 amendment, the board."""
    qo, mgr, owner = users["quality"], users["manager"], users["owner"]
    review = reviews.plan_management_review(
        mgr,
        title=f"Management review {today.year}",
        planned_for=today + dt.timedelta(days=21),
        period_start=today - dt.timedelta(days=365),
        period_end=today,
    )
    fire(review, "start_gathering", qo, {"inputs_due": (today + dt.timedelta(days=14)).isoformat()})
    reviews.compile_inputs(review, qo)
    reviews.set_input_notes(
        review, qo, "quality_objectives", "On-time delivery 94 % (target 95 %); scrap 1.8 % (target 2 %)."
    )
    reviews.open_iso_change_review(
        qo,
        old_standard="iso-9001-2015",
        new_standard="iso-9001-2015-amd1-2024",
        transition_deadline=today + dt.timedelta(days=120),
    )
    reviews.open_org_change_review(
        owner,
        title="New powder-coating line in the Nairobi plant",
        change_kind="process",
        description="A powder-coating line replaces wet painting from next quarter.",
        process_id=next(p.id for p in _processes() if p.code == "PROD"),
    )
    implementation.build_board(qo)
    return 3


def _processes() -> list:
    from ..database import db
    from ..models import Process

    return list(db.session.scalars(select(Process)))

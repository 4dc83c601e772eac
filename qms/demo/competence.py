"""The demo competence and training: a catalogue with requirements, where people work, their records,
training at every stage, needs from the gaps, and the lead-auditor precondition turned on.

The story: Ali Auditor is a certified lead auditor; Sara Auditor is not yet (the matrix shows the
gap, and once the precondition is on the audit team form refuses her as lead), so she attended the
lead auditor course a fortnight ago and its effectiveness is evaluated in two weeks.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..database import db
from ..models import Process, Site
from ..services import competence, fire, training


def seed_competence(users: dict, today: dt.date) -> int:
    """The competence catalogue, records and training sessions; how many sessions."""
    qo, admin = users["quality"], users["admin"]
    roles = {
        name: competence.create_job_role(qo, name=name, description=description)
        for name, description in (
            ("Customer service agent", "Answers customers by phone, e-mail and at the counter"),
            ("Social media officer", "Answers customers on the organisation's social platforms"),
            ("Internal auditor", "Audits processes against ISO 9001 (ISO 19011)"),
            ("Quality officer", "Keeps the QMS: documents, nonconformities, audits"),
            ("Operations manager", "Runs production and purchasing"),
        )
    }
    catalogue = {}
    for name, description, months, aware, practitioner, expert in (
        (
            "Lead auditing (ISO 19011)",
            "Plans, leads and reports internal audits",
            36,
            "Read ISO 19011",
            "Lead auditor course passed and two audits as auditor",
            "Certified lead auditor (IRCA or equivalent) and ten audits led",
        ),
        (
            "Internal auditing",
            "Audits a process with a checklist and records evidence",
            36,
            "Read the audit procedure",
            "Internal auditor course passed and one audit observed",
            "Five audits as auditor",
        ),
        (
            "Complaint handling (ISO 10002)",
            "Receives, acknowledges and resolves complaints",
            24,
            "Read the complaint handling procedure",
            "Complaint handling training passed",
            "Coaches others; handles escalations",
        ),
        (
            "Social media customer care",
            "Answers customers on Facebook, Twitter / X, WhatsApp and Instagram in line with the CRM strategy",
            12,
            "Read the social media policy",
            "Platform training passed and observed on shift",
            "Trains the championing team on new products and services",
        ),
        (
            "Document approval",
            "Checks and approves controlled documents",
            None,
            "Read the document control procedure",
            "Approved three documents under supervision",
            "",
        ),
    ):
        catalogue[name] = competence.create_competence(
            qo,
            name=name,
            description=description,
            validity_months=months,
            evidence_aware=aware,
            evidence_practitioner=practitioner,
            evidence_expert=expert,
        )
    lead, auditing = catalogue["Lead auditing (ISO 19011)"], catalogue["Internal auditing"]
    handling, social = catalogue["Complaint handling (ISO 10002)"], catalogue["Social media customer care"]
    approval = catalogue["Document approval"]
    competence.add_requirement(lead, qo, scope="audit_role", target_key="lead_auditor", level="practitioner")
    competence.add_requirement(auditing, qo, scope="audit_role", target_key="auditor", level="practitioner")
    competence.add_requirement(
        handling, qo, scope="job_role", target_id=roles["Customer service agent"].id, level="practitioner"
    )
    competence.add_requirement(
        handling, qo, scope="job_role", target_id=roles["Social media officer"].id, level="aware"
    )
    for platform in ("facebook", "twitter", "whatsapp", "instagram"):
        competence.add_requirement(social, qo, scope="platform", target_key=platform, level="practitioner")
    competence.add_requirement(approval, qo, scope="event", target_key="document.approve", level="aware")

    nairobi = db.session.scalar(select(Site).where(Site.code == "NBO"))
    production = db.session.scalar(select(Process).order_by(Process.id))
    for key, role, platforms in (
        ("auditor", "Internal auditor", []),
        ("auditor2", "Internal auditor", []),
        ("quality", "Quality officer", ["facebook", "twitter"]),
        ("quality2", "Quality officer", []),
        ("owner", "Customer service agent", ["whatsapp", "instagram"]),
        ("manager", "Operations manager", []),
    ):
        competence.set_profile(
            users[key],
            qo,
            job_role_id=roles[role].id,
            site_id=nairobi.id if nairobi else None,
            process_id=production.id if production and key in ("owner", "manager") else None,
            platforms=platforms,
        )
    records = (
        ("auditor", lead, "expert", "IRCA certified lead auditor", "IRCA", 400),
        ("auditor", auditing, "expert", "Internal audits led since 2021", "", 400),
        ("auditor2", auditing, "practitioner", "Internal auditor course", "KEBS", 200),
        ("quality", social, "practitioner", "Social media customer care course", "Digital Skills Kenya", 300),
        ("quality", handling, "expert", "ISO 10002 practitioner", "KEBS", 100),
        ("quality", approval, "practitioner", "Approves procedures since 2022", "", 600),
        ("owner", handling, "practitioner", "Complaint handling training", "In house", 700),
        ("owner", social, "practitioner", "WhatsApp Business training", "In house", 340),
        ("manager", approval, "practitioner", "Approves policies", "", 600),
    )
    for key, which, level, title, provider, days_ago in records:
        competence.record_competence(
            users[key],
            qo,
            competence_id=which.id,
            level=level,
            source="external" if provider and provider != "In house" else "assessment",
            title=title,
            provider=provider,
            evidence=f"{title} — certificate on file",
            achieved_on=today - dt.timedelta(days=days_ago),
        )
    competence.record_competence(
        users["owner"],
        qo,
        title="First aid at work",
        provider="Kenya Red Cross",
        evidence="Certificate 2291",
        achieved_on=today - dt.timedelta(days=650),
        expires_on=today + dt.timedelta(days=80),
    )

    # Sara leads audits without the lead auditor competence: a need, the course, its evaluation pending
    need = training.raise_need(
        qo,
        user_id=users["auditor2"].id,
        competence_id=lead.id,
        level="practitioner",
        reason="Leads the purchasing audit without the lead auditor course",
        due_date=today + dt.timedelta(days=30),
    )
    course = training.plan_training(
        qo,
        title="Lead auditor course (ISO 19011)",
        competence_id=lead.id,
        level="practitioner",
        planned_on=today - dt.timedelta(days=14),
        trainer_name="Kenya Bureau of Standards",
        external=True,
        location="KEBS training centre, Nairobi",
        evaluation_method="test",
        evaluation_after_days=28,
        pass_mark=70,
        need_ids=[need.id],
    )
    training.record_attendance(course, qo, [users["auditor2"].id])
    fire(course, "hold", qo, {"held_on": today - dt.timedelta(days=14)})

    # social media refresher: held two months ago, evaluated by observation, closed
    refresher = training.plan_training(
        qo,
        title="Social media customer care refresher",
        competence_id=social.id,
        level="practitioner",
        planned_on=today - dt.timedelta(days=60),
        trainer_id=qo.id,
        location="Nairobi plant, training room",
        evaluation_method="observation",
        evaluation_after_days=30,
        invitee_ids=[users["owner"].id, users["quality2"].id],
    )
    training.record_attendance(refresher, qo, [users["owner"].id, users["quality2"].id])
    fire(refresher, "hold", qo, {"held_on": today - dt.timedelta(days=60)})
    training.record_evaluation(
        refresher, qo, user_id=users["owner"].id, effective=True, note="Answered three WhatsApp complaints well"
    )
    training.record_evaluation(
        refresher, qo, user_id=users["quality2"].id, effective=False, note="Missed the 2-hour reply target twice"
    )
    fire(refresher, "evaluate", qo, {"evaluated_on": today - dt.timedelta(days=25)})
    fire(refresher, "close", qo)

    # complaint handling for the new quality officer: planned next week
    training.plan_training(
        qo,
        title="Complaint handling (ISO 10002) induction",
        competence_id=handling.id,
        level="practitioner",
        planned_on=today + dt.timedelta(days=7),
        trainer_id=qo.id,
        location="Nairobi plant, training room",
        evaluation_method="manager_signoff",
        evaluation_after_days=30,
        invitee_ids=[users["quality2"].id],
    )
    # every desk can receive a complaint by e-mail: an awareness session for the office staff,
    # the administrator among them (so the administrator too finds work on My work)
    training.plan_training(
        qo,
        title="Complaint handling awareness for office staff",
        competence_id=handling.id,
        level="aware",
        planned_on=today + dt.timedelta(days=10),
        trainer_id=qo.id,
        location="Nairobi plant, training room",
        evaluation_method="manager_signoff",
        evaluation_after_days=30,
        invitee_ids=[users["admin"].id, users["viewer"].id],
    )
    training.raise_needs_from_gaps(qo, today)
    # the lead auditor precondition: from now on only competent lead auditors can be assigned
    competence.set_precondition(admin, assignment="audit_lead")
    return 4

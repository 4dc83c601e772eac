"""The demo nonconformities: a year of them, most closed on time, a few open at every step.

Each NC is replayed at the dates it happened (``as_of``): raised, triaged the next morning,
contained, analysed, its corrective action planned, done and verified, its effectiveness
checked a month later and closed. The open ones wait, each at one step, for the demo user who
takes the next one, and one NC's effectiveness check falls due today.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..database import as_of
from ..services import fire
from ..services.nonconformities import add_corrective_action, raise_nonconformity
from .users import DEMO_PASSWORD

#: the steps an NC walks, in order; ``stage`` below says how far each demo NC has come
STEPS = ("reported", "triaged", "contained", "analysed", "planned", "implemented", "completed", "verified", "closed")


@dataclass(frozen=True)
class DemoNc:
    title: str
    source: str
    process: str
    clauses: tuple[str, ...]
    severity: str
    days_ago: int  # when it was detected
    stage: str  # the last step done
    cause: str = "No reminder when a periodic task falls due."
    action: str = "Add the task to the maintained schedule with reminders"


_NCS = (
    DemoNc(
        "Calibration overdue on torque wrench TW-14",
        "process_monitoring",
        "Production",
        ("7.1.5.2",),
        "minor",
        330,
        "closed",
    ),
    DemoNc(
        "Supplier certificate of conformity missing for lot 2291",
        "supplier",
        "Purchasing",
        ("8.4.1",),
        "minor",
        300,
        "closed",
        cause="Goods-in check list does not ask for the certificate.",
        action="Add the certificate to the goods-in check list",
    ),
    DemoNc(
        "Customer order shipped with the wrong revision of the manual",
        "customer_complaint",
        "Sales and customer service",
        ("8.5.2", "7.5.3"),
        "major",
        270,
        "closed",
        cause="Dispatch printed manuals from a local copy.",
        action="Print manuals from the document register only",
    ),
    DemoNc(
        "Training records incomplete for two new operators",
        "internal_audit",
        "Human resources",
        ("7.2",),
        "minor",
        240,
        "closed",
        cause="Induction checklist kept on paper.",
        action="Move the induction checklist to the training record",
    ),
    DemoNc(
        "Quality objectives not communicated on the shop floor",
        "external_audit",
        "Quality management",
        ("6.2.1", "7.3"),
        "minor",
        210,
        "closed",
        cause="Objectives shared by e-mail only.",
        action="Show the objectives on the shop-floor boards",
    ),
    DemoNc(
        "Complaint response exceeded the 5-day target",
        "survey",
        "Sales and customer service",
        ("9.1.2",),
        "minor",
        180,
        "closed",
        cause="No cover when the complaints officer is away.",
        action="Name a deputy for complaint responses",
    ),
    DemoNc(
        "Paint thickness below specification on batch 1187",
        "process_monitoring",
        "Production",
        ("8.6", "8.7"),
        "major",
        150,
        "closed",
        cause="Gauge not zeroed at shift start.",
        action="Zero the gauge at every shift start, recorded",
    ),
    DemoNc(
        "Obsolete work instruction found at assembly station 3",
        "internal_audit",
        "Production",
        ("7.5.3",),
        "minor",
        120,
        "closed",
        cause="Old copies not collected when a revision became effective.",
        action="Collect old copies against the distribution list",
    ),
    DemoNc(
        "Visitor log not kept at the Mombasa depot gate",
        "internal_audit",
        "Quality management",
        ("7.1.4",),
        "observation",
        95,
        "closed",
    ),
    DemoNc(
        "Late delivery of frames to a key customer",
        "customer_complaint",
        "Purchasing",
        ("8.4.2",),
        "minor",
        75,
        "closed",
        cause="Supplier lead time not checked at order.",
        action="Check the supplier's lead time when ordering",
    ),
    DemoNc(
        "Nonconforming batch released before inspection sign-off",
        "process_monitoring",
        "Production",
        ("8.6",),
        "minor",
        58,
        "completed",
        cause="Release allowed without the inspector's signature.",
        action="Block release in the ERP until the inspection is signed",
    ),
    DemoNc(
        "Torque values not recorded on the welding line",
        "internal_audit",
        "Production",
        ("8.5.1", "7.5.3"),
        "minor",
        45,
        "implemented",
        cause="The record sheet has no torque column.",
        action="Add a torque column to the weld record sheet",
    ),
    DemoNc(
        "Customer feedback not reviewed at the monthly meeting",
        "survey",
        "Sales and customer service",
        ("9.1.2",),
        "minor",
        30,
        "planned",
        cause="Feedback summary not on the meeting agenda.",
        action="Put the feedback summary on the standing agenda",
    ),
    DemoNc(
        "Fire extinguisher inspection tags out of date",
        "internal_audit",
        "Quality management",
        ("7.1.4",),
        "minor",
        21,
        "analysed",
    ),
    DemoNc(
        "Scrap bin labels missing in the cutting area",
        "process_monitoring",
        "Production",
        ("8.7",),
        "minor",
        12,
        "contained",
    ),
    DemoNc(
        "Purchase order issued to a supplier not on the approved list",
        "supplier",
        "Purchasing",
        ("8.4.1",),
        "minor",
        6,
        "triaged",
    ),
    DemoNc(
        "Measuring tape without a calibration label at station 5",
        "process_monitoring",
        "Production",
        ("7.1.5.2",),
        "minor",
        2,
        "reported",
    ),
)


def _at(today: dt.date, days_ago: float, hour: int = 9) -> dt.datetime:
    """A working-day moment ``days_ago`` before today (fractions of a day move the hour)."""
    day = today - dt.timedelta(days=int(days_ago))
    return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=dt.UTC) + dt.timedelta(hours=(days_ago % 1) * 8)


def _seed_nonconformities(users: dict, today: dt.date) -> int:
    """Raise the NCs at their dates and replay each up to its stage; returns how many were raised."""
    qo, qo2, mgr, owner, auditor = (users[k] for k in ("quality", "quality2", "manager", "owner", "auditor"))
    for index, demo in enumerate(_NCS):
        done = STEPS.index(demo.stage)
        raiser = auditor if demo.source == "internal_audit" else qo if index % 2 else qo2
        start = demo.days_ago
        # a month between the plan and the effectiveness check; the last one's check is due today
        plan_day = max(start - 9, 0)
        check_day = plan_day - 30 if demo.stage != "completed" else 0
        with as_of(_at(today, start)):
            nc = raise_nonconformity(
                raiser,
                title=demo.title,
                description=f"{demo.title}. Found during routine work; details and evidence attached by the reporter.",
                source=demo.source,
                process=demo.process,
                clause_refs=list(demo.clauses),
                detected_on=today - dt.timedelta(days=start),
            )
        if done >= 1:
            with as_of(_at(today, max(start - 1, 0), 10)):
                fire(nc, "triage", qo, {"severity": demo.severity})
        if demo.severity == "observation" and done == len(STEPS) - 1:
            with as_of(_at(today, max(start - 3, 0), 11)):
                fire(
                    nc,
                    "close_observation",
                    mgr,
                    {"justification": "Observation: the gate team was briefed."},
                    signature_password=DEMO_PASSWORD,
                )
            continue
        if done >= 2:
            with as_of(_at(today, max(start - 2, 0), 14)):
                fire(
                    nc, "contain", owner, {"containment": "Affected items quarantined and labelled.", "correction": ""}
                )
        if done >= 3:
            with as_of(_at(today, max(start - 6, 0), 15)):
                fire(
                    nc,
                    "analyse_root_cause",
                    qo,
                    {
                        "method": "five_whys",
                        "root_cause": demo.cause,
                        "whys": ["The problem recurred", "The check was missed", demo.cause],
                    },
                )
        if done >= 4:
            with as_of(_at(today, plan_day, 10)):
                action = add_corrective_action(
                    nc,
                    qo,
                    title=demo.action,
                    owner_id=owner.id,
                    due_date=today - dt.timedelta(days=plan_day) + dt.timedelta(days=45),
                )
                fire(nc, "plan_actions", qo, {"verification_due": (today - dt.timedelta(days=check_day)).isoformat()})
            with as_of(_at(today, max(plan_day - 1, 0), 9)):
                fire(action, "start", owner)
        if done >= 5:
            with as_of(_at(today, max(plan_day - 7, 0), 16)):
                fire(action, "implement", owner, {"implementation": "Done as planned; the record shows it."})
        if done >= 6:
            with as_of(_at(today, max(plan_day - 9, 0), 11)):
                fire(
                    action,
                    "verify",
                    qo2,
                    {"verification": "Checked on three cycles."},
                    signature_password=DEMO_PASSWORD,
                )
                fire(nc, "complete_actions", qo)
        if done >= 7:
            with as_of(_at(today, check_day, 10)):
                fire(
                    nc,
                    "verify_effectiveness",
                    auditor,
                    {"evidence": "No recurrence since the actions."},
                    signature_password=DEMO_PASSWORD,
                )
        if done >= 8:
            with as_of(_at(today, max(check_day - 1, 0), 15)):
                fire(nc, "close", mgr, signature_password=DEMO_PASSWORD)
    return len(_NCS)

"""The demo nonconformities: eight NCs walked to every stage from reported to closed."""

from __future__ import annotations

import datetime as dt

from ..services import fire
from ..services.nonconformities import add_corrective_action, raise_nonconformity
from .users import DEMO_PASSWORD

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


def _seed_nonconformities(users: dict, today: dt.date) -> int:
    """Raise the NCs and walk them to different stages; returns how many were raised."""
    qo, qo2, mgr, owner, auditor = (
        users["quality"],
        users["quality2"],
        users["manager"],
        users["owner"],
        users["auditor"],
    )
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
            # segregation of duties: the manager verified effectiveness, a quality officer closes
            fire(nc, "close", qo, signature_password=DEMO_PASSWORD)
    return len(ncs)

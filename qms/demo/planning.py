"""The demo planning records: quality objectives with a year of values (one computed from the NC
records), an innovation taken through a committee-approved pilot to adoption, and planned changes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..database import db
from ..models import OrgChangeReview, Process
from ..services import fire
from ..services.changes import add_task, complete_task, request_change
from ..services.objectives import create_objective, record_measurement
from ..services.opportunities import create_committee, propose_opportunity
from .users import DEMO_PASSWORD


def _months_ago(today: dt.date, n: int) -> dt.date:
    index = today.year * 12 + today.month - 1 - n
    return dt.date(index // 12, index % 12 + 1, 1)


def _month_end(day: dt.date) -> dt.date:
    following = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def _plan(what: str, who: str) -> dict[str, str]:
    return {
        "plan_what": what,
        "plan_resources": "Time at the weekly production meeting; the quality officer's analysis",
        "plan_who": who,
        "plan_when": "Monthly, reviewed at each quarterly management meeting",
        "plan_evaluation": "The KPI against the target each month; the trend and forecast at the management review",
    }


def _approve_and_start(objective, users: dict) -> None:
    fire(objective, "approve", users["manager"], signature_password=DEMO_PASSWORD)
    fire(objective, "activate", users["quality"])


def seed_planning(users: dict, today: dt.date) -> int:
    """Objectives, opportunities and changes; how many records."""
    manager, quality, owner = users["manager"], users["quality"], users["owner"]
    processes = {p.name: p for p in db.session.scalars(select(Process))}
    production = next((p for name, p in processes.items() if "Production" in name), None)
    delivery_process = next((p for name, p in processes.items() if "Deliver" in name or "Sales" in name), production)
    year_ago = _months_ago(today, 12)
    # 1. a KPI computed from the NC records
    fewer_ncs = create_objective(
        quality,
        title="Halve the nonconformities raised each month",
        description="Fewer nonconformities means fewer reworked doors and fewer unhappy customers.",
        process_id=production.id if production else None,
        kpi_name="Nonconformities raised per month",
        measure="nc_raised",
        direction="down",
        baseline=6,
        target=3,
        starts_on=year_ago,
        deadline=today + dt.timedelta(days=180),
        **_plan("Root-cause review of every major NC; error-proofing of the cutting line", "Production manager"),
    )
    _approve_and_start(fewer_ncs, users)
    # 2. a KPI typed in every month for a year, rising towards its target
    on_time = create_objective(
        quality,
        title="Deliver 95 % of orders on the promised day",
        description="Late deliveries are the first cause of complaints on social platforms.",
        process_id=delivery_process.id if delivery_process else None,
        owner_id=owner.id,
        kpi_name="On-time delivery",
        unit="%",
        direction="up",
        baseline=84,
        target=95,
        tolerance=2,
        starts_on=year_ago,
        deadline=today + dt.timedelta(days=90),
        **_plan("Daily dispatch planning; a second delivery van at month end", "Logistics lead"),
    )
    _approve_and_start(on_time, users)
    values = (84.5, 85.2, 86.0, 85.7, 87.1, 88.0, 88.6, 89.9, 90.4, 91.2, 92.0, 92.8)
    for n, value in zip(range(12, 0, -1), values, strict=True):
        record_measurement(
            on_time,
            owner,
            measured_on=_month_end(_months_ago(today, n)),
            value=value,
            note="From the dispatch log" if n == 12 else "",
        )
    # 3. a KPI computed from the survey answers
    satisfaction = create_objective(
        manager,
        title="Raise customer satisfaction to 80",
        kpi_name="Customer satisfaction index",
        measure="csi",
        direction="up",
        baseline=70,
        target=80,
        starts_on=_months_ago(today, 6),
        deadline=today + dt.timedelta(days=270),
        **_plan("Call back every detractor within two days; train counter staff", "Customer service lead"),
    )
    _approve_and_start(satisfaction, users)
    # 4. last year's objective, achieved and closed
    calibration = create_objective(
        quality,
        title="No gauge used past its calibration date",
        kpi_name="Gauges overdue for calibration",
        unit="gauges",
        direction="down",
        target=0,
        tolerance=1,
        starts_on=_months_ago(today, 15),
        deadline=_months_ago(today, 3),
        **_plan("Calibration register with reminders; quarantine shelf for due gauges", "Metrologist"),
    )
    _approve_and_start(calibration, users)
    for n, value in ((14, 3), (11, 2), (8, 1), (5, 0), (4, 0)):
        record_measurement(calibration, quality, measured_on=_month_end(_months_ago(today, n)), value=value)
    fire(calibration, "mark_achieved", quality, {"evaluation": "No overdue gauge for two quarters"})
    fire(calibration, "close", manager, {"closing_note": "Kept as a monthly check in the calibration procedure"})
    # 5. a draft waiting for its plan and approval
    create_objective(
        quality,
        title="Answer every complaint within two days",
        kpi_name="Complaint resolution time",
        measure="complaint_resolution_days",
        direction="down",
        target=2,
        deadline=today + dt.timedelta(days=365),
        plan_what="Complaint rota on the social platforms",
    )
    # the innovation committee and its pipeline
    committee = create_committee(
        manager,
        name="Innovation committee",
        remit="Decides which ideas are piloted and adopts them on the pilots' results (source standard 2.10).",
        chair_id=manager.id,
        member_ids=[quality.id, owner.id],
    )
    bikes = propose_opportunity(
        owner,
        title="Deliver small orders by cargo e-bike in the city centre",
        description="Survey comments and complaints ask for faster delivery in the centre, where vans are stuck.",
        source="customer_feedback",
        committee_id=committee.id,
        ip_notes="The route-planning sheet is our own work (copyright); the e-bike trailer design is not patentable.",
    )
    fire(
        bikes,
        "evaluate",
        owner,
        {
            "estimated_cost": 450_000,
            "expected_benefit": "Same-day delivery in the centre; lower fuel cost",
            "edge_category": "differentiation",
            "cost_benefit": "Two e-bikes and trailers pay back in about eight months (fuel, late-delivery refunds).",
        },
    )
    fire(
        bikes,
        "approve",
        quality,
        {"decision": "Pilot for eight weeks on two city routes", "decided_on": today - dt.timedelta(days=70)},
        signature_password=DEMO_PASSWORD,
    )
    fire(
        bikes,
        "start_pilot",
        owner,
        {
            "pilot_plan": "Two e-bikes on the two busiest city routes; vans keep the rest",
            "success_criteria": "95 % delivered on the promised day; cost per drop below the van's",
            "pilot_start": today - dt.timedelta(days=66),
            "pilot_end": today - dt.timedelta(days=10),
        },
    )
    fire(
        bikes,
        "adopt",
        manager,
        {"pilot_results": "97 % on time; cost per drop 31 % below the van's; no damaged parcel"},
        signature_password=DEMO_PASSWORD,
    )
    kiosk = propose_opportunity(
        quality,
        title="Self-service order tracking on WhatsApp",
        description="Most calls to the counter ask where an order is.",
        source="survey",
        committee_id=committee.id,
    )
    fire(
        kiosk,
        "evaluate",
        quality,
        {
            "estimated_cost": 120_000,
            "expected_benefit": "Fewer calls; customers informed without waiting",
            "edge_category": "technology",
            "cost_benefit": "A year of the messaging service costs less than a quarter of a counter clerk.",
        },
    )
    fire(
        kiosk,
        "approve",
        manager,
        {"decision": "Pilot with one branch", "decided_on": today - dt.timedelta(days=20)},
        signature_password=DEMO_PASSWORD,
    )
    fire(
        kiosk,
        "start_pilot",
        quality,
        {
            "pilot_plan": "Nairobi branch customers get tracking links by WhatsApp",
            "success_criteria": "Calls about order status down by a third",
            "pilot_start": today - dt.timedelta(days=14),
            "pilot_end": today + dt.timedelta(days=5),
        },
    )
    propose_opportunity(
        users["auditor"],
        title="Powder-coat colours matched to the customer's sample",
        description="Seen in a competitor survey: they match any colour for a small fee.",
        source="competitor",
        owner_id=owner.id,
    )
    # planned changes: one being implemented, one opened from the organisational-change review
    warehouse = request_change(
        owner,
        title="Move dispatch to the new warehouse",
        purpose="More space for finished doors and a loading bay for two vans",
        consequences="Two days of reduced dispatch; new routes for the drivers",
        resources="Forklift hire, two days' overtime for the dispatch team",
        responsibilities="Logistics lead plans the move; the quality officer updates the dispatch procedure",
        risks="Damage to stock during the move; late deliveries during the two days",
        process_ids=[delivery_process.id] if delivery_process else [],
    )
    done = add_task(warehouse, owner, title="Book the forklift and the movers", owner_id=owner.id, due_date=today)
    add_task(
        warehouse,
        owner,
        title="Update the dispatch procedure and train the drivers",
        owner_id=quality.id,
        due_date=today + dt.timedelta(days=10),
    )
    fire(warehouse, "submit", owner)
    planned_for = today + dt.timedelta(days=21)
    fire(warehouse, "approve", manager, {"planned_for": planned_for}, signature_password=DEMO_PASSWORD)
    fire(warehouse, "start_implementation", owner)
    complete_task(done, owner, outcome="Forklift and movers booked for the first weekend of the month")
    review = db.session.scalar(select(OrgChangeReview).order_by(OrgChangeReview.id))
    count = 5 + 3 + 1
    if review is not None:
        request_change(quality, org_change_review_id=review.id)
        count += 1
    return count

"""The demo context and risk register of the steel-door maker: a SWOT with PESTLE categories, about ten
interested parties, a completed context review (climate change found relevant) and one in progress,
and about twenty-five risks across the processes at every stage of their lifecycle, with treatments;
among them treatments verified that lowered the residual rating, a risk an NC realised, and risks raised
from an NC, a complaint and a context issue.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..database import db
from ..models import Complaint, Nonconformity, Process
from ..services import fire
from ..services.audit_trail import recorded_change
from ..services.context import plan_context_review, save_issue, save_party
from ..services.risks import add_treatment_action, cite_realised_risk, find_source, raise_risk
from .users import DEMO_PASSWORD

# title, SWOT, PESTLE, climate related, description
_ISSUES = (
    ("Welders and fabricators with ten years' experience", "strength", None, False, "Low staff turnover."),
    ("In-house powder-coating line", "strength", None, False, "Finish quality controlled end to end."),
    ("Long relationships with Nairobi contractors", "strength", None, False, "Repeat orders from 12 firms."),
    ("Single CNC press brake, no backup", "weakness", None, False, "A breakdown stops door-leaf forming."),
    ("Paper job cards in the workshop", "weakness", None, False, "Traceability depends on handwriting."),
    ("One qualified steel-sheet supplier", "weakness", None, False, "About 80 % of sheet from one mill."),
    ("Affordable housing programme", "opportunity", "political", False, "Government demand for 200,000 doors."),
    ("Export demand in the East African Community", "opportunity", "economic", False, "Uganda and Rwanda."),
    ("Fire-safety code enforcement by counties", "opportunity", "legal", False, "Certified fire doors required."),
    ("Solar power for the plant", "opportunity", "technological", True, "Cuts grid dependence and emissions."),
    ("Steel price volatility and import duties", "threat", "economic", False, "Sheet prices rose 30 % in a year."),
    ("Cheaper imported doors", "threat", "economic", False, "Landed price 15 % below ours."),
    ("Power rationing in droughts", "threat", "environmental", True, "Hydro output falls in dry seasons."),
    ("Flooding at the Mombasa depot", "threat", "environmental", True, "Two floods in five years."),
    ("Stricter county building approvals", "threat", "legal", False, "Longer lead times for projects."),
    ("Skills shortage among young welders", "threat", "social", False, "Technical colleges turn out few."),
)

# name, category, needs, relevant requirements, how monitored, climate requirements
_PARTIES = (
    (
        "Building contractors and developers",
        "customer",
        "On-time delivery to site",
        "Doors to drawing and specification; delivery on the agreed date; installation support",
        "Order reviews, complaints, annual customer survey",
        "",
    ),
    (
        "Homeowners (end users)",
        "customer",
        "Secure, durable doors",
        "Warranty honoured; safe locks",
        "Warranty claims and social media complaints",
        "",
    ),
    (
        "Employees",
        "employee",
        "Safe work, fair pay",
        "Occupational safety; training; overtime rules",
        "Safety committee minutes; staff survey",
        "Heat stress on the shop floor",
    ),
    (
        "Owners and shareholders",
        "owner",
        "Profitable growth",
        "Budget and margin targets; certification kept",
        "Monthly management accounts; board meetings",
        "",
    ),
    (
        "Steel suppliers",
        "supplier",
        "Stable orders, prompt payment",
        "Purchase specifications; payment terms",
        "Supplier evaluations twice a year",
        "Report the carbon content of supplied steel",
    ),
    (
        "Kenya Bureau of Standards (KEBS)",
        "certification_body",
        "Conformity to ISO 9001 and product standards",
        "Certification conditions; product marks",
        "Surveillance audits",
        "",
    ),
    (
        "Nairobi County Government",
        "regulator",
        "Lawful operation",
        "Business permit; fire certificate",
        "Permit renewal calendar; inspection reports",
        "",
    ),
    (
        "National Environment Management Authority (NEMA)",
        "regulator",
        "Environmental compliance",
        "Waste paint and solvent disposal licence; emissions limits",
        "Annual environmental audit",
        "Greenhouse-gas reporting expected from 2027",
    ),
    (
        "Insurer",
        "other",
        "Controlled risks",
        "Fire and flood cover conditions; sprinkler maintenance",
        "Annual risk survey by the insurer",
        "Flood cover conditions at the Mombasa depot",
    ),
    (
        "Neighbours of the Nairobi plant",
        "community",
        "Little noise and dust",
        "Working hours; noise limits",
        "Complaints book at the gate",
        "",
    ),
)

# title, cause, effect, process code, clauses, likelihood, impact, path, residual (likelihood, impact)
_RISKS = (
    (
        "Press brake breakdown stops door-leaf forming",
        "Single machine, ageing hydraulics",
        "Orders late by weeks",
        "PROD",
        ["7.1.3", "8.5.1"],
        4,
        5,
        "treated",
        (2, 5),
    ),
    (
        "Weld defects on fire-door frames",
        "New welders, no weld procedure qualification",
        "Fire doors fail tests",
        "PROD",
        ["8.5.1", "7.2"],
        3,
        5,
        "treated",
        (2, 4),
    ),
    (
        "Powder coating peels in coastal climates",
        "Pre-treatment bath not controlled",
        "Warranty claims in Mombasa",
        "PROD",
        ["8.5.1", "8.6"],
        3,
        4,
        "planned",
        None,
    ),
    (
        "Wrong door size made from misread job card",
        "Handwritten job cards",
        "Scrap and re-make",
        "PROD",
        ["8.5.2", "7.5"],
        4,
        3,
        "planned",
        None,
    ),
    (
        "Torque tools out of calibration",
        "Calibration reminders kept on paper",
        "Hinges fitted loose",
        "PROD",
        ["7.1.5"],
        3,
        3,
        "treated",
        (1, 3),
    ),
    (
        "Steel sheet supply interrupted",
        "One qualified mill supplies 80 %",
        "Production stops",
        "PURCH",
        ["8.4.1", "6.1"],
        4,
        5,
        "treated",
        (2, 4),
    ),
    (
        "Supplier certificates missing for steel lots",
        "No incoming check of certificates",
        "Untraceable material",
        "PURCH",
        ["8.4.2", "8.4.3"],
        3,
        4,
        "assessed",
        None,
    ),
    (
        "Steel price rise erodes margins",
        "Market volatility, import duties",
        "Losses on fixed-price contracts",
        "PURCH",
        ["6.1", "8.2.3"],
        4,
        4,
        "accepted",
        None,
    ),
    (
        "Lock supplier discontinues model",
        "Single-model dependence",
        "Redesign of door leaves",
        "PURCH",
        ["8.4.1"],
        2,
        3,
        "identified",
        None,
    ),
    (
        "Order taken without checking site dimensions",
        "Sales skip the site survey",
        "Doors do not fit",
        "SALES",
        ["8.2.2", "8.2.3"],
        3,
        4,
        "treated",
        (2, 3),
    ),
    (
        "Complaints on social media unanswered",
        "No one monitors the pages at weekends",
        "Reputation damage",
        "SALES",
        ["9.1.2", "8.2.1"],
        4,
        3,
        "planned",
        None,
    ),
    (
        "Quote errors on large housing tenders",
        "Spreadsheet pricing without review",
        "Loss-making contracts",
        "SALES",
        ["8.2.3"],
        2,
        5,
        "assessed",
        None,
    ),
    (
        "Delivery trucks late to site",
        "Nairobi traffic; one dispatcher",
        "Penalties from contractors",
        "SALES",
        ["8.5.4"],
        3,
        3,
        "accepted",
        None,
    ),
    (
        "Customer specification changes not passed on",
        "Changes agreed by phone",
        "Wrong doors made",
        "SALES",
        ["8.2.4", "8.5.6"],
        3,
        4,
        "identified",
        None,
    ),
    (
        "Obsolete work instructions on the shop floor",
        "Uncontrolled printouts",
        "Wrong method used",
        "QM",
        ["7.5.3"],
        3,
        3,
        "treated",
        (1, 3),
    ),
    (
        "Internal audits skipped in busy months",
        "Auditors also production leads",
        "Problems found late",
        "QM",
        ["9.2"],
        2,
        3,
        "monitored-due",
        None,
    ),
    (
        "Corrective actions closed without checking effect",
        "Pressure to close NCs",
        "Problems recur",
        "QM",
        ["10.2"],
        3,
        3,
        "assessed",
        None,
    ),
    (
        "Certification suspended after a major finding",
        "Open major NCs at surveillance",
        "Lost tenders",
        "QM",
        ["9.3", "10.2"],
        2,
        5,
        "planned",
        None,
    ),
    (
        "Key welder leaves with know-how",
        "Knowledge not written down",
        "Quality drops",
        "HR",
        ["7.1.6", "7.2"],
        3,
        4,
        "treated",
        (2, 3),
    ),
    (
        "New operators untrained on the press brake",
        "No induction checklist",
        "Injuries, scrap",
        "HR",
        ["7.2"],
        3,
        4,
        "monitored-due",
        None,
    ),
    (
        "Heat stress in the workshop",
        "Hot afternoons, tin roof",
        "Errors and absence",
        "HR",
        ["7.1.4"],
        2,
        3,
        "identified",
        None,
    ),
    (
        "Power rationing stops the coating oven",
        "Drought lowers hydro output",
        "Batches scrapped mid-cure",
        "PROD",
        ["7.1.3", "6.1"],
        3,
        4,
        "planned",
        None,
    ),
    (
        "Flood damages stock at the Mombasa depot",
        "Depot in a flood plain",
        "Stock lost; deliveries late",
        "SALES",
        ["7.1.3", "6.1"],
        2,
        4,
        "accepted",
        None,
    ),
    ("Duplicate of the steel supply risk", "Entered twice", "—", "PURCH", ["8.4"], 1, 1, "withdrawn", None),
)


def _processes() -> dict[str, Process]:
    return {p.code: p for p in db.session.scalars(select(Process))}


def _treat(risk, users: dict, today: dt.date, residual: tuple[int, int] | None, *, finish: bool) -> None:
    qo, owner = users["quality"], users["owner"]
    fire(risk, "plan_treatment", qo, {"treatment": "reduce", "treatment_plan": f"Reduce: {risk.cause.lower()}."})
    action = add_treatment_action(
        risk,
        qo,
        title=f"Act on: {risk.cause}"[:200],
        owner_id=owner.id,
        due_date=today + dt.timedelta(days=30),
        description="Agreed in the risk workshop.",
    )
    if not finish:
        fire(action, "start", owner)
        return
    fire(action, "start", owner)
    fire(action, "implement", owner, {"implementation": "Done as planned; records on file."})
    fire(action, "verify", qo, {"verification": "Checked on the shop floor."}, signature_password=DEMO_PASSWORD)
    likelihood, impact = residual or (1, 1)
    fire(
        risk,
        "record_treated",
        qo,
        {"residual_likelihood": likelihood, "residual_impact": impact, "effectiveness": "Verified; rating lowered."},
    )


def seed_risks(users: dict, today: dt.date) -> int:
    """The SWOT, the interested parties, two context reviews and the risk register; how many risks."""
    qo, mgr, owner = users["quality"], users["manager"], users["owner"]
    review_on = today + dt.timedelta(days=180)
    issues = [
        save_issue(
            qo,
            {
                "title": title,
                "swot": swot,
                "pestle": pestle,
                "climate_related": climate,
                "description": description,
                "owner_id": (owner if swot in ("strength", "weakness") else mgr).id,
                "review_on": review_on - dt.timedelta(days=190) if i == 4 else review_on,
            },
        )
        for i, (title, swot, pestle, climate, description) in enumerate(_ISSUES)
    ]
    for name, category, needs, requirements, monitoring, climate in _PARTIES:
        save_party(
            qo,
            {
                "name": name,
                "category": category,
                "needs": needs,
                "requirements": requirements,
                "monitoring": monitoring,
                "climate_requirements": climate,
                "owner_id": mgr.id if category in ("owner", "regulator", "certification_body") else qo.id,
                "review_on": review_on,
            },
        )
    done = plan_context_review(
        qo, title="Context review before the management review", planned_for=today - dt.timedelta(days=20)
    )
    fire(done, "start", qo)
    fire(
        done,
        "complete",
        mgr,
        {
            "changes": "Power rationing and the Mombasa floods added as threats; solar power as an opportunity; "
            "NEMA's coming greenhouse-gas reporting noted for NEMA and the steel suppliers.",
            "climate_change_relevant": "yes",
            "climate_change_notes": "Droughts ration power to the coating oven and floods threaten the Mombasa depot: "
            "both are on the risk register with treatments.",
            "next_review_on": today + dt.timedelta(days=345),
        },
        signature_password=DEMO_PASSWORD,
    )
    plan_context_review(
        qo, title="Mid-year context check (Mombasa depot)", planned_for=today + dt.timedelta(days=14), chair_id=mgr.id
    )

    processes = _processes()
    risks = []
    for title, cause, effect, code, clauses, likelihood, impact, path, residual in _RISKS:
        process = processes.get(code)
        risk = raise_risk(
            qo,
            title=title,
            cause=cause,
            effect=effect,
            process_id=process.id if process else None,
            clause_refs=clauses,
            owner_id=(process.owner_id if process and process.owner_id else owner.id),
        )
        risks.append(risk)
        if path == "identified":
            continue
        if path == "withdrawn":
            fire(risk, "withdraw", qo, {"reason": "Duplicate of the steel supply risk"})
            continue
        fire(risk, "assess", qo, {"likelihood": likelihood, "impact": impact, "rationale": "Risk workshop"})
        if path == "assessed":
            continue
        if path == "accepted":
            fire(
                risk,
                "accept",
                mgr,
                {"rationale": "Cost of treatment above the exposure"},
                signature_password=DEMO_PASSWORD,
            )
            continue
        if path == "monitored-due":
            fire(risk, "accept", mgr, {"rationale": "Controls in place are enough"}, signature_password=DEMO_PASSWORD)
            with recorded_change(qo, f"{risk.reference}: review date of the demo"):
                risk.next_review_on = today - dt.timedelta(days=5)  # the review is due: it shows on My work
            continue
        _treat(risk, users, today, residual, finish=path == "treated")

    # links both ways: a realised risk, and risks raised from an NC, a complaint and a context issue
    calibration = db.session.scalar(select(Nonconformity).where(Nonconformity.title.like("Calibration overdue%")))
    if calibration is not None:
        cite_realised_risk(calibration, users["auditor"], risk_id=risks[4].id, note="TW-14 found out of calibration")
        risks.append(
            raise_risk(
                qo,
                source=find_source("nonconformity", calibration.id),
                title="Measuring equipment used past its calibration date",
                cause="No system reminder for calibration",
                effect="Products accepted on wrong measurements",
                clause_refs=["7.1.5.2"],
                process_id=processes["PROD"].id if "PROD" in processes else None,
            )
        )
    complaint = db.session.scalar(select(Complaint).order_by(Complaint.id))
    if complaint is not None:
        risks.append(
            raise_risk(
                qo,
                source=find_source("complaint", complaint.id),
                title="Doors damaged in transit",
                cause="No edge protection on deliveries",
                effect="Complaints and replacements",
                clause_refs=["8.5.4"],
            )
        )
    flood = next(i for i in issues if i.title.startswith("Flooding"))
    risks.append(
        raise_risk(
            qo,
            source=find_source("context_issue", flood.id),
            title="Flood cuts the road to the Mombasa depot",
            cause="Heavy rains; one access road",
            effect="Coastal deliveries stop for days",
            clause_refs=["6.1", "8.5.4"],
        )
    )
    return len(risks)

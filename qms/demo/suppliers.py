"""The demo suppliers and measuring equipment: an approved supplier list with one supplier whose
score fell (a status change proposed) and a SCAR answered by the supplier; instruments in service,
due, overdue and one found out of tolerance with its impact assessment listing the inspection it
was used for; incoming, in-process and final inspections."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..database import db
from ..models import Equipment, Supplier
from ..services import fire
from ..services.equipment import record_calibration, register_equipment
from ..services.inspections import record_inspection
from ..services.nonconformities import raise_nonconformity
from ..services.suppliers import (
    create_supplier,
    import_deliveries,
    raise_scar,
    raise_supplier_nc,
    record_evaluation,
    submit_scar_answer,
)
from .users import DEMO_PASSWORD

SUPPLIERS = (
    ("Kamau Steel Ltd", "Cold-rolled steel sheet 0.8–2.0 mm", "high", "Wanjiru Kamau", "KEBS-QMS-1187", 400),
    ("Otieno Fasteners", "Bolts, nuts and rivets (M4–M12)", "medium", "Brian Otieno", "BV-9001-5521", 150),
    ("Rift Valley Coatings", "Powder coating, outsourced process", "high", "Njeri Mwangi", "", 0),
    ("Mombasa Freight Services", "Inbound freight and customs clearing", "low", "Hassan Ali", "SGS-QMS-3302", -20),
    ("Lake Packaging", "Corrugated cartons and pallets", "low", "Achieng Odhiambo", "", 0),
)


def seed_suppliers(users: dict, today: dt.date) -> int:
    """Suppliers at every stage, with evaluations, deliveries, an NC, a SCAR and a proposal; how many."""
    qo, manager, owner = users["quality"], users["manager"], users["owner"]
    seeded = []
    for name, supplies, criticality, contact, certificate, days in SUPPLIERS:
        seeded.append(
            create_supplier(
                qo,
                name=name,
                supplies=supplies,
                criticality=criticality,
                contact_name=contact,
                contact_email=f"quality@{name.split()[0].lower()}.example",
                iso9001_certificate=certificate,
                iso9001_expires_on=today + dt.timedelta(days=days) if certificate else None,
            )
        )
    steel, fasteners, coatings, freight, _packaging = seeded
    half_year = today - dt.timedelta(days=182)
    rows = ["order_reference,due_on,delivered_on"]
    for i in range(12):
        due = half_year + dt.timedelta(days=14 * i)
        late = 3 if i in (4, 9) else -1
        rows.append(f"PO-{2400 + i},{due.isoformat()},{min(due + dt.timedelta(days=late), today).isoformat()}")
    import_deliveries(steel, owner, "\n".join(rows) + "\n")
    for supplier, price, service in ((steel, 85, 90), (fasteners, 70, 80), (freight, 90, 75)):
        fire(supplier, "start_evaluation", qo)
        record_evaluation(
            supplier,
            qo,
            period_start=today - dt.timedelta(days=365),
            period_end=half_year,
            price=price,
            service=service,
            delivery=95,
            comment="Initial evaluation against the purchasing criteria.",
        )
    fire(steel, "approve", manager, {"scope": "Cold-rolled sheet for door panels"}, signature_password=DEMO_PASSWORD)
    fire(
        fasteners,
        "approve_conditionally",
        manager,
        {
            "conditions": "Certificate of conformity with every lot; 10 % incoming inspection",
            "review_by": today + dt.timedelta(days=90),
        },
        signature_password=DEMO_PASSWORD,
    )
    fire(freight, "approve", manager, {"scope": "Inbound sea and road freight"}, signature_password=DEMO_PASSWORD)
    fire(coatings, "start_evaluation", qo)
    # the steel supplier's latest lots were out of specification: its score falls and a SCAR is answered
    for title, severity in (
        ("Sheet thickness 1.10 mm on lot 2417 (spec 1.20 ± 0.05)", "major"),
        ("Rust spots on lot 2419", "major"),
    ):
        nc = raise_supplier_nc(
            steel,
            qo,
            title=title,
            description=f"Found at goods receipt. {title}.",
            process="Goods receipt",
            clause_refs=["8.4"],
        )
        fire(nc, "triage", qo, {"severity": severity})
    scar, token = raise_scar(
        nc, qo, request="Contain the affected stock, find the root cause and send your corrective actions with dates."
    )
    submit_scar_answer(
        token,
        containment="All coils from the same batch held at our warehouse and inspected; 3 coils scrapped.",
        root_cause="Coils stored outside during the rains; the covered store was full.",
        actions="Second covered store in use from next month; coil storage checked at every shift handover.",
        responder="Wanjiru Kamau, Quality Manager",
    )
    fire(
        scar,
        "accept",
        qo,
        {"verification_due": today + dt.timedelta(days=60), "review_comment": "Sound; check the next three lots."},
    )
    record_evaluation(
        steel,
        qo,
        period_start=half_year + dt.timedelta(days=1),
        period_end=today,
        price=85,
        service=80,
        comment="Two major nonconformities this half-year.",
    )
    return len(seeded)


EQUIPMENT = (
    ("GA-001", "Digital caliper 0–150 mm", "Press shop", "0–150 mm", "±0.02 mm", 365, 300),
    ("GA-002", "Outside micrometer 0–25 mm", "Press shop", "0–25 mm", "±0.002 mm", 365, 350),
    ("PG-010", "Pressure gauge, hydraulic press", "Press shop", "0–250 bar", "±1 % FS", 180, 200),
    ("TH-020", "Oven thermocouple", "Paint line", "0–300 °C", "±2 °C", 180, 100),
    ("SC-030", "Platform scale", "Dispatch", "0–300 kg", "±0.1 kg", 365, 400),
)


def seed_equipment(users: dict, today: dt.date) -> int:
    """Instruments in service, due, overdue and one out of tolerance with its impact assessment; how many."""
    qo, owner = users["quality"], users["owner"]
    count = 0
    for identifier, name, location, span, accuracy, interval, last in EQUIPMENT:
        equipment = register_equipment(
            qo,
            identifier=identifier,
            name=name,
            location=location,
            measuring_range=span,
            accuracy=accuracy,
            interval_days=interval,
            owner_id=owner.id,
        )
        count += 1
        record_calibration(
            equipment,
            qo,
            calibrated_on=today - dt.timedelta(days=last),
            performed_by="KEBS Metrology Laboratory",
            certificate_number=f"KEBS-CAL-{identifier}",
            as_found_in_tolerance=True,
            as_left_in_tolerance=True,
            traceability="Reference standards traceable to the KEBS national measurement standards",
        )
        if identifier == "TH-020":
            # the oven's thermocouple checked the cure of a batch before it was found reading high
            record_inspection(
                owner,
                kind="in_process",
                inspected_on=today - dt.timedelta(days=12),
                item="Powder-coated door panels, cure check",
                lot="Batch 74",
                process="Painting",
                criteria="Cure at 180 °C for 10 min; solvent rub test",
                result="accepted",
                equipment_id=equipment.id,
            )
            raise_nonconformity(
                qo,
                title="Powder cure temperature low on batch 77",
                description="Oven log read 175 °C against 180 °C minimum.",
                source="process_monitoring",
                process="Painting",
                clause_refs=["8.5.1"],
                detected_on=today - dt.timedelta(days=20),
                equipment_id=equipment.id,
            )
            record_calibration(
                equipment,
                qo,
                calibrated_on=today - dt.timedelta(days=2),
                performed_by="KEBS Metrology Laboratory",
                certificate_number="KEBS-CAL-TH-020-B",
                as_found="Reads 6 °C high at 180 °C",
                as_found_in_tolerance=False,
                as_left="Adjusted: reads 0.5 °C high at 180 °C",
                as_left_in_tolerance=True,
                traceability="Reference thermometer traceable to the KEBS national measurement standards",
            )
    return count


def seed_inspections(users: dict, today: dt.date) -> int:
    """Incoming inspections of the steel and fastener deliveries (one accepted with a concession), a
    final inspection reviewed, and one rejected lot that raised an NC against its supplier; how many."""
    qo, manager, owner = users["quality"], users["manager"], users["owner"]
    suppliers = {s.name: s for s in db.session.scalars(select(Supplier))}
    instruments = {e.identifier: e for e in db.session.scalars(select(Equipment))}
    steel, fasteners, packaging = (
        suppliers["Kamau Steel Ltd"],
        suppliers["Otieno Fasteners"],
        suppliers["Lake Packaging"],
    )
    recorded = [
        record_inspection(
            owner,
            kind="incoming",
            inspected_on=today - dt.timedelta(days=30),
            item="Cold-rolled sheet 1.2 mm",
            lot="Coil 2421",
            quantity="4 coils",
            supplier_id=steel.id,
            order_reference="PO-2411",
            criteria="Thickness 1.20 ± 0.05 mm at 5 points; surface free of rust",
            result="accepted",
            equipment_id=instruments["GA-002"].id,
        ),
        record_inspection(
            owner,
            kind="incoming",
            inspected_on=today - dt.timedelta(days=15),
            item="Hex bolts M8 × 30, zinc plated",
            lot="L-5530",
            quantity="5,000",
            supplier_id=fasteners.id,
            criteria="Thread gauge go / no-go; head height 5.3 ± 0.15 mm on 32 samples",
            findings="Zinc plating thinner than ordered on 3 of 32 samples (6 µm against 8 µm)",
            result="concession",
            concession="Accepted by the production manager for indoor door hinges only; supplier informed",
            equipment_id=instruments["GA-001"].id,
        ),
        record_inspection(
            owner,
            kind="incoming",
            inspected_on=today - dt.timedelta(days=4),
            item="Corrugated cartons 600 × 400 mm",
            lot="Pallet 88",
            supplier_id=packaging.id,
            criteria="Burst strength and print",
            findings="Cartons crushed on one side: wet during transport",
            result="rejected",
        ),
        record_inspection(
            owner,
            kind="final",
            inspected_on=today - dt.timedelta(days=3),
            item="Steel doors, order for Nairobi Homes",
            lot="Order 1207",
            quantity="40 doors",
            criteria="Dimensions, finish and hardware per drawing D-114",
            result="accepted",
            equipment_id=instruments["GA-001"].id,
        ),
    ]
    fire(recorded[0], "review", qo, {"review_comment": "Certificates on file; thickness within limits."})
    fire(recorded[3], "review", manager, {"review_comment": "Released for dispatch."})
    return len(recorded)

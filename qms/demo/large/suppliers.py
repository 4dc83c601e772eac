"""The large organisation's suppliers (with evaluations and deliveries) and measuring equipment
(with calibrations), bulk-loaded like the rest: thousands of each, states spread over the lifecycles,
every state reached through its history."""

from __future__ import annotations

import datetime as dt

from ...models import DEFAULT_WEIGHTS, REEVALUATION_MONTHS
from ...services.suppliers import add_months, weighted_total
from .common import _at, _SeederBase

_GOODS = (
    "Cold-rolled steel sheet",
    "Aluminium extrusions",
    "Fasteners",
    "Hinges and locks",
    "Powder coating (outsourced process)",
    "Corrugated packaging",
    "Inbound freight",
    "Calibration services",
    "Industrial gases",
    "Welding consumables",
    "Hydraulic oil",
    "Laser cutting (outsourced process)",
)
_TOWNS = ("Nairobi", "Mombasa", "Kisumu", "Nakuru", "Eldoret", "Thika", "Machakos", "Nyeri")
_INSTRUMENTS = (
    ("GA", "Digital caliper 0–150 mm", "0–150 mm", "±0.02 mm", 365),
    ("MI", "Outside micrometer 0–25 mm", "0–25 mm", "±0.002 mm", 365),
    ("PG", "Pressure gauge", "0–250 bar", "±1 % FS", 180),
    ("TH", "Thermocouple", "0–300 °C", "±2 °C", 180),
    ("SC", "Platform scale", "0–300 kg", "±0.1 kg", 365),
    ("TW", "Torque wrench 20–100 N·m", "20–100 N·m", "±4 %", 365),
    ("CT", "Coating thickness gauge", "0–1500 µm", "±2 %", 180),
)
_LOCATIONS = ("Press shop", "Paint line", "Assembly", "Welding bay", "Goods receipt", "Dispatch", "Laboratory")
TRACEABILITY = "Reference standards traceable to the KEBS national measurement standards"


class _SupplierPhases(_SeederBase):
    """Suppliers through their lifecycle with evaluations and deliveries; instruments with calibrations."""

    def suppliers(self, target: int) -> None:
        rng = self.rng
        lc = self.lifecycles["supplier"]
        for i in range(target):
            supplier_id = self.w.new_id("suppliers")
            created = self.start + dt.timedelta(days=rng.randrange(0, 900))
            criticality = rng.choices(("high", "medium", "low"), weights=(2, 5, 3))[0]
            qo, mgr = self.pick("quality_officer"), self.pick("manager")
            fate = rng.choices(
                ("prospective", "under_evaluation", "approved", "conditional", "suspended", "disqualified"),
                weights=(5, 8, 60, 14, 8, 5),
            )[0]
            events: list = []
            evaluations = []
            when = _at(created + dt.timedelta(days=3), rng)
            if fate != "prospective":
                events.append(("start_evaluation", when, qo, {}))
            score = None
            if fate not in ("prospective", "under_evaluation"):
                period_end = created + dt.timedelta(days=20)
                scores = {
                    "quality": float(rng.choice((100, 90, 90, 80, 75, 60))),
                    "delivery": float(rng.randrange(70, 101)),
                    "price": float(rng.randrange(60, 101)),
                    "service": float(rng.randrange(60, 101)),
                    "certification": float(rng.choice((100, 100, 50))),
                }
                score = weighted_total(scores, DEFAULT_WEIGHTS)
                evaluations.append((period_end, scores, score))
                approve_at = _at(period_end + dt.timedelta(days=2), rng)
                if fate == "conditional":
                    events.append(
                        (
                            "approve_conditionally",
                            approve_at,
                            mgr,
                            {
                                "conditions": "Incoming inspection of every lot",
                                "review_by": period_end + dt.timedelta(days=180),
                            },
                        )
                    )
                else:
                    events.append(("approve", approve_at, mgr, {"scope": "As registered"}))
                if fate == "suspended":
                    events.append(
                        (
                            "suspend",
                            _at(period_end + dt.timedelta(days=200), rng),
                            qo,
                            {"reason": "Repeated late deliveries"},
                        )
                    )
            if fate == "disqualified":
                events.append(
                    ("disqualify", _at(created + dt.timedelta(days=60), rng), mgr, {"reason": "Failed the evaluation"})
                )
            events = self.past(events)
            state = self.history("supplier", supplier_id, events) if events else lc.initial
            last_eval = evaluations[-1][0] if evaluations else None
            goods = _GOODS[i % len(_GOODS)]
            certified = rng.random() < 0.7
            self.w.add(
                "suppliers",
                {
                    "id": supplier_id,
                    "reference": self.reference("SUP", created.year),
                    "name": f"{rng.choice(_TOWNS)} {goods.split()[0]} Supplies {i + 1}",
                    "supplies": goods,
                    "criticality": criticality,
                    "contact_name": f"Contact {i + 1}",
                    "contact_email": f"quality{i + 1}@supplier.example",
                    "contact_phone": "",
                    "address": "",
                    "iso9001_certificate": f"CERT-{10_000 + i}" if certified else "",
                    "iso9001_expires_on": self.today + dt.timedelta(days=rng.randrange(-60, 900))
                    if certified
                    else None,
                    "notes": "",
                    "owner_id": qo,
                    "approval_scope": goods if state in ("approved", "conditionally_approved", "suspended") else "",
                    "conditions": "Incoming inspection of every lot" if state == "conditionally_approved" else "",
                    "conditions_review_by": None,
                    "status_reason": "",
                    "approved_at": next((e[1] for e in events if e[0].startswith("approve")), None),
                    "evaluation_count": len(evaluations),
                    "last_evaluated_on": last_eval,
                    "next_evaluation_due": add_months(last_eval, REEVALUATION_MONTHS[criticality])
                    if last_eval
                    else None,
                    "score": score,
                    "proposed_state": None,
                    "proposal_reason": "",
                    "lifecycle_version": lc.version,
                    "state": state,
                    "version": 1 + len(events),
                    "created_at": _at(created, rng),
                    "updated_at": events[-1][1] if events else _at(created, rng),
                },
            )
            for period_end, scores, total in evaluations:
                self.w.add(
                    "supplier_evaluations",
                    {
                        "id": self.w.new_id("supplier_evaluations"),
                        "supplier_id": supplier_id,
                        "period_start": period_end - dt.timedelta(days=180),
                        "period_end": period_end,
                        "scores": scores,
                        "weights": dict(DEFAULT_WEIGHTS),
                        "basis": {"bulk_load": True},
                        "total": total,
                        "previous_total": None,
                        "proposed_state": None,
                        "proposal_reason": "",
                        "comment": "",
                        "evaluated_by_id": qo,
                        "evaluated_at": _at(period_end, rng),
                    },
                )
            if state in ("approved", "conditionally_approved"):
                for k in range(rng.randrange(2, 8)):
                    due = self.today - dt.timedelta(days=rng.randrange(5, 360))
                    self.w.add(
                        "supplier_deliveries",
                        {
                            "id": self.w.new_id("supplier_deliveries"),
                            "supplier_id": supplier_id,
                            "order_reference": f"PO-{supplier_id}-{k}",
                            "due_on": due,
                            "delivered_on": due + dt.timedelta(days=rng.choice((-2, -1, 0, 0, 0, 1, 4))),
                            "recorded_by_id": qo,
                            "recorded_at": _at(due, rng),
                        },
                    )

    def equipment(self, target: int) -> None:
        rng = self.rng
        lc = self.lifecycles["equipment"]
        for i in range(target):
            equipment_id = self.w.new_id("equipment")
            prefix, name, span, accuracy, interval = _INSTRUMENTS[i % len(_INSTRUMENTS)]
            created = self.start + dt.timedelta(days=rng.randrange(0, 700))
            owner = self.pick("process_owner")
            calibrated = created
            last = None
            dates = []  # the calibrations are written after the instrument (a chunk may be flushed between)
            while True:
                step = interval - rng.randrange(0, 20) + (rng.randrange(0, 60) if rng.random() < 0.1 else 0)
                next_on = calibrated + dt.timedelta(days=step)
                if next_on > self.today:
                    break
                calibrated = next_on
                last = calibrated
                dates.append(calibrated)
            events = []
            fate = rng.random()
            if fate < 0.03:
                events.append(
                    (
                        "quarantine",
                        _at(self.today - dt.timedelta(days=rng.randrange(1, 30)), rng),
                        owner,
                        {"reason": "Dropped on the floor"},
                    )
                )
            elif fate < 0.06:
                events.append(
                    (
                        "withdraw",
                        _at(self.today - dt.timedelta(days=rng.randrange(1, 30)), rng),
                        owner,
                        {"reason": "At the laboratory"},
                    )
                )
            elif fate < 0.08:
                events.append(
                    (
                        "retire",
                        _at(self.today - dt.timedelta(days=rng.randrange(1, 300)), rng),
                        owner,
                        {"reason": "Worn out"},
                    )
                )
            events = self.past(events)
            state = self.history("equipment", equipment_id, events) if events else lc.initial
            self.w.add(
                "equipment",
                {
                    "id": equipment_id,
                    "identifier": f"{prefix}-{i + 1:05d}",
                    "name": name,
                    "serial_number": f"SN{rng.randrange(10**6, 10**7)}",
                    "location": rng.choice(_LOCATIONS),
                    "measuring_range": span,
                    "accuracy": accuracy,
                    "owner_id": owner,
                    "interval_days": interval,
                    "calibration_kind": "external",
                    "last_calibrated_on": last,
                    "next_calibration_due": (last or created) + dt.timedelta(days=interval),
                    "calibrated_in_tolerance": True if last else None,
                    "last_good_calibration_on": last,
                    "status_reason": events[-1][3].get("reason", "") if events else "",
                    "notes": "",
                    "lifecycle_version": lc.version,
                    "state": state,
                    "version": 1 + len(events),
                    "created_at": _at(created, rng),
                    "updated_at": events[-1][1] if events else _at(created, rng),
                },
            )
            for on in dates:
                self.w.add(
                    "calibrations",
                    {
                        "id": self.w.new_id("calibrations"),
                        "equipment_id": equipment_id,
                        "calibrated_on": on,
                        "kind": "external",
                        "performed_by": "KEBS Metrology Laboratory",
                        "certificate_number": f"KEBS-{equipment_id}-{on.isoformat()}",
                        "as_found": "",
                        "as_found_in_tolerance": True,
                        "as_left": "",
                        "as_left_in_tolerance": True,
                        "traceability": TRACEABILITY,
                        "next_due": on + dt.timedelta(days=interval),
                        "certificate_id": None,
                        "recorded_by_id": owner,
                        "recorded_at": _at(on, rng),
                    },
                )

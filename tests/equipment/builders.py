"""Instruments in a given stage, through the real services."""

from __future__ import annotations

import datetime as dt

from qms.models import Equipment
from qms.services.equipment import record_calibration, register_equipment

TODAY = dt.date.today()


def new_instrument(org, identifier: str = "GA-012", **fields) -> Equipment:
    values = {
        "name": "Digital caliper 0–150 mm",
        "location": "Press shop",
        "measuring_range": "0–150 mm",
        "accuracy": "±0.02 mm",
        "interval_days": 365,
        "owner_id": org.owner.id,
    }
    values.update(fields)
    return register_equipment(org.quality, identifier=identifier, **values)


def calibrate(org, equipment: Equipment, on: dt.date, *, found: bool = True, left: bool = True, **fields):
    values = {
        "calibrated_on": on,
        "performed_by": "KEBS Metrology Laboratory",
        "certificate_number": f"CAL-{on.isoformat()}",
        "as_found": "" if found else "+0.05 mm at 100 mm",
        "as_found_in_tolerance": found,
        "as_left": "0.00 mm at 100 mm" if left else "+0.05 mm at 100 mm",
        "as_left_in_tolerance": left,
        "traceability": "Gauge blocks traceable to KEBS national standards (cert. NMS-2025-117)",
    }
    values.update(fields)
    return record_calibration(equipment, org.quality, **values)

"""Suppliers in a given stage, through the real services (shared by the supplier and matrix tests)."""

from __future__ import annotations

import datetime as dt

from qms.models import Supplier
from qms.services import fire
from qms.services.suppliers import create_supplier, record_evaluation

from ..conftest import PASSWORD

TODAY = dt.date.today()


def new_supplier(org, name: str = "Kamau Steel Ltd", **fields) -> Supplier:
    values = {
        "supplies": "Cold-rolled steel sheet 1.2 mm",
        "criticality": "high",
        "contact_name": "Wanjiru Kamau",
        "contact_email": "quality@kamausteel.example",
        "iso9001_certificate": "KEBS-QMS-1234",
        "iso9001_expires_on": TODAY + dt.timedelta(days=400),
    }
    values.update(fields)
    return create_supplier(org.quality, name=name, **values)


def approved_supplier(org, name: str = "Kamau Steel Ltd", **fields) -> Supplier:
    """A supplier evaluated at 100 on price and service (score 100 with no NC) and approved."""
    supplier = new_supplier(org, name, **fields)
    fire(supplier, "start_evaluation", org.quality)
    record_evaluation(
        supplier,
        org.quality,
        period_start=TODAY - dt.timedelta(days=180),
        period_end=TODAY,
        price=100,
        service=100,
        delivery=100,
    )
    fire(supplier, "approve", org.manager, {"scope": "Steel sheet"}, signature_password=PASSWORD)
    return supplier

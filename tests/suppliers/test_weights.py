"""Supplier evaluation weights an administrator sets: validated (every criterion, 0 or more, adding
up to 100 or normalised), used by the evaluations from then on, kept by each evaluation, and the
trend explaining a change of weights; through the page and the API."""

from __future__ import annotations

import datetime as dt

import pytest

from qms.models import DEFAULT_WEIGHTS, SupplierCriteriaWeights
from qms.services.suppliers import (
    current_weights,
    evaluations_of,
    record_evaluation,
    set_criteria_weights,
    weight_changes,
)
from workflows.errors import InvalidData, NotPermitted

from ..equipment.test_web import signed_in, text
from ..helpers import error, ok, row_count
from .builders import TODAY, approved_supplier

NEW = {"quality": 50, "delivery": 30, "price": 0, "service": 10, "certification": 10}


def test_weights_are_validated_and_nothing_is_stored_when_refused(app, org):
    assert current_weights() == DEFAULT_WEIGHTS
    with pytest.raises(NotPermitted):
        set_criteria_weights(org.quality, weights=NEW)
    cases = [
        ({**NEW, "quality": -5}, {"weights.quality": "Quality: cannot be negative"}),
        ({**NEW, "price": "cheap"}, {"weights.price": "Price: must be a number (0 or more)"}),
        ({**NEW, "price": True}, {"weights.price": "Price: must be a number (0 or more)"}),
        ({**NEW, "price": float("nan")}, {"weights.price": "Price: must be a number (0 or more)"}),
        ({k: v for k, v in NEW.items() if k != "service"}, {"weights.service": "Service: give a weight (0 or more)"}),
        (
            {**NEW, "colour": 3},
            {"weights.colour": "is not an evaluation criterion (quality, delivery, price, service, certification)"},
        ),
        (
            {**NEW, "quality": 60},
            {"weights": "add up to 110; they must add up to 100 (or ask for them to be normalised)"},
        ),
        (dict.fromkeys(NEW, 0), {"weights": "at least one criterion needs a weight above 0"}),
        (
            [50, 50],
            {"weights": "must give a weight for each criterion: quality, delivery, price, service, certification"},
        ),
    ]
    for weights, errors in cases:
        with pytest.raises(InvalidData) as bad:
            set_criteria_weights(org.admin, weights=weights)
        assert bad.value.errors == errors, weights
    assert row_count(SupplierCriteriaWeights) == 0


def test_normalising_scales_to_100(app, org):
    chosen = set_criteria_weights(
        org.admin, weights={"quality": 2, "delivery": 1, "price": 0, "service": 0, "certification": 0}, normalise=True
    )
    assert chosen == {"quality": 66.7, "delivery": 33.3, "price": 0, "service": 0, "certification": 0}
    assert sum(chosen.values()) == pytest.approx(100)
    chosen = set_criteria_weights(org.admin, weights=dict.fromkeys(NEW, 1), normalise=True, reason="Equal")
    assert chosen == dict.fromkeys(NEW, 20) and current_weights() == chosen


def test_evaluations_keep_their_weights_and_the_trend_explains_the_change(app, org):
    supplier = approved_supplier(org)  # evaluated with the defaults
    set_criteria_weights(org.admin, weights=NEW, reason="Price matters less than delivery")
    second = record_evaluation(
        supplier,
        org.quality,
        period_start=TODAY - dt.timedelta(days=30),
        period_end=TODAY,
        price=0,  # no longer weighs
        service=100,
        delivery=100,
    )
    first, latest = evaluations_of(supplier)
    assert first.weights == DEFAULT_WEIGHTS and latest.id == second.id and second.weights == NEW
    assert second.total == 100  # price 0 weighs nothing now
    changes = weight_changes([first, second])
    assert changes == {
        second.id: "Weights changed since the previous evaluation: quality 40 → 50, delivery 25 → 30, "
        "price 10 → 0, service 15 → 10; scores weighted differently are not directly comparable."
    }
    client = signed_in(app, org.quality)
    page = text(client.get(f"/suppliers/{supplier.id}"))
    assert "Weights changed since the previous evaluation: quality 40 → 50" in page
    assert "Weights of the next evaluation: Quality 50 %, delivery 30 %, price 0 %, service 10 %" in page


def test_the_weights_page(app, org):
    quality = signed_in(app, org.quality)
    page = text(quality.get("/suppliers/weights"))
    assert "Never changed: the defaults apply" in page and "readonly" in page
    assert quality.post("/suppliers/weights", data={k: str(v) for k, v in NEW.items()}).status_code == 403
    admin = signed_in(app, org.admin)
    refused = admin.post("/suppliers/weights", data={**{k: str(v) for k, v in NEW.items()}, "quality": "-1"})
    assert refused.status_code == 422 and "Quality: cannot be negative" in text(refused)
    refused = admin.post("/suppliers/weights", data={**{k: str(v) for k, v in NEW.items()}, "quality": "70"})
    assert "add up to 120; they must add up to 100" in text(refused)
    done = admin.post(
        "/suppliers/weights",
        data={**{k: str(v) for k, v in NEW.items()}, "quality": "70", "normalise": "1", "reason": "Quality first"},
    )
    assert done.status_code == 302
    page = text(admin.get("/suppliers/weights"))
    assert "Quality first" in page and "Quality 58.4 %" in page


def test_the_weights_over_the_api(app, org, api):
    url = "/api/v1/supplier-evaluation-weights"
    assert ok(api.get("viewer", url)) == {"weights": DEFAULT_WEIGHTS, "default": DEFAULT_WEIGHTS, "history": []}
    assert error(api.request("quality", "PUT", url, json={"weights": NEW}), 403)
    problem = error(api.request("admin", "PUT", url, json={"weights": {**NEW, "delivery": -1}}), 422)
    assert problem["errors"] == {"weights.delivery": "Delivery: cannot be negative"}
    assert error(api.request("admin", "PUT", url, json={"weights": NEW, "normalise": "yes please"}), 422)
    answer = ok(api.request("admin", "PUT", url, json={"weights": NEW, "reason": "Delivery first"}))
    assert answer["weights"] == NEW and answer["history"][0]["reason"] == "Delivery first"
    assert answer["history"][0]["set_by"]["id"] == org.admin.id
    supplier = approved_supplier(org)
    evaluations = ok(api.get("viewer", f"/api/v1/suppliers/{supplier.id}/evaluations"))
    assert evaluations[0]["weights"] == NEW and evaluations[0]["weights_change"] is None

"""The reviews API (ISO change, organisational change, management review, their actions) and the
implementation board API, with every answer of the REST contract."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from qms.database import db
from qms.models import (
    MANAGEMENT_REVIEW_INPUTS,
    ChangeImpact,
    ImplementationItem,
    IsoChangeItem,
    IsoChangeReview,
    ManagementReview,
    OrgChangeReview,
    ReviewAction,
)
from qms.services import fire
from qms.services.implementation import build_board, item_for_process
from qms.services.reviews import open_iso_change_review, open_org_change_review, plan_management_review

from ..conftest import PASSWORD
from ..helpers import ApiClient, audit_in_state, error, new_nc, new_process, ok, row_count
from .test_services import document

REVIEWS = "/api/v1/reviews"
ACTIONS = "/api/v1/review-actions"
BOARD = "/api/v1/implementation"
TODAY = dt.date.today()


def days(n: int) -> str:
    return (TODAY + dt.timedelta(days=n)).isoformat()


def _put(api: ApiClient, who: str, url: str, **kw: Any):
    return api.request(who, "PUT", url, **kw)


# --- ISO change ---------------------------------------------------------------------------------


def test_iso_change_review_from_2015_to_the_2024_amendment_through_the_api(api, org):
    context_doc = document(org, "Context of the organisation", ["4.1"])
    for who in ("auditor", "owner", "viewer", "admin"):
        error(
            api.post(
                who, f"{REVIEWS}/iso-change", json={"old_standard": "iso-9001-2015", "new_standard": "iso-9001-2015"}
            ),
            403,
        )
    created = api.post(
        "quality",
        f"{REVIEWS}/iso-change",
        json={
            "old_standard": "iso-9001-2015",
            "new_standard": "iso-9001-2015-amd1-2024",
            "transition_deadline": days(200),
        },
    )
    review = ok(created, 201)
    url = f"{REVIEWS}/iso-change/{review['id']}"
    assert created.headers["Location"].endswith(url) and created.headers["ETag"] == '"1"'
    assert (review["kind"], review["state"], review["reference"][:4]) == ("iso-change", "opened", "ICR-")
    assert review["owner"]["id"] == org.quality.id and review["transition_deadline"] == days(200)
    assert [(i["change"], i["old_clause"], i["new_clause"]) for i in review["items"]] == [
        ("changed", "4.1", "4.1"),
        ("changed", "4.2", "4.2"),
    ]
    first, second = review["items"]
    assert first["references"]["documents"] == [
        {"id": context_doc.id, "number": context_doc.number, "title": "Context of the organisation"}
    ]
    assert review["status_counts"] == {"not_assessed": 2, "no_gap": 0, "gap": 0}
    assert review["links"]["history"] == f"{url}/history" and review["links"]["actions"] == f"{url}/actions"

    # a second open review of the same change, and other bad openings
    errors = error(
        api.post(
            "manager",
            f"{REVIEWS}/iso-change",
            json={"old_standard": "iso-9001-2015", "new_standard": "iso-9001-2015-amd1-2024"},
        ),
        422,
    )["errors"]
    assert set(errors) == {"new_standard"} and review["reference"] in errors["new_standard"]
    for body, fields in (
        ({"new_standard": "iso-9001-2015"}, {"old_standard"}),
        ({"old_standard": "iso-9001-1994", "new_standard": "iso-9001-2015"}, {"old_standard"}),
        ({"old_standard": "iso-9001-2015", "new_standard": "iso-9001-2015"}, {"new_standard"}),
        ({"old_standard": "", "new_standard": "iso-9001-2015"}, {"old_standard"}),
        (
            {"old_standard": "iso-9001-2008", "new_standard": "iso-9001-2015", "transition_deadline": "x"},
            {"transition_deadline"},
        ),
        ({"old_standard": "iso-9001-2008", "new_standard": "iso-9001-2015", "title": "x" * 201}, {"title"}),
    ):
        assert set(error(api.post("manager", f"{REVIEWS}/iso-change", json=body), 422)["errors"]) == fields, body
    assert row_count(IsoChangeReview) == 1

    ok(api.fire("quality", url, "start_gap_analysis"))
    item = first["links"]["self"]
    assert item == f"{url}/items/{first['id']}"
    error(api.patch("auditor", item, json={"status": "no_gap"}), 403)
    for body, fields in (
        ({"status": "gap", "assessment": "  "}, {"assessment"}),
        ({"status": "not_assessed"}, {"status"}),
        ({}, {"status"}),
        ({"status": "gap", "assessment": "x", "colour": "red"}, {"colour"}),
    ):
        assert set(error(api.patch("quality", item, json=body), 422)["errors"]) == fields
    assessed = ok(api.patch("quality", item, json={"status": "gap", "assessment": "Add climate change"}))
    assert (assessed["status"], assessed["assessment"]) == ("gap", "Add climate change")
    blocked = {e["event"]: e for e in ok(api.get("manager", f"{url}/events"))}["complete_gap_analysis"]
    assert blocked["reason"] == "1 clause change is not yet assessed"
    sign = {"signature_password": PASSWORD}
    refused = error(api.fire("manager", url, "complete_gap_analysis", data={"summary": "x"}, **sign), 409)
    assert refused["message"] == "1 clause change is not yet assessed"
    ok(api.patch("manager", second["links"]["self"], json={"status": "no_gap"}))
    # the gap assessment is signed by a manager (lifecycle v2), not by a quality officer
    error(api.fire("quality", url, "complete_gap_analysis", data={"summary": "One gap in 4.1"}, **sign), 403)
    review = ok(api.fire("manager", url, "complete_gap_analysis", data={"summary": "One gap in 4.1"}, **sign))
    assert review["state"] == "transition_planning" and review["gap_summary"] == "One gap in 4.1"
    assert review["status_counts"] == {"not_assessed": 0, "no_gap": 1, "gap": 1}
    error(api.patch("quality", item, json={"status": "no_gap"}), 409)

    # actions to done
    actions = f"{url}/actions"
    error(api.post("owner", actions, json={"title": "x", "owner_id": org.owner.id, "due_date": days(9)}), 403)
    errors = error(
        api.post(
            "quality",
            actions,
            json={"title": " ", "owner_id": org.viewer.id, "due_date": days(-1), "category": "improvement"},
        ),
        422,
    )["errors"]
    assert set(errors) == {"title", "owner_id", "due_date", "category"}
    for body, fields in (
        ({"owner_id": org.owner.id, "due_date": days(9)}, {"title"}),
        ({"title": "x", "owner_id": "2", "due_date": days(9)}, {"owner_id"}),
        ({"title": "x", "owner_id": org.owner.id, "due_date": "next week"}, {"due_date"}),
        ({"title": "x", "owner_id": org.owner.id, "due_date": days(9), "category": "weather"}, {"category"}),
    ):
        assert set(error(api.post("quality", actions, json=body), 422)["errors"]) == fields
    action = ok(
        api.post(
            "quality",
            actions,
            json={
                "title": "Add climate change to the context register",
                "owner_id": org.owner.id,
                "due_date": days(30),
            },
        ),
        201,
    )
    assert (action["review_kind"], action["review_id"], action["status"]) == ("iso-change", review["id"], "open")
    assert action["links"]["review"] == url and action["overdue"] is False
    ok(api.fire("manager", url, "approve_plan", data={"target_date": days(90)}))
    refused = error(api.fire("quality", url, "complete_implementation"), 409)
    assert refused["message"] == "1 transition action is still open"
    error(api.post("viewer", action["links"]["complete"], json={"outcome": "Done"}), 403)
    assert set(error(api.post("owner", action["links"]["complete"], json={"outcome": " "}), 422)["errors"]) == {
        "outcome"
    }
    done = ok(api.post("owner", action["links"]["complete"], json={"outcome": "Register updated"}))
    assert (done["status"], done["outcome"]) == ("done", "Register updated") and done["done_at"]
    error(api.post("owner", action["links"]["complete"], json={"outcome": "Again"}), 409)
    error(api.post("quality", action["links"]["cancel"], json={"reason": "Late"}), 409)
    ok(api.fire("quality", url, "complete_implementation"))

    verifying = audit_in_state(org, "closed", clauses=("4.1",))
    verification = f"{url}/verification"
    assert set(error(_put(api, "quality", verification, json={}), 422)["errors"]) == {"audit_id"}
    assert set(error(_put(api, "quality", verification, json={"audit_id": 999_999}), 422)["errors"]) == {"audit_id"}
    review = ok(_put(api, "quality", verification, json={"audit_id": verifying.id}))
    assert review["verification_audit_id"] == verifying.id
    error(api.fire("quality", url, "close", data={"verification": "Verified"}, signature_password=PASSWORD), 403)
    errors = error(api.fire("manager", url, "close", data={"verification": "Verified"}), 422)["errors"]
    assert set(errors) == {"signature_email", "signature_password"}
    review = ok(
        api.fire("manager", url, "close", data={"verification": "Verified by audit"}, signature_password=PASSWORD)
    )
    assert review["state"] == "closed" and review["closed_at"] and review["verification"] == "Verified by audit"
    assert [a["status"] for a in review["actions"]] == ["done"]
    history = ok(api.get("viewer", f"{url}/history"))
    assert history[-1]["signature_meaning"] == "approved"


# --- organisational change ----------------------------------------------------------------------


def test_org_change_impacts_suggestions_and_actions(api, org):
    production = new_process(org)
    procedure = document(org, "Moulding procedure", ["8.5.1"], process="Production")
    nc = new_nc(org)
    error(api.post("viewer", f"{REVIEWS}/org-change", json={"title": "x"}), 403)
    errors = error(
        api.post(
            "owner",
            f"{REVIEWS}/org-change",
            json={"title": " ", "change_kind": "process", "description": "y", "process_id": 999_999, "site_id": 9},
        ),
        422,
    )["errors"]
    assert set(errors) == {"title", "process_id", "site_id"}
    assert set(
        error(api.post("owner", f"{REVIEWS}/org-change", json={"title": "x", "change_kind": "merger"}), 422)["errors"]
    ) == {"change_kind", "description"}
    review = ok(
        api.post(
            "owner",
            f"{REVIEWS}/org-change",
            json={
                "title": "Second moulding line",
                "change_kind": "process",
                "description": "A second line with its own shift.",
                "process_id": production.id,
            },
        ),
        201,
    )
    url = f"{REVIEWS}/org-change/{review['id']}"
    assert (review["kind"], review["state"], review["process"]["id"]) == ("org-change", "proposed", production.id)
    suggested = ok(api.get("viewer", review["links"]["suggested_impacts"]))
    assert [(s["area"], s["link"]) for s in suggested] == [
        ("process", f"process:{production.id}"),
        ("document", f"document:{procedure.id}"),
        ("risk", f"nonconformity:{nc.id}"),
    ]
    assert row_count(ChangeImpact) == 0
    impacts = review["links"]["impacts"]
    error(api.post("viewer", impacts, json={"area": "risk", "subject": "x"}), 403)
    for body, fields in (
        ({"area": "weather", "subject": ""}, {"area"}),
        ({"area": "risk", "subject": " "}, {"subject"}),
        ({"area": "document", "subject": "x", "link": "document:999999"}, {"link"}),
        ({"area": "document", "subject": "x", "link": "supplier:1"}, {"link"}),
        ({"area": "document", "subject": "x", "link": "x" * 41}, {"link"}),
    ):
        assert set(error(api.post("owner", impacts, json=body), 422)["errors"]) == fields
    ok(api.fire("quality", url, "start_assessment"))
    impact = ok(
        api.post(
            "owner",
            impacts,
            json={"area": "document", "subject": "Moulding", "link": f"document:{procedure.id}", "assessment": "Add"},
        ),
        201,
    )
    assert impact["link"] == f"document:{procedure.id}"
    error(api.post("owner", impacts, json={"area": "document", "subject": "again", "link": impact["link"]}), 422)
    other = open_org_change_review(org.manager, title="Other", change_kind="other", description="x")
    error(api.delete("quality", f"{REVIEWS}/org-change/{other.id}/impacts/{impact['id']}"), 404)
    error(api.delete("quality", f"{url}/impacts/999999"), 404)
    error(api.delete("viewer", impact["links"]["self"]), 403)
    assert api.delete("quality", impact["links"]["self"]).status_code == 204
    assert ok(api.get("viewer", url))["impacts"] == []
    ok(api.post("quality", impacts, json={"area": "risk", "subject": "Untrained night shift"}), 201)
    assessment = {"consequences": "More", "qms_integrity": "Kept", "resources": "Two", "responsibilities": "PM"}
    review = ok(api.fire("owner", url, "complete_assessment", data=assessment))
    assert review["state"] == "planning" and review["responsibilities"] == "PM"
    action = ok(
        api.post(
            "quality",
            review["links"]["actions"],
            json={"title": "Train the night shift", "owner_id": org.owner.id, "due_date": days(10)},
        ),
        201,
    )
    ok(api.fire("manager", url, "approve_plan", data={"target_date": days(45)}))
    error(api.post("quality", impacts, json={"area": "other", "subject": "Too late"}), 409)
    refused = error(api.fire("owner", url, "complete_implementation"), 409)
    assert refused["message"] == "1 change action is still open"
    error(api.post("owner", action["links"]["cancel"], json={"reason": "Not mine"}), 403)
    cancelled = ok(api.post("quality", action["links"]["cancel"], json={"reason": "Done by HR"}))
    assert (cancelled["status"], cancelled["outcome"]) == ("cancelled", "Done by HR")
    ok(api.fire("owner", url, "complete_implementation", data={"effectiveness_review_due": days(30)}))
    error(api.post("quality", f"{REVIEWS}/org-change/{review['id']}/actions", json={}), 422)


# --- management review --------------------------------------------------------------------------


def test_management_review_inputs_minutes_and_actions_to_done(api, org):
    error(
        api.post("owner", f"{REVIEWS}/management", json={"title": "MR", "planned_for": days(0)}),
        403,
    )
    errors = error(
        api.post(
            "manager",
            f"{REVIEWS}/management",
            json={"title": " ", "planned_for": "later", "period_start": days(0), "period_end": days(-1)},
        ),
        422,
    )["errors"]
    assert set(errors) == {"planned_for"}  # the schema answers first
    errors = error(
        api.post(
            "manager",
            f"{REVIEWS}/management",
            json={"title": " ", "planned_for": days(0), "period_start": days(0), "period_end": days(-1), "chair_id": 1},
        ),
        422,
    )["errors"]
    assert set(errors) == {"title", "period_end", "chair_id"}
    review = ok(
        api.post(
            "quality",
            f"{REVIEWS}/management",
            json={
                "title": "Management review 2026",
                "planned_for": days(10),
                "period_start": days(-365),
                "period_end": days(0),
                "chair_id": org.manager.id,
            },
        ),
        201,
    )
    url = f"{REVIEWS}/management/{review['id']}"
    assert (review["kind"], review["chair"]["id"], review["owner"]["id"]) == (
        "management",
        org.manager.id,
        org.manager.id,
    )
    assert [i["key"] for i in review["inputs"]] == list(MANAGEMENT_REVIEW_INPUTS)
    assert review["missing_inputs"] == list(MANAGEMENT_REVIEW_INPUTS)
    ok(api.fire("quality", url, "start_gathering", data={"inputs_due": days(5)}))
    refused = error(api.fire("quality", url, "mark_ready"), 409)
    assert refused["message"] == f"{len(MANAGEMENT_REVIEW_INPUTS)} review inputs are still missing"

    compile_url = review["links"]["compile"]
    error(api.post("owner", compile_url), 403)
    compiled = ok(api.post("quality", compile_url))
    assert compiled["missing_inputs"] == ["resources", "risks_opportunities"]
    by_key = {i["key"]: i for i in compiled["inputs"]}
    assert by_key["nonconformities"]["compiled"]["raised"] == 0 and by_key["nonconformities"]["compiled_at"]
    assert by_key["resources"]["compiled"] is None and by_key["resources"]["missing"] is True
    notes = by_key["resources"]["links"]["self"]
    assert notes == f"{url}/inputs/resources"
    error(_put(api, "viewer", notes, json={"notes": "x"}), 403)
    error(_put(api, "quality", f"{url}/inputs/weather", json={"notes": "Sunny"}), 404)
    assert set(error(_put(api, "quality", notes, json={}), 422)["errors"]) == {"notes"}
    assert set(error(_put(api, "quality", notes, json={"notes": "a\x00"}), 422)["errors"]) == {"notes"}
    for key, text in (
        ("quality_objectives", "On-time delivery 96 %"),
        ("resources", "One metrologist short"),
        ("risks_opportunities", "Register reviewed"),
        ("nonconformities", "Trend improving"),
    ):
        updated = ok(_put(api, "quality", f"{url}/inputs/{key}", json={"notes": text}))
    assert updated["missing_inputs"] == []
    again = ok(api.post("manager", compile_url))  # compiling again keeps the notes
    assert {i["key"]: i["notes"] for i in again["inputs"]}["nonconformities"] == "Trend improving"
    ok(api.fire("quality", url, "mark_ready"))
    early = {"title": "Too early", "owner_id": org.quality.id, "due_date": days(5), "category": "resources"}
    error(api.post("manager", f"{url}/actions", json=early), 409)  # no actions before the meeting
    held = ok(api.fire("manager", url, "record_meeting", data={"held_on": days(0), "attendees": ["A", "B"]}))
    assert held["held_on"] == days(0) and held["attendees"] == ["A", "B"]
    error(api.post("quality", compile_url), 409)
    error(_put(api, "quality", notes, json={"notes": "Later"}), 409)

    errors = error(
        api.post(
            "manager", f"{url}/actions", json={"title": "Buy a CMM", "owner_id": org.quality.id, "due_date": days(60)}
        ),
        422,
    )["errors"]
    assert set(errors) == {"category"}
    cmm = ok(
        api.post(
            "manager",
            f"{url}/actions",
            json={"title": "Buy a CMM", "owner_id": org.quality.id, "due_date": days(60), "category": "resources"},
        ),
        201,
    )
    kpi = ok(
        api.post(
            "quality",
            f"{url}/actions",
            json={"title": "Track scrap", "owner_id": org.owner.id, "due_date": days(30), "category": "improvement"},
        ),
        201,
    )
    ok(api.fire("quality", url, "draft_minutes", data={"minutes": "Decisions: buy a CMM; track scrap."}))
    draft = api.get("viewer", review["links"]["minutes"])
    assert draft.status_code == 200 and draft.mimetype == "application/pdf" and draft.data.startswith(b"%PDF")
    error(api.fire("quality", url, "approve_minutes", signature_password=PASSWORD), 403)
    ok(api.fire("manager", url, "approve_minutes", signature_password=PASSWORD))
    ok(api.fire("quality", url, "start_tracking"))
    assert error(api.fire("quality", url, "close"), 409)["message"] == "2 review actions are still open"
    ok(api.post("owner", kpi["links"]["complete"], json={"outcome": "On the dashboard"}))
    ok(api.post("manager", cmm["links"]["complete"], json={"outcome": "CMM ordered"}))
    closed = ok(api.fire("quality", url, "close"))
    assert closed["state"] == "closed" and [a["status"] for a in closed["actions"]] == ["done", "done"]
    assert [(a["category"], a["owner"]["id"]) for a in closed["actions"]] == [
        ("resources", org.quality.id),
        ("improvement", org.owner.id),
    ]
    assert ok(api.get("viewer", f"{url}/history"))[-1]["event"] == "close"
    error(api.get("viewer", f"{review['links']['minutes']}?draft=1"), 422)


# --- the collection and ids ---------------------------------------------------------------------


def test_reviews_of_every_kind_are_listed_filtered_and_paged(api, org):
    iso = open_iso_change_review(org.quality, old_standard="iso-9001-2015", new_standard="iso-9001-2015-amd1-2024")
    change = open_org_change_review(org.owner, title="New line", change_kind="process", description="x")
    mr = plan_management_review(
        org.manager, title="MR", planned_for=TODAY, period_start=TODAY - dt.timedelta(days=30), period_end=TODAY
    )
    fire(mr, "start_gathering", org.quality)
    page = ok(api.get("viewer", REVIEWS))
    assert page["total"] == 3 and [(r["kind"], r["id"]) for r in page["items"]] == [
        ("management", mr.id),
        ("org-change", change.id),
        ("iso-change", iso.id),
    ]
    assert [r["links"]["self"] for r in page["items"]] == [
        f"{REVIEWS}/management/{mr.id}",
        f"{REVIEWS}/org-change/{change.id}",
        f"{REVIEWS}/iso-change/{iso.id}",
    ]
    assert page["items"][1]["owner"]["id"] == org.owner.id
    assert not any(e["allowed"] for r in page["items"] for e in r["available_events"])  # a viewer fires nothing
    manager_view = ok(api.get("manager", f"{REVIEWS}?kind=management"))
    assert [r["id"] for r in manager_view["items"]] == [mr.id]
    assert {e["event"] for e in manager_view["items"][0]["available_events"]} >= {"mark_ready", "cancel"}
    assert [r["kind"] for r in ok(api.get("viewer", f"{REVIEWS}?state=opened"))["items"]] == ["iso-change"]
    assert ok(api.get("viewer", f"{REVIEWS}?state=opened&kind=management"))["total"] == 0
    second = ok(api.get("viewer", f"{REVIEWS}?sort=title&per_page=2&page=2"))
    assert (second["pages"], second["total"], [r["id"] for r in second["items"]]) == (2, 3, [iso.id])
    titles = [r["title"] for r in ok(api.get("viewer", f"{REVIEWS}?sort=title"))["items"]]
    assert titles == sorted(titles)
    for query in ("kind=meeting", "state=dreaming", "sort=colour", "page=0", "per_page=101", "colour=red"):
        error(api.get("viewer", f"{REVIEWS}?{query}"), 422)


def test_unknown_reviews_and_other_reviews_children_are_404(api, org):
    iso = open_iso_change_review(org.quality, old_standard="iso-9001-2015", new_standard="iso-9001-2015-amd1-2024")
    other = open_iso_change_review(org.quality, old_standard="iso-9001-2008", new_standard="iso-9001-2015")
    mr = plan_management_review(
        org.manager, title="MR", planned_for=TODAY, period_start=TODAY - dt.timedelta(days=30), period_end=TODAY
    )
    for url in (
        f"{REVIEWS}/iso-change/0",
        f"{REVIEWS}/iso-change/999999",
        f"{REVIEWS}/iso-change/{2**31}",
        f"{REVIEWS}/org-change/{iso.id}",  # an ISO-change review's id is no organisational change
        f"{REVIEWS}/management/{iso.id + 100}",
        f"{REVIEWS}/meeting/{mr.id}",
        f"{REVIEWS}/management/999999/minutes.pdf",
        f"{REVIEWS}/org-change/999999/suggested-impacts",
    ):
        error(api.get("viewer", url), 404)
    item = iso.items[0]
    error(api.patch("quality", f"{REVIEWS}/iso-change/{other.id}/items/{item.id}", json={"status": "no_gap"}), 404)
    error(api.patch("quality", f"{REVIEWS}/iso-change/{iso.id}/items/999999", json={"status": "no_gap"}), 404)
    error(api.post("quality", f"{ACTIONS}/999999/complete", json={"outcome": "x"}), 404)
    error(api.post("quality", f"{ACTIONS}/0/cancel", json={"reason": "x"}), 404)
    error(api.fire("manager", f"{REVIEWS}/management/{mr.id}", "hold_party"), 404)
    assert db.session.get(IsoChangeItem, item.id).status == "not_assessed"
    assert row_count(ReviewAction) == 0 and row_count(OrgChangeReview) == 0 and row_count(ManagementReview) == 1


# --- the implementation board -------------------------------------------------------------------


def test_the_implementation_board_through_the_api(api, org):
    production = new_process(org)
    doc = document(org, "Production control", process="Production")
    for who in ("viewer", "owner", "auditor", "admin"):
        error(api.post(who, f"{BOARD}/build", json={}), 403)
    errors = error(api.post("quality", f"{BOARD}/build", json={"standard_identifier": "iso-9001-1987"}), 422)["errors"]
    assert set(errors) == {"standard_identifier"}
    assert set(error(api.post("quality", f"{BOARD}/build", json={"depth": 9}), 422)["errors"]) == {"depth"}
    built = ok(api.post("quality", f"{BOARD}/build"))
    assert built["added"] == 29 and built["summary"]["total"] == 29 and built["summary"]["percent_effective"] == 0.0
    assert ok(api.post("manager", f"{BOARD}/build", json={"depth": 2}))["added"] == 0

    board = ok(api.get("viewer", BOARD))
    assert board["standard_identifier"] == "iso-9001-2015"
    assert [c["state"] for c in board["columns"]][:5] == [
        "planned",
        "documented",
        "implemented",
        "monitored",
        "effective",
    ]
    planned = board["columns"][0]["items"]
    assert planned[0]["item_kind"] == "process" and planned[0]["process"]["id"] == production.id
    assert planned[0]["reference"] == "PROD" and planned[0]["owner"]["id"] == org.owner.id
    assert [i["reference"] for i in planned[1:4]] == ["4.1", "4.2", "4.3"]
    assert board["summary"]["counts"]["planned"] == 29
    assert set(error(api.get("viewer", f"{BOARD}?standard=iso-0"), 422)["errors"]) == {"standard"}
    error(api.get("viewer", f"{BOARD}?colour=red"), 422)

    item = planned[0]
    url = item["links"]["self"]
    assert url == f"{BOARD}/{item['id']}" and item["links"]["evidence"] == f"{url}/evidence"
    blocked = {e["event"]: e for e in ok(api.get("owner", f"{url}/events"))}["document"]
    assert blocked["reason"] == "Add at least one controlled document linked as evidence first"
    error(api.fire("owner", url, "document"), 409)

    evidence = f"{url}/evidence"
    error(api.post("viewer", evidence, json={"kind": "url", "ref": "https://example.test"}), 403)
    for body, fields in (
        ({"kind": "photo", "ref": "1"}, {"kind"}),
        ({"kind": "document", "ref": 999_999}, {"ref"}),
        ({"kind": "audit", "ref": "abc"}, {"ref"}),
        ({"kind": "url", "ref": "javascript:alert(1)"}, {"ref"}),
        ({"kind": "url", "ref": "x" * 501}, {"ref"}),
        ({"kind": "url"}, {"ref"}),
        ({"kind": "url", "ref": True}, {"ref"}),
        ({"kind": "url", "ref": "https://example.test", "label": "x" * 201}, {"label"}),
    ):
        assert set(error(api.post("quality", evidence, json=body), 422)["errors"]) == fields, body
    linked = ok(api.post("owner", evidence, json={"kind": "document", "ref": doc.id}), 201)
    assert linked == {"index": 0, "kind": "document", "ref": str(doc.id), "label": f"{doc.number} Production control"}
    assert error(api.post("quality", evidence, json={"kind": "document", "ref": str(doc.id)}), 422)["errors"] == {
        "ref": "is already linked as evidence"
    }
    ok(api.post("quality", evidence, json={"kind": "url", "ref": "https://intranet.example.test/kpi"}), 201)
    documented = ok(api.fire("owner", url, "document"))
    assert documented["state"] == "documented" and [e["index"] for e in documented["evidence"]] == [0, 1]
    error(api.delete("viewer", f"{evidence}/0"), 403)
    error(api.delete("quality", f"{evidence}/5"), 404)
    error(api.delete("quality", f"{evidence}/-1"), 404)
    error(api.delete("quality", f"{evidence}/100"), 404)
    assert api.delete("quality", f"{evidence}/1").status_code == 204
    assert [e["kind"] for e in ok(api.get("viewer", url))["evidence"]] == ["document"]
    error(api.get("viewer", f"{BOARD}/999999"), 404)
    assert ok(api.get("viewer", f"{url}/history"))[-1]["event"] == "document"
    ok(api.fire("manager", url, "retire", data={"reason": "Outsourced"}))
    error(api.post("quality", evidence, json={"kind": "url", "ref": "https://example.test"}), 409)
    error(api.delete("quality", f"{evidence}/0"), 409)
    assert row_count(ImplementationItem) == 29


def test_a_process_owner_links_evidence_to_their_own_item_only(api, org):
    production = new_process(org)
    build_board(org.quality)
    own = item_for_process(production)
    clause = db.session.scalar(select(ImplementationItem).where(ImplementationItem.clause_number == "8.5"))
    ok(api.post("owner", f"{BOARD}/{own.id}/evidence", json={"kind": "url", "ref": "https://example.test/a"}), 201)
    error(api.post("owner", f"{BOARD}/{clause.id}/evidence", json={"kind": "url", "ref": "https://example.test"}), 403)


def test_review_dates_are_bounded(api, org):
    body = {"title": "MR", "planned_for": days(1), "period_start": days(-30), "period_end": "9999-12-31"}
    assert set(error(api.post("manager", f"{REVIEWS}/management", json=body), 422)["errors"]) == {"period_end"}
    body = {
        "old_standard": "iso-9001-2015",
        "new_standard": "iso-9001-2015-amd1-2024",
        "transition_deadline": "1899-12-31",
    }
    assert set(error(api.post("manager", f"{REVIEWS}/iso-change", json=body), 422)["errors"]) == {"transition_deadline"}
    assert row_count(ManagementReview) == 0 and row_count(IsoChangeReview) == 0

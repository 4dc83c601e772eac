"""The REST API (/api/v1): the NC/CAPA path end to end and every answer of its contract."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import event, update

from qms.database import db
from qms.models import Nonconformity, User
from qms.services.nonconformities import add_corrective_action
from qms.services.workflow import SIGNATURE_EMAIL_WRONG, SIGNATURE_PASSWORD_WRONG

from ..conftest import PASSWORD
from ..helpers import ApiClient, error, nc_in_state, new_nc, ok

TODAY = dt.date.today()


def _in(days: int) -> str:
    return (TODAY + dt.timedelta(days=days)).isoformat()


def _nc_url(nc_id: int) -> str:
    return f"/api/v1/nonconformities/{nc_id}"


def _ca_url(action_id: int) -> str:
    return f"/api/v1/corrective-actions/{action_id}"


def _event(resource: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in resource["available_events"] if e["event"] == name)


# --- the whole path -------------------------------------------------------------------------------


def test_nonconformity_from_report_to_signed_closure_through_the_api(api, org):
    created = api.post(
        "auditor",
        "/api/v1/nonconformities",
        json={
            "title": "Calibration overdue on gauge G-7",
            "description": "Gauge G-7 was used 12 days after its calibration due date.",
            "source": "internal_audit",
            "process": "Production",
            "clause_refs": ["7.1.5.2"],
            "detected_on": _in(-2),
        },
    )
    nc = ok(created, 201)
    url = _nc_url(nc["id"])
    assert created.headers["Location"].endswith(url)
    assert (nc["state"], nc["version"], nc["lifecycle_version"]) == ("reported", 1, 1)
    assert nc["reference"].startswith(f"NC-{_in(-2)[:4]}-")
    assert nc["raised_by"] == {"id": org.auditor.id, "name": org.auditor.name}
    assert nc["links"] == {
        "self": url,
        "history": f"{url}/history",
        "events": f"{url}/events",
        "corrective_actions": f"{url}/corrective-actions",
        "attachments": f"{url}/attachments",
    }
    assert nc["detected_on"] == _in(-2) and nc["created_at"].endswith("+00:00")

    nc = ok(api.fire("quality", url, "triage", headers={"If-Match": '"1"'}, data={"severity": "major"}))
    assert (nc["state"], nc["severity"], nc["version"]) == ("triaged", "major", 2)
    assert nc["owner"]["id"] == org.quality.id
    nc = ok(api.fire("owner", url, "contain", version=2, data={"containment": "Quarantined all parts."}))
    assert nc["state"] == "contained"
    nc = ok(
        api.fire(
            "quality",
            url,
            "analyse_root_cause",
            comment="Found in the 5-whys workshop",
            data={"method": "five_whys", "root_cause": "No recall reminder", "whys": ["no reminder", "no owner"]},
        )
    )
    assert nc["state"] == "root_cause_identified" and nc["root_cause_whys"] == ["no reminder", "no owner"]

    response = api.post(
        "quality",
        f"{url}/corrective-actions",
        json={"title": "Add recall reminders", "owner_id": org.owner.id, "due_date": _in(10)},
    )
    action = ok(response, 201)
    action_url = _ca_url(action["id"])
    assert response.headers["Location"].endswith(action_url)
    assert (action["state"], action["owner"]["id"], action["nonconformity_id"]) == ("planned", org.owner.id, nc["id"])
    assert action["nonconformity_reference"] == nc["reference"] and action["overdue"] is False

    nc = ok(api.fire("quality", url, "plan_actions", data={"verification_due": _in(30)}))
    assert nc["state"] == "action_planned" and nc["verification_due"] == _in(30)
    assert [a["id"] for a in nc["corrective_actions"]] == [action["id"]]

    assert ok(api.fire("owner", action_url, "start"))["state"] == "in_progress"
    note = ok(api.post("owner", f"{action_url}/notes", json={"text": "Reminders drafted"}), 201)
    assert note["author"]["id"] == org.owner.id and note["text"] == "Reminders drafted"
    action = ok(api.fire("owner", action_url, "implement", data={"implementation": "Reminders configured"}))
    assert action["state"] == "implemented" and action["implemented_by"]["id"] == org.owner.id
    assert [n["text"] for n in action["notes"]] == ["Reminders drafted"]
    action = ok(
        api.fire("quality2", action_url, "verify", signature_password=PASSWORD, data={"verification": "Checked"})
    )
    assert action["state"] == "verified" and action["verified_by"]["id"] == org.quality2.id

    assert ok(api.fire("quality", url, "complete_actions"))["state"] == "actions_completed"
    # thirty days pass: the effectiveness check falls due
    db.session.execute(update(Nonconformity).where(Nonconformity.id == nc["id"]).values(verification_due=TODAY))
    db.session.commit()
    nc = ok(
        api.fire(
            "manager", url, "verify_effectiveness", signature_password=PASSWORD, data={"evidence": "No recurrence"}
        )
    )
    assert nc["state"] == "effectiveness_verified"
    closed = api.fire("quality", url, "close", signature_password=PASSWORD, comment="Closed at the review")
    nc = ok(closed)
    assert nc["state"] == "closed" and nc["closed_at"] and nc["available_events"] == []
    assert closed.headers["ETag"] == f'"{nc["version"]}"'

    history = ok(api.get("viewer", f"{url}/history"))
    assert [row["event"] for row in history] == [
        "triage",
        "contain",
        "analyse_root_cause",
        "plan_actions",
        "complete_actions",
        "verify_effectiveness",
        "close",
    ]
    last = history[-1]
    assert (last["from_state"], last["to_state"], last["actor_id"]) == (
        "effectiveness_verified",
        "closed",
        org.quality.id,
    )
    assert last["signature_meaning"] == "approved for closure" and last["signed_by_name"] == org.quality.name
    assert last["signed_by_email"] == org.quality.email
    assert last["signed_at"].endswith("+00:00")
    assert last["signature_manifest"].startswith(f"{org.quality.name} <{org.quality.email}> — approved for closure — ")
    assert last["comment"] == "Closed at the review"
    assert history[0]["data"] == {"severity": "major"} and history[0]["signature_manifest"] is None
    action_history = ok(api.get("viewer", f"{action_url}/history"))
    assert [row["event"] for row in action_history] == ["start", "implement", "verify"]
    assert action_history[-1]["signature_meaning"] == "verified effective"


# --- authentication -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer qms_not-a-real-token", "Bearer " + "x" * 500],
)
def test_requests_without_a_valid_token_get_401_json_not_a_redirect(client, org, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, url in [
        ("GET", "/api/v1/nonconformities"),
        ("GET", "/api/v1/nonconformities/1"),
        ("POST", "/api/v1/nonconformities"),
        ("GET", "/api/v1/users"),
        ("DELETE", "/api/v1/tokens/1"),
    ]:
        response = client.open(url, method=method, headers=headers, json={})
        body = error(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Location" not in response.headers
        assert body["status"] == "Unauthorized"


def test_a_session_cookie_is_not_an_api_credential(client, org):
    from ..conftest import login

    login(client, org.quality.email)
    error(client.get("/api/v1/nonconformities"), 401)


def test_revoked_token_and_deactivated_user_get_401(api, org, tokens):
    assert api.get("owner", "/api/v1/nonconformities").status_code == 200
    mine = ok(api.get("owner", "/api/v1/tokens"))
    assert api.delete("owner", f"/api/v1/tokens/{mine[0]['id']}").status_code == 204
    response = api.get("owner", "/api/v1/nonconformities")
    error(response, 401)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]

    user = db.session.get(User, org.manager.id)
    user.active = False
    db.session.commit()
    error(api.get("manager", "/api/v1/nonconformities"), 401)


def test_the_api_needs_no_csrf_token_even_when_the_site_checks_them(app, api, org):
    app.config["WTF_CSRF_ENABLED"] = True
    response = api.post(
        "auditor", "/api/v1/nonconformities", json={"title": "T", "description": "D", "source": "supplier"}
    )
    ok(response, 201)
    # …while the site's own forms still need one
    assert api.client.post("/login", data={"email": org.quality.email, "password": PASSWORD}).status_code == 400


# --- authorisation --------------------------------------------------------------------------------


def test_viewers_read_everything_but_change_nothing(api, org):
    nc = nc_in_state(org, "root_cause_identified")
    url = _nc_url(nc.id)
    assert ok(api.get("viewer", url))["id"] == nc.id
    for path in ("/history", "/events", "/corrective-actions", "/attachments"):
        assert api.get("viewer", url + path).status_code == 200
    assert api.get("viewer", "/api/v1/corrective-actions").status_code == 200
    assert api.get("viewer", "/api/v1/users").status_code == 200

    body = error(api.fire("viewer", url, "plan_actions", data={"verification_due": _in(5)}), 403)
    assert body["status"] == "Forbidden" and "Requires the role" in body["message"]
    error(
        api.post("viewer", "/api/v1/nonconformities", json={"title": "T", "description": "D", "source": "supplier"}),
        403,
    )
    error(
        api.post(
            "viewer", f"{url}/corrective-actions", json={"title": "T", "owner_id": org.owner.id, "due_date": _in(3)}
        ),
        403,
    )
    pdf = {"file": (_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"), "evidence.pdf")}
    error(api.post("viewer", f"{url}/attachments", data=pdf, content_type="multipart/form-data"), 403)
    error(api.post("viewer", "/api/v1/users", json=_new_user()), 403)
    assert ok(api.get("viewer", url))["version"] == nc.version


def test_each_blocked_event_says_why(api, org):
    nc = nc_in_state(org, "root_cause_identified")
    viewer_view = ok(api.get("viewer", _nc_url(nc.id)))
    plan = _event(viewer_view, "plan_actions")
    assert plan["allowed"] is False and plan["reason"].startswith("Requires the role")
    quality_view = ok(api.get("quality", _nc_url(nc.id)))
    plan = _event(quality_view, "plan_actions")
    assert plan == {
        "event": "plan_actions",
        "label": "Approve action plan",
        "allowed": False,
        "reason": "Add at least one corrective action first (the plan has none)",
        "signature_required": False,
        "fields": [
            {
                "name": "verification_due",
                "label": "Effectiveness check due",
                "kind": "date",
                "required": True,
                "choices": [],
            }
        ],
    }
    assert ok(api.get("quality", _nc_url(nc.id) + "/events")) == quality_view["available_events"]

    # segregation of duties: whoever implemented an action cannot verify it
    action = add_corrective_action(nc, org.quality, title="Fix", owner_id=org.owner.id, due_date=_in(3))
    url = _ca_url(action.id)
    blocked = _event(ok(api.get("quality", url)), "start")
    assert blocked["reason"].endswith("its actions move only while its approved plan runs")
    ok(api.fire("quality", _nc_url(nc.id), "plan_actions", data={"verification_due": _in(30)}))
    ok(api.fire("quality", url, "start"))
    implemented = ok(api.fire("quality", url, "implement", data={"implementation": "Done"}))
    verify = _event(implemented, "verify")
    assert verify["allowed"] is False and verify["signature_required"] is True
    assert verify["reason"] == "You implemented this action, so someone else must verify it"
    assert _event(ok(api.get("quality2", url)), "verify")["allowed"] is True
    body = error(api.fire("quality", url, "verify", signature_password=PASSWORD, data={"verification": "ok"}), 409)
    assert body["message"] == "You implemented this action, so someone else must verify it"


# --- 409 ------------------------------------------------------------------------------------------


def test_event_not_possible_in_this_state_is_409(api, org):
    nc = new_nc(org)
    body = error(api.fire("quality", _nc_url(nc.id), "contain", data={"containment": "x"}), 409)
    assert body["status"] == "Conflict" and "not possible while the record is 'Reported'" in body["message"]


def test_stale_version_is_409_by_if_match_or_body(api, org):
    nc = new_nc(org)
    url = _nc_url(nc.id)
    got = api.get("quality", url)
    assert got.headers["ETag"] == '"1"'
    ok(api.fire("quality", url, "triage", headers={"If-Match": got.headers["ETag"]}, data={"severity": "minor"}))
    # someone still holding version 1 tries again
    body = error(api.fire("manager", url, "reject", headers={"If-Match": '"1"'}, data={"reason": "dup"}), 409)
    assert "version 1, now 2" in body["message"]
    error(api.fire("manager", url, "reject", version=1, data={"reason": "dup"}), 409)
    error(api.fire("manager", url, "reject", headers={"If-Match": 'W/"1"'}, data={"reason": "dup"}), 409)
    body = error(api.fire("manager", url, "reject", headers={"If-Match": '"2"'}, version=1, data={"reason": "x"}), 422)
    assert "version" in body["errors"]
    assert ok(api.fire("manager", url, "reject", headers={"If-Match": '"2"'}, data={"reason": "dup"}))["state"] == (
        "rejected"
    )


def test_guard_failure_is_409_with_the_guards_reason(api, org):
    nc = nc_in_state(org, "root_cause_identified")
    body = error(api.fire("quality", _nc_url(nc.id), "plan_actions", data={"verification_due": _in(30)}), 409)
    assert body["message"] == "Add at least one corrective action first (the plan has none)"
    nc = nc_in_state(org, "actions_completed")
    nc.verification_due = TODAY + dt.timedelta(days=3)
    db.session.commit()
    body = error(
        api.fire(
            "manager", _nc_url(nc.id), "verify_effectiveness", signature_password=PASSWORD, data={"evidence": "x"}
        ),
        409,
    )
    assert body["message"].startswith("The effectiveness check is not due until")


# --- 422 ------------------------------------------------------------------------------------------


def test_invalid_event_data_is_422_naming_each_field(api, org):
    nc = new_nc(org)
    url = _nc_url(nc.id)
    body = error(api.fire("quality", url, "triage", data={"severity": "huge", "colour": "red"}), 422)
    assert body["status"] == "Unprocessable Entity"
    assert set(body["errors"]) == {"data.severity", "data.colour"}
    assert body["errors"]["data.severity"].startswith("must be one of")
    body = error(api.fire("quality", url, "triage", data={"severity": "minor", "containment_due": "31/12/2030"}), 422)
    assert body["errors"] == {"data.containment_due": "must be a date (YYYY-MM-DD)"}
    body = error(api.fire("quality", url, "triage", colour="red", data={"severity": "minor"}), 422)
    assert body["errors"] == {"colour": "Unknown field."}
    body = error(api.fire("quality", url, "triage", version="two", comment=5, data=[1]), 422)
    assert set(body["errors"]) == {"version", "comment", "data"}
    body = error(api.fire("quality", url, "triage", headers={"If-Match": "yesterday"}, data={"severity": "minor"}), 422)
    assert set(body["errors"]) == {"If-Match"}
    assert ok(api.get("quality", url))["state"] == "reported"


def test_a_date_the_lifecycle_refuses_is_422_naming_that_field(api, org):
    nc = nc_in_state(org, "root_cause_identified")
    add_corrective_action(nc, org.quality, title="Fix", owner_id=org.owner.id, due_date=_in(10))
    url = _nc_url(nc.id)

    body = error(api.fire("quality", url, "plan_actions", data={"verification_due": _in(0)}), 422)

    assert list(body["errors"]) == ["data.verification_due"]
    assert "after a waiting period" in body["errors"]["data.verification_due"]
    assert ok(api.get("quality", url))["state"] == "root_cause_identified"


def test_malformed_json_is_400_saying_what_is_wrong(api, org):
    url = "/api/v1/nonconformities"
    for raw, words in (
        ('{"title": "Late",', "not valid JSON"),
        ('{"title": "Late" "area": "x"}', "not valid JSON"),
        ("\xff\xfe{", "not valid JSON"),
        ("1" * 5000, "number too large"),
        ("[" * 100_000, "nested too deeply"),
    ):
        response = api.post("quality", url, data=raw.encode("latin-1"), content_type="application/json")
        body = error(response, 400)
        assert words in body["errors"]["body"], (raw[:20], body)


def test_signed_events_need_the_signers_password(api, org):
    nc = nc_in_state(org, "effectiveness_verified")
    url = _nc_url(nc.id)
    body = error(api.fire("quality", url, "close"), 422)
    assert set(body["errors"]) == {"signature_email", "signature_password"}  # every API signature needs both
    body = error(api.fire("quality", url, "close", signature_password="not-my-password"), 422)
    assert body["errors"] == {"signature_password": SIGNATURE_PASSWORD_WRONG}
    body = error(api.fire("quality", url, "close", signature_password=PASSWORD, signature_email=None), 422)
    assert set(body["errors"]) == {"signature_email"}
    body = error(
        api.fire("quality", url, "close", signature_password=PASSWORD, signature_email=org.quality2.email), 422
    )
    assert body["errors"]["signature_email"] == SIGNATURE_EMAIL_WRONG
    assert ok(api.get("quality", url))["state"] == "effectiveness_verified"


def test_invalid_create_bodies_are_422_naming_each_field(api, org):
    url = "/api/v1/nonconformities"
    body = error(api.post("auditor", url, json={}), 422)
    assert set(body["errors"]) == {"title", "description", "source"}
    body = error(
        api.post(
            "auditor",
            url,
            json={"title": "T", "description": "D", "source": "gossip", "detected_on": "2024-02-30", "owner": 3},
        ),
        422,
    )
    assert set(body["errors"]) == {"source", "detected_on", "owner"}
    assert body["errors"]["owner"] == "Unknown field."
    assert body["errors"]["detected_on"] == "Not a valid date."
    body = error(
        api.post("auditor", url, json={"title": "T", "description": "D", "source": "supplier", "detected_on": _in(3)}),
        422,
    )
    assert body["errors"] == {"detected_on": "cannot be in the future"}
    body = error(api.post("auditor", url, json={"title": "A\x00B", "description": "D", "source": "supplier"}), 422)
    assert set(body["errors"]) == {"title"}
    body = error(api.post("auditor", url, json=["not", "an", "object"]), 422)
    assert set(body["errors"]) == {"body"}
    bad_json = api.post("auditor", url, data="{not json", content_type="application/json")
    assert set(error(bad_json, 400)["errors"]) == {"body"}

    nc = nc_in_state(org, "root_cause_identified")
    actions = f"{_nc_url(nc.id)}/corrective-actions"
    body = error(api.post("quality", actions, json={"title": "T", "owner_id": "3", "due_date": "soon"}), 422)
    assert set(body["errors"]) == {"owner_id", "due_date"}
    body = error(api.post("quality", actions, json={"title": "T", "owner_id": 999_999, "due_date": _in(-1)}), 422)
    assert body["errors"] == {"owner_id": "must be an active user", "due_date": "cannot be in the past"}


def test_invalid_query_strings_are_422_naming_each_parameter(api, org):
    body = error(api.get("viewer", "/api/v1/nonconformities?per_page=500&sort=colour&state=lost&page=0"), 422)
    assert set(body["errors"]) == {"per_page", "sort", "state", "page"}
    body = error(api.get("viewer", "/api/v1/nonconformities?colour=red"), 422)
    assert body["errors"] == {"colour": "Unknown field."}
    body = error(api.get("viewer", "/api/v1/corrective-actions?overdue=maybe&owner=x"), 422)
    assert set(body["errors"]) == {"overdue", "owner"}


# --- 404, 405, 413, 500 ---------------------------------------------------------------------------


def test_unknown_records_events_and_routes_are_json_404(api, org):
    nc = new_nc(org)
    for url in (
        "/api/v1/nonconformities/999999",
        "/api/v1/nonconformities/999999/history",
        "/api/v1/corrective-actions/999999",
        "/api/v1/users/999999",
        "/api/v1/nonconformities/0",
        "/api/v1/nonconformities/99999999999",
        "/api/v1/nothing-here",
    ):
        assert error(api.get("quality", url), 404)["status"] == "Not Found"
    error(api.fire("quality", "/api/v1/nonconformities/999999", "triage", data={"severity": "minor"}), 404)
    error(api.delete("quality", "/api/v1/tokens/999999"), 404)
    body = error(api.fire("quality", _nc_url(nc.id), "teleport"), 404)
    assert "no event 'teleport'" in body["message"]


def test_wrong_method_is_json_405(api):
    error(api.delete("quality", "/api/v1/nonconformities"), 405)


def test_unexpected_errors_are_json_500_without_details(app, api, monkeypatch):
    from qms.api import tokens as token_views

    def broken(user):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(token_views, "tokens_of", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    body = error(api.get("quality", "/api/v1/tokens"), 500)
    assert body["message"] == "An internal error occurred; it has been logged"
    assert "secret" not in json.dumps(body) and "Traceback" not in json.dumps(body)


# --- lists ----------------------------------------------------------------------------------------


def _make_register(org) -> dict[str, Any]:
    from qms.services import fire

    a = new_nc(org, title="Torque wrench out of tolerance", source="process_monitoring", clause_refs=["7.1.5.2"])
    b = new_nc(org, title="Supplier certificate missing", source="supplier", process="Purchasing", clause_refs=["8.4"])
    c = new_nc(org, title="Late delivery", source="customer_complaint", clause_refs=["8.5.1", "7.10"])
    d = new_nc(org, title="50% of labels misprinted", description="Label_batch 12", source="supplier", clause_refs=[])
    fire(a, "triage", org.quality, {"severity": "minor"})
    fire(b, "triage", org.manager, {"severity": "major"})
    fire(c, "triage", org.quality, {"severity": "observation"})
    return {"a": a.id, "b": b.id, "c": c.id, "d": d.id}


def _ids(response) -> list[int]:
    return [item["id"] for item in ok(response)["items"]]


def test_nonconformity_register_filters(api, org):
    ids = _make_register(org)
    base = "/api/v1/nonconformities?sort=reference&"

    def ids_for(query: str) -> set[int]:
        return set(_ids(api.get("viewer", base + query)))

    assert ids_for("state=triaged") == {ids["a"], ids["b"], ids["c"]}
    assert ids_for("state=reported") == {ids["d"]}
    assert ids_for("severity=major") == {ids["b"]}
    assert ids_for("source=supplier") == {ids["b"], ids["d"]}
    assert ids_for("process=purch") == {ids["b"]}
    assert ids_for("clause=7.1") == {ids["a"]}  # a sub-clause of 7.1, but 7.10 is not
    assert ids_for("clause=7.10") == {ids["c"]}
    assert ids_for("clause=8") == {ids["b"], ids["c"]}
    assert ids_for("q=TORQUE") == {ids["a"]}
    assert ids_for("q=50%25") == {ids["d"]}  # % is a literal, not a wildcard
    assert ids_for("q=labe_") == set()  # and so is _ (it would match "Label")
    assert ids_for("q=label_b") == {ids["d"]}
    reference = ok(api.get("viewer", _nc_url(ids["c"])))["reference"]
    assert ids_for(f"q={reference}") == {ids["c"]}
    assert ids_for(f"owner={org.manager.id}") == {ids["b"]}
    assert ids_for(f"raised_by={org.auditor.id}") == set(ids.values())
    assert ids_for(f"raised_by={org.viewer.id}") == set()
    assert ids_for("state=triaged&severity=minor&source=process_monitoring") == {ids["a"]}


def test_nonconformity_register_sorts_and_pages(api, org):
    ids = _make_register(org)
    ordered = _ids(api.get("viewer", "/api/v1/nonconformities?sort=reference"))
    assert ordered == [ids[k] for k in "abcd"]
    assert _ids(api.get("viewer", "/api/v1/nonconformities?sort=-reference")) == ordered[::-1]
    assert _ids(api.get("viewer", "/api/v1/nonconformities")) == ordered[::-1]  # newest first by default
    assert _ids(api.get("viewer", "/api/v1/nonconformities?sort=severity")) == [ids[k] for k in "bacd"]
    assert _ids(api.get("viewer", "/api/v1/nonconformities?sort=state")) == [ids[k] for k in "dabc"]

    page = ok(api.get("viewer", "/api/v1/nonconformities?sort=reference&per_page=3&page=2"))
    assert (page["page"], page["per_page"], page["total"], page["pages"]) == (2, 3, 4, 2)
    assert [i["id"] for i in page["items"]] == [ids["d"]]
    empty = ok(api.get("viewer", "/api/v1/nonconformities?per_page=3&page=9"))
    assert (empty["items"], empty["total"], empty["pages"]) == ([], 4, 2)
    nothing = ok(api.get("viewer", "/api/v1/nonconformities?state=closed"))
    assert (nothing["items"], nothing["total"], nothing["pages"]) == ([], 0, 0)


def test_corrective_action_lists_filter_by_state_owner_and_overdue(api, org):
    nc = nc_in_state(org, "root_cause_identified")
    yesterday = TODAY - dt.timedelta(days=1)
    late = add_corrective_action(
        nc, org.quality, title="Late", owner_id=org.owner.id, due_date=yesterday, today=yesterday
    )
    on_time = add_corrective_action(nc, org.quality, title="On time", owner_id=org.quality2.id, due_date=_in(5))
    other = nc_in_state(org, "action_planned")
    base = "/api/v1/corrective-actions?"
    assert set(_ids(api.get("viewer", base + "overdue=true"))) == {late.id}
    assert late.id not in _ids(api.get("viewer", base + "overdue=false"))
    assert _ids(api.get("viewer", base + f"owner={org.quality2.id}")) == [on_time.id]
    assert set(_ids(api.get("viewer", base + "state=planned"))) == {late.id, on_time.id, *(a.id for a in other.actions)}
    assert _ids(api.get("viewer", base + "sort=due_date&per_page=1")) == [late.id]
    of_nc = ok(api.get("viewer", f"{_nc_url(nc.id)}/corrective-actions?sort=reference"))
    assert [a["id"] for a in of_nc["items"]] == [late.id, on_time.id] and of_nc["total"] == 2
    assert of_nc["items"][0]["overdue"] is True and of_nc["items"][1]["overdue"] is False
    error(api.get("viewer", "/api/v1/nonconformities/999999/corrective-actions"), 404)


def _statements_per_request(api: ApiClient, url: str) -> tuple[Any, int]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = api.get("quality", url)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return response, len(statements)


def test_listing_a_page_costs_the_same_number_of_queries_whatever_its_size(app, api, org):
    for i in range(50):
        new_nc(org, title=f"Finding {i}")
    # the newest (first on every page): states whose guards need counted facts, with owners and actions
    planning = nc_in_state(org, "root_cause_identified")
    for i in range(12):
        add_corrective_action(planning, org.quality, title=f"Action {i}", owner_id=org.owner.id, due_date=_in(9))
    nc_in_state(org, "action_planned")
    nc_in_state(org, "actions_completed")
    api.get("quality", "/api/v1/nonconformities?per_page=1")  # the token's last-used time is written once

    small, small_count = _statements_per_request(api, "/api/v1/nonconformities?per_page=5")
    large, large_count = _statements_per_request(api, "/api/v1/nonconformities?per_page=50")
    assert len(ok(small)["items"]) == 5 and len(ok(large)["items"]) == 50
    assert small_count == large_count

    small, small_count = _statements_per_request(api, "/api/v1/corrective-actions?per_page=2")
    large, large_count = _statements_per_request(api, "/api/v1/corrective-actions?per_page=14")
    assert len(ok(small)["items"]) == 2 and len(ok(large)["items"]) == 14
    assert small_count == large_count


# --- tokens ---------------------------------------------------------------------------------------


def test_tokens_are_listed_without_secret_and_revoked_but_never_created_by_a_token(api, org):
    from qms.services.tokens import create_token

    token, plaintext = create_token(org.owner, "CI pipeline")
    listed = ok(api.get("owner", "/api/v1/tokens"))
    assert [t["name"] for t in listed] == ["tests", "CI pipeline"]
    assert all("token" not in t for t in listed) and plaintext not in json.dumps(listed)
    assert {t["scope"] for t in listed} == {"read-write"} and not any(t["expired"] for t in listed)
    assert ok(api.get(plaintext, "/api/v1/tokens"))[1]["last_used_at"] is not None

    # a token never mints a token (whatever the body), so revoking it ends the access it gave
    body = error(api.post(plaintext, "/api/v1/tokens", json={"name": "spare key"}), 403)
    assert "cannot create tokens" in body["message"]
    assert [t["name"] for t in ok(api.get("owner", "/api/v1/tokens"))] == ["tests", "CI pipeline"]

    # someone else may not revoke it; an administrator may
    error(api.delete("quality", f"/api/v1/tokens/{token.id}"), 403)
    assert api.get(plaintext, "/api/v1/nonconformities").status_code == 200
    response = api.delete("admin", f"/api/v1/tokens/{token.id}")
    assert response.status_code == 204 and response.get_data() == b""
    error(api.get(plaintext, "/api/v1/nonconformities"), 401)
    assert [t["revoked"] for t in ok(api.get("owner", "/api/v1/tokens"))] == [False, True]


# --- users ----------------------------------------------------------------------------------------


def _new_user(**overrides: Any) -> dict[str, Any]:
    return {
        "email": "new.person@example.test",
        "name": "New Person",
        "password": "a-long-enough-password",
        "roles": ["process_owner", "internal_auditor"],
        **overrides,
    }


def test_everyone_lists_users_but_only_admins_create_them(api, org):
    page = ok(api.get("viewer", "/api/v1/users?per_page=100"))
    assert page["total"] == 7
    quality = next(u for u in page["items"] if u["id"] == org.quality.id)
    assert quality == {
        "id": org.quality.id,
        "name": org.quality.name,
        "email": org.quality.email,
        "roles": ["quality_officer"],
        "active": True,
        "created_at": quality["created_at"],
        "mfa_enabled": None,  # a colleague's account security is not the viewer's to know
        "signing_locked_until": None,
    }
    assert "password" not in json.dumps(page) and "password_hash" not in json.dumps(page)
    mine = ok(api.get("viewer", f"/api/v1/users/{org.viewer.id}"))
    assert mine["mfa_enabled"] is False
    assert ok(api.get("admin", f"/api/v1/users/{org.quality.id}"))["mfa_enabled"] is False
    assert [u["id"] for u in ok(api.get("viewer", "/api/v1/users?role=quality_officer"))["items"]] == sorted(
        [org.quality.id, org.quality2.id], key=lambda i: db.session.get(User, i).name
    )
    assert ok(api.get("viewer", "/api/v1/users?q=AUDITOR"))["items"][0]["id"] == org.auditor.id

    for who in ("manager", "quality", "viewer"):
        error(api.post(who, "/api/v1/users", json=_new_user()), 403)
    response = api.post("admin", "/api/v1/users", json=_new_user())
    user = ok(response, 201)
    assert user["roles"] == ["internal_auditor", "process_owner"] and "password" not in user
    assert response.headers["Location"].endswith(f"/api/v1/users/{user['id']}")
    assert ok(api.get("viewer", f"/api/v1/users/{user['id']}")) == {**user, "mfa_enabled": None}
    body = error(api.post("admin", "/api/v1/users", json=_new_user(password="short", roles=["wizard"])), 422)
    assert set(body["errors"]) == {"roles.0"}
    body = error(api.post("admin", "/api/v1/users", json=_new_user(password="short")), 422)
    assert set(body["errors"]) == {"email", "password"}


def test_admins_change_names_roles_and_active_flags(api, org, tokens):
    url = f"/api/v1/users/{org.owner.id}"
    user = ok(api.patch("admin", url, json={"name": "  Olive Owner ", "roles": ["process_owner", "viewer"]}))
    assert (user["name"], user["roles"], user["active"]) == ("Olive Owner", ["process_owner", "viewer"], True)
    assert set(user) == {"id", "name", "email", "roles", "active", "created_at", "mfa_enabled", "signing_locked_until"}
    assert db.session.get(User, org.owner.id).roles == {"process_owner", "viewer"}
    # a field left out keeps its value
    assert ok(api.patch("admin", url, json={"roles": ["process_owner"]}))["name"] == "Olive Owner"
    assert ok(api.patch("admin", url, json={}))["roles"] == ["process_owner"]

    # a role change revoked the person's tokens; deactivation does too, and reactivation revives none
    error(api.get("owner", "/api/v1/tokens"), 401)
    from qms.services.tokens import create_token

    api.tokens["owner"] = create_token(db.session.get(User, org.owner.id), "after the role change")[1]
    assert api.get("owner", "/api/v1/tokens").status_code == 200
    assert ok(api.patch("admin", url, json={"active": False}))["active"] is False
    error(api.get("owner", "/api/v1/tokens"), 401)
    assert ok(api.patch("admin", url, json={"active": True}))["active"] is True
    error(api.get("owner", "/api/v1/tokens"), 401)

    history = json.dumps(ok(api.get("admin", url)))
    assert "hash" not in history and "password" not in history


def test_only_admins_change_accounts_and_invalid_changes_are_422(api, org):
    url = f"/api/v1/users/{org.owner.id}"
    for who in ("manager", "quality", "auditor", "owner", "viewer"):
        body = error(api.patch(who, url, json={"name": "Taken Over", "roles": ["admin"]}), 403)
        assert body["message"] == "Only an administrator can change accounts"
        error(api.patch(who, url, json={"roles": "not a list"}), 403)  # refused before the body is read
    error(api.patch("admin", "/api/v1/users/999999", json={"name": "Nobody"}), 404)

    body = error(api.patch("admin", url, json={"name": "", "roles": ["wizard"], "active": "sometimes"}), 422)
    assert set(body["errors"]) == {"roles.0", "active"}
    assert set(error(api.patch("admin", url, json={"roles": []}), 422)["errors"]) == {"roles"}
    body = error(api.patch("admin", url, json={"name": " ", "roles": ["viewer"]}), 422)
    assert body["errors"] == {"name": "is required (at most 120 characters)"}
    body = error(api.patch("admin", url, json={"email": "other@example.test"}), 422)
    assert body["errors"] == {"email": "Unknown field."}
    body = error(api.patch("admin", url, json={"name": "x" * 121}), 422)
    assert set(body["errors"]) == {"name"}
    owner = ok(api.get("viewer", url))
    assert (owner["name"], owner["roles"], owner["active"]) == (org.owner.name, ["process_owner"], True)


def test_an_admin_cannot_remove_their_own_admin_role_or_deactivate_themselves(api, org):
    url = f"/api/v1/users/{org.admin.id}"
    body = error(api.patch("admin", url, json={"roles": ["manager"]}), 422)
    assert "your own administrator role" in body["errors"]["roles"]
    error(api.patch("admin", url, json={"active": False}), 422)
    assert ok(api.patch("admin", url, json={"roles": ["admin", "manager"]}))["roles"] == ["admin", "manager"]
    error(api.get("admin", "/api/v1/tokens"), 401)  # a role change ends the account's sessions and tokens


def test_admins_reset_passwords(api, org):
    from qms.services.users import authenticate

    url = f"/api/v1/users/{org.viewer.id}/password"
    for who in ("manager", "quality", "viewer"):
        body = error(api.post(who, url, json={"password": "a-brand-new-password"}), 403)
        assert body["message"] == "Only an administrator can reset passwords"
    body = error(api.post("admin", url, json={"password": "short"}), 422)
    assert body["errors"] == {"password": "must be at least 10 characters"}
    assert set(error(api.post("admin", url, json={}), 422)["errors"]) == {"password"}
    error(api.post("admin", "/api/v1/users/999999/password", json={"password": "a-brand-new-password"}), 404)
    assert authenticate(org.viewer.email, PASSWORD) is not None

    response = api.post("admin", url, json={"password": "a-brand-new-password"})
    assert response.status_code == 204 and response.get_data() == b""
    assert authenticate(org.viewer.email, PASSWORD) is None
    assert authenticate(org.viewer.email, "a-brand-new-password") is not None
    error(api.get("viewer", "/api/v1/tokens"), 401)  # a reset password revokes the person's tokens


# --- attachments ----------------------------------------------------------------------------------


def _bytes(data: bytes):
    import io

    return io.BytesIO(data)


def test_evidence_files_are_checked_by_content(app, api, org):
    nc = new_nc(org)
    url = f"{_nc_url(nc.id)}/attachments"
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
    response = api.post(
        "owner",
        url,
        data={"file": (_bytes(pdf), "../../etc/calibration report.pdf")},
        content_type="multipart/form-data",
    )
    attachment = ok(response, 201)
    assert attachment["filename"] == "calibration report.pdf"
    assert (attachment["content_type"], attachment["size"]) == ("application/pdf", len(pdf))
    assert attachment["uploaded_by"]["id"] == org.owner.id
    assert [a["id"] for a in ok(api.get("viewer", url))] == [attachment["id"]]

    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(range(256))
    body = error(
        api.post("owner", url, data={"file": (_bytes(exe), "evidence.pdf")}, content_type="multipart/form-data"), 422
    )
    assert set(body["errors"]) == {"file"}
    body = error(api.post("owner", url, data={}, content_type="multipart/form-data"), 422)
    assert set(body["errors"]) == {"file"}

    app.config["MAX_CONTENT_LENGTH"] = 2048
    big = b"%PDF-1.4\n" + b"0" * 4096
    response = api.post("owner", url, data={"file": (_bytes(big), "big.pdf")}, content_type="multipart/form-data")
    assert error(response, 413)["status"] == "Request Entity Too Large"
    assert len(ok(api.get("viewer", url))) == 1


# --- documentation --------------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_openapi_document_is_public_and_declares_bearer_auth(client):
    response = client.get("/api/v1/openapi.json")
    spec = ok(response)
    assert spec["openapi"] == "3.0.3" and spec["info"]["title"] == "qmsflow" and spec["info"]["version"] == "v1"
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    assert spec["security"] == [{"bearerAuth": []}]
    assert "/api/v1/nonconformities/{nc_id}/events/{event}" in spec["paths"]
    assert set(spec["components"]["schemas"]["Error"]["required"]) == {"code", "status", "message", "errors"}


@pytest.mark.sqlite_only
def test_interactive_docs_are_served_from_local_assets_without_inline_script(client):
    response = client.get("/api/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "<script>" not in page and "http" not in page.replace('"/api/', "")
    csp = response.headers["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in csp and "script-src 'self';" in csp
    for url in (
        "/api/docs/assets/swagger-ui-bundle.js",
        "/api/docs/assets/swagger-ui.css",
        "/api/docs/swagger-initializer.js",
    ):
        asset = client.get(url)
        assert asset.status_code == 200 and asset.get_data(), url
        assert f'"{url}"' in page or f'"{url}"' in page.replace("&#x27;", "'")
        assert "'unsafe-inline'" not in asset.headers["Content-Security-Policy"]
    assert "/api/v1/openapi.json" in page
    assert client.get("/api/docs/assets/index.html").status_code == 404
    assert "'unsafe-inline'" not in client.get("/login").headers["Content-Security-Policy"]


def test_corrective_action_evidence_is_uploaded_listed_and_downloaded(app, api, org):
    nc = nc_in_state(org, "action_planned")
    action_url = _ca_url(nc.actions[0].id)
    url = f"{action_url}/attachments"
    assert ok(api.get("viewer", action_url))["links"]["attachments"] == url
    assert ok(api.get("viewer", url)) == []

    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
    form = {"file": (_bytes(pdf), "Reminder set-up ✓.pdf")}
    attachment = ok(api.post("owner", url, data=form, content_type="multipart/form-data"), 201)
    assert (attachment["filename"], attachment["content_type"]) == ("Reminder set-up ✓.pdf", "application/pdf")
    assert attachment["uploaded_by"] == {"id": org.owner.id, "name": org.owner.name}
    content_url = f"/api/v1/attachments/{attachment['id']}/content"
    assert attachment["links"] == {"content": content_url}
    assert ok(api.get("viewer", url)) == [attachment]
    assert ok(api.get("viewer", f"{_nc_url(nc.id)}/attachments")) == []  # the action's, not its NC's

    download = api.get("viewer", content_url)
    assert download.status_code == 200 and download.get_data() == pdf
    assert download.mimetype == "application/pdf"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''Reminder%20set-up%20%E2%9C%93.pdf" in disposition
    error(api.get(None, content_url), 401)

    text = ok(
        api.post(
            "quality", url, data={"file": (_bytes(b"Checked 12 gauges\n"), "notes")}, content_type="multipart/form-data"
        ),
        201,
    )
    assert text["filename"] == "notes.txt"
    download = api.get("viewer", text["links"]["content"])
    assert download.mimetype == "text/plain" and download.get_data() == b"Checked 12 gauges\n"
    assert download.headers["Content-Disposition"] == "attachment; filename=notes.txt"

    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(range(256))
    form = {"file": (_bytes(exe), "evidence.pdf")}
    assert set(error(api.post("owner", url, data=form, content_type="multipart/form-data"), 422)["errors"]) == {"file"}
    assert set(error(api.post("owner", url, data={}, content_type="multipart/form-data"), 422)["errors"]) == {"file"}
    form = {"file": (_bytes(pdf), "evidence.pdf")}
    body = error(api.post("viewer", url, data=form, content_type="multipart/form-data"), 403)
    assert body["message"] == "Viewers cannot attach evidence"
    error(api.post("viewer", url, data={}, content_type="multipart/form-data"), 403)  # refused before parsing
    error(api.get("viewer", "/api/v1/corrective-actions/999999/attachments"), 404)
    form = {"file": (_bytes(pdf), "evidence.pdf")}
    error(api.post("owner", "/api/v1/corrective-actions/999999/attachments", data=form), 404)

    app.config["MAX_CONTENT_LENGTH"] = 2048
    big = {"file": (_bytes(b"%PDF-1.4\n" + b"0" * 4096), "big.pdf")}
    error(api.post("owner", url, data=big, content_type="multipart/form-data"), 413)
    assert [a["id"] for a in ok(api.get("viewer", url))] == [attachment["id"], text["id"]]


def test_downloading_a_missing_attachment_or_stored_file_is_404(app, api, org):
    from qms.services.attachments import storage_path

    nc = new_nc(org)
    pdf = b"%PDF-1.4\n%%EOF\n"
    form = {"file": (_bytes(pdf), "gauge.pdf")}
    attachment = ok(
        api.post("owner", f"{_nc_url(nc.id)}/attachments", data=form, content_type="multipart/form-data"), 201
    )
    assert attachment["links"]["content"] == f"/api/v1/attachments/{attachment['id']}/content"
    assert api.get("viewer", attachment["links"]["content"]).get_data() == pdf

    error(api.get("viewer", "/api/v1/attachments/999999/content"), 404)
    error(api.get("viewer", "/api/v1/attachments/0/content"), 404)
    storage_path(attachment["sha256"]).unlink()
    body = error(api.get("viewer", attachment["links"]["content"]), 404)
    assert "missing" in body["message"] and str(app.config["QMS_UPLOAD_FOLDER"]) not in body["message"]

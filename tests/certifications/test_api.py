"""The certifications API: bodies, the certification cycle, external audits and findings, readiness,
reminders, the pack, and every answer of the REST contract."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from qms.database import db
from qms.models import Certification, CertificationBody, ExternalAudit, ExternalFinding, Nonconformity
from qms.services import fire
from qms.services.audit_trail import recorded_change
from qms.services.certifications import ensure_bodies, readiness

from ..helpers import error, new_nc, ok, restricted_document, row_count
from .test_services import certified

CERTS = "/api/v1/certifications"
BODIES = "/api/v1/certification-bodies"
TODAY = dt.date.today()
NOT_MANAGERS = ("admin", "auditor", "owner", "viewer")


@pytest.fixture
def bodies(app):
    with recorded_change(None, "bodies loaded") as session:
        ensure_bodies(session)
    return {b.code: b for b in db.session.scalars(select(CertificationBody))}


def _major_nc(org) -> Nonconformity:
    nc = new_nc(org)
    fire(nc, "triage", org.quality, {"severity": "major"})
    return nc


# --- certification bodies -----------------------------------------------------------------------


def test_bodies_are_listed_and_edited_by_administrators(api, org, bodies):
    page = ok(api.get("viewer", BODIES))
    codes = [b["code"] for b in page["items"]]
    assert {"kebs", "sgs", "bsi", "generic"} <= set(codes) and page["total"] == len(bodies)
    kebs = ok(api.get("auditor", f"{BODIES}/kebs"))
    assert kebs["name"] == "Kenya Bureau of Standards" and kebs["country"] == "KE" and kebs["active"] is True
    assert kebs["programme"]["certificate_years"] == 3
    assert {g["code"] for g in kebs["severity_scale"]} >= {"major", "minor"}
    assert kebs["links"]["certifications"] == f"{CERTS}?body=kebs"
    error(api.get("viewer", f"{BODIES}/no-such-body"), 404)

    for who in ("manager", "quality", "viewer"):
        error(api.patch(who, f"{BODIES}/kebs", json={"notes": "x"}), 403)
    edited = ok(api.patch("admin", f"{BODIES}/kebs", json={"programme": {"findings_response_days": 45}}))
    assert edited["programme"]["findings_response_days"] == 45 and edited["programme"]["certificate_years"] == 3
    assert edited["edited_by_id"] == org.admin.id and edited["edited_at"]

    # every bad field is named by its path, and nothing is saved
    before = dict(db.session.get(CertificationBody, bodies["kebs"].id).profile)
    errors = error(
        api.patch(
            "admin",
            f"{BODIES}/kebs",
            json={"programme": {"findings_response_days": 0}, "website": "http://insecure.example", "country": "UK"},
        ),
        422,
    )["errors"]
    assert set(errors) == {"programme.findings_response_days"}  # the schema answers first
    errors = error(api.patch("admin", f"{BODIES}/kebs", json={"website": "http://x.test", "country": "UK"}), 422)[
        "errors"
    ]
    assert set(errors) == {"website", "country"}
    scale = [dict(g) for g in kebs["severity_scale"]]
    scale[1]["nc_severity"] = "observation"
    scale[1]["blocks_certification"] = True
    scale.append({**scale[0], "label": "Major again"})
    errors = error(api.patch("admin", f"{BODIES}/kebs", json={"severity_scale": scale}), 422)["errors"]
    assert f"severity_scale.{len(scale) - 1}.code" in errors
    assert "severity_scale.1.blocks_certification" in errors
    errors = error(
        api.patch(
            "admin", f"{BODIES}/kebs", json={"programme": {"certificate_years": 1, "recertification_lead_days": 365}}
        ),
        422,
    )["errors"]
    assert set(errors) == {"programme.recertification_lead_days"}
    errors = error(api.patch("admin", f"{BODIES}/kebs", json={"code": "other", "severity_scale": []}), 422)["errors"]
    assert set(errors) == {"code", "severity_scale"}
    db.session.expire_all()
    after = db.session.get(CertificationBody, bodies["kebs"].id).profile
    assert after == before

    assert ok(api.patch("admin", f"{BODIES}/sgs", json={"active": False}))["active"] is False
    assert "sgs" not in [b["code"] for b in ok(api.get("viewer", f"{BODIES}?active=true"))["items"]]
    errors = error(api.post("manager", CERTS, json={"body_id": bodies["sgs"].id, "scope": "Logistics"}), 422)["errors"]
    assert set(errors) == {"body_id"}
    error(api.get("viewer", f"{BODIES}?colour=red"), 422)


# --- the cycle ----------------------------------------------------------------------------------


def test_a_certification_from_application_to_certified_through_the_api(api, org, bodies):
    created = api.post(
        "manager",
        CERTS,
        json={"body_id": bodies["kebs"].id, "scope": "Design and manufacture of steel doors"},
    )
    cert = ok(created, 201)
    url = f"{CERTS}/{cert['id']}"
    assert created.headers["Location"].endswith(url) and created.headers["ETag"] == '"1"'
    assert (cert["state"], cert["reference"][:5], cert["owner"]["id"]) == ("applied", "CERT-", org.manager.id)
    assert cert["body"] == {"id": bodies["kebs"].id, "code": "kebs", "name": "Kenya Bureau of Standards"}
    assert cert["standard_identifier"] == "iso-9001-2015" and cert["applied_on"] == TODAY.isoformat()
    assert cert["cycle"] is None and cert["certificate_number"] == ""
    assert cert["links"]["history"] == f"{url}/history" and cert["links"]["pack"] == f"{url}/pack.pdf"
    events = {e["event"]: e for e in cert["available_events"]}
    assert events["record_contract"]["allowed"] and events["cancel"]["allowed"]

    error(api.fire("quality", url, "record_contract", data={"signed_on": TODAY.isoformat()}), 403)
    ok(api.fire("manager", url, "record_contract", data={"signed_on": TODAY.isoformat(), "contract_reference": "Q-7"}))
    cert = ok(api.fire("quality", url, "start_stage1", data={"audit_date": TODAY.isoformat()}, version=2))
    assert (cert["state"], cert["contract_reference"], cert["stage1_date"]) == ("stage1", "Q-7", TODAY.isoformat())

    # the stage-2 guard: an open major nonconformity blocks it, and the API says why
    nc = _major_nc(org)
    blocked = {e["event"]: e for e in ok(api.get("quality", f"{url}/events"))}["ready_for_stage2"]
    assert not blocked["allowed"] and blocked["reason"] == "1 major nonconformity is still open"
    refused = error(api.fire("quality", url, "ready_for_stage2"), 409)
    assert refused["message"] == "1 major nonconformity is still open"
    assert ok(api.get("viewer", url))["state"] == "stage1"
    found = ok(api.get("viewer", f"{url}/readiness"))
    assert found["blocking"] == ["1 major nonconformity open"] and found["verdict"] == "not ready"
    fire(nc, "reject", org.quality, {"reason": "Not a nonconformity"})

    ok(api.fire("quality", url, "ready_for_stage2", data={"audit_date": TODAY.isoformat()}))
    error(api.fire("quality", url, "complete_stage2", data={"last_day": "yesterday"}), 422)
    cert = ok(api.fire("quality", url, "complete_stage2", data={"last_day": TODAY.isoformat()}))
    assert cert["state"] == "findings_response" and cert["response_due"]
    ok(api.fire("quality", url, "submit_response"))
    errors = error(api.fire("quality", url, "certify", data={"decided_on": TODAY.isoformat()}), 422)["errors"]
    assert set(errors) == {"data.certificate_number"}
    cert = ok(
        api.fire("quality", url, "certify", data={"decided_on": TODAY.isoformat(), "certificate_number": "KE-42"})
    )
    assert cert["state"] == "certified" and cert["certificate_number"] == "KE-42"
    assert cert["cycle"]["cycle_start"] == TODAY.isoformat() and len(cert["cycle"]["surveillance_due"]) == 2
    assert cert["expires_on"] == cert["cycle"]["expires_on"] and cert["next_audit_due"]
    assert cert["next_deadline"]["what"] == "Surveillance audit 1" and cert["next_deadline"]["status"] == "upcoming"
    history = ok(api.get("viewer", f"{url}/history"))
    assert [h["event"] for h in history][-1] == "certify" and len(history) == 6

    timeline = ok(api.get("viewer", f"{url}/timeline"))
    steps = {s["what"]: s for s in timeline["milestones"]}
    assert steps["Certification decision"]["done_on"] == TODAY.isoformat()
    assert steps["Certification decision"]["status"] == "done"
    assert steps["Certificate expiry"]["due"] == cert["expires_on"] and steps["Certificate expiry"]["days_left"] > 0

    pack = api.get("viewer", f"{url}/pack.pdf")
    assert pack.status_code == 200 and pack.mimetype == "application/pdf" and pack.data.startswith(b"%PDF")
    assert "certification-pack.pdf" in pack.headers["Content-Disposition"]


def test_certifications_are_listed_filtered_and_sorted(api, org, bodies):
    first = certified(org, bodies, code="kebs")
    second = certified(org, bodies, code="sgs", decided_on=TODAY - dt.timedelta(days=100))
    applied = ok(api.post("quality", CERTS, json={"body_id": bodies["bsi"].id, "scope": "Consulting"}), 201)
    page = ok(api.get("viewer", CERTS))
    assert page["total"] == 3 and page["items"][0]["id"] == applied["id"]
    assert [c["id"] for c in ok(api.get("viewer", f"{CERTS}?body=sgs"))["items"]] == [second.id]
    assert {c["id"] for c in ok(api.get("viewer", f"{CERTS}?state=certified"))["items"]} == {first.id, second.id}
    assert ok(api.get("viewer", f"{CERTS}?standard=iso-14001-2015"))["total"] == 0
    ordered = ok(api.get("viewer", f"{CERTS}?sort=expires_on&per_page=2"))
    assert [c["id"] for c in ordered["items"]] == [second.id, first.id] and ordered["pages"] == 2
    assert [c["id"] for c in ok(api.get("viewer", f"{CERTS}?sort=expires_on&page=2&per_page=2"))["items"]] == [
        applied["id"]
    ]
    for query in ("state=dreaming", "sort=colour", "per_page=1000", "body=" + "x" * 41, "colour=red"):
        errors = error(api.get("viewer", f"{CERTS}?{query}"), 422)["errors"]
        assert set(errors) == {query.split("=")[0] if not query.startswith("colour") else "colour"}


def test_creating_a_certification_names_each_bad_field(api, org, bodies):
    for who in NOT_MANAGERS:
        error(api.post(who, CERTS, json={"body_id": bodies["kebs"].id, "scope": "x"}), 403)
    cases = [
        ({"scope": "x"}, {"body_id"}),
        ({"body_id": bodies["kebs"].id}, {"scope"}),
        ({"body_id": "1", "scope": "x"}, {"body_id"}),
        ({"body_id": 0, "scope": "x"}, {"body_id"}),
        ({"body_id": 2**31, "scope": "x"}, {"body_id"}),
        ({"body_id": 999_999, "scope": "x"}, {"body_id"}),
        ({"body_id": bodies["kebs"].id, "scope": "  "}, {"scope"}),
        ({"body_id": bodies["kebs"].id, "scope": "a\x00b"}, {"scope"}),
        ({"body_id": bodies["kebs"].id, "scope": "x" * 5001}, {"scope"}),
        ({"body_id": bodies["kebs"].id, "scope": "x", "standard_identifier": "iso-0"}, {"standard_identifier"}),
        ({"body_id": bodies["kebs"].id, "scope": "x", "site_id": 999_999}, {"site_id"}),
        ({"body_id": bodies["kebs"].id, "scope": "x", "applied_on": "2099-01-01"}, {"applied_on"}),
        ({"body_id": bodies["kebs"].id, "scope": "x", "applied_on": "1066-10-14"}, {"applied_on"}),
        ({"body_id": bodies["kebs"].id, "scope": "x", "applied_on": "soon"}, {"applied_on"}),
        ({"body_id": bodies["kebs"].id, "scope": "x", "colour": "red"}, {"colour"}),
    ]
    for body, fields in cases:
        errors = error(api.post("manager", CERTS, json=body), 422)["errors"]
        assert set(errors) == fields, body
    error(api.post("manager", CERTS, data="{", content_type="application/json"), 400)
    assert row_count(Certification) == 0


def test_unknown_ids_and_other_parents_children_are_404(api, org, bodies):
    cert = certified(org, bodies)
    other = certified(org, bodies, code="sgs")
    audit = ok(
        api.post(
            "quality",
            f"{CERTS}/{cert.id}/external-audits",
            json={
                "kind": "surveillance",
                "start_date": TODAY.isoformat(),
                "findings": [{"body_reference": "F1", "grade": "minor", "description": "Old form"}],
            },
        ),
        201,
    )
    finding = audit["findings"][0]
    for url in (
        f"{CERTS}/0",
        f"{CERTS}/999999",
        f"{CERTS}/{2**31}",
        f"{CERTS}/99999999999999999999",
        f"{CERTS}/999999/timeline",
        f"{CERTS}/999999/readiness",
        f"{CERTS}/999999/pack.pdf",
        f"{CERTS}/999999/external-audits",
    ):
        error(api.get("viewer", url), 404)
    error(api.fire("quality", f"{CERTS}/{cert.id}", "teleport"), 404)
    group = {"finding_ids": [finding["id"], finding["id"] + 1], "label": "G1"}
    error(api.post("quality", f"{CERTS}/{other.id}/external-audits/{audit['id']}/groups", json=group), 404)
    regrade = {"grade": "major", "reason": "The body re-graded it"}
    base = f"{CERTS}/{other.id}/external-audits/{audit['id']}"
    error(api.post("quality", f"{base}/findings/{finding['id']}/regrade", json=regrade), 404)
    base = f"{CERTS}/{cert.id}/external-audits/999999"
    error(api.post("quality", f"{base}/findings/{finding['id']}/regrade", json=regrade), 404)
    base = f"{CERTS}/{cert.id}/external-audits/{audit['id']}"
    error(api.post("quality", f"{base}/findings/999999/regrade", json=regrade), 404)
    for query in ("timeline?x=1", "readiness?today=2020-01-01", "pack.pdf?draft=1"):
        error(api.get("viewer", f"{CERTS}/{cert.id}/{query}"), 422)
    assert row_count(ExternalFinding) == 1


# --- external audits and findings ---------------------------------------------------------------


def test_external_audit_findings_raise_ncs_and_are_grouped_and_regraded(api, org, bodies):
    cert = certified(org, bodies, code="kebs")
    url = f"{CERTS}/{cert.id}/external-audits"
    end = TODAY - dt.timedelta(days=2)
    ncs = row_count(Nonconformity)
    for who in NOT_MANAGERS:
        error(api.post(who, url, json={"kind": "surveillance", "start_date": end.isoformat()}), 403)
    audit = ok(
        api.post(
            "quality",
            url,
            json={
                "kind": "surveillance",
                "start_date": (end - dt.timedelta(days=1)).isoformat(),
                "end_date": end.isoformat(),
                "lead_auditor": "J. Mwangi",
                "body_reference": "KEBS/SA/2026/17",
                "findings": [
                    {"body_reference": "F1", "grade": "major", "clause_number": "7.1.5", "description": "No calib"},
                    {"body_reference": "F2", "grade": "minor", "clause_number": "7.5.3", "description": "Old form"},
                    {"body_reference": "F3", "grade": "minor", "description": "Second old form"},
                    {"body_reference": "F4", "grade": "observation", "description": "Labels"},
                ],
            },
        ),
        201,
    )
    assert (audit["kind"], audit["kind_label"], audit["end_date"]) == ("surveillance", "Surveillance", end.isoformat())
    f1, f2, f3, f4 = audit["findings"]
    assert f1["response_due"] == (end + dt.timedelta(days=30)).isoformat() and f4["response_due"] is None
    assert f1["nonconformity"]["severity"] == "major" and f1["clause_urn"].endswith(":clause:7.1.5")
    assert f1["links"]["nonconformity"] == f"/api/v1/nonconformities/{f1['nonconformity']['id']}"
    assert f4["nonconformity"] is None and f4["links"]["nonconformity"] is None
    assert row_count(Nonconformity) == ncs + 3
    raised = db.session.get(Nonconformity, f1["nonconformity"]["id"])
    assert raised.source == "external_audit" and raised.clause_refs == ["7.1.5"]

    listed = ok(api.get("viewer", url))
    assert [a["id"] for a in listed] == [audit["id"]] and len(listed[0]["findings"]) == 4
    assert ok(api.get("viewer", f"{CERTS}/{cert.id}"))["external_audit_count"] == 1

    groups = f"{url}/{audit['id']}/groups"
    error(api.post("viewer", groups, json={"finding_ids": [f2["id"], f3["id"]], "label": "G1"}), 403)
    errors = error(api.post("quality", groups, json={"finding_ids": [f2["id"]], "label": " "}), 422)["errors"]
    assert set(errors) == {"finding_ids"}  # the schema: at least two
    errors = error(api.post("quality", groups, json={"finding_ids": [f2["id"], 999_999], "label": " "}), 422)["errors"]
    assert set(errors) == {"finding_ids", "label"}
    grouped = ok(api.post("quality", groups, json={"finding_ids": [f2["id"], f3["id"]], "label": "G1"}))
    assert [f["group_label"] for f in grouped["findings"]] == ["", "G1", "G1", ""]

    regrade = f"{url}/{audit['id']}/findings/{f1['id']}/regrade"
    error(api.post("owner", regrade, json={"grade": "minor", "reason": "Accepted"}), 403)
    errors = error(api.post("quality", regrade, json={"grade": "catastrophic", "reason": ""}), 422)["errors"]
    assert set(errors) == {"grade", "reason"} and "Kenya Bureau of Standards's grades" in errors["grade"]
    errors = error(api.post("quality", regrade, json={"grade": "major", "reason": "Same"}), 422)["errors"]
    assert set(errors) == {"grade"}
    changed = ok(api.post("quality", regrade, json={"grade": "minor", "reason": "Records sent later"}))
    assert (changed["grade"], changed["regraded_from"], changed["nonconformity"]["severity"]) == (
        "minor",
        "major",
        "minor",
    )
    observed = ok(
        api.post(
            "manager",
            f"{url}/{audit['id']}/findings/{f4['id']}/regrade",
            json={"grade": "minor", "reason": "Re-graded at the closing meeting"},
        )
    )
    assert observed["nonconformity"]["severity"] == "minor" and row_count(Nonconformity) == ncs + 4


def test_bad_external_audits_name_each_field_and_write_nothing(api, org, bodies):
    cert = certified(org, bodies, code="sgs")
    url = f"{CERTS}/{cert.id}/external-audits"
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    cases = [
        ({"start_date": TODAY.isoformat()}, {"kind"}),
        ({"kind": "picnic", "start_date": TODAY.isoformat()}, {"kind"}),
        ({"kind": "stage2"}, {"start_date"}),
        ({"kind": "stage2", "start_date": tomorrow}, {"start_date"}),
        ({"kind": "stage2", "start_date": TODAY.isoformat(), "end_date": "2000-01-01"}, {"end_date"}),
        ({"kind": "stage2", "start_date": TODAY.isoformat(), "lead_auditor": "x" * 201}, {"lead_auditor"}),
        ({"kind": "stage2", "start_date": TODAY.isoformat(), "findings": "none"}, {"findings"}),
        (
            {"kind": "stage2", "start_date": TODAY.isoformat(), "findings": [{}]},
            {
                "findings.0.body_reference",
                "findings.0.grade",
                "findings.0.description",
            },
        ),
        (
            {
                "kind": "stage2",
                "start_date": TODAY.isoformat(),
                "findings": [
                    {"body_reference": "F1", "grade": "catastrophic", "clause_number": "99.9", "description": "x"},
                    {"body_reference": "F2", "grade": "minor", "description": "  "},
                ],
            },
            {"findings.0.grade", "findings.0.clause_number", "findings.1.description"},
        ),
        (
            {
                "kind": "stage2",
                "start_date": TODAY.isoformat(),
                "findings": [
                    {"body_reference": "F1", "grade": "minor", "description": "a"},
                    {"body_reference": "F1", "grade": "minor", "description": "b"},
                ],
            },
            {"findings"},
        ),
        (
            {
                "kind": "stage2",
                "start_date": TODAY.isoformat(),
                "findings": [{"body_reference": "F1", "grade": "x" * 41, "description": "a", "severity": "high"}],
            },
            {"findings.0.grade", "findings.0.severity"},
        ),
    ]
    for body, fields in cases:
        errors = error(api.post("quality", url, json=body), 422)["errors"]
        assert set(errors) == fields, body
    assert row_count(ExternalAudit) == 0 and row_count(ExternalFinding) == 0 and row_count(Nonconformity) == 0
    fire(cert, "withdraw", org.manager, {"reason": "Withdrawn by the body"})
    error(api.post("quality", url, json={"kind": "special", "start_date": TODAY.isoformat()}), 409)


# --- readiness and reminders --------------------------------------------------------------------


def test_readiness_matches_the_service(api, org, bodies):
    cert = certified(org, bodies)
    minor = new_nc(org)
    fire(minor, "triage", org.quality, {"severity": "minor"})
    _major_nc(org)
    for url, record in ((f"{CERTS}/{cert.id}/readiness", cert), ("/api/v1/readiness", None)):
        found = ok(api.get("viewer", url))
        expected = readiness(record)
        assert found["certification_id"] == (cert.id if record else None)
        assert (found["score"], found["verdict"], found["blocking"]) == (
            expected.score,
            expected.verdict,
            expected.blocking,
        )
        assert found["reasons"] == [
            {"points": r.points, "message": r.message, "link": r.link, "blocking": r.blocking} for r in expected.reasons
        ]
        assert found["figures"] == expected.figures
        assert found["figures"]["open_major_ncs"] == 1 and found["figures"]["open_minor_ncs"] == 1
        assert found["reasons"][0]["blocking"] and found["reasons"][0]["message"] == "1 major nonconformity open"
    error(api.get("viewer", "/api/v1/readiness?certification=1"), 422)


def test_reminders_list_the_deadlines_due(api, org, bodies):
    cert = certified(org, bodies, decided_on=TODAY - dt.timedelta(days=365 - 20))
    due = ok(api.get("viewer", f"{CERTS}/reminders"))
    assert due == [
        {
            "certification_id": cert.id,
            "reference": cert.reference,
            "body": "Kenya Bureau of Standards",
            "what": "Surveillance audit 1",
            "due": (TODAY + dt.timedelta(days=20)).isoformat(),
            "days_left": 20,
            "link": f"{CERTS}/{cert.id}",
        }
    ]
    assert ok(api.get("viewer", f"{CERTS}/reminders?owner_id={org.quality.id}")) == []
    assert len(ok(api.get("viewer", f"{CERTS}/reminders?owner_id={org.manager.id}"))) == 1
    for query in ("owner_id=0", "owner_id=abc", "days=30"):
        error(api.get("viewer", f"{CERTS}/reminders?{query}"), 422)


def test_dates_at_the_end_of_the_calendar_never_break_the_api(api, org, bodies):
    """Event dates beyond 2999 (deadlines computed from them would overflow) are refused, naming the field."""
    cert = ok(api.post("manager", CERTS, json={"body_id": bodies["kebs"].id, "scope": "Doors"}), 201)
    url = f"{CERTS}/{cert['id']}"
    ok(api.fire("manager", url, "record_contract", data={"signed_on": TODAY.isoformat()}))
    errors = error(api.fire("quality", url, "start_stage1", data={"audit_date": "9999-12-31"}), 422)
    assert errors["errors"] == {"data.audit_date": "must be between 1900-01-01 and 2999-12-31"}
    shown = ok(api.get("viewer", url))
    assert shown["state"] == "contracted" and shown["stage1_date"] is None
    ok(api.get("viewer", f"{url}/timeline"))
    ok(api.get("viewer", f"{CERTS}/reminders"))
    errors = error(
        api.post("manager", CERTS, json={"body_id": bodies["kebs"].id, "scope": "x", "applied_on": "3000-01-01"}), 422
    )
    assert set(errors["errors"]) == {"applied_on"}


def test_the_pack_names_a_restricted_overdue_document_only_to_its_readers(api, org, bodies, client):
    """The pack lists the documents overdue for review: one the reader may not see is counted, not named."""
    import io

    from pypdf import PdfReader

    from ..conftest import login

    secret = restricted_document(org)
    secret.next_review_due = TODAY - dt.timedelta(days=30)
    db.session.commit()
    cert = certified(org, bodies)

    def pdf_text(response) -> str:
        assert response.status_code == 200
        return " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(response.data)).pages)

    login(client, org.viewer.email)
    for shown in (
        pdf_text(api.get("viewer", f"{CERTS}/{cert.id}/pack.pdf")),
        pdf_text(client.get(f"/certifications/{cert.id}/pack.pdf")),
    ):
        assert "Salary bands" not in shown and secret.number not in shown
        assert "Also overdue: 1 document you may not see." in shown
    manager = pdf_text(api.get("manager", f"{CERTS}/{cert.id}/pack.pdf"))
    assert "Salary bands" in manager and "you may not see" not in manager

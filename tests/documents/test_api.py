"""The documents API (/api/v1/documents, /revisions, /acknowledgements): the controlled-document
life end to end, confidentiality, uploads and every answer of the REST contract."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import event, select

from qms.database import db
from qms.models import Document, User
from qms.services import fire
from qms.services.documents import add_revision, can_view, create_document
from qms.services.tokens import create_token

from ..conftest import PASSWORD
from ..helpers import ApiClient, error, ok
from .test_services import pdf_bytes

ROLES = ("admin", "manager", "quality", "quality2", "auditor", "owner", "viewer")
TODAY = dt.date.today().isoformat()
#: a file no document may be (an executable)
REFUSED_FILE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(range(256))


def _upload(api: ApiClient, who: str, document_id: int, content: bytes, name: str = "sop.pdf", **form: str):
    return api.post(
        who,
        f"/api/v1/documents/{document_id}/revisions",
        data={"file": (io.BytesIO(content), name), **form},
        content_type="multipart/form-data",
    )


def _event(resource: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in resource["available_events"] if e["event"] == name)


def _ids(response) -> list[int]:
    return [item["id"] for item in ok(response)["items"]]


def _new_document(org, author=None, **overrides) -> Document:
    fields = {"title": "Control of records", "doc_type": "procedure", "owner_id": org.quality.id, "process": "QA"}
    fields.update(overrides)
    return create_document(author or org.quality, **fields)


def _effective(org, document: Document, text: str = "Body"):
    revision = add_revision(document, org.owner, stream=io.BytesIO(pdf_bytes(text)), filename="a.pdf")
    fire(revision, "submit_for_review", org.owner, {"change_summary": "First issue"})
    fire(revision, "approve", org.quality2, signature_password=PASSWORD)
    fire(revision, "make_effective", org.manager, {"effective_date": TODAY})
    return revision


# --- the whole life -------------------------------------------------------------------------------


def test_a_document_from_registration_to_an_acknowledged_stamped_copy(api, org):
    created = api.post(
        "quality",
        "/api/v1/documents",
        json={
            "title": "Control of monitoring equipment",
            "doc_type": "procedure",
            "owner_id": org.quality.id,
            "process": "QA",
            "clause_refs": ["7.1.5"],
            "review_period_months": 12,
            "distribution": [{"kind": "role", "value": "process_owner"}],
        },
    )
    document = ok(created, 201)
    url = f"/api/v1/documents/{document['id']}"
    assert created.headers["Location"].endswith(url)
    assert document["number"] == "SOP-QA-001" and document["status"] == "current"
    assert document["owner"] == {"id": org.quality.id, "name": org.quality.name}
    assert document["distribution"] == [{"kind": "role", "value": "process_owner"}]
    assert document["revisions"] == [] and document["current_revision_id"] is None
    assert document["links"] == {"self": url, "revisions": f"{url}/revisions", "current_revision": None}

    uploaded = _upload(api, "quality", document["id"], pdf_bytes("Calibrate every gauge yearly"), change_summary="New")
    revision = ok(uploaded, 201)
    rev_url = f"/api/v1/revisions/{revision['id']}"
    assert uploaded.headers["Location"].endswith(rev_url)
    assert (revision["state"], revision["state_label"], revision["version"]) == ("draft", "Draft", 1)
    assert revision["lifecycle_version"] == 1 and revision["label"] == "A"
    assert revision["reference"] == "SOP-QA-001 rev A" and revision["document_number"] == "SOP-QA-001"
    assert revision["content_type"] == "application/pdf" and revision["filename"] == "sop.pdf"
    assert revision["change_summary"] == "New" and revision["author"]["id"] == org.quality.id
    assert revision["links"] == {
        "self": rev_url,
        "history": f"{rev_url}/history",
        "events": f"{rev_url}/events",
        "file": f"{rev_url}/file",
        "acknowledge": f"{rev_url}/acknowledge",
        "document": url,
    }
    assert ok(api.get("quality", url))["revision_in_work_id"] == revision["id"]
    # only one revision in work at a time
    error(_upload(api, "quality", document["id"], pdf_bytes("other")), 409)

    revision = ok(api.fire("quality", rev_url, "submit_for_review", data={"change_summary": "First issue"}))
    assert (revision["state"], revision["version"]) == ("in_review", 2)
    blocked = _event(revision, "approve")
    assert blocked["allowed"] is False and "someone else must approve it" in blocked["reason"]
    assert blocked["signature_required"] is True
    own = error(api.fire("quality", rev_url, "approve", signature_password=PASSWORD), 409)
    assert "someone else must approve it" in own["message"]
    assert _event(ok(api.get("quality2", rev_url)), "approve")["allowed"] is True
    unsigned = error(api.fire("quality2", rev_url, "approve"), 422)
    assert "signature_password" in unsigned["errors"]
    stale = api.fire("quality2", rev_url, "approve", headers={"If-Match": '"1"'}, signature_password=PASSWORD)
    error(stale, 409)
    error(api.fire("viewer", rev_url, "approve", signature_password=PASSWORD), 403)
    approved = api.fire("quality2", rev_url, "approve", headers={"If-Match": '"2"'}, signature_password=PASSWORD)
    revision = ok(approved)
    assert revision["state"] == "approved" and revision["approved_by"]["id"] == org.quality2.id
    assert approved.headers["ETag"] == f'"{revision["version"]}"'
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    body = error(api.fire("quality2", rev_url, "make_effective", data={"effective_date": future}), 422)
    assert list(body["errors"]) == ["data.effective_date"]
    revision = ok(api.fire("quality2", rev_url, "make_effective", version=3, data={"effective_date": TODAY}))
    assert (revision["state"], revision["effective_date"]) == ("effective", TODAY)

    history = ok(api.get("viewer", f"{rev_url}/history"))
    assert [h["event"] for h in history] == ["submit_for_review", "approve", "make_effective"]
    assert history[1]["signed_by_name"] == org.quality2.name and history[1]["signature_meaning"] == "approved"
    events = ok(api.get("quality", f"{rev_url}/events"))
    assert {e["event"] for e in events} >= {"mark_review_due", "make_obsolete"}

    document = ok(api.get("owner", url))
    assert document["current_revision_id"] == revision["id"] and document["revision_in_work_id"] is None
    assert document["links"]["current_revision"] == rev_url
    assert [r["state"] for r in document["revisions"]] == ["effective"]
    assert document["next_review_due"] is not None

    copy = api.get("owner", f"{rev_url}/file")
    assert copy.status_code == 200 and copy.mimetype == "application/pdf" and copy.data.startswith(b"%PDF-")
    assert "SOP-QA-001-rev-A-sop.pdf" in copy.headers["Content-Disposition"]
    assert copy.headers["Cache-Control"] == "no-store"
    text = PdfReader(io.BytesIO(copy.data)).pages[0].extract_text()
    assert "SOP-QA-001" in text and "rev A" in text and "uncontrolled when printed" in text
    assert "Calibrate every gauge yearly" in text

    owed = ok(api.get("owner", "/api/v1/acknowledgements"))
    assert [(r["revision_id"], r["document_number"], r["acknowledged_at"]) for r in owed] == [
        (revision["id"], "SOP-QA-001", None)
    ]
    assert owed[0]["links"]["acknowledge"] == f"{rev_url}/acknowledge" and owed[0]["overdue"] is False
    receipt = ok(api.post("owner", f"{rev_url}/acknowledge"))
    assert receipt["id"] == owed[0]["id"] and receipt["user_id"] == org.owner.id
    assert receipt["acknowledged_at"] is not None and receipt["revision_label"] == "A"
    assert ok(api.get("owner", "/api/v1/acknowledgements")) == []
    # acknowledging again changes nothing
    assert ok(api.post("owner", f"{rev_url}/acknowledge"))["acknowledged_at"] == receipt["acknowledged_at"]


def test_only_the_revision_in_force_can_be_acknowledged_and_drafts_are_stamped_as_such(api, org):
    document = _new_document(org)
    revision = add_revision(document, org.owner, stream=io.BytesIO(pdf_bytes("Draft text")), filename="d.pdf")
    error(api.post("owner", f"/api/v1/revisions/{revision.id}/acknowledge"), 409)
    copy = api.get("viewer", f"/api/v1/revisions/{revision.id}/file")
    text = PdfReader(io.BytesIO(copy.data)).pages[0].extract_text()
    assert copy.status_code == 200 and document.number in text and "uncontrolled when printed" not in text


def test_a_non_pdf_file_is_sent_as_stored(api, org):
    document = _new_document(org)
    revision = ok(_upload(api, "owner", document.id, b"Plain text work instruction\n", "wi.txt"), 201)
    response = api.get("viewer", f"/api/v1/revisions/{revision['id']}/file")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert response.data == b"Plain text work instruction\n"


# --- confidentiality ------------------------------------------------------------------------------


def test_a_restricted_document_is_hidden_from_a_process_owner(api, org):
    secret = _new_document(org, org.manager, title="Salary bands", doc_type="record", confidentiality="restricted")
    revision = _effective(org, secret, "secret")
    open_doc = _new_document(org, title="Open procedure")
    for url in (
        f"/api/v1/documents/{secret.id}",
        f"/api/v1/documents/{secret.id}/revisions",
        f"/api/v1/revisions/{revision.id}",
        f"/api/v1/revisions/{revision.id}/history",
        f"/api/v1/revisions/{revision.id}/events",
        f"/api/v1/revisions/{revision.id}/file",
    ):
        assert "Salary" not in error(api.get("owner", url), 403)["message"]
        assert api.get("quality", url).status_code == 200, url
    error(api.post("owner", f"/api/v1/revisions/{revision.id}/acknowledge"), 403)
    error(api.fire("owner", f"/api/v1/revisions/{revision.id}", "make_obsolete", data={"reason": "x"}), 403)
    error(_upload(api, "owner", secret.id, pdf_bytes("mine now")), 403)
    listed = _ids(api.get("owner", "/api/v1/documents?per_page=100"))
    assert open_doc.id in listed and secret.id not in listed
    assert ok(api.get("owner", "/api/v1/documents?q=Salary"))["total"] == 0
    for who in ("quality", "manager", "admin"):
        assert secret.id in _ids(api.get(who, "/api/v1/documents?q=Salary"))


def test_the_list_shows_exactly_the_documents_can_view_allows(app, api, org):
    documents = [
        _new_document(
            org, org.manager, title=f"{level} {kind}", confidentiality=level, owner_id=owner.id, distribution=d
        )
        for level in ("public", "internal", "confidential", "restricted")
        for kind, owner, d in (
            ("plain", org.manager, []),
            ("owned", org.owner, []),
            ("by user", org.manager, [("user", str(org.viewer.id))]),
            ("by role", org.manager, [("role", "internal_auditor")]),
            ("by process", org.manager, [("process", "QA")]),
        )
    ]
    for who in ROLES:
        user = getattr(org, who)
        expected = sorted(d.id for d in documents if can_view(d, user))
        assert sorted(_ids(api.get(who, "/api/v1/documents?per_page=100"))) == expected, who
    assert len(_ids(api.get("viewer", "/api/v1/documents?per_page=100"))) == 12  # 10 open + named on two


# --- the contract's answers --------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer not-a-token", "Basic dXNlcjpwYXNz"])
def test_requests_without_a_valid_token_get_401(client, org, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    for method, url in (
        ("GET", "/api/v1/documents"),
        ("POST", "/api/v1/documents"),
        ("GET", "/api/v1/documents/1"),
        ("GET", "/api/v1/revisions/1/file"),
        ("POST", "/api/v1/revisions/1/acknowledge"),
        ("GET", "/api/v1/acknowledgements"),
    ):
        response = client.open(url, method=method, headers=headers, json={})
        assert error(response, 401) and response.headers["WWW-Authenticate"].startswith("Bearer")


def test_bad_document_data_is_422_naming_each_field(api, org):
    bad = error(
        api.post(
            "quality",
            "/api/v1/documents",
            json={"doc_type": "memo", "owner_id": "x", "review_period_months": 500, "confidentiality": "secret"},
        ),
        422,
    )
    assert set(bad["errors"]) == {"title", "doc_type", "owner_id", "review_period_months", "confidentiality"}
    assert all(name in bad["message"] for name in bad["errors"])
    bad = error(
        api.post(
            "quality",
            "/api/v1/documents",
            json={"title": "T", "doc_type": "form", "owner_id": org.quality.id, "distribution": [{"kind": "team"}]},
        ),
        422,
    )
    assert set(bad["errors"]) == {"distribution.0.kind", "distribution.0.value"}
    # what only the service can tell
    bad = error(
        api.post(
            "quality",
            "/api/v1/documents",
            json={
                "title": "   ",
                "doc_type": "form",
                "owner_id": 999_999,
                "distribution": [{"kind": "role", "value": "janitor"}],
            },
        ),
        422,
    )
    assert set(bad["errors"]) == {"title", "owner_id", "distribution"}
    assert set(error(api.post("quality", "/api/v1/documents", json={"title": "T", "extra": 1}), 422)["errors"]) >= {
        "extra"
    }
    assert "colour" in error(api.get("viewer", "/api/v1/documents?colour=red"), 422)["errors"]
    assert "sort" in error(api.get("viewer", "/api/v1/documents?sort=owner"), 422)["errors"]
    assert db.session.scalar(select(Document.id)) is None


@pytest.mark.parametrize("who", ["viewer", "auditor"])
def test_roles_that_may_not_author_get_403(api, org, who):
    body = error(api.post(who, "/api/v1/documents", json={}), 403)  # before the body is looked at
    assert "process owner" in body["message"]
    document = _new_document(org)
    error(_upload(api, who, document.id, pdf_bytes("x")), 403)


def test_a_refused_or_corrupt_file_is_422_naming_file(api, org):
    document = _new_document(org)
    corrupt = error(_upload(api, "owner", document.id, b"%PDF-1.4 broken", "x.pdf"), 422)
    assert set(corrupt["errors"]) == {"file"} and "cannot be read" in corrupt["errors"]["file"]
    refused = error(_upload(api, "owner", document.id, REFUSED_FILE, "x.pdf"), 422)
    assert set(refused["errors"]) == {"file"}
    empty = error(_upload(api, "owner", document.id, b"", "x.pdf"), 422)
    assert set(empty["errors"]) == {"file"}
    missing = api.post(
        "owner",
        f"/api/v1/documents/{document.id}/revisions",
        data={"change_summary": "x"},
        content_type="multipart/form-data",
    )
    assert set(error(missing, 422)["errors"]) == {"file"}
    assert ok(api.get("owner", f"/api/v1/documents/{document.id}/revisions")) == []


def test_an_upload_over_the_limit_is_413(app, api, org):
    document = _new_document(org)
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    error(_upload(api, "owner", document.id, b"a" * 20_000, "big.txt"), 413)
    assert ok(api.get("owner", f"/api/v1/documents/{document.id}/revisions")) == []


def test_a_withdrawn_document_takes_no_revision(api, org):
    document = _new_document(org)
    revision = _effective(org, document)
    url = f"/api/v1/revisions/{revision.id}"
    assert ok(api.fire("quality", url, "make_obsolete", data={"reason": "Process retired"}))["state"] == "obsolete"
    assert ok(api.get("viewer", f"/api/v1/documents/{document.id}"))["status"] == "obsolete"
    error(_upload(api, "owner", document.id, pdf_bytes("again")), 409)


def test_unknown_records_are_404(api, org):
    for url in (
        "/api/v1/documents/999999",
        "/api/v1/documents/999999/revisions",
        "/api/v1/revisions/999999",
        "/api/v1/revisions/999999/history",
        "/api/v1/revisions/999999/file",
        "/api/v1/documents/0",
        "/api/v1/revisions/99999999999",
    ):
        error(api.get("viewer", url), 404)
    error(api.post("owner", "/api/v1/revisions/999999/acknowledge"), 404)
    document = _new_document(org)
    revision = add_revision(document, org.owner, stream=io.BytesIO(pdf_bytes("x")), filename="d.pdf")
    error(api.fire("owner", f"/api/v1/revisions/{revision.id}", "no_such_event"), 404)


# --- lists ---------------------------------------------------------------------------------------


def test_the_list_filters_and_sorts(api, org):
    procedure = _new_document(org, title="Calibration", clause_refs=["7.1.5.2"], review_period_months=1)
    form = _new_document(org, title="Audit checklist", doc_type="form", process="Audit", clause_refs=["9.2"])
    policy = _new_document(org, title="Quality policy", doc_type="policy", review_period_months=0)
    _effective(org, procedure)
    withdrawn = _effective(org, policy)
    fire(withdrawn, "make_obsolete", org.quality, {"reason": "Replaced"})
    db.session.get(Document, procedure.id).next_review_due = dt.date.today() - dt.timedelta(days=1)
    db.session.commit()

    base = "/api/v1/documents?"
    assert _ids(api.get("viewer", base + "doc_type=form")) == [form.id]
    assert _ids(api.get("viewer", base + "process=aud")) == [form.id]
    assert _ids(api.get("viewer", base + "clause=7.1")) == [procedure.id]
    assert _ids(api.get("viewer", base + "clause=7.1.5.2")) == [procedure.id]
    assert _ids(api.get("viewer", base + "q=checklist")) == [form.id]
    assert _ids(api.get("viewer", base + "q=SOP-QA")) == [procedure.id]
    assert _ids(api.get("viewer", base + "q=%25")) == []
    assert _ids(api.get("viewer", base + "status=obsolete")) == [policy.id]
    assert set(_ids(api.get("viewer", base + "status=current"))) == {procedure.id, form.id}
    assert _ids(api.get("viewer", base + "review_due=true")) == [procedure.id]
    assert set(_ids(api.get("viewer", base + "review_due=false"))) == {form.id, policy.id}
    numbers = [d["number"] for d in ok(api.get("viewer", base + "sort=-number"))["items"]]
    assert numbers == sorted(numbers, reverse=True)
    assert _ids(api.get("viewer", base + "sort=title")) == [form.id, procedure.id, policy.id]
    assert _ids(api.get("viewer", base + "sort=next_review_due"))[0] == procedure.id
    assert _ids(api.get("viewer", base + "sort=-next_review_due"))[-1] in (form.id, policy.id)
    page = ok(api.get("viewer", base + "sort=title&per_page=2&page=2"))
    assert (page["total"], page["pages"], page["page"], [d["id"] for d in page["items"]]) == (3, 2, 2, [policy.id])
    item = ok(api.get("viewer", base + f"q={procedure.number}"))["items"][0]
    assert item["review_overdue"] is True and item["current_revision_id"] is not None


def _statements_per_request(api: ApiClient, who: str, url: str) -> tuple[Any, int]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    db.session.close()  # the request shares the test's session: start both from an empty identity map
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = api.get(who, url)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return response, len(statements)


def test_listing_a_page_costs_the_same_number_of_queries_whatever_its_size(api, org):
    for i in range(14):
        distribution = [("role", "process_owner"), *([("user", str(org.viewer.id))] if i == 0 else [])]
        document = _new_document(org, title=f"Procedure {i}", distribution=distribution)
        if i % 3 == 0:
            _effective(org, document, f"text {i}")
    _new_document(org, org.manager, title="Hidden", confidentiality="restricted")
    for who in ("owner", "viewer"):  # each token's last-used time is written once
        api.get(who, "/api/v1/documents?per_page=1")

    small, small_count = _statements_per_request(api, "owner", "/api/v1/documents?per_page=2")
    large, large_count = _statements_per_request(api, "owner", "/api/v1/documents?per_page=100")
    assert len(ok(small)["items"]) == 2 and len(ok(large)["items"]) == 14
    assert small_count == large_count

    few, few_count = _statements_per_request(api, "viewer", "/api/v1/acknowledgements")
    many, many_count = _statements_per_request(api, "owner", "/api/v1/acknowledgements")
    assert len(ok(few)) == 1 and len(ok(many)) == 5
    assert few_count == many_count


# --- the OpenAPI document ---------------------------------------------------------------------------


def test_the_openapi_document_describes_the_documents_api(api):
    spec = ok(api.get(None, "/api/v1/openapi.json"))
    paths = spec["paths"]
    expected = {
        "/api/v1/documents": {"get", "post"},
        "/api/v1/documents/{document_id}": {"get"},
        "/api/v1/documents/{document_id}/revisions": {"get", "post"},
        "/api/v1/revisions/{revision_id}": {"get"},
        "/api/v1/revisions/{revision_id}/history": {"get"},
        "/api/v1/revisions/{revision_id}/events": {"get"},
        "/api/v1/revisions/{revision_id}/events/{event}": {"post"},
        "/api/v1/revisions/{revision_id}/file": {"get"},
        "/api/v1/revisions/{revision_id}/acknowledge": {"post"},
        "/api/v1/acknowledgements": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    upload = paths["/api/v1/documents/{document_id}/revisions"]["post"]
    body = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    schema = spec["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]] if "$ref" in body else body
    assert schema["properties"]["file"] == {"type": "string", "format": "binary"} | {
        k: v for k, v in schema["properties"]["file"].items() if k not in ("type", "format")
    }
    assert "change_summary" in schema["properties"]
    assert {"201", "403", "409", "413", "422"} <= set(upload["responses"])
    download = paths["/api/v1/revisions/{revision_id}/file"]["get"]["responses"]
    assert download["200"]["content"]["application/pdf"]["schema"] == {"type": "string", "format": "binary"}
    assert {"401", "403", "404"} <= set(download)
    assert paths["/api/v1/documents"]["post"]["responses"]["201"]
    assert "Documents" in {tag["name"] for tag in spec["tags"]}


def test_the_documents_operations_conform_to_the_openapi_document(app, org):
    """Generated requests (schemathesis) as a quality officer: no server error, every answer as documented."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    document = _new_document(org, distribution=[("role", "process_owner")])
    revision = _effective(org, document)
    token = create_token(org.quality, "schemathesis")[1]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    pinned_ids = {"document_id": document.id, "revision_id": revision.id}
    operations = [
        ("GET", "/api/v1/documents"),
        ("POST", "/api/v1/documents"),
        ("GET", "/api/v1/documents/{document_id}"),
        ("GET", "/api/v1/documents/{document_id}/revisions"),
        ("POST", "/api/v1/documents/{document_id}/revisions"),
        ("GET", "/api/v1/revisions/{revision_id}"),
        ("GET", "/api/v1/revisions/{revision_id}/history"),
        ("GET", "/api/v1/revisions/{revision_id}/events"),
        ("POST", "/api/v1/revisions/{revision_id}/events/{event}"),
        ("GET", "/api/v1/revisions/{revision_id}/file"),
        ("POST", "/api/v1/revisions/{revision_id}/acknowledge"),
        ("GET", "/api/v1/acknowledgements"),
    ]
    for method, path in operations:
        operation = schema[path][method]
        pinned = {name: value for name, value in pinned_ids.items() if f"{{{name}}}" in path}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=8,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
            )
            @given(case=operation.as_strategy(generation_mode=mode, path_parameters=pinned))
            def conforms(case: Any) -> None:
                case.call_and_validate(
                    headers={"Authorization": f"Bearer {token}"},
                    checks=[not_a_server_error, response_schema_conformance],
                )

            conforms()
    assert db.session.get(User, org.quality.id).active

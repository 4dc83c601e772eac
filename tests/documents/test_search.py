"""Full-text search of controlled documents: metadata and uploaded file text, on SQLite (FTS5)
and PostgreSQL (tsvector)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from qms.database import db
from qms.models import AuditEntry, DocumentRevision
from qms.services.search import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    SearchHit,
    ensure_search_index,
    index_revision,
    reindex_all,
    search_documents,
)

from .test_services import draft, make_effective, new_document


@pytest.fixture(autouse=True)
def _search_index(app):
    """The index exists and holds nothing from earlier tests (PostgreSQL keeps one database)."""
    ensure_search_index(db.session)
    db.session.execute(text("DELETE FROM document_search"))
    db.session.commit()


def search(query: str, **options) -> list[SearchHit]:
    return search_documents(db.session, query, **options)


def test_a_word_only_in_the_uploaded_file_is_found(org):
    document = new_document(org)
    revision = draft(document, org.owner, text="Torque the flange bolts with the calibrated wrench")
    other = new_document(org, title="Supplier evaluation")
    draft(other, org.owner, text="Suppliers are rated yearly")
    hits = search("flange")
    assert [(h.document_id, h.revision_id) for h in hits] == [(document.id, revision.id)]
    assert hits[0].rank > 0
    assert f"{HIGHLIGHT_START}flange{HIGHLIGHT_END}" in hits[0].snippet.lower()
    assert "<mark>flange</mark>" in hits[0].snippet_html().lower()
    assert "flange" in hits[0].plain_snippet and HIGHLIGHT_START not in hits[0].plain_snippet
    # every word must match; case and accents do not matter on either side
    assert [h.document_id for h in search("FLANGE wrench")] == [document.id]
    assert search("flange suppliers") == []


def test_number_title_process_and_clause_are_searchable(org):
    document = new_document(org, title="Calibration of measuring equipment", process="Metrology", clause_refs=["7.1.5"])
    draft(document, org.owner, text="Body without the interesting words")
    new_document(org, title="Unrelated")  # no revision: nothing to find
    assert [h.document_id for h in search(document.number)] == [document.id]
    assert [h.document_id for h in search(document.number.lower())] == [document.id]
    assert [h.document_id for h in search("calibration equipment")] == [document.id]
    assert [h.document_id for h in search("metrology")] == [document.id]
    assert [h.document_id for h in search("7.1.5")] == [document.id]
    assert search("unrelated") == []


def test_the_change_summary_given_at_submission_is_indexed(org):
    from qms.services import fire

    document = new_document(org)
    revision = draft(document, org.owner)
    fire(revision, "submit_for_review", org.owner, {"change_summary": "Added the hydrostatic test"})
    assert [h.revision_id for h in search("hydrostatic")] == [revision.id]
    # indexing inside the transition flushed nothing early: the audit trail names the actor and event
    entry = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.record_type == "document_revisions",
            AuditEntry.record_id == str(revision.id),
            AuditEntry.action == "transition",
        )
    ).one()
    assert (entry.actor_id, entry.event) == (org.owner.id, "submit_for_review")


def test_superseded_revisions_are_not_found_by_default(org):
    document = new_document(org)
    first = make_effective(org, draft(document, org.owner, text="Use the obsolescent gauge"))
    second = make_effective(org, draft(document, org.owner, text="Use the laser gauge"))
    db.session.expire_all()
    assert db.session.get(DocumentRevision, first.id).state == "superseded"
    assert search("obsolescent") == []
    assert [h.revision_id for h in search("obsolescent", include_retired=True)] == [first.id]
    # one hit per document, its best revision: only the one in force unless retired ones are included
    assert [h.revision_id for h in search("gauge")] == [second.id]
    assert len(search("gauge", include_retired=True)) == 1


def test_a_title_match_ranks_before_a_body_only_match(org):
    body_only = new_document(org, title="Internal audit programme")
    draft(body_only, org.owner, text="Audit findings feed the corrective action register")
    titled = new_document(org, title="Corrective action")
    draft(titled, org.owner, text="How problems are investigated")
    hits = search("corrective")
    assert [h.document_id for h in hits] == [titled.id, body_only.id]
    assert hits[0].rank > hits[1].rank


@pytest.mark.parametrize(
    "query",
    [
        '"',
        'corrective"',
        "AND(",
        "AND",
        "OR NOT",
        "*",
        "corr*",
        "NEAR(",
        "NEAR(a b, 2)",
        "title:corrective",
        "^corrective",
        "'; DROP TABLE documents; --",
        "-corrective",
        "(",
        "a" * 300,
        "corrective " * 40,
        "corrective\x00action",
        "\x00",
        "+ - ! & | : ( ) { } [ ] < > ~",
        "é̀",
        "\u0301",
    ],
)
def test_hostile_queries_return_lists(org, query):
    document = new_document(org, title="Corrective action")
    draft(document, org.owner)
    hits = search(query)
    assert isinstance(hits, list)
    assert all(isinstance(h, SearchHit) for h in hits)
    assert search(query, include_retired=True, limit=5) is not None
    # the database is intact and still searchable
    assert [h.document_id for h in search("corrective")] == [document.id]


def test_a_nul_inside_a_word_separates_words(org):
    document = new_document(org, title="Corrective action")
    draft(document, org.owner)
    assert [h.document_id for h in search("corrective\x00action")] == [document.id]


@pytest.mark.parametrize("query", ["", "   ", "\n\t", "\x00", None])
def test_an_empty_query_finds_nothing(org, query):
    document = new_document(org)
    draft(document, org.owner)
    assert search(query) == []


def test_the_limit_caps_the_hits(org):
    for n in range(3):
        draft(new_document(org, title=f"Welding procedure {n}"), org.owner)
    assert len(search("welding")) == 3
    assert len(search("welding", limit=2)) == 2
    assert search("welding", limit=0) == []


def test_reindex_all_rebuilds_the_index(org):
    document = new_document(org)
    revision = draft(document, org.owner, text="Passivation of stainless parts")
    db.session.execute(text("DELETE FROM document_search"))
    db.session.commit()
    assert search("passivation") == []
    assert reindex_all(db.session) == 1
    db.session.commit()
    assert [h.revision_id for h in search("passivation")] == [revision.id]
    index_revision(db.session, revision)  # replacing a row keeps one row per revision
    db.session.commit()
    assert db.session.execute(text("SELECT count(*) FROM document_search")).scalar() == 1

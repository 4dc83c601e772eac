"""Full-text search of controlled documents (ISO 9001 7.5), with the database's own engine.

One index row per document revision covers the document number and title, its process and
clause references, the revision label, the change summary and the text extracted from the
uploaded file (:mod:`qms.services.text_extraction`).

* SQLite: an FTS5 virtual table ``document_search`` (rowid = revision id), tokenizer
  ``unicode61 remove_diacritics 2``, ranked by ``bm25`` with number and title weighted above
  the body, snippets by ``snippet()``.
* PostgreSQL: a table ``document_search(revision_id, document_id, tsv)`` with a GIN index;
  number and title have weight A, process, clauses, label and change summary B, the file's
  text C; ranked by ``ts_rank``, snippets by ``ts_headline``.

The index is not part of the SQLAlchemy models (neither dialect's structure can be expressed
there): ``ensure_search_index`` creates it idempotently, the migration calls it, and the
services keep it current with ``index_revision`` inside their own transactions.

User input is never parsed as query syntax: it is cut to ``MAX_QUERY_LENGTH`` characters,
split into words, and each word is searched as a quoted FTS5 string (SQLite) or passed to
``plainto_tsquery`` (PostgreSQL); all words must match.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, scoped_session

from ..models import DocumentRevision

__all__ = [
    "ACTIVE_STATES",
    "HIGHLIGHT_END",
    "HIGHLIGHT_START",
    "MAX_QUERY_LENGTH",
    "SEARCH_TABLE",
    "SearchHit",
    "ensure_search_index",
    "include_object",
    "index_revision",
    "reindex_all",
    "search_documents",
]

SEARCH_TABLE = "document_search"
MAX_QUERY_LENGTH = 200
MAX_LIMIT = 500
#: revision states searched by default: in work or in force (not superseded, obsolete, cancelled)
ACTIVE_STATES = ("draft", "in_review", "approved", "effective", "review_due")
#: around each matched word in ``SearchHit.snippet`` (control characters never occur in indexed text)
HIGHLIGHT_START = "\x02"
HIGHLIGHT_END = "\x03"
#: PostgreSQL text search configuration of the index and of queries
TS_CONFIG = "english"
#: a tsvector is at most 1 MB; a revision whose text exceeds it is indexed with this much of it
_PG_FALLBACK_BODY = 100_000
_PROGRAM_LIMIT_EXCEEDED = "54000"
#: how much of a revision's text ``ts_headline`` reads to find a snippet
_PG_HEADLINE_TEXT = 200_000

_ready: set[str] = set()  # databases (URLs) known to have the index, so the check runs once

# --- structures --------------------------------------------------------------------------

_SQLITE_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS document_search USING fts5("
    "revision_id UNINDEXED, document_id UNINDEXED, number, title, body, "
    "tokenize = 'unicode61 remove_diacritics 2')",
)
_POSTGRESQL_DDL = (
    "CREATE TABLE IF NOT EXISTS document_search ("
    " revision_id integer NOT NULL,"
    " document_id integer NOT NULL,"
    " tsv tsvector NOT NULL,"
    " CONSTRAINT pk_document_search PRIMARY KEY (revision_id),"
    " CONSTRAINT fk_document_search_revision_id_document_revisions FOREIGN KEY (revision_id)"
    " REFERENCES document_revisions (id) ON DELETE CASCADE)",
    "CREATE INDEX IF NOT EXISTS ix_document_search_tsv ON document_search USING gin (tsv)",
)
_DROP_DDL = ("DROP TABLE IF EXISTS document_search",)  # the GIN index goes with the table


def _unwrap(bind: Any) -> Session | Connection:
    """The session behind ``db.session`` (a scoped session), or the session or connection given."""
    return bind() if isinstance(bind, scoped_session) else bind


def _dialect(bind: Session | Connection) -> str:
    if isinstance(bind, Session):
        return bind.get_bind().dialect.name
    return bind.dialect.name


def _url(bind: Session | Connection) -> str:
    engine = bind.get_bind() if isinstance(bind, Session) else bind.engine
    return engine.url.render_as_string(hide_password=True)


def ensure_search_index(bind: Session | Connection) -> None:
    """Create the search index if it does not exist (idempotent; the caller commits)."""
    bind = _unwrap(bind)
    dialect = _dialect(bind)
    if dialect == "sqlite":
        statements = _SQLITE_DDL
    elif dialect == "postgresql":
        statements = _POSTGRESQL_DDL
    else:
        raise NotImplementedError(f"full-text search is not available on {dialect}")
    for statement in statements:
        bind.execute(text(statement))


def drop_search_index(bind: Session | Connection) -> None:
    """Remove the search index (the migration's downgrade)."""
    bind = _unwrap(bind)
    for statement in _DROP_DDL:
        bind.execute(text(statement))
    _ready.discard(_url(bind))


def _exists(bind: Session | Connection) -> bool:
    if _dialect(bind) == "sqlite":
        query = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'document_search'"
    else:
        query = "SELECT count(*) FROM pg_catalog.pg_class WHERE oid = to_regclass('document_search')"
    return bool(bind.execute(text(query)).scalar())


def _ensure_once(session: Session) -> None:
    """Make sure the index exists before first use in this process (normally the migration made it).

    Only an index found already there is remembered: one created here is part of the caller's
    transaction and goes if that transaction is rolled back.
    """
    url = _url(session)
    if url in _ready:
        return
    if _exists(session):
        _ready.add(url)
    else:
        ensure_search_index(session)


#: name prefixes of the indexes made by migrations on PostgreSQL only: My work's in the "C" collation
#: and partial ones for its lookups (a20c0de00103, a20c0de00105), the registers' in an order with
#: NULLS FIRST/LAST (a20c0de00107) and the trigram indexes of their searches (a20c0de00109)
POSTGRESQL_ONLY_INDEXES = ("ix_work_", "ix_order_", "ix_trgm_")


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic ``include_object`` hook: autogenerate and schema comparisons ignore the search index
    (and the PostgreSQL-only indexes the models cannot declare portably: My work's in the "C"
    collation, the registers' with NULLS FIRST/LAST, the trigram indexes of their searches).

    The index lives outside the models, so without this the comparison would propose to drop it
    (and, on SQLite, the FTS5 shadow tables ``document_search_data`` and so on).
    """
    if type_ == "table":
        return not (name or "").startswith(SEARCH_TABLE)
    if type_ == "index" and (name or "").startswith(POSTGRESQL_ONLY_INDEXES):
        return False
    table = getattr(obj, "table", None)
    return table is None or not str(table.name).startswith(SEARCH_TABLE)


# --- keeping it current ----------------------------------------------------------------------


def _clean(value: Any) -> str:
    return ("" if value is None else str(value)).replace("\x00", "")


def _fields(number: str, title: str, process: str, clauses: Any, label: str, summary: str, body: str) -> dict:
    clause_text = " ".join(_clean(c) for c in clauses) if isinstance(clauses, list | tuple) else _clean(clauses)
    meta = "\n".join(p for p in (_clean(process), clause_text, _clean(label)) if p)
    return {
        "number": _clean(number),
        "title": _clean(title),
        "meta": meta,
        "summary": _clean(summary),
        "text": _clean(body),
    }


_SQLITE_DELETE = text("DELETE FROM document_search WHERE rowid = :revision_id")
_SQLITE_INSERT = text(
    "INSERT INTO document_search (rowid, revision_id, document_id, number, title, body) "
    # the body starts with what a snippet without a match in it should show: the change summary
    "VALUES (:revision_id, :revision_id, :document_id, :number, :title,"
    " :summary || char(10) || :text || char(10) || :meta)"
)
_POSTGRESQL_UPSERT = text(
    "INSERT INTO document_search (revision_id, document_id, tsv) VALUES ("
    " :revision_id, :document_id,"
    " setweight(to_tsvector(CAST(:config AS regconfig), CAST(:number AS text) || ' ' || CAST(:title AS text)), 'A')"
    " || setweight(to_tsvector(CAST(:config AS regconfig), CAST(:meta AS text) || ' ' || CAST(:summary AS text)), 'B')"
    " || setweight(to_tsvector(CAST(:config AS regconfig), CAST(:text AS text)), 'C'))"
    " ON CONFLICT (revision_id) DO UPDATE SET document_id = EXCLUDED.document_id, tsv = EXCLUDED.tsv"
)


def _write(bind: Session | Connection, revision_id: int, document_id: int, fields: dict) -> None:
    # Through the connection: nothing here flushes the session (an effect may run mid-transition).
    conn = bind.connection() if isinstance(bind, Session) else bind
    params = {"revision_id": revision_id, "document_id": document_id, **fields}
    if conn.dialect.name == "sqlite":
        conn.execute(_SQLITE_DELETE, params)
        conn.execute(_SQLITE_INSERT, params)
        return
    params["config"] = TS_CONFIG
    savepoint = conn.begin_nested()
    try:
        conn.execute(_POSTGRESQL_UPSERT, params)
    except DBAPIError as exc:
        savepoint.rollback()
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        if code != _PROGRAM_LIMIT_EXCEEDED:
            raise
        # "string is too long for tsvector" (1 MB): index the beginning of the text
        conn.execute(_POSTGRESQL_UPSERT, {**params, "text": params["text"][:_PG_FALLBACK_BODY]})
    else:
        savepoint.commit()


def index_revision(session: Session, revision: DocumentRevision) -> None:
    """Add or replace the index row of ``revision`` (flushed, so it has an id) in the current transaction."""
    session = _unwrap(session)
    with session.no_autoflush:
        _ensure_once(session)
        document = revision.document
        fields = _fields(
            document.number,
            document.title,
            document.process,
            document.clause_refs,
            revision.label,
            revision.change_summary,
            revision.extracted_text,
        )
        _write(session, revision.id, document.id, fields)


def reindex_all(bind: Session | Connection) -> int:
    """Rebuild the whole index from the revisions in the database (back-fill); returns the row count."""
    bind = _unwrap(bind)
    rows = bind.execute(
        text(
            "SELECT r.id, d.id, d.number, d.title, d.process, d.clause_refs, r.label, r.change_summary, "
            "r.extracted_text FROM document_revisions r JOIN documents d ON d.id = r.document_id ORDER BY r.id"
        )
    ).all()
    bind.execute(text("DELETE FROM document_search"))
    for revision_id, document_id, number, title, process, clauses, label, summary, body in rows:
        if isinstance(clauses, str):  # the raw JSON text on SQLite
            with contextlib.suppress(ValueError):
                clauses = json.loads(clauses)
        _write(bind, revision_id, document_id, _fields(number, title, process, clauses, label, summary, body))
    return len(rows)


# --- searching -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchHit:
    """One document found: its best-ranked revision, a rank (higher is better) and a snippet.

    ``snippet`` is plain text with each matched word between ``HIGHLIGHT_START`` and
    ``HIGHLIGHT_END``; use ``snippet_html()`` in templates or ``plain_snippet`` for text.
    """

    document_id: int
    revision_id: int
    rank: float
    snippet: str = ""

    @property
    def plain_snippet(self) -> str:
        return self.snippet.replace(HIGHLIGHT_START, "").replace(HIGHLIGHT_END, "")

    def snippet_html(self) -> Markup:
        """The snippet, HTML-escaped, with matched words in ``<mark>``."""
        out: list[str] = []
        marked = False
        for part in re.split(f"([{HIGHLIGHT_START}{HIGHLIGHT_END}])", self.snippet):
            if part == HIGHLIGHT_START and not marked:
                out.append("<mark>")
                marked = True
            elif part == HIGHLIGHT_END and marked:
                out.append("</mark>")
                marked = False
            elif part not in (HIGHLIGHT_START, HIGHLIGHT_END):
                out.append(str(escape(part)))
        if marked:
            out.append("</mark>")
        return Markup("".join(out))  # noqa: S704 - every part was escaped above


def _words(query: str) -> list[str]:
    """The user's words: NUL removed, at most MAX_QUERY_LENGTH characters, only words with a letter or digit."""
    query = (query or "").replace("\x00", " ")[:MAX_QUERY_LENGTH]
    return [word for word in query.split() if any(ch.isalnum() for ch in word)]


def _fts5_query(words: Iterable[str]) -> str:
    """Each word as an FTS5 string (implicit AND): no operator, column filter or prefix syntax survives."""
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


_SQLITE_RANKED = text(
    "SELECT document_id, revision_id, score FROM ("
    " SELECT document_id, revision_id, score,"
    "  row_number() OVER (PARTITION BY document_id ORDER BY score DESC, revision_id DESC) AS n"
    " FROM ("
    "  SELECT r.document_id AS document_id, r.id AS revision_id, "
    # bm25 weights of the columns revision_id, document_id (unindexed), number, title, body
    "   -bm25(document_search, 0.0, 0.0, 10.0, 5.0, 1.0) AS score"
    "  FROM document_search JOIN document_revisions AS r"
    "   ON r.id = document_search.rowid AND r.document_id = document_search.document_id"
    "  WHERE document_search MATCH :match AND (:all_states OR r.state IN :states)"
    " ) AS matched"
    ") AS best WHERE n = 1 ORDER BY score DESC, revision_id DESC LIMIT :limit"
).bindparams(bindparam("states", expanding=True))
_SQLITE_SNIPPETS = text(
    "SELECT rowid, snippet(document_search, 4, char(2), char(3), '…', 24) FROM document_search"
    " WHERE document_search MATCH :match AND rowid IN :ids"
).bindparams(bindparam("ids", expanding=True))

_POSTGRESQL_RANKED = text(
    "SELECT document_id, revision_id, score FROM ("
    " SELECT DISTINCT ON (s.document_id) s.document_id, s.revision_id, ts_rank(s.tsv, q.query) AS score"
    " FROM document_search AS s"
    " JOIN document_revisions AS r ON r.id = s.revision_id AND r.document_id = s.document_id"
    " CROSS JOIN plainto_tsquery(CAST(:config AS regconfig), :words) AS q(query)"
    " WHERE s.tsv @@ q.query AND (:all_states OR r.state IN :states)"
    " ORDER BY s.document_id, score DESC, s.revision_id DESC"
    ") AS best ORDER BY score DESC, revision_id DESC LIMIT :limit"
).bindparams(bindparam("states", expanding=True))
_POSTGRESQL_SNIPPETS = text(
    "SELECT r.id, ts_headline(CAST(:config AS regconfig),"
    " left(concat_ws(' … ', nullif(r.change_summary, ''), nullif(r.extracted_text, '')), :headline_text),"
    " plainto_tsquery(CAST(:config AS regconfig), :words),"
    " 'StartSel=' || chr(2) || ', StopSel=' || chr(3) || ', MaxWords=30, MinWords=12, ShortWord=2,"
    ' MaxFragments=2, FragmentDelimiter=" … "\')'
    " FROM document_revisions AS r WHERE r.id IN :ids"
).bindparams(bindparam("ids", expanding=True))


def search_documents(
    session: Session, query: str, *, include_retired: bool = False, limit: int = 50
) -> list[SearchHit]:
    """Documents whose revisions contain every word of ``query``, best first, one hit per document.

    ``query`` is plain words (no operators); an empty query finds nothing.  By default only
    revisions in work or in force are searched; ``include_retired`` adds superseded, obsolete
    and cancelled ones.  Callers decide what the user may see (confidentiality).
    """
    session = _unwrap(session)
    words = _words(query)
    limit = min(int(limit), MAX_LIMIT)
    if not words or limit <= 0:
        return []
    _ensure_once(session)
    params: dict[str, Any] = {"all_states": bool(include_retired), "states": list(ACTIVE_STATES), "limit": limit}
    if _dialect(session) == "sqlite":
        params["match"] = _fts5_query(words)
        try:
            ranked = session.execute(_SQLITE_RANKED, params).all()
            snippets = _snippets(session, _SQLITE_SNIPPETS, ranked, {"match": params["match"]})
        except OperationalError as exc:  # a query FTS5 still refuses finds nothing rather than failing
            if "fts5" in str(exc.orig).lower() or "syntax error" in str(exc.orig).lower():
                return []
            raise
    else:
        params.update(config=TS_CONFIG, words=" ".join(words))
        ranked = session.execute(_POSTGRESQL_RANKED, params).all()
        snippets = _snippets(
            session,
            _POSTGRESQL_SNIPPETS,
            ranked,
            {"config": TS_CONFIG, "words": params["words"], "headline_text": _PG_HEADLINE_TEXT},
        )
    return [
        SearchHit(document_id, revision_id, float(score), snippets.get(revision_id) or "")
        for document_id, revision_id, score in ranked
    ]


def _snippets(session: Session, statement: Any, ranked: Sequence[Any], params: dict[str, Any]) -> dict[int, str]:
    if not ranked:
        return {}
    ids = [row[1] for row in ranked]
    rows = session.execute(statement, {**params, "ids": ids})
    return {revision_id: " ".join((snippet or "").split()) for revision_id, snippet in rows}

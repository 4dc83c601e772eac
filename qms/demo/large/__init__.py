"""A large organisation with three years of history, bulk-loaded (``qms seed-demo --scale large|xl``).

``xl`` is the same organisation ten times over (issue 20: 1,000,000 NCs, about 6 million history
rows), loaded the same way.

The small demo (:mod:`qms.demo`) goes through the services; at this size that would take
hours, so this package writes rows with SQLAlchemy Core ``insert()`` in chunks instead.  What the
services would have written is reproduced by construction:

* every workflow record's life is planned as a timeline of events that respect the lifecycle's
  order and guards (an NC plans actions only with a corrective action, closes only when they are
  verified, an audit drafts its report only when every question is answered…), then cut at
  *now*: old records end closed, recent ones stop at every stage, slow ones are overdue;
* each fired event becomes a ``transition_history`` row (with its signature for signed events),
  so the last row's ``to_state`` is the record's state;
* references continue from the counters (``reference_counters``), the document search index is
  filled in one statement, PostgreSQL sequences are advanced, and ONE audit-trail entry records
  the bulk load itself (the per-row trail is written by the ORM flush, which Core bypasses);
  baseline entries then carry the digest of every row the trail covers. On PostgreSQL those
  digests are taken from the values as they are COPYed (:func:`.common.row_digest_of`), not by
  reading millions of rows back: the bulk way of keeping ``verify`` whole at a million NCs.

Everything is written in one transaction: a failure leaves the database as it was.

One module per area, each a mixin of the seeder's phases (``organisation``, ``nonconformities``,
``audits``, ``documents``, ``surveys``, ``certifications``, ``competence``, ``risks``, ``objectives``,
``suppliers``); ``common`` holds
the sizes, the chunked
row writer and the seeder's base.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection

from ...database import begin_write, db
from .audits import _AuditPhases
from .certifications import _CertificationPhases
from .common import FULL_SIZE, SCALES, TABLE_ORDER, SeedRefused
from .competence import _CompetencePhases
from .documents import _DocumentPhases
from .objectives import _ObjectivePhases
from .organisation import _OrganisationPhases
from .risks import _RiskPhases
from .suppliers import _SupplierPhases
from .surveys import _SurveyPhases

__all__ = ["FULL_SIZE", "SCALES", "SeedRefused", "seed_large"]


class _Seeder(
    _OrganisationPhases,
    _AuditPhases,
    _CertificationPhases,
    _DocumentPhases,
    _SurveyPhases,
    _CompetencePhases,
    _RiskPhases,
    _ObjectivePhases,
    _SupplierPhases,
):
    """Every phase of the bulk load (one mixin per area) and the end: counters, search index, sequences."""

    def counters_and_index(self, first_revision_id: int) -> None:
        from ...models import ReferenceCounter
        from ...services.search import ensure_search_index

        table = ReferenceCounter.__table__
        existing = dict(self.conn.execute(select(table.c.key, table.c.value)).all())
        for key, value in sorted(self.counters.items()):
            if key in existing:
                if value > existing[key]:
                    self.conn.execute(table.update().where(table.c.key == key).values(value=value))
            else:
                self.conn.execute(table.insert().values(key=key, value=value))
        if self.conn.dialect.name == "postgresql":  # the index was made at the start (see seed_large)
            # the same vectors as the application's trigger writes; the body's (the costly part) is
            # worked out once per distinct text: the loader's revisions share a few dozen files
            self.conn.execute(
                text(
                    "WITH body AS (SELECT b.extracted_text, setweight(to_tsvector('english', b.extracted_text), 'C')"
                    "   AS tsv FROM (SELECT DISTINCT extracted_text FROM document_revisions WHERE id >= :first) AS b)"
                    " INSERT INTO document_search (revision_id, document_id, tsv) SELECT r.id, d.id,"
                    " setweight(to_tsvector('english', d.number || ' ' || d.title), 'A')"
                    " || setweight(to_tsvector('english', concat_ws(' ', d.process,"
                    "   (SELECT string_agg(c, ' ') FROM json_array_elements_text(d.clause_refs) AS c),"
                    "   r.label, r.change_summary)), 'B')"
                    " || body.tsv"
                    " FROM document_revisions r JOIN documents d ON d.id = r.document_id"
                    " JOIN body ON body.extracted_text = r.extracted_text WHERE r.id >= :first"
                ),
                {"first": first_revision_id},
            )
        else:
            ensure_search_index(self.conn)
            self.conn.execute(
                text(
                    "INSERT INTO document_search (rowid, revision_id, document_id, number, title, body)"
                    " SELECT r.id, r.id, d.id, d.number, d.title,"
                    " r.change_summary || char(10) || r.extracted_text || char(10) || d.process || char(10)"
                    " || coalesce((SELECT group_concat(value, ' ') FROM json_each(d.clause_refs)), '')"
                    " || char(10) || r.label"
                    " FROM document_revisions r JOIN documents d ON d.id = r.document_id WHERE r.id >= :first"
                ),
                {"first": first_revision_id},
            )

    def advance_sequences(self) -> None:
        """PostgreSQL: explicit ids do not move the sequences; set them past the highest id."""
        if self.conn.dialect.name != "postgresql":
            return
        for name in TABLE_ORDER:
            if "id" in self.w.tables[name].c:
                self.conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608 - our table names
                        f"(SELECT coalesce(max(id), 0) + 1 FROM {name}), false)"
                    )
                )


#: tables that must be empty before a large seed
_MUST_BE_EMPTY = ("users", "nonconformities", "documents", "audits", "surveys", "certifications")
#: PostgreSQL: memory for the index builds at the end of the load (this transaction only)
_INDEX_BUILD_MEMORY = "256MB"


def _set_aside_indexes_and_foreign_keys(conn: Connection, tables: Iterable[str]) -> list[str]:
    """PostgreSQL: drop the plain (non-unique) indexes and the foreign keys of the tables the load
    writes; returns the statements that put them back, as they were (same names and definitions).

    Building an index once over a million rows is several times cheaper than updating it row by
    row, and a foreign key added to a full table is checked by one join instead of one lookup per
    row.  Both are put back in the same transaction, before the commit: a row that breaks a key
    still fails the load.  Primary keys and unique constraints stay (other keys refer to them).
    """
    names = list(tables)
    keys = conn.execute(
        text(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c"
            " WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(:tables) ORDER BY 1, 2"
        ),
        {"tables": names},
    ).all()
    indexes = conn.execute(
        text(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " WHERE i.indrelid::regclass::text = ANY(:tables) AND NOT i.indisunique AND NOT i.indisprimary"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1"
        ),
        {"tables": names},
    ).all()
    for table, name, _ in keys:
        conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for name, _ in indexes:
        conn.execute(text(f"DROP INDEX {name}"))
    return [definition for _, definition in indexes] + [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for table, name, definition in keys
    ]


def _put_back(conn: Connection, statements: list[str]) -> None:
    conn.execute(text(f"SET LOCAL maintenance_work_mem = '{_INDEX_BUILD_MEMORY}'"))
    for statement in statements:
        conn.execute(text(statement))


def seed_large(
    factor: float = 1.0,
    *,
    progress: Callable[[str], None] = print,
    seed: int = 9001,
    scale: str = "large",
) -> dict[str, int]:
    """Bulk-load the large organisation into an empty, initialised database; returns rows per table.

    ``scale`` ``large`` is :data:`FULL_SIZE` (100,000 NCs); ``xl`` is ten times every count
    (1,000,000 NCs, 5,000 users…), the same organisation over the same three years, only busier.
    ``factor`` (0 < factor <= 1) scales every count of the scale down (tests use 0.002). Raises
    SeedRefused, having written nothing, when the database already holds data.
    """
    if not isinstance(factor, int | float) or isinstance(factor, bool) or not 0 < factor <= 1:
        raise SeedRefused("factor must be a number greater than 0 and at most 1")
    if scale not in SCALES:
        raise SeedRefused(f"scale must be one of {', '.join(SCALES)}")
    from ...services.audit_checks import baseline_bulk_load
    from ...services.audit_trail import AuditContext, append, canonical_json
    from ...services.dashboard_counts import recount, write

    session = db.session()
    begin_write(session)
    conn = session.connection()
    found = {
        name: conn.execute(select(func.count()).select_from(db.metadata.tables[name])).scalar()
        for name in _MUST_BE_EMPTY
    }
    found = {name: count for name, count in found.items() if count}
    if found:
        session.rollback()
        listed = ", ".join(f"{count} {name}" for name, count in found.items())
        raise SeedRefused(f"The database already has data ({listed}); seed-demo needs an empty database.")
    began = time.perf_counter()
    seeder = _Seeder(conn, factor * SCALES[scale], progress, seed)

    def phase(title: str, work: Callable[[], None]) -> None:
        started = time.perf_counter()
        progress(f"{title}…")
        work()
        progress(f"{title}: done in {time.perf_counter() - started:.1f} s")

    try:
        set_aside: list[str] = []
        if conn.dialect.name == "postgresql":
            from ...services.search import ensure_search_index

            ensure_search_index(conn)
            set_aside = _set_aside_indexes_and_foreign_keys(conn, (*TABLE_ORDER, "document_search"))
        phase("Users", seeder.users)
        phase("Sites and processes", seeder.sites_and_processes)
        phase("Certifications", seeder.certifications)
        phase(
            "Internal audits and checklists",
            lambda: seeder.audits(seeder.n("audits", 4), seeder.n("checklist_answers", 40)),
        )
        first_nc = seeder.w._next_id["nonconformities"]
        already = first_nc - 1
        phase(
            "Nonconformities and corrective actions",
            lambda: seeder.nonconformities(
                max(1, seeder.n("nonconformities", 20) - already), seeder.n("corrective_actions", 4)
            ),
        )
        first_revision = seeder.w._next_id["document_revisions"]
        phase(
            "Documents and revisions",
            lambda: seeder.documents(seeder.n("documents", 4), seeder.n("document_revisions", 10)),
        )
        phase("Surveys and responses", lambda: seeder.surveys(seeder.n("survey_responses", 10)))
        phase("Competence and training", seeder.competence)
        phase("Context and risk register", lambda: seeder.context_and_risks(seeder.n("risks", 10)))
        phase("Quality objectives and their values", lambda: seeder.objectives(seeder.n("quality_objectives", 10)))
        phase("Suppliers, evaluations and deliveries", lambda: seeder.suppliers(seeder.n("suppliers", 5)))
        phase("Measuring equipment and calibrations", lambda: seeder.equipment(seeder.n("equipment", 5)))
        seeder.w.flush()

        def finish() -> None:
            seeder.counters_and_index(first_revision)
            seeder.advance_sequences()

        phase("References, search index and sequences", finish)
        if set_aside:
            phase("Indexes and foreign keys", lambda: _put_back(conn, set_aside))
        counts = {name: count for name, count in seeder.w.counts.items() if count}
        context = AuditContext(
            None, "system", f"{scale} demo organisation bulk-loaded (seed-demo --scale {scale}, factor {factor})"
        )
        append(
            session,
            [
                {
                    "action": "create",
                    "record_type": "bulk_load",
                    "record_id": f"seed-demo-{scale}",
                    "event": None,
                    "fields": ",".join(sorted(counts)),
                    "old_value": "{}",
                    "new_value": canonical_json({"factor": factor, "rows": counts, "scale": scale, "seed": seed}),
                }
            ],
            context,
        )
        # the rows Core wrote have no entries of their own: their digests go into the trail
        phase("Audit-trail baseline of the loaded rows", lambda: baseline_bulk_load(session, context, seeder.w.digests))
        # Core bypasses the flush that keeps the dashboard's counts: count them once, from the loaded rows
        phase("Dashboard counts", lambda: write(conn, recount(conn)))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    if db.engine.dialect.name == "postgresql":
        started = time.perf_counter()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as analyse:
            analyse.execute(text("ANALYZE"))
        progress(f"ANALYZE: done in {time.perf_counter() - started:.1f} s")
    counts["elapsed_seconds"] = round(time.perf_counter() - began)
    return counts

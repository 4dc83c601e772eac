"""`qms backup` then `qms restore` into a new database gives the same rows, history, trail and files.

The source is a database with the demo organisation, a document revision with its file and an
NC attachment (SQLite, and PostgreSQL when configured); the target is a new database prepared by
``qms init`` (the Alembic migrations), so the source is stamped with the same schema revision.  A
refused restore must leave the target exactly as it was.

The demo is seeded once per test worker and database: on SQLite it is conftest's ``demo`` (a copy
of a seeded file); on PostgreSQL it is seeded into a database of the worker's that serves as a
template, and each test's source is a new database made from it (``CREATE DATABASE … TEMPLATE``,
a copy of its files: independent of the template and of every other test's).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask, current_app
from flask_migrate import stamp
from sqlalchemy.engine import make_url

from qms import create_app
from qms.cli import init_database
from qms.database import db
from qms.demo import seed_demo
from qms.keys import Keyring
from qms.models import AuditChainHead, Nonconformity
from qms.services import backup_crypto
from qms.services.attachments import attach
from qms.services.audit_trail import ensure_head, verify
from qms.services.backup import BackupError, check_archive, create_backup, restore_backup, sign_manifest
from qms.services.documents import add_revision, create_document
from qms.services.search import search_documents
from qms.services.users import find_by_email

from ..conftest import APP_CONFIG, PG_URL, build_schema
from ..documents.test_services import pdf_bytes
from ..helpers import empty_database

pytestmark = pytest.mark.real_commits  # the backup reads, and the restore writes, on connections of their own


@pytest.fixture(autouse=True)
def _cheap_scrypt(monkeypatch):
    """The real scrypt at a small cost: the shared test machine need not spend 128 MiB per backup."""
    monkeypatch.setattr(backup_crypto, "SCRYPT_N", 2**12)


Snapshot = dict[str, list[tuple]]
REVISIONS = "tables/document_revisions.jsonl"


@contextlib.contextmanager
def _initialised(kind: str, tmp_path: Path, label: str) -> Iterator[Flask]:
    """An app on a new database after `qms init`, with an upload folder of its own.

    It has the audit and backup keys of the app under test, as an installation restoring a
    backup must (the keys are never in the database nor in the backup).
    """
    keys = {name: current_app.config[name] for name in ("QMS_AUDIT_KEYRING", "QMS_BACKUP_KEYRING")}
    with empty_database(kind, tmp_path, f"backup_{label}") as url:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "TESTING": True,
                "QMS_UPLOAD_FOLDER": str(tmp_path / label / "uploads"),
                **keys,
            }
        )
        with app.app_context():
            init_database()
            db.session.remove()
        try:
            yield app
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def _rows(app: Flask) -> Snapshot:
    """Every row of every table of the models, all columns, in primary-key order."""
    with app.app_context(), db.engine.connect() as conn:
        return {
            table.name: [tuple(row) for row in conn.execute(sa.select(table).order_by(*table.primary_key.columns))]
            for table in db.metadata.sorted_tables
        }


def _files(app: Flask) -> dict[str, bytes]:
    folder = Path(app.config["QMS_UPLOAD_FOLDER"])
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _state(app: Flask) -> tuple[Snapshot, dict[str, bytes]]:
    return _rows(app), _files(app)


#: the keys of the app under test: the demo's audit trail is sealed with the audit key
KEYS = ("QMS_AUDIT_KEYRING", "QMS_BACKUP_KEYRING")


class _PgDemoTemplate:
    """The demo organisation seeded once into a PostgreSQL database of this worker's, copied per test.

    The first test seeds it with its app's keys (every test of the worker has the same: conftest
    restores the app's settings); a copy is a new database made from it as a template.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.databases = contextlib.ExitStack()  # the template, dropped at the end of the session
        self.name: str | None = None
        self.keys: dict[str, object] | None = None

    def _seed(self, keys: dict[str, object]) -> None:
        """What the ``app`` fixture and ``seed_demo`` write into a new database: the schema, the search
        index, the chain head, the demo; the demo's files go to the template's upload folder."""
        url = self.databases.enter_context(empty_database("postgresql", self.folder, "backup_demo"))
        seeder = create_app({"SQLALCHEMY_DATABASE_URI": url, **APP_CONFIG, **keys, "QMS_UPLOAD_FOLDER": self.uploads})
        with seeder.app_context():
            build_schema()
            ensure_head(db.session)
            seed_demo()
            db.session.remove()
            db.engine.dispose()  # a template is copied only while nothing is connected to it
        self.name = make_url(url).database
        self.keys = keys

    @property
    def uploads(self) -> str:
        return str(self.folder / "uploads")

    @contextlib.contextmanager
    def source(self, app: Flask) -> Iterator[Flask]:
        """An app (with ``app``'s settings and upload folder) on a new copy of the demo, its context pushed."""
        keys = {name: app.config[name] for name in KEYS}
        if self.keys is None:
            self._seed(keys)
        assert keys == self.keys, "the demo template was sealed with other keys"
        with empty_database("postgresql", self.folder, "backup_source", template=self.name) as url:
            uploads = app.config["QMS_UPLOAD_FOLDER"]
            if Path(self.uploads).is_dir():
                shutil.copytree(self.uploads, uploads, dirs_exist_ok=True)
            source = create_app({"SQLALCHEMY_DATABASE_URI": url, **APP_CONFIG, **keys, "QMS_UPLOAD_FOLDER": uploads})
            source.config["QMS_TEST_DATABASE"] = "postgresql"
            try:
                with source.app_context():
                    yield source
                    db.session.remove()
            finally:
                with source.app_context():
                    db.session.remove()
                    db.engine.dispose()


@pytest.fixture(scope="session")
def _pg_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_PgDemoTemplate]:
    """This worker's PostgreSQL demo template (seeded by the first test that takes it), dropped at the end."""
    template = _PgDemoTemplate(tmp_path_factory.mktemp("backup-demo"))
    with template.databases:
        yield template


@pytest.fixture
def rich(app, request: pytest.FixtureRequest) -> Iterator[Flask]:
    """A database with the demo organisation, a revision's file and an NC attachment, its app's context pushed.

    On SQLite it is the app fixture's database, a copy of the worker's seeded file (conftest's
    ``demo``), its files copied into this test's own upload folder; on PostgreSQL a new database
    copied from the worker's demo template, with an app of its own.
    """
    with contextlib.ExitStack() as stack:
        if app.config["QMS_TEST_DATABASE"] == "sqlite":
            uploads = app.config["QMS_UPLOAD_FOLDER"]
            request.getfixturevalue("demo")
            if Path(app.config["QMS_UPLOAD_FOLDER"]).is_dir():
                shutil.copytree(app.config["QMS_UPLOAD_FOLDER"], uploads, dirs_exist_ok=True)
            app.config["QMS_UPLOAD_FOLDER"] = uploads
            source = app
        else:
            source = stack.enter_context(request.getfixturevalue("_pg_demo").source(app))
        quality, owner = find_by_email("quality@example.com"), find_by_email("owner@example.com")
        document = create_document(quality, title="Backup procedure", doc_type="procedure", owner_id=quality.id)
        add_revision(document, owner, stream=io.BytesIO(pdf_bytes("Restoring the archive")), filename="backup.pdf")
        nc = db.session.scalars(sa.select(Nonconformity).order_by(Nonconformity.id)).first()
        attach(nc, owner, io.BytesIO(b"%PDF-1.4\nphoto of the label\n%%EOF\n"), "label.pdf")
        stamp(directory=source.extensions["migrate"].directory)  # created from the models: say which migration
        db.session.remove()
        yield source


def _compare(source: Flask, target: Flask) -> None:
    rows, files = _state(source)
    restored_rows, restored_files = _state(target)
    assert rows.keys() == restored_rows.keys()
    for table in rows:
        assert restored_rows[table] == rows[table], table
    assert rows["transition_history"] and rows["attachments"] and rows["document_revisions"]
    assert len(files) >= 2 and restored_files == files
    with source.app_context():
        head = db.session.get(AuditChainHead, 1)
        source_head = (head.last_seq, head.last_hash)
        found = [(hit.document_id, hit.revision_id) for hit in search_documents(db.session, "restoring archive")]
        assert len(found) == 1
        db.session.remove()
    with target.app_context():
        result = verify(db.session)
        assert result.ok, result.problem
        assert result.checked == source_head[0]
        head = db.session.get(AuditChainHead, 1)
        assert (head.last_seq, head.last_hash) == source_head
        # the search index was rebuilt from the revisions
        assert [
            (hit.document_id, hit.revision_id) for hit in search_documents(db.session, "restoring archive")
        ] == found
        db.session.remove()


def test_backup_then_restore_gives_identical_records_history_trail_and_files(rich, tmp_path):
    kind = rich.config["QMS_TEST_DATABASE"]
    archive = tmp_path / "qms-backup.zip"
    summary = create_backup(archive)
    assert summary.tables["transition_history"] > 0 and summary.files >= 2
    manifest = check_archive(archive)
    assert manifest["dialect"] == ("postgresql" if kind == "postgresql" else "sqlite")
    assert manifest["schema_revision"] and manifest["table_rows"] == summary.tables
    assert set(manifest["table_rows"]) == {t.name for t in db.metadata.sorted_tables}
    with _initialised(kind, tmp_path, "target") as target:
        with target.app_context():
            result = restore_backup(archive)
            assert result.audit.ok and result.search_rows == summary.tables["document_revisions"]
            db.session.remove()
        _compare(rich, target)
        # new records after the restore get new ids (the PostgreSQL sequences were moved on)
        with target.app_context():
            quality = find_by_email("quality@example.com")
            document = create_document(quality, title="After the restore", doc_type="form", owner_id=quality.id)
            assert document.id > max(row[0] for row in _rows(rich)["documents"])
            assert verify(db.session).ok
            db.session.remove()


@pytest.mark.skipif(not PG_URL, reason="QMS_TEST_DATABASE_URL is not set")
@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
def test_a_sqlite_backup_restores_into_postgresql_and_back(rich, tmp_path):
    first = tmp_path / "from-sqlite.zip"
    create_backup(first)
    with _initialised("postgresql", tmp_path, "pg") as pg:
        with pg.app_context():
            assert restore_backup(first).audit.ok
            second = tmp_path / "from-postgresql.zip"
            create_backup(second)
            db.session.remove()
        _compare(rich, pg)
        assert check_archive(second)["dialect"] == "postgresql"
        with _initialised("sqlite", tmp_path, "back") as back:
            with back.app_context():
                assert restore_backup(second).audit.ok
                db.session.remove()
            _compare(rich, back)


# --- refusals ----------------------------------------------------------------------------------


def _rewrite(source: Path, target: Path, *, replace: dict[str, bytes] | None = None, drop: str = "") -> None:
    """Copy an archive member by member, replacing or leaving out members (the manifest unchanged unless replaced)."""
    replace = replace or {}
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename == drop:
                continue
            new.writestr(info.filename, replace.get(info.filename, old.read(info.filename)))


def _forge(source: Path, target: Path, member: str, data: bytes, extra_rows: int = 0, *, key: bool = True) -> None:
    """Replace ``member`` and make the manifest agree with it (checksum, size, row count).

    With ``key`` the forger also holds the backup key and signs the new manifest (what is left
    to refuse it is the database); without it the old signature stays.
    """
    manifest = _manifest(source)
    for entry in manifest["members"]:
        if entry["name"] == member:
            entry.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
            entry["rows"] += extra_rows
    manifest_bytes = json.dumps(manifest).encode()
    replace = {member: data, "manifest.json": manifest_bytes}
    if key:
        replace["manifest.sig"] = sign_manifest(manifest_bytes)
    _rewrite(source, target, replace=replace)


def _manifest(path: Path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("manifest.json"))


def test_a_damaged_archive_or_an_unsuitable_database_is_refused_and_nothing_changes(rich, tmp_path):
    kind = rich.config["QMS_TEST_DATABASE"]
    good = tmp_path / "good.zip"
    create_backup(good)
    manifest = _manifest(good)
    table_member = "tables/nonconformities.jsonl"
    file_member = next(m["name"] for m in manifest["members"] if m["name"].startswith("files/"))
    with zipfile.ZipFile(good) as archive:
        original = archive.read(table_member)

    assert b'"major"' in original
    tampered = tmp_path / "tampered.zip"
    _rewrite(good, tampered, replace={table_member: original.replace(b'"major"', b'"minor"', 1)})
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    wrong_revision = tmp_path / "revision.zip"
    revised = json.dumps({**manifest, "schema_revision": ["0123456789ab"]}).encode()
    _rewrite(good, wrong_revision, replace={"manifest.json": revised, "manifest.sig": sign_manifest(revised)})
    missing_file = tmp_path / "missing-file.zip"
    _rewrite(good, missing_file, drop=file_member)
    unsafe = tmp_path / "unsafe.zip"
    members = [*manifest["members"], {"name": "files/../../escape", "size": 1, "sha256": "0" * 64}]
    escaping = json.dumps({**manifest, "members": members}).encode()
    _rewrite(good, unsafe, replace={"manifest.json": escaping, "manifest.sig": sign_manifest(escaping)})
    with zipfile.ZipFile(unsafe, "a") as archive:
        archive.writestr("files/../../escape", b"x")
    # archives whose manifest matches their altered members: refused while inserting, all rolled back
    with zipfile.ZipFile(good) as archive:
        history = archive.read("tables/transition_history.jsonl")
        revisions = archive.read(REVISIONS)
    duplicate = tmp_path / "duplicate-row.zip"
    _forge(good, duplicate, "tables/transition_history.jsonl", history + history.splitlines(keepends=True)[-1], 1)
    first, rest = revisions.split(b"\n", 1)
    row = json.loads(first)
    bad_date = tmp_path / "bad-date.zip"
    _forge(good, bad_date, REVISIONS, json.dumps({**row, "created_at": "soon"}).encode() + b"\n" + rest)
    naive = tmp_path / "naive-time.zip"
    _forge(good, naive, REVISIONS, json.dumps({**row, "created_at": "2026-01-01T00:00:00"}).encode() + b"\n" + rest)
    wrong_type = tmp_path / "wrong-type.zip"
    _forge(good, wrong_type, REVISIONS, json.dumps({**row, "label": ["x"]}).encode() + b"\n" + rest)
    not_zip = tmp_path / "not-a-backup.zip"
    not_zip.write_bytes(b"hello")

    refusals = [
        (tampered, "does not match its SHA-256"),
        (truncated, "truncated or corrupt"),
        (wrong_revision, "schema revision 0123456789ab differs"),
        (missing_file, f"lacks {file_member}"),
        (unsafe, "not a safe file name"),
        (not_zip, "truncated or corrupt"),
        (duplicate, "the database refused the backup's rows, nothing was restored"),
        (naive, "refused the backup's rows, nothing was restored: naive datetime"),
        (bad_date, "document_revisions.jsonl line 1, created_at: unreadable value 'soon'"),
        (wrong_type, r"document_revisions.jsonl line 1, label: \['x'\] is not a plain value"),
        (tmp_path / "nowhere.zip", "does not exist"),
    ]
    with _initialised(kind, tmp_path, "target") as target:
        before = _state(target)
        for archive, message in refusals:
            with target.app_context(), pytest.raises(BackupError, match=message):
                restore_backup(archive)
            assert _state(target) == before, archive.name
        assert not (tmp_path / "escape").exists()
        # a restored database is not empty: a second restore is refused and changes nothing
        with target.app_context():
            restore_backup(good)
            db.session.remove()
        restored = _state(target)
        with target.app_context(), pytest.raises(BackupError, match="not empty"):
            restore_backup(good)
        assert _state(target) == restored


def _promote_viewer_and_close_an_nc(good: Path, forged: Path) -> None:
    """The attack: the viewer made an admin and an NC closed in the JSON, the checksums recomputed."""
    with zipfile.ZipFile(good) as archive:
        roles = archive.read("tables/user_roles.jsonl")
        ncs = archive.read("tables/nonconformities.jsonl")
    viewer = find_by_email("viewer@example.com")
    roles += json.dumps({"user_id": viewer.id, "role": "admin"}).encode() + b"\n"
    first, rest = ncs.split(b"\n", 1)
    ncs = json.dumps({**json.loads(first), "state": "closed"}).encode() + b"\n" + rest
    step = forged.with_suffix(".step")
    _forge(good, step, "tables/user_roles.jsonl", roles, 1, key=False)
    _forge(step, forged, "tables/nonconformities.jsonl", ncs, key=False)


def test_a_tampered_and_rechecksummed_backup_is_refused_naming_why(rich, tmp_path):
    kind = rich.config["QMS_TEST_DATABASE"]
    good = tmp_path / "good.zip"
    summary = create_backup(good)
    assert summary.key_id == rich.config["QMS_BACKUP_KEYRING"].current
    with zipfile.ZipFile(good) as archive:
        signature = json.loads(archive.read("manifest.sig"))
    assert signature["algorithm"] == "HMAC-SHA256" and signature["key_id"] == summary.key_id
    forged = tmp_path / "forged.zip"
    _promote_viewer_and_close_an_nc(good, forged)
    unsigned = tmp_path / "unsigned.zip"
    _rewrite(good, unsigned, drop="manifest.sig")
    old_format = tmp_path / "old-format.zip"
    version_one = json.dumps({**_manifest(good), "format_version": 1}).encode()
    _rewrite(good, old_format, replace={"manifest.json": version_one}, drop="manifest.sig")
    with _initialised(kind, tmp_path, "target") as target:
        before = _state(target)
        refusals = [
            (forged, "the manifest's signature does not match .* the backup was altered after it was made"),
            (unsigned, r"signature \(manifest.sig\) is missing"),
            (old_format, "the backup is not signed .* --accept-unsigned"),
        ]
        for archive, message in refusals:
            with target.app_context(), pytest.raises(BackupError, match=message):
                restore_backup(archive)
            assert _state(target) == before, archive.name
        # another installation's backup key: refused, naming the key it lacks
        target.config["QMS_BACKUP_KEYRING"] = Keyring({"other-1": b"o" * 40}, "other-1", "test")
        with target.app_context(), pytest.raises(BackupError, match=f"backup key '{summary.key_id}', which this"):
            restore_backup(good)
        assert _state(target) == before


def test_an_unsigned_old_backup_is_restored_only_when_accepted(rich, tmp_path):
    good = tmp_path / "good.zip"
    create_backup(good)
    old_format = tmp_path / "old-format.zip"
    version_one = json.dumps({**_manifest(good), "format_version": 1}).encode()
    _rewrite(good, old_format, replace={"manifest.json": version_one}, drop="manifest.sig")
    with _initialised(rich.config["QMS_TEST_DATABASE"], tmp_path, "target") as target, target.app_context():
        result = restore_backup(old_format, accept_unsigned=True)
        assert result.manifest["signed_with"] == "" and result.audit.ok
        db.session.remove()


def test_an_encrypted_backup_restores_with_its_passphrase_only(rich, tmp_path):
    kind = rich.config["QMS_TEST_DATABASE"]
    archive = tmp_path / "secret.qmsbackup"
    summary = create_backup(archive, passphrase="correct horse battery")
    assert summary.encrypted
    raw = archive.read_bytes()
    assert raw.startswith(backup_crypto.MAGIC) and b"manifest.json" not in raw and b"Backup procedure" not in raw
    with pytest.raises(BackupError, match="at least 12 characters"):
        create_backup(tmp_path / "weak", passphrase="short")
    flipped = tmp_path / "flipped.qmsbackup"
    flipped.write_bytes(raw[:-100] + bytes([raw[-100] ^ 1]) + raw[-99:])
    truncated = tmp_path / "truncated.qmsbackup"
    truncated.write_bytes(raw[: len(raw) - 30])
    header_end = raw.index(b"\n", len(backup_crypto.MAGIC)) + 1
    header = json.loads(raw[len(backup_crypto.MAGIC) : header_end])
    cheaper = tmp_path / "cheaper.qmsbackup"
    cheaper.write_bytes(backup_crypto.MAGIC + json.dumps({**header, "n": 2**30}).encode() + b"\n" + raw[header_end:])
    with _initialised(kind, tmp_path, "target") as target:
        before = _state(target)
        refusals = [
            (archive, None, "the backup is encrypted: give its passphrase"),
            (archive, "wrong horse battery", "the passphrase is wrong"),
            (flipped, "correct horse battery", "does not authenticate: the file was altered"),
            (truncated, "correct horse battery", "altered|truncated"),
            (cheaper, "correct horse battery", "header is damaged"),
        ]
        for path, passphrase, message in refusals:
            with target.app_context(), pytest.raises(BackupError, match=message):
                restore_backup(path, passphrase=passphrase)
            assert _state(target) == before, (path.name, passphrase)
        with target.app_context():
            assert restore_backup(archive, passphrase="correct horse battery").audit.ok
            db.session.remove()
        _compare(rich, target)


def test_a_database_with_records_is_refused(rich, tmp_path):
    archive = tmp_path / "b.zip"
    create_backup(archive)
    with _initialised(rich.config["QMS_TEST_DATABASE"], tmp_path, "used") as target:
        with target.app_context():
            from qms.services.users import create_user

            create_user("someone@example.test", "Someone", "long enough password", {"viewer"})
            db.session.remove()
        before = _state(target)
        with target.app_context(), pytest.raises(BackupError, match=r"not empty \(rows in .*users"):
            restore_backup(archive)
        assert _state(target) == before


# --- the commands ------------------------------------------------------------------------------


def test_the_backup_and_restore_commands(rich, tmp_path):
    kind = rich.config["QMS_TEST_DATABASE"]
    runner = rich.test_cli_runner()
    archive = tmp_path / "cli.zip"
    result = runner.invoke(args=["backup", str(archive)])
    assert result.exit_code == 0, result.output
    assert "Backup written to" in result.output and archive.is_file()
    again = runner.invoke(args=["backup", str(archive)])
    assert again.exit_code == 1 and "already exists; use --force" in again.output
    assert runner.invoke(args=["backup", "--force", str(archive)]).exit_code == 0
    nowhere = runner.invoke(args=["backup", str(tmp_path / "no" / "such" / "folder.zip")])
    assert nowhere.exit_code == 1 and "does not exist" in nowhere.output
    assert list(tmp_path.glob("*.partial")) == []
    with _initialised(kind, tmp_path, "cli-target") as target:
        target_runner = target.test_cli_runner()
        # the commands use the current app (the fixture's is pushed): push the target's around them
        with target.app_context():
            bad = target_runner.invoke(args=["restore", str(tmp_path / "missing.zip")])
            assert bad.exit_code == 1 and "Restore refused" in bad.output
            done = target_runner.invoke(args=["restore", str(archive)])
            assert done.exit_code == 0, done.output
            assert "Audit trail intact" in done.output
        _compare(rich, target)
        with target.app_context():
            twice = target_runner.invoke(args=["restore", str(archive)])
            assert twice.exit_code == 1 and "not empty" in twice.output
            verified = target_runner.invoke(args=["audit-trail", "verify"])
            assert verified.exit_code == 0, verified.output
            assert "Audit trail intact" in verified.output


def test_the_commands_encrypt_and_refuse_a_wrong_passphrase(rich, tmp_path):
    runner = rich.test_cli_runner()
    archive = tmp_path / "cli.qmsbackup"
    secret = tmp_path / "passphrase"
    secret.write_text("a long enough passphrase\n")
    made = runner.invoke(args=["backup", "--passphrase-file", str(secret), str(archive)])
    assert made.exit_code == 0, made.output
    assert "signed with the backup key" in made.output and "encrypted" in made.output
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase at all\n")
    with _initialised(rich.config["QMS_TEST_DATABASE"], tmp_path, "cli-target") as target:
        target_runner = target.test_cli_runner()
        with target.app_context():
            refused = target_runner.invoke(args=["restore", "--passphrase-file", str(wrong), str(archive)])
            assert refused.exit_code == 1
            assert "Restore refused, nothing was changed: the passphrase is wrong" in refused.output
            done = target_runner.invoke(args=["restore", "--passphrase-file", str(secret), str(archive)])
            assert done.exit_code == 0, done.output
            assert "signature verified with the backup key" in done.output

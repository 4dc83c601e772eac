"""Backup and restore of a whole installation: every table of the models and the uploaded files.

A backup is one ZIP archive (ZIP64, deflated):

* ``manifest.sig``: an HMAC-SHA256 of the exact bytes of ``manifest.json`` under the backup
  key (``QMS_BACKUP_KEY`` or the instance folder's ``backup.key``, see :mod:`qms.keys`), with
  the key's id.  The key is never in the backup, so whoever edits a member and recomputes its
  checksum in the manifest cannot make the signature match: restore refuses the archive;
* ``manifest.json``: format and app version, Alembic schema revision, creation time, the
  source database's dialect, and for every member its row count (tables), size and SHA-256;
* ``tables/<table>.jsonl``: one JSON object per row, tables in foreign-key order (parents
  first), rows in primary-key order.  Values are encoded by their column's type, so nothing is
  guessed on the way back: datetimes, dates and times as ISO 8601, decimals as strings, bytes
  as base64, JSON columns as ``{"json": value}`` (so a JSON ``null`` differs from SQL NULL);
* ``files/<path>``: the files of the upload folder (the content-addressed store).

The tables come from the SQLAlchemy metadata, so a new model is covered without a change here.
The full-text search index lives outside the models (:mod:`qms.services.search`) and is not
copied: restore rebuilds it from the revisions, which is also what makes a SQLite backup
restorable into PostgreSQL and back.

``create_backup`` reads everything in one read-only transaction (REPEATABLE READ on
PostgreSQL, one WAL snapshot on SQLite) and streams rows (``yield_per``), so the archive is one
consistent moment however large the tables; it is written to a temporary file and renamed.

With a passphrase the archive is encrypted as a whole (:mod:`qms.services.backup_crypto`:
AES-256-GCM in authenticated chunks, the key derived from the passphrase with scrypt); restore
decrypts it into a private temporary folder first, and a wrong passphrase or an altered byte is
refused there.

``restore_backup`` checks the whole archive (signature, manifest, member list, sizes, SHA-256)
before it writes anything, then in ONE transaction: refuses a database that holds more than what
``qms init`` loads, or whose schema revision differs; replaces what ``qms init`` loaded by the
backup's rows; inserts every table; resets PostgreSQL sequences; rebuilds the search index;
writes the files; checks the audit trail; commits.  Any failure rolls all of it back (and
removes the files it had added).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import decimal
import hashlib
import hmac
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

import sqlalchemy as sa
from alembic.migration import MigrationContext
from flask import current_app
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from ..database import db
from ..keys import Keyring
from ..models import AuditChainHead, AuditEntry, CertificationBody
from .audit_checks import VerifyResult, verify
from .backup_crypto import CryptoError, decrypt_file, encrypt_file, is_encrypted
from .search import ensure_search_index, reindex_all

FORMAT = "qmsflow-backup"
FORMAT_VERSION = 2
#: version 1 backups (before signing) are restored only when the operator accepts them unsigned
READABLE_VERSIONS = (1, 2)
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
SIGNATURE_ALGORITHM = "HMAC-SHA256"
#: what ``qms init`` fills (see ``qms.cli.init_database``): the chain head, the bundled
#: certification body profiles and the audit entries of their loading.  A restore replaces them.
INIT_TABLES = frozenset({AuditChainHead.__tablename__, AuditEntry.__tablename__, CertificationBody.__tablename__})
ROWS_PER_BATCH = 1000
_CHUNK = 1024 * 1024
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_]+$")


class BackupError(Exception):
    """A backup or restore refused, with a message for the person running it."""


@dataclass
class BackupSummary:
    path: Path
    tables: dict[str, int]
    files: int
    size: int
    key_id: str = ""
    encrypted: bool = False


@dataclass
class RestoreSummary:
    tables: dict[str, int]
    files: int
    search_rows: int
    audit: VerifyResult
    manifest: dict[str, Any] = field(default_factory=dict)


# --- values ----------------------------------------------------------------------------------


def _kind(column: sa.Column) -> str:
    """How a column's values are written: by its SQL type (a TypeDecorator by what it wraps)."""
    col_type = column.type
    while isinstance(col_type, TypeDecorator):
        col_type = col_type.impl_instance
    if isinstance(col_type, sa.JSON):
        return "json"
    if isinstance(col_type, sa.DateTime):
        return "datetime"
    if isinstance(col_type, sa.Date):
        return "date"
    if isinstance(col_type, sa.Time):
        return "time"
    if isinstance(col_type, sa.Float):
        return "float"
    if isinstance(col_type, sa.Numeric):
        return "decimal"
    if isinstance(col_type, sa.LargeBinary):
        return "bytes"
    if isinstance(col_type, sa.Interval):
        return "interval"
    return "plain"


def _decode(kind: str, value: Any, where: str) -> Any:
    try:
        if value is None:
            return sa.null() if kind == "json" else None
        if kind == "json":
            if not isinstance(value, dict) or set(value) != {"json"}:
                raise ValueError('a JSON value must be written as {"json": ...}')
            return value["json"]
        if kind == "datetime":
            return dt.datetime.fromisoformat(value)
        if kind == "date":
            return dt.date.fromisoformat(value)
        if kind == "time":
            return dt.time.fromisoformat(value)
        if kind == "decimal":
            return decimal.Decimal(value)
        if kind == "bytes":
            return base64.b64decode(value, validate=True)
        if kind == "interval":
            return dt.timedelta(seconds=value)
    except (TypeError, ValueError, decimal.InvalidOperation) as exc:
        raise BackupError(f"{where}: unreadable value {value!r} ({exc})") from None
    return value


# --- shared helpers ----------------------------------------------------------------------------


def _tables() -> list[sa.Table]:
    """Every table of the models, parents before children."""
    return list(db.metadata.sorted_tables)


def _schema_revision(conn: Connection) -> list[str]:
    return sorted(MigrationContext.configure(conn).get_current_heads())


def _app_version() -> str:
    from .. import __version__

    return __version__


def _upload_folder() -> Path:
    return Path(current_app.config["QMS_UPLOAD_FOLDER"])


def _backup_keyring() -> Keyring:
    return current_app.config["QMS_BACKUP_KEYRING"]


def sign_manifest(manifest_bytes: bytes, keyring: Keyring | None = None) -> bytes:
    """``manifest.sig``: the manifest's HMAC under the current backup key, with the key's id."""
    keyring = keyring or _backup_keyring()
    mac = hmac.new(keyring.current_key, manifest_bytes, hashlib.sha256).hexdigest()
    return json.dumps({"algorithm": SIGNATURE_ALGORITHM, "key_id": keyring.current, "mac": mac}).encode()


def _check_signature(archive: zipfile.ZipFile, manifest_bytes: bytes, version: int, accept_unsigned: bool) -> str:
    """The id of the backup key that signed the manifest; BackupError naming why it does not hold."""
    try:
        raw = archive.read(SIGNATURE)
    except KeyError:
        if version == 1 and accept_unsigned:
            return ""
        if version == 1:
            raise BackupError(
                "the backup is not signed (made before qmsflow signed its backups): its content cannot be "
                "trusted; restore it only if you made it yourself and kept it safe, with --accept-unsigned"
            ) from None
        raise BackupError("the backup's signature (manifest.sig) is missing: it was removed, restore refused") from None
    try:
        signature = json.loads(raw)
        key_id, mac = signature["key_id"], signature["mac"]
        if signature.get("algorithm") != SIGNATURE_ALGORITHM or not isinstance(key_id, str) or not isinstance(mac, str):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise BackupError("the backup's signature (manifest.sig) is malformed: restore refused") from None
    keyring = _backup_keyring()
    key = keyring.key(key_id)
    if key is None:
        raise BackupError(
            f"the backup was signed with the backup key '{key_id}', which this installation does not have "
            f"(its keys come from {keyring.source}: {', '.join(keyring.keys)}); install that key to restore it"
        )
    if not hmac.compare_digest(hmac.new(key, manifest_bytes, hashlib.sha256).hexdigest(), mac):
        raise BackupError(
            f"the manifest's signature does not match (backup key '{key_id}'): the backup was altered after it "
            "was made, restore refused"
        )
    return key_id


def _missing_tables(conn: Connection, tables: list[sa.Table]) -> list[str]:
    existing = set(sa.inspect(conn).get_table_names())
    return [t.name for t in tables if t.name not in existing]


class _HashingWriter:
    """Counts and hashes what goes into an archive member."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.size += len(data)
        self.target.write(data)


# --- backup --------------------------------------------------------------------------------


def _snapshot(engine: Engine) -> Connection:
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        conn.begin()
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
    else:
        conn.begin()  # SQLite in WAL: the first read fixes the snapshot for the whole transaction
    return conn


_ENCODERS: dict[str, Any] = {
    "json": lambda value: {"json": value},
    "datetime": lambda value: value.isoformat(),
    "date": lambda value: value.isoformat(),
    "time": lambda value: value.isoformat(),
    "decimal": str,
    "bytes": lambda value: base64.b64encode(bytes(value)).decode("ascii"),
    "interval": lambda value: value.total_seconds(),
    "float": float,
}
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def _write_table(conn: Connection, table: sa.Table, member: IO[bytes]) -> tuple[int, str, int]:
    names = [c.name for c in table.columns]
    encoders = [_ENCODERS.get(_kind(c)) for c in table.columns]
    plain = [i for i, encode in enumerate(encoders) if encode is None]
    coded = [(i, encode) for i, encode in enumerate(encoders) if encode is not None]
    order = list(table.primary_key.columns) or list(table.columns)
    writer = _HashingWriter(member)
    rows = 0
    result = conn.execution_options(stream_results=True, yield_per=ROWS_PER_BATCH).execute(
        sa.select(*table.columns).order_by(*order)
    )
    for partition in result.partitions():
        lines = []
        for row in partition:
            values = list(row)
            for i, encode in coded:
                if values[i] is not None:
                    values[i] = encode(values[i])
            try:
                lines.append(_dumps(dict(zip(names, values, strict=True))))
            except (TypeError, ValueError) as exc:
                where = ", ".join(f"{names[i]}={values[i]!r}" for i in plain if not _json_native(values[i]))
                raise BackupError(f"{table.name}: cannot write a row ({where or exc})") from None
        writer.write(("\n".join(lines) + "\n").encode("utf-8"))
        rows += len(lines)
    return rows, writer.digest.hexdigest(), writer.size


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def _json_native(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _upload_files(folder: Path) -> Iterator[tuple[str, Path]]:
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path.relative_to(folder).as_posix(), path


def create_backup(path: str | os.PathLike[str], *, force: bool = False, passphrase: str | None = None) -> BackupSummary:
    """Write a signed backup of the current app's database and upload folder to ``path``.

    With ``passphrase`` the archive is encrypted (AES-256-GCM, key derived by scrypt).
    """
    if passphrase is not None and len(passphrase) < 12:
        raise BackupError("the passphrase must be at least 12 characters")
    target = Path(path)
    if target.is_dir():
        raise BackupError(f"{target} is a directory; give the path of the archive to write")
    if target.exists() and not force:
        raise BackupError(f"{target} already exists; use --force to replace it")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")
    engine = db.engine
    tables = _tables()
    keyring = _backup_keyring()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    members: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    try:
        conn = _snapshot(engine)
        try:
            missing = _missing_tables(conn, tables)
            if missing:
                raise BackupError(f"the database lacks the tables {', '.join(missing)}: run `qms init` first")
            revision = _schema_revision(conn)
            with zipfile.ZipFile(tmp_name, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
                for table in tables:
                    name = f"tables/{table.name}.jsonl"
                    with archive.open(name, "w", force_zip64=True) as member:
                        rows, sha, size = _write_table(conn, table, member)
                    counts[table.name] = rows
                    members.append(
                        {
                            "name": name,
                            "table": table.name,
                            "rows": rows,
                            "columns": [c.name for c in table.columns],
                            "size": size,
                            "sha256": sha,
                        }
                    )
                # files after the rows: the store only ever gains files, and a file is stored
                # before the row naming it commits, so every row of the snapshot has its file
                files = 0
                for relative, file_path in _upload_files(_upload_folder()):
                    if file_path.resolve() in (Path(tmp_name).resolve(), target.resolve()):
                        continue  # the archive itself, when written into the upload folder
                    try:
                        source = open(file_path, "rb")  # noqa: SIM115 - closed below
                    except FileNotFoundError:
                        continue  # an upload in progress, gone again
                    with source, archive.open(f"files/{relative}", "w", force_zip64=True) as member:
                        writer = _HashingWriter(member)
                        while chunk := source.read(_CHUNK):
                            writer.write(chunk)
                    members.append(
                        {"name": f"files/{relative}", "size": writer.size, "sha256": writer.digest.hexdigest()}
                    )
                    files += 1
                manifest = {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "app_version": _app_version(),
                    "schema_revision": revision,
                    "created_at": dt.datetime.now(dt.UTC).isoformat(),
                    "dialect": engine.dialect.name,
                    "table_rows": counts,
                    "files": files,
                    "members": members,
                }
                manifest_bytes = json.dumps(manifest, indent=1, ensure_ascii=False).encode("utf-8")
                archive.writestr(MANIFEST, manifest_bytes)
                archive.writestr(SIGNATURE, sign_manifest(manifest_bytes, keyring))
        finally:
            conn.rollback()
            conn.close()
        if passphrase is not None:
            plain = tmp_name
            fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
            os.close(fd)
            try:
                encrypt_file(plain, tmp_name, passphrase)
            finally:
                os.unlink(plain)
        with open(tmp_name, "rb") as written:
            os.fsync(written.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    return BackupSummary(target, counts, files, target.stat().st_size, keyring.current, passphrase is not None)


# --- checking an archive ------------------------------------------------------------------------


def _safe_file_name(name: str) -> PurePosixPath:
    relative = PurePosixPath(name.removeprefix("files/"))
    if (
        not name.startswith("files/")
        or "\\" in name
        or "\x00" in name
        or relative.is_absolute()
        or any(part in ("", ".", "..") for part in relative.parts)
        or not relative.parts
    ):
        raise BackupError(f"the archive member {name!r} is not a safe file name")
    return relative


def _member_hash(archive: zipfile.ZipFile, name: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with archive.open(name) as member:
        while chunk := member.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def read_manifest(archive: zipfile.ZipFile, *, accept_unsigned: bool = False) -> dict[str, Any]:
    """The manifest, once its signature holds (see ``_check_signature``)."""
    try:
        manifest_bytes = archive.read(MANIFEST)
        manifest = json.loads(manifest_bytes)
    except KeyError:
        raise BackupError("the archive has no manifest.json: not a qmsflow backup") from None
    except (ValueError, zipfile.BadZipFile, OSError) as exc:
        raise BackupError(f"the manifest cannot be read: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("manifest.json does not describe a qmsflow backup")
    version = manifest.get("format_version")
    if version not in READABLE_VERSIONS or isinstance(version, bool):
        raise BackupError(
            f"backup format version {version!r} is not supported (this version reads "
            f"{', '.join(map(str, READABLE_VERSIONS))})"
        )
    manifest["signed_with"] = _check_signature(archive, manifest_bytes, version, accept_unsigned)
    members = manifest.get("members")
    if not isinstance(members, list) or not all(
        isinstance(m, dict)
        and isinstance(m.get("name"), str)
        and isinstance(m.get("sha256"), str)
        and isinstance(m.get("size"), int)
        for m in members
    ):
        raise BackupError("manifest.json: the member list is malformed")
    if not isinstance(manifest.get("schema_revision"), list):
        raise BackupError("manifest.json: the schema revision is missing")
    return manifest


@contextlib.contextmanager
def opened_archive(path: str | os.PathLike[str], passphrase: str | None = None) -> Iterator[Path]:
    """The plain ZIP of the backup at ``path``: itself, or decrypted into a private temporary folder."""
    source = Path(path)
    if not source.is_file():
        raise BackupError(f"{source} does not exist or is not a file")
    if not is_encrypted(source):
        yield source
        return
    if not passphrase:
        raise BackupError("the backup is encrypted: give its passphrase")
    with tempfile.TemporaryDirectory(prefix="qms-restore-") as folder:  # mode 0700
        plain = Path(folder) / "backup.zip"
        try:
            decrypt_file(source, plain, passphrase)
        except CryptoError as exc:
            raise BackupError(str(exc)) from None
        yield plain


def check_archive(
    path: str | os.PathLike[str], *, passphrase: str | None = None, accept_unsigned: bool = False
) -> dict[str, Any]:
    """Check the backup at ``path`` (decrypting it if needed): signature, then every member; return the manifest.

    Raises BackupError for a missing, truncated, corrupt, unsigned, wrongly signed or tampered archive.
    """
    with opened_archive(path, passphrase) as plain:
        return _check_plain(plain, accept_unsigned)


def _check_plain(source: Path, accept_unsigned: bool) -> dict[str, Any]:
    if not source.is_file():
        raise BackupError(f"{source} does not exist or is not a file")
    try:
        with zipfile.ZipFile(source) as archive:
            manifest = read_manifest(archive, accept_unsigned=accept_unsigned)
            listed = {m["name"]: m for m in manifest["members"]}
            if len(listed) != len(manifest["members"]):
                raise BackupError("manifest.json lists a member twice")
            present = [info.filename for info in archive.infolist() if not info.is_dir()]
            extra = sorted(set(present) - set(listed) - {MANIFEST, SIGNATURE})
            if extra:
                raise BackupError(f"the archive holds members the manifest does not list: {', '.join(extra[:5])}")
            if len(present) != len(set(present)):
                raise BackupError("the archive holds a member twice")
            for name, member in listed.items():
                if name.startswith("files/"):
                    _safe_file_name(name)
                elif not (
                    name.startswith("tables/")
                    and name.endswith(".jsonl")
                    and isinstance(member.get("table"), str)
                    and _TABLE_NAME.match(member["table"])
                    and name == f"tables/{member['table']}.jsonl"
                    and isinstance(member.get("rows"), int)
                    and isinstance(member.get("columns"), list)
                ):
                    raise BackupError(f"manifest.json: the member {name!r} is malformed")
                if name not in present:
                    raise BackupError(f"the archive lacks {name}, which its manifest lists")
                sha, size = _member_hash(archive, name)
                if size != member["size"] or sha != member["sha256"]:
                    raise BackupError(f"{name} does not match its SHA-256 in the manifest: the archive was altered")
    except zipfile.BadZipFile as exc:
        raise BackupError(f"{source} is not a readable backup archive (truncated or corrupt): {exc}") from None
    except (OSError, EOFError, zipfile.LargeZipFile) as exc:
        raise BackupError(f"{source} cannot be read (truncated or corrupt): {exc}") from None
    return manifest


# --- restore -------------------------------------------------------------------------------


def _check_target(conn: Connection, tables: list[sa.Table]) -> None:
    missing = _missing_tables(conn, tables)
    if missing:
        raise BackupError(f"the database lacks the tables {', '.join(missing)}: run `qms init` first")
    filled = [
        t.name
        for t in tables
        if t.name not in INIT_TABLES and conn.execute(sa.select(1).select_from(t).limit(1)).first()
    ]
    if filled:
        raise BackupError(
            "the database is not empty (rows in "
            + ", ".join(filled[:8])
            + ("…" if len(filled) > 8 else "")
            + "): restore needs a new database prepared with `qms init` only"
        )
    entries = AuditEntry.__table__
    foreign = conn.execute(
        sa.select(entries.c.record_type).where(entries.c.record_type.not_in(sorted(INIT_TABLES))).limit(1)
    ).first()
    if foreign:
        raise BackupError(
            f"the database is not empty (its audit trail records changes to {foreign[0]}): "
            "restore needs a new database prepared with `qms init` only"
        )


def _rows(archive: zipfile.ZipFile, member: dict[str, Any], table: sa.Table) -> Iterator[list[dict[str, Any]]]:
    kinds = {c.name: _kind(c) for c in table.columns}
    columns = set(kinds)
    plain = [name for name, kind in kinds.items() if kind == "plain"]
    coded = [(name, kind) for name, kind in kinds.items() if kind != "plain"]
    batch: list[dict[str, Any]] = []
    with archive.open(member["name"]) as raw:
        for number, line in enumerate(raw, start=1):
            where = f"{member['name']} line {number}"
            try:
                data = json.loads(line)
            except ValueError as exc:
                raise BackupError(f"{where}: not JSON ({exc})") from None
            if not isinstance(data, dict) or set(data) != columns:
                raise BackupError(f"{where}: the columns do not match the table {table.name}")
            for name in plain:
                if type(data[name]) not in _JSON_SCALARS:
                    raise BackupError(f"{where}, {name}: {data[name]!r} is not a plain value")
            for name, kind in coded:
                data[name] = _decode(kind, data[name], f"{where}, {name}")
            batch.append(data)
            if len(batch) >= ROWS_PER_BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def _reset_sequences(conn: Connection, tables: list[sa.Table]) -> None:
    """Point every PostgreSQL serial/identity sequence past the restored ids."""
    preparer = conn.dialect.identifier_preparer
    for table in tables:
        for column in table.primary_key.columns:
            sequence = conn.execute(
                sa.text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": preparer.format_table(table), "column": column.name},
            ).scalar()
            if sequence is None:
                continue
            top = conn.execute(sa.select(sa.func.max(column))).scalar()
            conn.execute(
                sa.text("SELECT setval(CAST(:sequence AS regclass), :value, :called)"),
                {"sequence": sequence, "value": top if top is not None else 1, "called": top is not None},
            )


def _write_files(archive: zipfile.ZipFile, manifest: dict[str, Any], folder: Path, created: list[Path]) -> int:
    count = 0
    root = folder.resolve()
    for member in manifest["members"]:
        name = member["name"]
        if not name.startswith("files/"):
            continue
        target = folder.joinpath(*_safe_file_name(name).parts)
        if not target.resolve().is_relative_to(root):
            raise BackupError(f"the archive member {name!r} points outside the upload folder")
        count += 1
        existed = target.exists()
        if target.is_file():
            digest = hashlib.sha256()
            with open(target, "rb") as existing:
                while chunk := existing.read(_CHUNK):
                    digest.update(chunk)
            if digest.hexdigest() == member["sha256"]:
                continue
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".restore-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out, archive.open(name) as source:
                while chunk := source.read(_CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp_name, target)
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise
        if not existed:
            created.append(target)
    return count


def restore_backup(
    path: str | os.PathLike[str], *, passphrase: str | None = None, accept_unsigned: bool = False
) -> RestoreSummary:
    """Restore the backup at ``path`` into the current app's database, which must be freshly initialised.

    The signature and every checksum are checked before anything is written; an encrypted
    backup is decrypted (and so authenticated) first.
    """
    with opened_archive(path, passphrase) as plain:
        return _restore_plain(plain, accept_unsigned)


def _restore_plain(path: Path, accept_unsigned: bool) -> RestoreSummary:
    manifest = _check_plain(path, accept_unsigned)  # before anything is written
    tables = _tables()
    by_table = {m["table"]: m for m in manifest["members"] if m["name"].startswith("tables/")}
    names = {t.name for t in tables}
    if set(by_table) != names:
        unknown, absent = sorted(set(by_table) - names), sorted(names - set(by_table))
        raise BackupError(
            "the backup's tables differ from this version's: "
            + "; ".join(
                part
                for part in (
                    f"unknown here: {', '.join(unknown)}" if unknown else "",
                    f"missing from the backup: {', '.join(absent)}" if absent else "",
                )
                if part
            )
        )
    for table in tables:
        if by_table[table.name]["columns"] != [c.name for c in table.columns]:
            raise BackupError(f"the columns of {table.name} in the backup differ from this version's")
    engine = db.engine
    created: list[Path] = []
    conn = engine.connect().execution_options(qms_write=True)  # BEGIN IMMEDIATE on SQLite
    try:
        with conn.begin():
            if engine.dialect.name == "postgresql":
                # nobody else reads half a restore or writes while it runs
                listed = ", ".join(conn.dialect.identifier_preparer.format_table(t) for t in tables)
                conn.exec_driver_sql(f"LOCK TABLE {listed} IN ACCESS EXCLUSIVE MODE")
            _check_target(conn, tables)
            revision = _schema_revision(conn)
            if revision != manifest["schema_revision"]:
                raise BackupError(
                    f"the backup's schema revision {', '.join(manifest['schema_revision']) or '(none)'} differs "
                    f"from this database's {', '.join(revision) or '(none)'}: restore with the qmsflow version "
                    "that wrote the backup, then upgrade"
                )
            for table in reversed(tables):  # what `qms init` loaded, children first
                if table.name in INIT_TABLES:
                    conn.execute(table.delete())
            counts: dict[str, int] = {}
            with zipfile.ZipFile(path) as archive:
                for table in tables:
                    member = by_table[table.name]
                    inserted = 0
                    for batch in _rows(archive, member, table):
                        conn.execute(table.insert(), batch)
                        inserted += len(batch)
                    if inserted != member["rows"]:
                        raise BackupError(f"{member['name']} holds {inserted} rows, its manifest says {member['rows']}")
                    counts[table.name] = inserted
                if engine.dialect.name == "postgresql":
                    _reset_sequences(conn, tables)
                ensure_search_index(conn)
                search_rows = reindex_all(conn)
                with Session(bind=conn) as session:
                    audit = verify(session)
                files = _write_files(archive, manifest, _upload_folder(), created)
    except sa.exc.StatementError as exc:  # a constraint, or a value the column type refuses
        for file_path in created:
            file_path.unlink(missing_ok=True)
        raise BackupError(f"the database refused the backup's rows, nothing was restored: {exc.orig}") from None
    except BaseException:
        for file_path in created:
            file_path.unlink(missing_ok=True)
        raise
    finally:
        conn.close()
    return RestoreSummary(counts, files, search_rows, audit, manifest)

"""The audit trail is hash-chained: verify finds edited, deleted and truncated entries."""

from __future__ import annotations

import contextlib
import io
import json
import re
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy import event as sa_event

from qms.database import db, utcnow
from qms.keys import Keyring
from qms.models import AuditChainHead, AuditEntry, TransitionHistory, UserRole
from qms.models.records import Attachment
from qms.services import fire
from qms.services.audit_checks import CHECKPOINT_FILE, SealRefused, checkpoint, read_checkpoints, seal
from qms.services.audit_trail import GENESIS_HASH, entry_hash, entry_mac, verify

from ..conftest import PASSWORD
from ..helpers import error, new_nc, ok


@pytest.fixture
def trail(org):
    """Some history: users created, NCs raised and triaged."""
    for _ in range(3):
        nc = new_nc(org)
        fire(nc, "triage", org.quality, {"severity": "minor"})
    db.session.rollback()
    return db.session.scalar(select(func.max(AuditEntry.seq)))


def test_an_untouched_trail_verifies(trail):
    result = verify(db.session)
    assert result.ok and result.checked == trail


def test_user_creation_is_audited_without_the_password_hash(org):
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.record_type == "users").order_by(AuditEntry.seq)
    ).first()
    assert entry.action == "create"
    assert '"email":"admin@example.test"' in entry.new_value
    assert '"password_hash":"[redacted]"' in entry.new_value
    assert "argon2" not in entry.new_value


def test_an_edited_entry_is_found(trail):
    db.session.execute(update(AuditEntry).where(AuditEntry.seq == 5).values(new_value='{"state":"closed"}'))
    db.session.commit()
    result = verify(db.session)
    assert not result.ok
    assert result.broken_at == 5
    assert "altered" in result.problem


def test_an_edited_actor_is_found(trail):
    db.session.execute(update(AuditEntry).where(AuditEntry.seq == trail - 1).values(actor_name="Someone Else"))
    db.session.commit()
    result = verify(db.session)
    assert (result.ok, result.broken_at) == (False, trail - 1)


def test_a_deleted_entry_is_found(trail):
    db.session.execute(delete(AuditEntry).where(AuditEntry.seq == 4))
    db.session.commit()
    result = verify(db.session)
    assert (result.ok, result.broken_at) == (False, 4)
    assert "missing" in result.problem


def test_a_deleted_last_entry_is_found(trail):
    db.session.execute(delete(AuditEntry).where(AuditEntry.seq == trail))
    db.session.commit()
    result = verify(db.session)
    assert not result.ok and result.broken_at == trail


def test_a_recomputed_forgery_is_still_found_by_the_head(trail):
    """Deleting the newest entry and fixing the head's count still breaks at the head hash."""
    db.session.execute(delete(AuditEntry).where(AuditEntry.seq == trail))
    db.session.execute(update(AuditChainHead).values(last_seq=trail - 1))
    db.session.commit()
    assert not verify(db.session).ok


def test_cli_verify_reports_the_first_broken_link(trail, runner):
    ok = runner.invoke(args=["audit-trail", "verify"])
    assert ok.exit_code == 0, ok.output
    assert f"{trail} entries verified" in ok.output
    db.session.execute(text("UPDATE audit_entries SET reason = 'tampered' WHERE seq = 3"))
    db.session.commit()
    broken = runner.invoke(args=["audit-trail", "verify"])
    assert broken.exit_code == 1
    assert "BROKEN at entry 3" in broken.output


@pytest.mark.real_commits
def test_concurrent_writers_never_fork_the_chain(app, org):
    quality_id = org.quality.id
    errors: list[BaseException] = []

    def writer() -> None:
        from qms.models import User

        with app.app_context():
            try:
                user = db.session.get(User, quality_id)
                for _ in range(5):
                    nc = new_nc(org_for(user))
                    fire(nc, "triage", user, {"severity": "minor"})
            except BaseException as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    db.session.rollback()
    result = verify(db.session)
    assert result.ok, result.problem
    seqs = db.session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)).all()
    assert seqs == list(range(1, len(seqs) + 1))


def org_for(user):
    """new_nc needs an org with an auditor; any raiser role works."""

    class _Org:
        auditor = user

    return _Org()


# --- the keyed trail: attacks by someone with database access but without the audit key ----------


def _signed_observation(org):
    """An observation closed with a signature: the history holds a signed row."""
    nc = new_nc(org)
    fire(nc, "triage", org.quality, {"severity": "observation"})
    fire(nc, "close_observation", org.manager, {"justification": "A one-off remark"}, signature_password=PASSWORD)
    db.session.rollback()
    return nc


def _signature_row(nc) -> TransitionHistory:
    return db.session.scalars(
        select(TransitionHistory).where(
            TransitionHistory.record_id == nc.id, TransitionHistory.signature_meaning.is_not(None)
        )
    ).one()


def test_entries_are_macs_under_the_key_not_plain_hashes(trail, app):
    entry = db.session.get(AuditEntry, 3)
    ring = app.config["QMS_AUDIT_KEYRING"]
    assert entry.key_id == ring.current
    row = {c.name: getattr(entry, c.name) for c in AuditEntry.__table__.columns}
    assert entry.hash == entry_mac(row, ring.current_key)
    assert entry.hash != entry_hash(row)
    assert ring.current_key.decode() not in str(db.session.execute(select(AuditEntry.__table__)).all())


def test_a_direct_update_of_a_records_state_is_found_and_named(org):
    nc = new_nc(org, title="Burr on housing")
    fire(nc, "triage", org.quality, {"severity": "minor"})
    assert verify(db.session).ok
    db.session.execute(text("UPDATE nonconformities SET state = 'closed' WHERE id = :id"), {"id": nc.id})
    db.session.commit()
    result = verify(db.session)
    assert not result.ok
    assert result.record == f"nonconformities {nc.id} ({nc.reference})"
    assert "changed outside the application" in result.problem
    assert "state is 'closed' in the database, 'triaged' in the trail" in result.problem
    # the replay of its history says so too
    assert any("replay of its transition history leads to 'triaged'" in p for p in result.problems)


def test_a_state_update_with_a_matching_forged_history_row_is_found(org):
    nc = new_nc(org)
    fire(nc, "triage", org.quality, {"severity": "observation"})
    db.session.execute(text("UPDATE nonconformities SET state = 'closed' WHERE id = :id"), {"id": nc.id})
    db.session.execute(
        insert(TransitionHistory).values(
            lifecycle="nonconformity",
            lifecycle_version=nc.lifecycle_version,
            record_id=nc.id,
            event="close_observation",
            from_state="triaged",
            to_state="closed",
            actor_id=org.manager.id,
            actor_name=org.manager.name,
            at=utcnow(),
            comment="",
            data={},
            signature_meaning="approved for closure",
            signed_by_name=org.manager.name,
            signed_at=utcnow(),
        )
    )
    db.session.commit()
    result = verify(db.session)
    assert not result.ok
    # the replay now agrees with the state, but neither the state nor the forged signature is in the trail
    assert any(f"nonconformities {nc.id}" in p and "changed outside" in p for p in result.problems)
    assert any(
        p.startswith("transition_history ") and "not in the audit trail (written outside the application)" in p
        for p in result.problems
    )


def test_history_of_a_record_that_never_existed_is_found_in_an_empty_register(org):
    """No NC exists and the trail names none: verify still reads the NC lifecycle's history."""
    assert verify(db.session).ok
    db.session.execute(
        insert(TransitionHistory).values(
            lifecycle="nonconformity",
            lifecycle_version=1,
            record_id=999,
            event="triage",
            from_state="new",
            to_state="triaged",
            actor_id=org.quality.id,
            actor_name=org.quality.name,
            at=utcnow(),
            comment="",
            data={},
        )
    )
    db.session.commit()
    result = verify(db.session)
    assert not result.ok
    assert any("belongs to nonconformities 999, which does not exist" in p for p in result.problems)
    assert any(
        p.startswith("transition_history ") and "not in the audit trail (written outside the application)" in p
        for p in result.problems
    )


def test_a_row_in_a_table_the_trail_never_named_is_found(org):
    """A table no entry names and that held no row is still read once a row appears in it."""
    assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert not db.session.scalar(select(func.count()).where(AuditEntry.record_type == "attachments"))
    nc = new_nc(org)
    db.session.execute(
        insert(Attachment).values(
            lifecycle="nonconformity",
            record_id=nc.id,
            filename="forged.pdf",
            content_type="application/pdf",
            size=4,
            sha256="0" * 64,
            uploaded_by_id=org.quality.id,
        )
    )
    db.session.commit()
    result = verify(db.session)
    assert not result.ok
    assert result.problem.startswith("attachments ") and "written outside the application" in result.problem


def test_a_forged_signer_in_the_history_is_found(org):
    nc = _signed_observation(org)
    signature = _signature_row(nc)
    assert verify(db.session).ok
    db.session.execute(
        update(TransitionHistory)
        .where(TransitionHistory.id == signature.id)
        .values(signed_by_name="Top Manager", actor_id=org.admin.id, signature_meaning="approved")
    )
    db.session.commit()
    result = verify(db.session)
    assert not result.ok
    assert result.record == f"transition_history {signature.id}"
    assert f"signed_by_name is 'Top Manager' in the database, '{org.manager.name}' in the trail" in result.problem
    assert "signature_meaning is 'approved' in the database, 'approved for closure' in the trail" in result.problem


def test_a_deleted_signature_row_is_found(org):
    nc = _signed_observation(org)
    signature = _signature_row(nc)
    db.session.execute(delete(TransitionHistory).where(TransitionHistory.id == signature.id))
    db.session.commit()
    result = verify(db.session)
    assert not result.ok
    assert f"transition_history {signature.id} is in the audit trail but not in the database" in result.problem


def test_a_role_granted_in_the_database_is_found(org):
    db.session.execute(insert(UserRole).values(user_id=org.viewer.id, role="admin"))
    db.session.commit()
    result = verify(db.session)
    assert not result.ok
    assert result.record == f"user_roles {org.viewer.id}/admin"


def test_a_replaced_file_hash_is_found(org):
    from qms.services.attachments import attach

    nc = new_nc(org)
    attached = attach(nc, org.auditor, io.BytesIO(b"%PDF-1.4\nlabel photo\n%%EOF\n"), "label.pdf")
    db.session.execute(update(Attachment).where(Attachment.id == attached.id).values(sha256="0" * 64))
    db.session.commit()
    result = verify(db.session)
    assert (result.ok, result.record) == (False, f"attachments {attached.id}")


def _recompute(app, start: int, how: str) -> None:
    """What an attacker does after editing entry ``start``: recompute every later link."""
    ring = app.config["QMS_AUDIT_KEYRING"]
    rows = db.session.execute(select(AuditEntry.__table__).order_by(AuditEntry.seq)).mappings().all()
    prev = rows[start - 2]["hash"] if start > 1 else GENESIS_HASH
    for row in rows[start - 1 :]:
        row = dict(row, prev_hash=prev)
        if how == "sha256":  # the app's own unkeyed function, as the old chain was
            row["key_id"] = None
            row["hash"] = entry_hash(row)
        elif how == "guessed-key":
            row["hash"] = entry_mac(row, b"a guess at the key, 32 characters long")
        else:  # the real key: an insider who holds it
            row["hash"] = entry_mac(row, ring.key(row["key_id"]))
        prev = row["hash"]
        db.session.execute(
            update(AuditEntry)
            .where(AuditEntry.seq == row["seq"])
            .values(prev_hash=row["prev_hash"], hash=row["hash"], key_id=row["key_id"], new_value=row["new_value"])
        )
    db.session.execute(update(AuditChainHead).values(last_hash=prev))
    db.session.commit()


def _edit(seq: int) -> None:
    db.session.execute(update(AuditEntry).where(AuditEntry.seq == seq).values(new_value='{"severity":"observation"}'))


@pytest.mark.parametrize("how", ["sha256", "guessed-key"])
def test_a_chain_recomputed_without_the_key_is_found(trail, app, how):
    _edit(5)
    _recompute(app, 5, how)
    result = verify(db.session)
    assert (result.ok, result.broken_at) == (False, 5)
    if how == "sha256":
        assert "carries no key id although the entries before it are keyed" in result.problem
    else:
        assert "MAC does not match" in result.problem


def test_a_whole_chain_recomputed_as_legacy_is_not_accepted(trail, app):
    _edit(2)
    _recompute(app, 1, "sha256")
    result = verify(db.session)
    assert not result.ok
    assert "not sealed yet" in result.problem


def test_an_entry_sealed_with_an_unknown_key_is_named(trail, app):
    db.session.execute(update(AuditEntry).where(AuditEntry.seq == 4).values(key_id="stolen-1"))
    db.session.commit()
    result = verify(db.session)
    assert (result.ok, result.broken_at) == (False, 4)
    assert "audit key 'stolen-1', which this installation does not have" in result.problem


def test_keys_rotate_and_each_entry_verifies_with_its_own_key(trail, app, org):
    ring = app.config["QMS_AUDIT_KEYRING"]
    old_id = ring.current
    app.config["QMS_AUDIT_KEYRING"] = Keyring({**ring.keys, "audit-2": b"n" * 40}, "audit-2", "test")
    nc = new_nc(org)
    fire(nc, "triage", org.quality, {"severity": "minor"})
    db.session.rollback()
    ids = set(db.session.scalars(select(AuditEntry.key_id)))
    assert ids == {old_id, "audit-2"}
    assert verify(db.session).ok
    # without the old key, the old entries cannot be verified: verify says which key it lacks
    app.config["QMS_AUDIT_KEYRING"] = Keyring({"audit-2": b"n" * 40}, "audit-2", "test")
    result = verify(db.session)
    assert not result.ok and f"audit key '{old_id}'" in result.problem


def test_a_rewrite_behind_a_checkpoint_is_found(trail, app, tmp_path):
    app.config["QMS_AUDIT_CHECKPOINT_DIR"] = str(tmp_path / "checkpoints")
    written = checkpoint("test")
    assert written["seq"] == trail
    line = json.loads((tmp_path / "checkpoints" / CHECKPOINT_FILE).read_text())
    assert (line["seq"], line["mac"]) == (trail, written["mac"])
    assert verify(db.session, checkpoints=True).ok
    # someone holding the key rewrites entry 3 and recomputes every MAC after it: the chain holds…
    _edit(3)
    _recompute(app, 3, "real-key")
    assert verify(db.session).ok
    # …but no longer contains the checkpointed head
    result = verify(db.session, checkpoints=True)
    assert not result.ok and result.broken_at == trail
    assert "the trail was rewritten after that checkpoint" in result.problem


def test_a_truncation_behind_a_checkpoint_is_found(trail, app, tmp_path):
    app.config["QMS_AUDIT_CHECKPOINT_DIR"] = str(tmp_path / "checkpoints")
    checkpoint("test")
    db.session.execute(delete(AuditEntry).where(AuditEntry.seq > trail - 2))
    last = db.session.get(AuditEntry, trail - 2)
    db.session.execute(update(AuditChainHead).values(last_seq=trail - 2, last_hash=last.hash))
    db.session.commit()
    result = verify(db.session, checkpoints=True)
    assert not result.ok
    assert f"names entry {trail}, but the chain ends at entry {trail - 2}" in " ".join(result.problems)


def test_checkpoints_that_cannot_be_read_fail_verification(trail, app, tmp_path):
    folder = tmp_path / "none"
    assert "no checkpoints" in verify(db.session, checkpoints=folder).problem
    folder.mkdir()
    (folder / "checkpoints.jsonl").write_text('{"seq": "x"}\n')
    assert "line 1 is not a checkpoint" in verify(db.session, checkpoints=folder).problem


def _make_legacy() -> None:
    """The trail as an install before the audit key wrote it: plain SHA-256, no key ids, no row digests."""
    rows = db.session.execute(select(AuditEntry.__table__).order_by(AuditEntry.seq)).mappings().all()
    prev = GENESIS_HASH
    for row in rows:
        row = dict(row, prev_hash=prev, key_id=None, row_digest=None)
        row["hash"] = prev = entry_hash(row)
        db.session.execute(
            update(AuditEntry)
            .where(AuditEntry.seq == row["seq"])
            .values(prev_hash=row["prev_hash"], hash=row["hash"], key_id=None, row_digest=None)
        )
    db.session.execute(update(AuditChainHead).values(last_hash=prev))
    db.session.commit()


def test_legacy_entries_are_sealed_on_upgrade_and_then_protected(trail, org):
    _signed_observation(org)
    _make_legacy()
    legacy = db.session.scalar(select(func.max(AuditEntry.seq)))
    result = verify(db.session)
    assert not result.ok and "not sealed yet: run `qms audit-trail seal`" in result.problem
    sealed = seal(actor_name="qms init")
    assert sealed.sealed and sealed.legacy == legacy
    assert sealed.baselined["nonconformities"] >= 4 and sealed.baselined["transition_history"] >= 5
    result = verify(db.session)
    assert result.ok, result.problem
    assert result.legacy == legacy
    assert not seal().sealed  # once is enough
    # a legacy entry cannot be changed any more: the keyed seal after it anchors it
    _edit(2)
    db.session.commit()
    assert verify(db.session).broken_at == 2
    db.session.rollback()


def test_a_sealed_table_is_never_baselined_again(trail, org):
    nc = _signed_observation(org)
    _make_legacy()
    seal()
    signature = _signature_row(nc)
    db.session.execute(update(TransitionHistory).where(TransitionHistory.id == signature.id).values(signed_by_name="X"))
    db.session.commit()
    assert verify(db.session).record == f"transition_history {signature.id}"
    with pytest.raises(SealRefused, match="disagrees with the trail"):
        seal()
    assert verify(db.session).record == f"transition_history {signature.id}"
    # accepting the rows as they are is explicit, with a reason, and recorded
    with pytest.raises(SealRefused, match="reason"):
        seal(accept_current=True)
    accepted = seal(accept_current=True, reason="migration 42 rewrote the signer names")
    assert accepted.accepted == [f"transition_history {signature.id}"]
    assert verify(db.session).ok
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "seal").order_by(AuditEntry.seq.desc())
    ).first()
    assert entry.reason == "migration 42 rewrote the signer names"
    assert f"transition_history {signature.id}" in entry.new_value


# --- `qms init` seals only what no seal covers yet -------------------------------------------------


@contextlib.contextmanager
def _statements() -> Iterator[list[str]]:
    """The SQL statements run inside the block."""
    run: list[str] = []

    def record(conn, cursor, statement, *args):
        run.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield run
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", record)


def _reading(statements: list[str], table: str) -> list[str]:
    return [s for s in statements if re.search(rf"\bFROM {table}\b", s)]


def test_init_reads_no_row_of_a_sealed_trail(trail, org):
    _signed_observation(org)
    first = seal(actor_name="qms init")  # no seal yet: the whole trail and every row are read
    assert first.sealed and first.baselined == {} and first.rows_read > 10
    assert seal().rows_read == first.rows_read  # so does the seal command, every time
    with _statements() as run:
        again = seal(actor_name="qms init", only_uncovered=True)
    assert not again.sealed and again.rows_read == 0
    assert "sealed already" in again.message and "qms audit-trail verify" in again.message
    for table in ("nonconformities", "transition_history", "users", "user_roles"):
        assert not _reading(run, table), table
    assert len(run) <= 6, run  # the head, the seal entries, the last entry: no walk of the chain


def test_init_baselines_only_the_rows_of_a_table_no_seal_covers(trail, org, monkeypatch):
    """A release audits a table that already holds rows (written before it was audited, so without
    entries): the next `qms init` baselines those rows, and reads no other table's."""
    from qms.models.jobs import NotificationPreference as Preference
    from qms.services import audit_trail

    seal(actor_name="qms init")
    db.session.add_all([Preference(user_id=org.quality.id, daily_digest=False), Preference(user_id=org.manager.id)])
    db.session.commit()
    monkeypatch.setattr(audit_trail, "AUDITED_TYPES", (*audit_trail.AUDITED_TYPES, Preference))
    unsealed = verify(db.session)
    assert not unsealed.ok and unsealed.problem.startswith("notification_preferences "), unsealed.problem
    with _statements() as run:
        sealed = seal(actor_name="qms init", only_uncovered=True)
    assert sealed.sealed and sealed.baselined == {"notification_preferences": 2} and sealed.rows_read == 2
    assert _reading(run, "notification_preferences")
    for table in ("nonconformities", "transition_history", "users", "user_roles"):
        assert not _reading(run, table), table
    result = verify(db.session)
    assert result.ok, result.problems
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "seal").order_by(AuditEntry.seq.desc()))
    assert "notification_preferences" in json.loads(entry.first().new_value)["tables"]
    # sealed now: a row written outside the application later is not blessed by the next init
    db.session.execute(insert(Preference).values(user_id=org.viewer.id, daily_digest=False))
    db.session.commit()
    assert not seal(actor_name="qms init", only_uncovered=True).sealed
    assert verify(db.session).problem == (
        f"notification_preferences {org.viewer.id} is in the database but not in the audit trail "
        "(written outside the application)"
    )


def test_a_row_tampered_with_is_still_found_after_init(trail, org):
    nc = _signed_observation(org)
    seal(actor_name="qms init")
    db.session.execute(text("UPDATE nonconformities SET title = 'Nothing to see' WHERE id = :id"), {"id": nc.id})
    db.session.execute(insert(UserRole).values(user_id=org.viewer.id, role="admin"))
    db.session.commit()
    for _ in range(2):
        assert not seal(actor_name="qms init", only_uncovered=True).sealed
    result = verify(db.session)
    assert not result.ok and result.problem_count == 2
    assert result.problems[0].startswith(f"user_roles {org.viewer.id}/admin is in the database but not in the audit")
    assert result.problems[1].startswith(f"nonconformities {nc.id} ({nc.reference}) differs from its last")
    # the seal command still checks every row and refuses
    with pytest.raises(SealRefused, match="disagrees with the trail"):
        seal()


def test_init_checks_the_whole_trail_when_the_seal_entries_do_not_hold(trail, org):
    seal(actor_name="qms init")
    seal_seq = db.session.scalar(select(func.max(AuditEntry.seq)).where(AuditEntry.action == "seal"))
    db.session.execute(
        update(AuditEntry).where(AuditEntry.seq == seal_seq).values(new_value='{"legacy_entries":0,"tables":[]}')
    )
    db.session.commit()
    with pytest.raises(SealRefused, match=f"broken at entry {seal_seq}"):
        seal(actor_name="qms init", only_uncovered=True)
    db.session.rollback()


def test_init_without_a_seal_yet_seals_legacy_entries_in_full(trail, org):
    _make_legacy()
    legacy = db.session.scalar(select(func.max(AuditEntry.seq)))
    sealed = seal(actor_name="qms init", only_uncovered=True)
    assert sealed.sealed and sealed.legacy == legacy and sealed.baselined["nonconformities"] >= 3
    assert verify(db.session).ok


def test_cli_names_the_record_and_writes_checkpoints(org, runner, app, tmp_path):
    app.config["QMS_AUDIT_CHECKPOINT_DIR"] = str(tmp_path / "cp")
    nc = new_nc(org)
    written = runner.invoke(args=["audit-trail", "checkpoint"])
    assert written.exit_code == 0, written.output
    assert "Checkpoint: entry" in written.output
    ok = runner.invoke(args=["audit-trail", "verify", "--checkpoints"])
    assert ok.exit_code == 0, ok.output
    assert "1 checkpoints found in the chain" in ok.output
    db.session.execute(text("UPDATE nonconformities SET title = 'Nothing to see' WHERE id = :id"), {"id": nc.id})
    db.session.commit()
    broken = runner.invoke(args=["audit-trail", "verify"])
    assert broken.exit_code == 1
    assert f"BROKEN at nonconformities {nc.id} ({nc.reference})" in broken.output
    assert "title is 'Nothing to see' in the database" in broken.output
    sealed = runner.invoke(args=["audit-trail", "seal"])
    assert sealed.exit_code == 1 and "disagrees with the trail" in sealed.output
    assert runner.invoke(args=["keys", "list"]).output.count("current:") == 2


def test_the_daily_checkpoint_job(org, app, tmp_path):
    from qms.jobs.runs import run_job

    app.config["QMS_AUDIT_CHECKPOINT_DIR"] = str(tmp_path / "cp")
    run = run_job("audit-checkpoint", trigger="test")
    assert run.outcome == "succeeded" and run.counts["sequence"] > 0
    assert len(read_checkpoints()) == 1


def test_the_api_gives_administrators_the_verification(org, api, app, tmp_path):
    url = "/api/v1/audit-trail/verification"
    nc = new_nc(org)
    body = ok(api.get("admin", url))
    assert body["ok"] is True and body["problem"] == "" and body["record"] is None
    assert body["entries_checked"] > 0 and body["rows_checked"] > 0 and body["records_replayed"] >= 1
    assert error(api.get("quality", url), 403)["message"] == "Only an administrator can verify the audit trail"
    assert api.get(None, url).status_code == 401
    assert "checkpoints" in error(api.get("admin", url + "?checkpoints=maybe"), 422)["errors"]
    assert "nonsense" in error(api.get("admin", url + "?nonsense=1"), 422)["errors"]
    db.session.execute(text("UPDATE nonconformities SET state = 'closed' WHERE id = :id"), {"id": nc.id})
    db.session.commit()
    body = ok(api.get("admin", url))
    assert body["ok"] is False and body["record"] == f"nonconformities {nc.id} ({nc.reference})"
    assert body["problem_count"] == len(body["problems"]) >= 2
    app.config["QMS_AUDIT_CHECKPOINT_DIR"] = str(tmp_path / "none")
    body = ok(api.get("admin", url + "?checkpoints=true"))
    assert any("no checkpoints" in p for p in body["problems"])


def test_the_openapi_document_describes_the_verification(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/audit-trail/verification"]["get"]
    assert operation["tags"] == ["Audit trail"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert {"ok", "broken_at", "record", "problem", "problems"} <= set(
        spec["components"]["schemas"][schema]["properties"]
    )


def test_changes_the_trail_used_to_miss_are_recorded(org):
    """Found by verify: a role removed from a user (a delete-orphan) and a value set on an expired attribute."""
    from qms.services.audits import new_calendar_feed, revoke_calendar_feed
    from qms.services.users import update_user

    update_user(org.auditor, org.admin, name=org.auditor.name, roles={"viewer"}, active=True)
    removed = db.session.scalars(
        select(AuditEntry).where(AuditEntry.record_type == "user_roles", AuditEntry.action == "delete")
    ).all()
    assert [entry.record_id for entry in removed] == [f"{org.auditor.id}/internal_auditor"]
    new_calendar_feed(org.viewer, org.viewer)
    revoke_calendar_feed(org.viewer, org.viewer)  # the user was expired by the commit before
    last = db.session.scalars(
        select(AuditEntry).where(AuditEntry.record_type == "users").order_by(AuditEntry.seq.desc())
    ).first()
    assert last.new_value == '{"calendar_feed_hash":null}'
    result = verify(db.session)
    assert result.ok, result.problems


# --- verify streams: what it finds does not depend on where the batches break ----------------------


def _tamper_state(org, ncs):
    db.session.execute(text("UPDATE nonconformities SET state = 'closed' WHERE id = :id"), {"id": ncs[6].id})
    return f"nonconformities {ncs[6].id}"


def _tamper_history(org, ncs):
    row = db.session.scalar(select(TransitionHistory).where(TransitionHistory.record_id == ncs[10].id))
    db.session.execute(delete(TransitionHistory).where(TransitionHistory.id == row.id))
    return f"transition_history {row.id}"


def _tamper_orphan_history(org, ncs):
    db.session.execute(
        update(TransitionHistory).where(TransitionHistory.record_id == ncs[-1].id).values(record_id=2_000_000)
    )
    return "nonconformities 2000000"


def _tamper_role(org, ncs):
    db.session.execute(insert(UserRole).values(user_id=org.viewer.id, role="admin"))
    return f"user_roles {org.viewer.id}/admin"


def _tamper_entry(org, ncs):
    last = db.session.scalar(select(func.max(AuditEntry.seq)))
    db.session.execute(update(AuditEntry).where(AuditEntry.seq == last - 3).values(reason="nothing happened"))
    return None


@pytest.mark.parametrize(
    "tamper", [_tamper_state, _tamper_history, _tamper_orphan_history, _tamper_role, _tamper_entry]
)
def test_verify_finds_each_tampering_whatever_the_batch_size(org, tamper):
    """Twelve NCs (ids 1–12 and beyond: "10" sorts before "2" as text, as the trail's record ids do),
    verified with batches of 1, 2 and 5 rows so that every tampering sits across a batch boundary,
    and with the default: the same verdict each time."""
    ncs = []
    for number in range(12):
        nc = new_nc(org, title=f"Burr {number}")
        fire(nc, "triage", org.quality, {"severity": "minor"})
        ncs.append(nc)
    db.session.rollback()
    assert all(verify(db.session, batch).ok for batch in (1, 2, 5))

    record = tamper(org, ncs)
    db.session.commit()
    results = [verify(db.session, batch) for batch in (1, 2, 5, 5000)]
    assert not results[0].ok
    if record is not None:
        assert any(record in problem for problem in results[0].problems), results[0].problems
    else:
        assert results[0].broken_at is not None
    verdicts = {(r.ok, r.record, r.problem, r.broken_at, tuple(r.problems), r.rows_checked) for r in results}
    assert len(verdicts) == 1, verdicts

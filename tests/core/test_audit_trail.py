"""The audit trail is hash-chained: verify finds edited, deleted and truncated entries."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, func, select, text, update

from qms.database import db
from qms.models import AuditChainHead, AuditEntry
from qms.services import fire
from qms.services.audit_trail import verify

from ..helpers import new_nc


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

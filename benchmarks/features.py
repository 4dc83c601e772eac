"""Feature benchmark: what the audit, survey and certification services cost at a realistic size.

Runs on SQLite (a temporary file) and, when QMS_TEST_DATABASE_URL is set, on PostgreSQL too,
and prints its figures (it asserts nothing; the issue's speed targets are judged from them):

- answers/s: checklist answers saved through ``qms.services.audits.answer`` (validation,
  version check, audit-trail entry, commit), every tenth one a finding that raises an NC;
- measures ms: NPS, CSI and SERVQUAL of a survey with N responses (``survey_measures``), and
  its monthly trend (``trend``);
- coverage ms: the clause × process matrix over a year of audits (``coverage``);
- readiness ms: the readiness score of a certification (``readiness``).

Usage: python benchmarks/features.py [--responses N] [--answers N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qms import create_app
from qms.database import db
from qms.models import SurveyAnswer, SurveyResponse
from qms.services import fire
from qms.services.audit_trail import ensure_head, recorded_change
from qms.services.search import ensure_search_index
from qms.services.users import create_user

PASSWORD = "benchmark-password"  # noqa: S105  (a throwaway database)


def _timed(fn, rounds: int = 3) -> float:
    """Median milliseconds of ``rounds`` calls."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run(url: str, label: str, responses: int, answers: int) -> None:
    from qms.services import audits, certifications, surveys

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        db.create_all()
        ensure_search_index(db.session)
        db.session.commit()
        ensure_head(db.session)
        quality = create_user("q@bench.test", "Quality", PASSWORD, {"quality_officer"})
        auditor = create_user("a@bench.test", "Auditor", PASSWORD, {"internal_auditor"})
        manager = create_user("m@bench.test", "Manager", PASSWORD, {"manager"})
        owner = create_user("o@bench.test", "Owner", PASSWORD, {"process_owner"})

        # checklist answers
        processes = [
            audits.save_process(quality, name=f"Process {i}", code=f"P{i}", owner_id=owner.id, clause_numbers=[])
            for i in range(8)
        ]
        audit = audits.create_audit(
            quality, title="Bench", process_id=processes[0].id, planned_start=dt.date.today(), clause_numbers=[]
        )
        audits.assign_team(audit, quality, lead_auditor_id=auditor.id)
        fire(audit, "schedule", quality, {})
        while len(audit.items) < answers:
            audits.add_question(audit, auditor, question=f"Extra question {len(audit.items)}")
        fire(audit, "prepare", auditor)
        fire(audit, "start", auditor)
        start = time.perf_counter()
        for index, item in enumerate(audit.items[:answers]):
            if index % 10 == 0:
                audits.answer(item, auditor, result="minor", notes=f"Finding {index}")
            else:
                audits.answer(item, auditor, result="conforming", notes="Seen")
        per_second = answers / (time.perf_counter() - start)
        coverage_ms = _timed(lambda: audits.coverage(dt.date.today().year))

        # survey measures over N responses (bulk-inserted: the per-response path is not measured here)
        survey = surveys.create_survey(
            quality,
            title="Bench survey",
            questions=[
                {"kind": "nps", "text": "Recommend?"},
                {"kind": "rating", "text": "Speed?", "weight": 2},
                {"kind": "servqual", "text": "Courteous", "dimension": "assurance"},
            ],
        )
        fire(survey, "open", quality, {})
        q_nps, q_rating, q_servqual = (q.id for q in survey.questions)
        today = dt.date.today()
        with recorded_change(None, "bench responses") as session:
            for i in range(responses):
                day = today - dt.timedelta(days=i % 365)
                session.add(
                    SurveyResponse(
                        survey_id=survey.id,
                        responded_on=day,
                        source="import",
                        answers=[
                            SurveyAnswer(question_id=q_nps, number=float(i % 11)),
                            SurveyAnswer(question_id=q_rating, number=float(1 + i % 5)),
                            SurveyAnswer(question_id=q_servqual, number=float(1 + i % 7)),
                        ],
                    )
                )
        measures_ms = _timed(lambda: surveys.survey_measures(survey))
        trend_ms = _timed(lambda: surveys.trend(survey, "month"))

        # readiness
        with recorded_change(None, "bodies") as session:
            certifications.ensure_bodies(session)
        from qms.models import CertificationBody

        kebs = db.session.scalar(sa.select(CertificationBody).where(CertificationBody.code == "kebs"))
        certification = certifications.create_certification(manager, body_id=kebs.id, scope="Bench")
        readiness_ms = _timed(lambda: certifications.readiness(certification))

        print(f"[{label}] checklist answers: {per_second:.0f}/s ({answers} answers, every tenth raising an NC)")
        print(f"[{label}] coverage matrix: {coverage_ms:.1f} ms (8 processes)")
        print(
            f"[{label}] survey measures: {measures_ms:.1f} ms, monthly trend: {trend_ms:.1f} ms ({responses} responses)"
        )
        print(f"[{label}] readiness: {readiness_ms:.1f} ms")
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=5000)
    parser.add_argument("--answers", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ["QMS_INSTANCE_PATH"] = folder
        run(f"sqlite:///{folder}/bench.sqlite3", "sqlite", args.responses, args.answers)
    pg = os.environ.get("QMS_TEST_DATABASE_URL")
    if pg:
        base = make_url(pg)
        name = f"qmsflow_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            run(
                base.set(database=name).render_as_string(hide_password=False),
                "postgresql",
                args.responses,
                args.answers,
            )
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()

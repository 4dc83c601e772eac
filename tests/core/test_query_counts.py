"""No N+1: the SQL statements of a list page, a record page or an API list do not grow with its rows.

Each page is loaded once with a few records of every kind and again after three times as many
exist (all still on the first page of 25), counting the statements sent to the database with a
``before_cursor_execute`` listener. A page whose count grows loads something per row. Every GET
page without a parameter and every API collection must be listed here (or in ``NOT_LISTS``) so a
new list cannot ship untested.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, select

from qms import create_app
from qms.api.blueprint import API_PREFIX
from qms.database import db
from qms.models import DEFAULT_WEIGHTS, CertificationBody, ChangeRequest, Nonconformity, QualityObjective
from qms.services import fire
from qms.services.audit_trail import recorded_change
from qms.services.audits import create_programme
from qms.services.certifications import create_certification, ensure_bodies
from qms.services.changes import add_task, request_change
from qms.services.competence import (
    add_requirement,
    create_competence,
    create_job_role,
    record_competence,
    set_profile,
)
from qms.services.complaints import log_complaint
from qms.services.documents import add_revision, create_document
from qms.services.equipment import record_calibration, register_equipment
from qms.services.implementation import build_board
from qms.services.inspections import record_inspection
from qms.services.nonconformities import add_corrective_action
from qms.services.objectives import record_measurement
from qms.services.opportunities import create_committee, propose_opportunity
from qms.services.reviews import add_action, open_iso_change_review, open_org_change_review, plan_management_review
from qms.services.suppliers import (
    create_supplier,
    raise_scar,
    raise_supplier_nc,
    record_evaluation,
    set_criteria_weights,
)
from qms.services.surveys import create_survey, submit_response
from qms.services.tokens import create_token
from qms.services.training import plan_training, raise_need
from qms.services.users import create_user

from ..conftest import PASSWORD, login
from ..documents.test_services import pdf_bytes
from ..helpers import audit_in_state, nc_in_state, new_nc, new_process
from ..objectives.helpers import active_objective
from ..risks.helpers import grow_planning

#: records of each kind on the first load; the second load has three times as many
FEW = 2

#: web pages with a list (or figures over many rows)
WEB_LISTS = (
    "/",
    "/my-work",
    "/nonconformities",
    "/nonconformities?state=reported&sort=-detected_on",
    "/documents",
    "/documents?q=Procedure",
    "/audits",
    "/audits/calendar",
    "/audits/coverage",
    "/programmes",
    "/processes",
    "/surveys",
    "/complaints",
    "/complaints/platforms",
    "/certifications",
    "/certification-bodies",
    "/readiness",
    "/reviews",
    "/reviews/management",
    "/implementation",
    "/admin/users",
    "/admin/jobs",
    "/exports",
    "/standards",
    "/competence",
    "/competence?gaps=1",
    "/competences",
    "/competence/preconditions",
    "/training",
    "/training/needs",
    "/admin/security",
    "/risks",
    "/risks?level=high&sort=-next_review_on",
    "/risks/heat-map",
    "/context",
    "/context/issues",
    "/context/parties",
    "/context/reviews",
    "/objectives",
    "/opportunities",
    "/opportunities/committees",
    "/changes",
    "/suppliers",
    "/suppliers/approved",
    "/scars",
    "/equipment",
    "/equipment/assessments",
    "/inspections",
    "/suppliers/weights",
)

#: record pages: the first record of its kind, which gains children as more records are made
WEB_RECORDS = (
    "/nonconformities/{nc}",
    "/corrective-actions/{action}",
    "/documents/{document}",
    "/audits/{audit}",
    "/audits/{audit}/checklist",
    "/programmes/{programme}",
    "/surveys/{survey}",
    "/complaints/{complaint}",
    "/certifications/{certification}",
    "/reviews/iso-change/{iso_review}",
    "/reviews/org-change/{org_review}",
    "/reviews/management/{management_review}",
    "/competences/{competence}",
    "/training/{training}",
    "/people/{person}",
    "/risks/{risk}",
    "/risk-actions/{risk_action}",
    "/context/issues/{issue}",
    "/context/parties/{party}",
    "/context/reviews/{context_review}",
    "/objectives/{objective}",
    "/opportunities/{opportunity}",
    "/changes/{change}",
    "/suppliers/{supplier}",
    "/scars/{scar}",
    "/equipment/{equipment}",
    "/equipment/assessments/{assessment}",
    "/inspections/{inspection}",
)

API_LISTS = (
    "/nonconformities",
    "/nonconformities?state=reported",
    "/corrective-actions",
    "/nonconformities/{nc}/corrective-actions",
    "/documents",
    "/acknowledgements",
    "/audits",
    "/audit-programmes",
    "/surveys",
    "/complaints",
    "/certifications",
    "/certification-bodies",
    "/certifications/reminders",
    "/reviews",
    "/implementation",
    "/users",
    "/tokens",
    "/standards",
    "/nonconformities/{nc}/history",
    "/audits/{audit}/checklist",
    "/standards/mappings",
    "/competences",
    "/job-roles",
    "/competence-matrix",
    "/competence-preconditions",
    "/training-sessions",
    "/training-needs",
    "/people/{person}/competence",
    "/security/failures",
    "/risks",
    "/risk-treatment-actions",
    "/risks/{risk}/treatment-actions",
    "/nonconformities/{nc}/realised-risks",
    "/context/issues",
    "/context/parties",
    "/context/reviews",
    "/objectives",
    "/objectives/{objective}/measurements",
    "/opportunities",
    "/innovation-committees",
    "/change-requests",
    "/suppliers",
    "/suppliers/approved",
    "/suppliers/{supplier}/evaluations",
    "/scars",
    "/equipment",
    "/equipment/{equipment}/calibrations",
    "/oot-assessments",
    "/inspections",
    "/supplier-evaluation-weights",
)

#: GET pages without a parameter that are not lists: forms, downloads, public pages, references
NOT_LISTS = {
    "/favicon.ico",
    "/account/",
    "/admin/numbering",
    "/api/docs",
    "/api/docs/swagger-initializer.js",
    "/audits/new",
    "/certifications/new",
    "/complaints/new",
    "/complaints/platforms.pdf",
    "/documents/master-list.pdf",
    "/documents/master-list.xlsx",
    "/documents/new",
    "/feedback",
    "/feedback/thanks",
    "/health",
    "/lifecycles",
    "/login",
    "/nonconformities/export.csv",
    "/nonconformities/export.xlsx",
    "/nonconformities/new",
    "/nonconformities/register.pdf",
    "/processes/new",
    "/programmes/new",
    "/reviews/iso-change/new",
    "/reviews/management/new",
    "/reviews/org-change/new",
    "/surveys/new",
    "/competence/matrix.pdf",
    "/competence/matrix.xlsx",
    "/training/new",
    "/login/second-factor",
    "/account/mfa",
    "/risks/new",
    "/risks/register.pdf",
    "/risks/export.csv",  # their statements are pinned in tests/risks/test_plan_gaps.py
    "/risks/export.xlsx",
    "/context/issues/new",
    "/context/parties/new",
    "/context/reviews/new",
    "/context/summary.pdf",
    "/objectives/new",
    "/objectives/report.pdf",
    "/opportunities/new",
    "/changes/new",
    "/suppliers/new",
    "/suppliers/approved.pdf",
    "/suppliers/approved.xlsx",
    "/scar-answered",
    "/equipment/new",
    "/inspections/new",
}
#: API collections that are not lists of records (a description, a computed summary)
API_NOT_LISTS = {
    "/openapi.json",
    "/audits/coverage",
    "/complaints/platforms",
    "/complaints/platforms.pdf",
    "/readiness",
    "/competence-matrix.pdf",
    "/competence-matrix.xlsx",
    "/competence-preconditions/check",
    "/security/policy",
    "/audit-trail/verification",  # one result, computed by reading the whole trail
    "/risks/heat-map",
    "/account/mfa",  # one's own second-factor status
    "/risks/export.csv",
    "/risks/export.xlsx",
    "/context/summary.pdf",
    "/objectives/report.pdf",
    "/objective-measures",
    "/suppliers/approved.pdf",
    "/suppliers/approved.xlsx",
}


@contextmanager
def counting() -> Iterator[list[str]]:
    """Collect the SQL statements sent to the database while the block runs."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


class World:
    """Records of every kind, added ``n`` at a time through the services."""

    def __init__(self, org) -> None:
        self.org = org
        self.process = new_process(org)
        with recorded_change(None, "bodies loaded") as session:
            ensure_bodies(session)
        self.body = db.session.scalar(select(CertificationBody).where(CertificationBody.code == "kebs"))
        self.ids: dict[str, int] = {}
        self.rounds = 0
        self.token = create_token(org.admin, "query counts")[1]
        # one review per change of standard can be open: it gains actions instead
        self.iso_review = open_iso_change_review(
            org.quality, old_standard="iso-9001-2015", new_standard="iso-9001-2015-amd1-2024"
        )
        fire(self.iso_review, "start_gap_analysis", org.quality)

    def grow(self, n: int) -> None:
        org = self.org
        self.rounds += 1
        today = dt.date.today()
        for i in range(n):
            tag = f"{self.rounds}-{i}"
            nc = nc_in_state(org, "action_planned")
            new_nc(org, title=f"Late delivery {tag}", process=f"Process {i}", clause_refs=["8.4", "8.5.1"])
            action = add_corrective_action(
                nc, org.quality, title=f"Second action {tag}", owner_id=org.owner.id, due_date="2099-01-01"
            )
            document = create_document(
                org.quality, title=f"Procedure {tag}", doc_type="procedure", owner_id=org.quality.id
            )
            add_revision(document, org.quality, stream=io.BytesIO(pdf_bytes("Procedure")), filename="p.pdf")
            audit = audit_in_state(org, "in_progress", process=self.process, clauses=("8.5", "7.1"))
            programme = create_programme(
                org.quality,
                year=2000 + self.rounds * 10 + i,
                title=f"Programme {tag}",
                entries=[{"process_id": self.process.id}],
            )
            survey = create_survey(
                org.quality,
                title=f"Satisfaction {tag}",
                questions=[
                    {"kind": "nps", "text": "Recommend us?", "required": True},
                    {"kind": "rating", "text": "Satisfied?"},
                ],
            )
            fire(survey, "open", org.quality, {})
            for score in range(3):
                answers = {str(q.id): str(score + 7 if q.kind == "nps" else 4) for q in survey.questions}
                submit_response(survey, answers)
            complaint = log_complaint(
                org.quality,
                channel="phone",
                summary=f"Late {tag}",
                description="Two weeks late",
                owner_id=org.manager.id,
            )
            certification = create_certification(org.manager, body_id=self.body.id, scope=f"Doors {tag}")
            fire(certification, "record_contract", org.manager, {"signed_on": dt.date.today()})
            iso_review = self.iso_review
            add_action(iso_review, org.quality, title=f"Read {tag}", owner_id=org.manager.id, due_date="2099-01-01")
            org_review = open_org_change_review(
                org.owner, title=f"Night shift {tag}", change_kind="process", description="From March"
            )
            management_review = plan_management_review(
                org.quality,
                title=f"MR {tag}",
                planned_for="2099-01-01",
                period_start="2025-01-01",
                period_end="2025-12-31",
            )
            competence = create_competence(org.quality, name=f"Competence {tag}", validity_months=12)
            add_requirement(competence, org.quality, scope="audit_role", target_key="auditor", level="aware")
            person = create_user(f"person-{tag}@example.test", f"Person {tag}", PASSWORD, {"internal_auditor"})
            job_role = create_job_role(org.quality, name=f"Role {tag}")
            set_profile(
                person, org.quality, job_role_id=job_role.id, process_id=self.process.id, platforms=["facebook"]
            )
            record_competence(
                person, org.quality, competence_id=competence.id, level="aware", evidence="Course", achieved_on=today
            )
            training = plan_training(
                org.quality,
                title=f"Course {tag}",
                competence_id=competence.id,
                level="aware",
                planned_on=today,
                trainer_name="KEBS",
                evaluation_method="observation",
                invitee_ids=[person.id, org.auditor.id],
            )
            raise_need(org.quality, user_id=person.id, competence_id=competence.id, level="practitioner")
            objective = active_objective(org, title=f"Objective {tag}", owner_id=org.owner.id)
            first = db.session.get(QualityObjective, self.ids.get("objective", objective.id))
            record_measurement(
                first, org.quality, measured_on=dt.date.today() - dt.timedelta(days=10 * self.rounds + i), value=i
            )
            committee = create_committee(
                org.manager, name=f"Committee {tag}", chair_id=org.manager.id, member_ids=[org.quality.id]
            )
            opportunity = propose_opportunity(
                org.owner, title=f"Idea {tag}", description="Faster deliveries", committee_id=committee.id
            )
            change = request_change(org.owner, title=f"Change {tag}")
            first_change = db.session.get(ChangeRequest, self.ids.get("change", change.id))
            add_task(first_change, org.owner, title=f"Task {tag}", owner_id=org.owner.id, due_date="2099-01-01")
            supplier = create_supplier(
                org.quality, name=f"Supplier {tag}", supplies="Steel", criticality="high", owner_id=org.quality.id
            )
            fire(supplier, "start_evaluation", org.quality)
            record_evaluation(
                supplier, org.quality, period_start="2026-01-01", period_end=dt.date.today(), price=90, service=90
            )
            fire(supplier, "approve", org.manager, {"scope": "Steel"}, signature_password=PASSWORD)
            supplier_nc = raise_supplier_nc(supplier, org.quality, title=f"Wrong grade {tag}", description="S235")
            scar, _token = raise_scar(supplier_nc, org.quality, request="Fix it")
            equipment = register_equipment(
                org.quality, identifier=f"GA-{tag}", name="Caliper", interval_days=365, owner_id=org.owner.id
            )
            _calibration, assessment = record_calibration(
                equipment,
                org.quality,
                calibrated_on=dt.date.today(),
                performed_by="Lab",
                as_found="+0.1",
                as_found_in_tolerance=False,
                as_left_in_tolerance=True,
                traceability="National standards",
            )
            inspection = record_inspection(
                org.owner,
                kind="incoming",
                inspected_on=dt.date.today(),
                item=f"Sheet {tag}",
                result="rejected",
                findings="Oversize",
                supplier_id=supplier.id,
                equipment_id=equipment.id,
            )
            set_criteria_weights(org.admin, weights=DEFAULT_WEIGHTS, reason=f"Reviewed {tag}")
            for key, record in (
                ("competence", competence),
                ("training", training),
                ("person", person),
                ("objective", objective),
                ("opportunity", opportunity),
                ("change", change),
                ("nc", nc),
                ("action", action),
                ("document", document),
                ("audit", audit),
                ("programme", programme),
                ("survey", survey),
                ("complaint", complaint),
                ("certification", certification),
                ("iso_review", iso_review),
                ("org_review", org_review),
                ("management_review", management_review),
                ("supplier", supplier),
                ("scar", scar),
                ("equipment", equipment),
                ("assessment", assessment),
                ("inspection", inspection),
            ):
                self.ids.setdefault(key, record.id)
            # failed attempts, for the admins' security page and the API's log of them
            from qms.services.identity import record_failure

            record_failure("sign_in", org.viewer if i % 2 else None, email=f"nobody-{tag}@example.test", detail="x")
            for key, record_id in grow_planning(org, tag, nc).items():
                self.ids.setdefault(key, record_id)
        build_board(org.quality)


@pytest.fixture
def world(app, org) -> World:
    return World(org)


def _web_counts(client, paths: tuple[str, ...], ids: dict[str, int]) -> dict[str, int]:
    counts = {}
    for template in paths:
        path = template.format(**ids)
        # a fresh app context: its own session, so nothing the test loaded is already in the identity map
        with client.application.app_context(), counting() as statements:
            response = client.get(path)
        assert response.status_code == 200, f"{path}: {response.status_code}"
        counts[template] = len(statements)
    return counts


def _api_counts(client, token: str, ids: dict[str, int]) -> dict[str, int]:
    counts = {}
    headers = {"Authorization": f"Bearer {token}"}
    for template in API_LISTS:
        path = API_PREFIX + template.format(**ids)
        with client.application.app_context(), counting() as statements:
            response = client.get(path, headers=headers)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.get_data(as_text=True)[:200]}"
        counts[template] = len(statements)
    return counts


def _growth(before: dict[str, int], after: dict[str, int]) -> list[str]:
    return [f"{page}: {before[page]} → {after[page]} statements" for page in before if after[page] > before[page]]


def test_web_pages_do_not_grow_with_rows(app, world):
    client = app.test_client()
    # an administrator who is also the manager sees every page
    boss = create_user("boss@example.test", "Boss", PASSWORD, {"admin", "manager", "quality_officer"})
    assert login(client, boss.email).status_code == 302
    world.grow(FEW)
    pages = WEB_LISTS + WEB_RECORDS
    _web_counts(client, pages, world.ids)  # warm: first-request work (standards, bodies) is not per row
    before = _web_counts(client, pages, world.ids)
    world.grow(2 * FEW)
    after = _web_counts(client, pages, world.ids)
    assert not _growth(before, after), "statements grow with the rows shown:\n" + "\n".join(_growth(before, after))


def test_api_lists_do_not_grow_with_rows(app, world):
    client = app.test_client()
    world.grow(FEW)
    secret = world.token
    _api_counts(client, secret, world.ids)
    before = _api_counts(client, secret, world.ids)
    world.grow(2 * FEW)
    after = _api_counts(client, secret, world.ids)
    assert not _growth(before, after), "statements grow with the rows shown:\n" + "\n".join(_growth(before, after))


@pytest.mark.sqlite_only
def test_every_list_is_counted(app):
    """A new GET page or API collection without parameters must join a list above."""
    web_covered = {path.split("?")[0] for path in WEB_LISTS} | NOT_LISTS
    api_covered = {path.split("?")[0] for path in API_LISTS} | API_NOT_LISTS
    missing = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.endpoint == "static":
            continue
        if rule.rule.startswith(API_PREFIX):
            if rule.rule[len(API_PREFIX) :] not in api_covered:
                missing.append(rule.rule)
        elif rule.rule not in web_covered:
            missing.append(rule.rule)
    assert not missing, "pages without a query-count test (add to WEB_LISTS/API_LISTS or NOT_LISTS): " + ", ".join(
        sorted(missing)
    )


def test_health_reads_the_database_and_answers_503_without_it(client, tmp_path):
    """/health (the load benchmark's baseline) is public, reads one row, and fails when the database does."""
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["X-Content-Type-Options"] == "nosniff"  # talisman's headers, like every page
    with counting() as statements:
        assert client.get("/health").status_code == 200
    assert len(statements) == 1 and "users" in statements[0]
    # a database that cannot be opened: the SQLite file's folder does not exist
    broken = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'missing' / 'qms.sqlite3'}", "TESTING": True}
    )
    response = broken.test_client().get("/health")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "message": "The database cannot be reached"}
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_dashboard_counts_ages_and_on_time_actions_in_sql(app, org):
    """The dashboard's SQL aggregates give what counting the rows one by one gives."""
    from qms.services.dashboard import dashboard_figures

    today = dt.date.today()
    for days in (0, 30, 31, 60, 61, 90, 91, 400):
        new_nc(org, detected_on=today - dt.timedelta(days=days))
    rejected = new_nc(org, detected_on=today - dt.timedelta(days=5))
    fire(rejected, "reject", org.quality, {"reason": "Not a nonconformity"})
    planned = nc_in_state(org, "action_planned")  # detected today
    on_time = planned.actions[0]
    late = add_corrective_action(planned, org.quality, title="Late", owner_id=org.owner.id, due_date=today)
    fire(on_time, "start", org.owner)
    fire(on_time, "implement", org.owner, {"implementation": "Done"})
    fire(late, "start", org.owner)
    fire(late, "implement", org.owner, {"implementation": "Done"})
    late.due_date = today - dt.timedelta(days=1)  # implemented today, a day after it was due
    db.session.commit()

    figures = dashboard_figures(today)
    ages = dict(next(chart.bars for chart in figures.charts if chart.title == "Age of open nonconformities"))
    assert ages == {"0–30 days": 3, "31–60 days": 2, "61–90 days": 2, "over 90 days": 2}
    assert figures.open_ncs == 9
    assert (figures.implemented_actions, figures.on_time_rate) == (2, 0.5)
    clauses = dict(next(chart.bars for chart in figures.charts if "clause" in chart.title))
    assert clauses["7.1.5.2"] == 9  # every open NC of the helpers cites it; the rejected one is not counted
    from collections import Counter

    from qms.models import Nonconformity

    cited: Counter[str] = Counter()
    for nc in db.session.scalars(select(Nonconformity).where(Nonconformity.state.not_in(("closed", "rejected")))):
        cited.update(nc.clause_refs)
    assert list(clauses.items()) == sorted(cited.items(), key=lambda item: (-item[1], item[0]))[:8]


def test_survey_measures_in_sql_equal_the_measures_of_the_loaded_rows(app, org):
    """survey_measures counts in SQL; it must give exactly what the row-by-row computation gives."""
    import random

    from qms.services.surveys import _load, _measure, survey_measures

    survey = create_survey(
        org.quality,
        title="Service",
        questions=[
            {"kind": "nps", "text": "Recommend us?", "required": True},
            {"kind": "rating", "text": "Response time?", "weight": 2},
            {"kind": "rating", "text": "Not counted", "weight": 0},
            {"kind": "servqual", "text": "Courteous staff", "dimension": "assurance"},
            {"kind": "servqual", "text": "On time", "dimension": "reliability"},
            {"kind": "text", "text": "Anything else?"},
        ],
    )
    fire(survey, "open", org.quality, {})
    rng = random.Random(9)  # noqa: S311  (test data)
    nps, rating, unweighted, assurance, reliability, _ = survey.questions
    for _i in range(40):
        answers = {str(nps.id): str(rng.randint(0, 10))}
        for question, low, high in ((rating, 1, 5), (unweighted, 1, 5), (assurance, 1, 7), (reliability, 1, 7)):
            if rng.random() < 0.8:  # some questions left unanswered
                answers[str(question.id)] = str(rng.randint(low, high))
        submit_response(survey, answers, channel=rng.choice(["email", "phone"]), service=rng.choice(["", "Repairs"]))
    for filters in ({}, {"channel": "email"}, {"service": "Repairs"}, {"service": "Nothing"}):
        expected = _measure(survey, "All responses", _load(survey, **filters))
        assert survey_measures(survey, **filters) == expected, filters
    assert survey_measures(survey).responses == 40 and survey_measures(survey).csi.n > 0


def test_the_paged_master_list_shows_each_user_exactly_the_documents_they_may_view(app, org):
    """The master list filters visibility in SQL (to page it); it must agree with can_view for everyone."""
    from qms.models import Document
    from qms.services.documents import can_view

    create_document(
        org.quality, title="Public leaflet", doc_type="record", owner_id=org.quality.id, confidentiality="public"
    )
    create_document(org.quality, title="Work instruction", doc_type="procedure", owner_id=org.quality.id)
    create_document(
        org.quality, title="Pricing", doc_type="record", owner_id=org.owner.id, confidentiality="confidential"
    )
    create_document(
        org.quality,
        title="Salary bands",
        doc_type="record",
        owner_id=org.quality.id,
        confidentiality="restricted",
        distribution=[("user", str(org.viewer.id)), ("role", "internal_auditor")],
    )
    create_document(
        org.quality,
        title="Board minutes",
        doc_type="record",
        owner_id=org.manager.id,
        confidentiality="restricted",
        distribution=[("process", "Production")],
    )
    documents = db.session.scalars(select(Document)).all()
    for user in (org.admin, org.manager, org.quality, org.auditor, org.owner, org.viewer):
        client = app.test_client()
        with app.app_context():  # a fresh context per user: flask-login keeps the signed-in user on g
            assert login(client, user.email).status_code == 302
        with app.app_context():
            page = client.get("/documents").get_data(as_text=True)
        shown = {d.title for d in documents if d.title in page}
        assert shown == {d.title for d in documents if can_view(d, user)}, user.email


#: the statements of the competence matrix page, whatever the number of people (issue 16): the
#: requirements, the figures and the count of people in one SQL aggregate, the page of people, and the
#: cells of the page's people in a fixed set (with the page's own: the user, the filters' choices)
MATRIX_STATEMENTS = 14


def test_the_competence_matrix_page_reads_a_pinned_number_of_statements(app, world):
    """The matrix page reads a fixed set of queries however many people there are: pinned, not just stable."""
    client = app.test_client()
    boss = create_user("boss@example.test", "Boss", PASSWORD, {"admin", "manager", "quality_officer"})
    assert login(client, boss.email).status_code == 302
    world.grow(FEW)
    _web_counts(client, ("/competence",), world.ids)
    counts = _web_counts(client, ("/competence", "/competence?gaps=1", "/competence?role=1&site=1"), world.ids)
    assert max(counts.values()) <= MATRIX_STATEMENTS, counts
    world.grow(2 * FEW)
    assert _web_counts(client, ("/competence",), world.ids)["/competence"] <= MATRIX_STATEMENTS


#: the statements of a page of My work or of one user's digest, whatever the number of records (17 at
#: most in this world: one probe of the per-user sources, those with something, the main query, the
#: page's records and their facts)
MY_WORK_STATEMENTS = 22


def _record(statements: list[str], conn, cursor, statement, *args) -> None:
    statements.append(statement)


def _my_work_counts(app, people) -> dict[str, int]:
    from qms.services.reminders import digest_items

    with app.app_context():
        engine = db.engine
    counts = {}
    for person in people:
        client = app.test_client()
        assert login(client, person.email).status_code == 302
        assert client.get("/my-work").status_code == 200  # warm
        for path in ("/my-work", "/my-work?page=2", "/my-work?kind=nc"):
            statements: list[str] = []
            record = functools.partial(_record, statements)
            event.listen(engine, "before_cursor_execute", record)
            try:
                response = client.get(path)
            finally:
                event.remove(engine, "before_cursor_execute", record)
            assert response.status_code == 200, (person.email, path)
            counts[f"{path} ({person.email})"] = len(statements)
        # the digest job runs in one request context (mail_context): the editions are read once per run
        with app.test_request_context(), counting() as statements:
            items = digest_items(person, dt.date.today(), 3650)
        counts[f"digest ({person.email}, {len(items) > 0})"] = len(statements)
    return counts


def _fill_my_work(org, n: int) -> None:
    """``n`` NCs to contain and ``n`` corrective actions, all long overdue, their due dates interleaved:
    they come first on everyone's My work, so its first two pages (50 items each) hold both kinds
    whatever else exists."""
    from qms.services.my_work import PER_PAGE

    assert 2 * n >= 2 * PER_PAGE
    parent = nc_in_state(org, "action_planned")
    long_ago = dt.date.today() - dt.timedelta(days=3000)
    for i in range(n):
        nc = nc_in_state(org, "triaged")
        action = add_corrective_action(
            parent, org.quality, title=f"Filler {i}", owner_id=org.owner.id, due_date="2099-01-01"
        )
        nc.containment_due = long_ago + dt.timedelta(days=2 * i)
        action.due_date = long_ago + dt.timedelta(days=2 * i + 1)
    db.session.commit()


def test_my_work_and_the_digest_read_as_many_statements_for_3n_records_as_for_n(app, world):
    """My work of the busiest users (first page, second page, one kind) and their digest: one query per
    lifecycle and the labels of the rows shown, whatever the number of records (issue 20)."""
    org = world.org
    boss = create_user("boss@example.test", "Boss", PASSWORD, {"manager", "quality_officer"})
    people = (org.quality, org.manager, org.owner, boss)
    world.grow(FEW)
    _fill_my_work(org, 50)  # both pages full, with the same kinds, at N and at 3N
    before = _my_work_counts(app, people)
    world.grow(2 * FEW)
    after = _my_work_counts(app, people)
    # the pages show the same kinds both times: the same statements; a digest may find a kind with
    # nothing due any more (one statement fewer), never more
    changed = [
        f"{page}: {before[page]} → {after[page]} statements"
        for page in before
        if after[page] > before[page] or (page.startswith("/my-work") and after[page] != before[page])
    ]
    assert not changed, "statements change with the records:\n" + "\n".join(changed)
    assert max(after.values()) <= MY_WORK_STATEMENTS, after


#: statements of a page of the nonconformity register, first or deep (by cursor): pinned
NC_REGISTER_STATEMENTS = 11
NC_API_STATEMENTS = 8


def _keyset_statements(client, url: str, headers: dict[str, str] | None = None) -> tuple[list[str], Any]:
    with counting() as statements:
        response = client.get(url, headers=headers or {})
    assert response.status_code == 200, url
    return statements, response


def _counts_whole_table(statements: list[str], table: str = "nonconformities") -> list[str]:
    """Statements that count the register's rows without a LIMIT: a full count(*) of the table."""
    return [
        s for s in statements if "count(" in s.lower() and f"from {table}" in s.lower() and "limit" not in s.lower()
    ]


@pytest.mark.sqlite_only
def test_register_pages_by_cursor_never_count_the_whole_table(app, world):
    """A register's first and deep pages read the same pinned statements; the count stops at a LIMIT."""
    from qms.services.paging import encode_cursor

    client = app.test_client()
    boss = create_user("boss@example.test", "Boss", PASSWORD, {"admin", "manager", "quality_officer"})
    assert login(client, boss.email).status_code == 302
    world.grow(3 * FEW)
    deepest = db.session.scalar(select(func.max(Nonconformity.id)))
    _keyset_statements(client, "/nonconformities")  # warm
    first, _ = _keyset_statements(client, "/nonconformities")
    deep, _ = _keyset_statements(client, f"/nonconformities?after={encode_cursor([deepest])}")
    assert not _counts_whole_table(first + deep), _counts_whole_table(first + deep)
    assert len(first) == len(deep) <= NC_REGISTER_STATEMENTS, (len(first), len(deep))
    assert any("(nonconformities.id) < (" in s or "nonconformities.id < " in s for s in deep)

    auth = {"Authorization": f"Bearer {world.token}"}
    for _ in range(4):  # the API's first two pages of two: NCs in the same state, whose events read the same
        new_nc(world.org, title="Same state")
    _keyset_statements(client, f"{API_PREFIX}/nonconformities?per_page=2", auth)  # warm (the token's first use)
    api_first, response = _keyset_statements(client, f"{API_PREFIX}/nonconformities?per_page=2", auth)
    api_deep, _ = _keyset_statements(
        client, f"{API_PREFIX}/nonconformities?per_page=2&after={response.json['next']}", auth
    )
    assert not _counts_whole_table(api_first + api_deep), _counts_whole_table(api_first + api_deep)
    assert len(api_first) == len(api_deep) <= NC_API_STATEMENTS, (len(api_first), len(api_deep))
    assert not any("offset" in s.lower() and "offset ?" not in s.lower() for s in api_deep)

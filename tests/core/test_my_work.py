"""My work in SQL (issue 20, item 1): the SQL conditions of each lifecycle select exactly the records
on which the workflow engine finds an event the user can fire, and paging, the kind filter and the
digest give the same items as the whole list."""

from __future__ import annotations

import datetime as dt
import io
from unittest.mock import patch

import pytest
from sqlalchemy import select, text, update

from qms.database import db
from qms.models import CorrectiveAction, Document, DocumentRevision, Nonconformity, RiskTreatmentAction
from qms.services import fire
from qms.services.documents import add_revision, create_document, visible_to
from qms.services.my_work import REVISION_WORK_STATES, SQL_SOURCES, work_for, work_order, work_page
from qms.services.nonconformities import PLAN_ROLES, add_corrective_action, raise_nonconformity
from qms.services.reminders import digest_items, digest_items_many
from qms.services.risks import add_treatment_action
from qms.services.users import create_user
from qms.services.workflow import as_actor, available_events_many

from ..conftest import PASSWORD, login
from ..documents.test_services import pdf_bytes
from ..helpers import CHECK_DAY, nc_in_state, new_nc
from ..risks.helpers import risk_in_state

TODAY = dt.date.today()

#: every record that could be on My work, per SQL source: what the engine is asked about
CANDIDATES = {
    "nc": lambda actor: select(Nonconformity).where(
        Nonconformity.state.in_(
            (
                "reported",
                "triaged",
                "contained",
                "root_cause_identified",
                "action_planned",
                "actions_completed",
                "effectiveness_verified",
            )
        )
    ),
    "action": lambda actor: select(CorrectiveAction),
    "document": lambda actor: (
        select(DocumentRevision)
        .join(Document)
        .where(DocumentRevision.state.in_(REVISION_WORK_STATES), visible_to(actor))
    ),
    "risk_action": lambda actor: select(RiskTreatmentAction),
}


def _engine_keys(kind: str, actor) -> set[int]:
    """What the engine says, record by record: any event allowed (planning counts on an NC to plan)."""
    records = list(db.session.scalars(CANDIDATES[kind](actor)))
    keys = set()
    for record_id, events in available_events_many(records, actor, TODAY).items():
        record = next(r for r in records if r.id == record_id)
        planning = kind == "nc" and record.state == "root_cause_identified" and actor.roles & PLAN_ROLES
        if planning or any(a.allowed for a in events):
            keys.add(record_id)
    return keys


def _sql_keys(source, actor) -> set[int]:
    query = source.query(actor, TODAY)
    keys = set() if query is None else {row.key for row in db.session.execute(query)}
    # the page reads the same records branch by branch, each record in one branch only
    paged = [row.key for part in source.first(actor, TODAY, 10_000) for row in db.session.execute(select(part))]
    assert sorted(paged) == sorted(keys), source.kind
    return keys


def _world(org) -> dict[str, object]:
    """Records in every state with work, and the cases where a guard decides: segregation of duties,
    open actions, a reopened NC, an observation, an action owned by someone else, restricted documents."""
    for state in (
        "reported",
        "triaged",
        "contained",
        "root_cause_identified",
        "action_planned",
        "actions_completed",
        "effectiveness_verified",
        "closed",
    ):
        nc_in_state(org, state)
    # raised by the process owner: they may withdraw it; the auditor may not
    raise_nonconformity(org.owner, title="Owner's own", description="x", source="process_monitoring")
    # an observation contained, raised by the manager: the manager may not close it, the quality officer may
    observation = new_nc(org, title="An observation")
    fire(observation, "triage", org.quality, {"severity": "observation"})
    fire(observation, "contain", org.owner, {"containment": "Sorted"})
    observation.raised_by_id = org.manager.id
    db.session.commit()
    # a plan with an action still open: nothing to complete yet
    running = nc_in_state(org, "root_cause_identified")
    add_corrective_action(running, org.quality, title="Still open", owner_id=org.quality2.id, due_date=TODAY)
    fire(running, "plan_actions", org.quality, {"verification_due": CHECK_DAY.isoformat()})
    # reopened: the actions were ineffective and no new action is planned yet
    reopened = nc_in_state(org, "actions_completed")
    fire(reopened, "mark_ineffective", org.auditor, {"reason": "It came back", "verification_due": CHECK_DAY})
    # verified by the quality officer: only someone else closes it
    verified = nc_in_state(org, "actions_completed")
    fire(
        verified,
        "verify_effectiveness",
        org.quality,
        {"evidence": "Fine"},
        signature_password=PASSWORD,
        today=CHECK_DAY,
    )
    # an action implemented by the owner waits for someone else's verification
    planned = nc_in_state(org, "action_planned")
    action = planned.actions[0]
    fire(action, "start", org.owner)
    fire(action, "implement", org.owner, {"implementation": "Done"})
    # documents: an internal and a restricted draft, one in review
    for confidentiality in ("internal", "restricted"):
        document = create_document(
            org.manager,
            title=f"Draft {confidentiality}",
            doc_type="record",
            owner_id=org.manager.id,
            process="HR",
            confidentiality=confidentiality,
        )
        revision = add_revision(document, org.quality, stream=io.BytesIO(pdf_bytes("x")), filename="d.pdf")
        if confidentiality == "internal":
            fire(revision, "submit_for_review", org.quality, {"change_summary": "First issue"})
    # numbers that begin one another with a space: "QR-9 A A rev 1" sorts before "QR-9 A rev 1", before
    # "QR-9 rev 1", the reverse of their numbers' order
    numbered = {}
    for number in ("QR-9", "QR-9 A", "QR-9 A A"):  # numbered once all are made (numbering counts them)
        numbered[number] = create_document(
            org.manager, title=f"Numbered {number}", doc_type="record", owner_id=org.manager.id, process="HR"
        )
        add_revision(numbered[number], org.quality, stream=io.BytesIO(pdf_bytes("x")), filename="d.pdf")
    for number, document in numbered.items():
        db.session.execute(update(Document).where(Document.id == document.id).values(number=number))
    db.session.commit()
    # risk treatment actions: the owner's, someone else's, one implemented by the owner
    risk = risk_in_state(org, "treatment_planned")
    add_treatment_action(risk, org.quality, title="Theirs", owner_id=org.quality2.id, due_date=TODAY)
    mine = add_treatment_action(risk, org.quality, title="Mine", owner_id=org.owner.id, due_date=TODAY)
    fire(mine, "start", org.owner)
    fire(mine, "implement", org.owner, {"implementation": "Done"})
    return {"reopened": reopened, "verified": verified}


def test_the_sql_conditions_select_what_the_engine_allows_for_every_role(app, org):
    _world(org)
    people = [org.admin, org.manager, org.quality, org.quality2, org.auditor, org.owner, org.viewer]
    people.append(create_user("both@example.test", "Both", PASSWORD, {"process_owner", "internal_auditor"}))
    people.append(create_user("boss@example.test", "Boss", PASSWORD, {"manager", "quality_officer"}))
    for person in people:
        actor = as_actor(person)
        for source in SQL_SOURCES:
            assert _sql_keys(source, actor) == _engine_keys(source.kind, actor), (person.email, source.kind)
            # and every row selected has its labels: nothing shown without something to do
            for item in work_for(actor, TODAY):
                assert item.actions, (person.email, item)


def test_pages_the_kind_filter_and_the_digest_give_the_items_of_the_whole_list(app, org, client):
    _world(org)
    whole = work_for(org.quality, TODAY)
    assert len(whole) > 10 and whole == sorted(whole, key=work_order)
    for per_page in (1, 3, 7):
        _pages_give_the_whole_list(org, whole, per_page)
    _the_digest_is_the_due_part_of_my_work(org)
    _the_page_pages_and_filters(org, client)
    _counts_beyond_the_cap_are_shown_as_more_than_the_cap(org, client, whole)


def _pages_give_the_whole_list(org, whole, per_page: int) -> None:
    pages = []
    first = work_page(org.quality, TODAY, page=1, per_page=per_page)
    assert first.total == len(whole) and sum(first.kinds.values()) == len(whole)
    for page in range(1, first.pages + 1):
        pages += work_page(org.quality, TODAY, page=page, per_page=per_page).items
    assert pages == whole
    assert work_page(org.quality, TODAY, page=first.pages + 1, per_page=per_page).items == []
    for kind in first.kinds:
        filtered = work_page(org.quality, TODAY, page=1, per_page=1000, kind=kind)
        assert filtered.items == [item for item in whole if item.kind == kind]
        # one item a page, and the page after the last one empty
        pages_of_one = range(1, len(filtered.items) + 2)
        one_by_one = [work_page(org.quality, TODAY, page=n, per_page=1, kind=kind).items for n in pages_of_one]
        assert [item for page in one_by_one for item in page] == filtered.items, kind
        assert one_by_one[-1] == [], kind


def _the_digest_is_the_due_part_of_my_work(org) -> None:
    people = (org.quality, org.manager, org.owner, org.auditor, org.viewer)
    # the digest run batches the loading for everyone: each user still gets exactly their own lines
    batched = digest_items_many(list(people), TODAY, 7)
    for person in people:
        horizon = TODAY + dt.timedelta(days=7)
        due = [i for i in work_for(person, TODAY) if i.overdue or (i.due is not None and i.due <= horizon)]
        digest = [i for i in digest_items(person, TODAY, 7) if i.kind != "certification"]
        assert digest == [i for i in due if i.kind != "certification"]
        assert batched[person.id] == digest_items(person, TODAY, 7), person.email


def _counts_beyond_the_cap_are_shown_as_more_than_the_cap(org, client, whole) -> None:
    from qms.services import my_work

    ncs = sum(1 for item in whole if item.kind == "nc")
    cap = ncs - 1  # one NC more than counted
    with patch.object(my_work, "WORK_COUNT_CAP", cap):
        first = work_page(org.quality, TODAY, page=1, per_page=3)
        assert first.capped and first.kinds["nc"] == cap + 1 and first.count_label("nc") == f"{cap:,}+"
        assert first.total < len(whole) and first.count_label() == f"{first.total:,}+"
        pages, page = [], 1
        while True:  # the pages still give the whole list, following "Next"
            one = work_page(org.quality, TODAY, page=page, per_page=3)
            pages += one.items
            if one.page == one.pages:
                break
            page += 1
        assert pages == whole
        html = client.get("/my-work?kind=nc").get_data(as_text=True)
        assert f"Nonconformity ({cap:,}+)" in html


def _the_page_pages_and_filters(org, client) -> None:
    assert login(client, org.quality.email).status_code == 302
    page = client.get("/my-work")
    assert page.status_code == 200 and b"Page 1 of" not in page.data  # fewer than a page: no pager
    for query in ("?page=2", "?page=0", "?page=-4", "?page=x", "?kind=nc", "?kind=nothing", "?kind=nc&page=99"):
        assert client.get(f"/my-work{query}").status_code == 200, query
    only_ncs = client.get("/my-work?kind=nc").get_data(as_text=True)
    ncs = [item for item in work_for(org.quality, TODAY) if item.kind == "nc"]
    assert ncs and all(item.reference in only_ncs for item in ncs)
    assert "CA-" not in only_ncs


def test_the_main_query_runs_without_jit_on_postgresql(app, org):
    """The statement before the main query turns JIT off for the transaction only (compiling the
    guards' query took seconds on a loaded machine)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("JIT is PostgreSQL's")
    _world(org)
    assert work_page(org.quality, TODAY).items
    assert db.session.execute(text("SHOW jit")).scalar() == "off"
    db.session.rollback()
    server = db.session.execute(text("SELECT reset_val FROM pg_settings WHERE name = 'jit'")).scalar()
    assert db.session.execute(text("SHOW jit")).scalar() == server


def test_the_partial_indexes_hold_the_states_my_work_asks_about():
    """Migration a20c0de00105's indexes serve My work's lookups only while their conditions name the
    states the code asks about (the open actions, the revisions with work read by number)."""
    import importlib.util
    import re
    from pathlib import Path

    import qms

    path = Path(qms.__file__).parent / "migrations" / "versions" / "a20c0de00105_my_work_lookup_indexes.py"
    spec = importlib.util.spec_from_file_location("lookup_indexes", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    conditions = {name: set(re.findall(r"'(\w+)'", where)) for name, _table, _columns, where in migration.INDEXES}
    assert conditions["ix_work_corrective_actions_open_nc"] == set(CorrectiveAction.OPEN_STATES)
    assert conditions["ix_work_document_revisions_undated"] == set(REVISION_WORK_STATES) - {"review_due"}


def test_a_per_user_source_with_work_for_someone_is_asked_for_it(app, org):
    """My work builds only the per-user sources whose probe holds: each probe holds for everyone the
    source finds work for (here audits led, joined as a team member and awaiting approval, which the
    probe asks apart)."""
    import sqlalchemy as sa

    from qms.services.audits import assign_team
    from qms.services.my_work import USER_SOURCES

    from ..helpers import audit_in_state, new_process

    _world(org)
    process = new_process(org)
    audit_in_state(org, "prepared", process=process, lead=org.quality2)
    joined = audit_in_state(org, "scheduled", process=process)
    assign_team(joined, org.quality, lead_auditor_id=org.auditor.id, members=[(org.quality.id, "auditor")])
    db.session.commit()
    audit_in_state(org, "report_drafted", process=process)
    found = set()
    for person in (org.manager, org.quality, org.quality2, org.auditor, org.owner, org.viewer):
        actor = as_actor(person)
        for source in USER_SOURCES:
            if source.build(actor, TODAY):
                found.add((person.email, source.kinds))
                conditions = source.probe(actor, TODAY)
                assert conditions and db.session.scalar(sa.select(sa.or_(*conditions))), (person.email, source.kinds)
    assert {(who.email, ("audit",)) for who in (org.manager, org.quality, org.quality2, org.auditor)} <= found

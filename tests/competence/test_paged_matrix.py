"""The matrix page chooses its people, counts them and sums the coverage in SQL, and builds cells only for
the people it shows: the same people, cells and figure as the whole matrix, at a number of statements
that does not grow with the organisation."""

from __future__ import annotations

import datetime as dt
import functools
import io
import random
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from qms.database import db
from qms.models import CompetenceRecord, PersonProfile, Site
from qms.services import fire
from qms.services.competence import (
    add_requirement,
    coverage,
    create_competence,
    create_job_role,
    matrix,
    paged_matrix,
    person_status,
    signed_events,
)
from qms.services.documents import acknowledge, add_revision, create_document
from qms.services.users import create_user

from ..conftest import PASSWORD, login
from ..documents.test_services import pdf_bytes
from ..helpers import error, new_process, ok

TODAY = dt.date.today()
V1 = "/api/v1"
ROLES = ("internal_auditor", "process_owner", "viewer", "quality_officer", "manager")


class World:
    """A small organisation with every kind of requirement and records valid, expiring, lapsed and too low."""

    def __init__(self, org, rng: random.Random) -> None:
        self.org, self.rng = org, rng
        self.sites = [Site(name=f"Site {n}", code=f"S{n}") for n in (1, 2)]
        db.session.add_all(self.sites)
        db.session.commit()
        self.processes = [new_process(org, code="PROD"), new_process(org, code="PACK")]
        self.roles = [create_job_role(org.quality, name=f"Job role {n}") for n in range(3)]
        self.competences = [
            create_competence(org.quality, name=f"Competence {n}", validity_months=months)
            for n, months in enumerate((12, 24, None, 36, 6, 12))
        ]
        c = self.competences
        for role, competence, level in (
            (self.roles[0], c[0], "practitioner"),
            (self.roles[0], c[1], "aware"),
            (self.roles[1], c[1], "expert"),
            (self.roles[2], c[2], "practitioner"),
        ):
            add_requirement(competence, org.quality, scope="job_role", target_id=role.id, level=level)
        add_requirement(c[3], org.quality, scope="process", target_id=self.processes[0].id, level="aware")
        add_requirement(c[4], org.quality, scope="platform", target_key="facebook", level="aware")
        add_requirement(c[4], org.quality, scope="platform", target_key="TikTok", level="practitioner")
        add_requirement(c[5], org.quality, scope="audit_role", target_key="lead_auditor", level="practitioner")
        add_requirement(c[0], org.quality, scope="event", target_key=next(iter(signed_events())), level="aware")
        self.people = [
            create_user(
                f"person{n}@example.test", f"Person {n:02d}", PASSWORD, set(rng.sample(ROLES, rng.randint(1, 2)))
            )
            for n in range(12)
        ]
        self.documents()
        self.grow(12)

    def documents(self) -> None:
        org, c = self.org, self.competences
        people = self.people
        procedure = create_document(
            org.quality,
            title="Packing procedure",
            doc_type="procedure",
            owner_id=people[0].id,
            process="Packing",
            distribution=[("user", str(people[1].id)), ("role", "process_owner"), ("process", "Packing")],
        )
        create_document(org.quality, title="Packing form", doc_type="form", owner_id=people[2].id, process="Packing")
        add_requirement(c[2], org.quality, scope="document", target_id=procedure.id, level="aware")
        add_requirement(c[3], org.quality, scope="document", target_id=procedure.id, level="practitioner")
        revision = add_revision(procedure, org.quality, stream=io.BytesIO(pdf_bytes("Procedure")), filename="p.pdf")
        fire(revision, "submit_for_review", org.quality, {"change_summary": "First issue"})
        fire(revision, "approve", org.manager, signature_password=PASSWORD)
        fire(revision, "make_effective", org.quality, {"effective_date": TODAY})
        for person in (people[0], people[1], people[5]):  # the last is not on the distribution
            acknowledge(revision, person)

    def grow(self, count: int) -> None:
        """``count`` more people with profiles and records (and the fixed ones given theirs once)."""
        rng = self.rng
        start = len(self.people)
        for n in range(start, start + count):
            roles = set(rng.sample(ROLES, rng.randint(1, 2)))
            self.people.append(create_user(f"person{n}@example.test", f"Person {n:02d}", PASSWORD, roles))
        fresh = self.people[start:] if start > 12 else self.people
        for person in fresh:
            if rng.random() < 0.85:
                db.session.add(
                    PersonProfile(
                        user_id=person.id,
                        job_role_id=rng.choice([*[r.id for r in self.roles], None]),
                        site_id=rng.choice([*[s.id for s in self.sites], None]),
                        process_id=rng.choice([*[p.id for p in self.processes], None]),
                        platforms=rng.sample(["facebook", "TikTok", "twitter"], rng.randint(0, 2)),
                    )
                )
            for competence in self.competences:
                for _ in range(rng.choice((0, 0, 1, 1, 2))):
                    expires = rng.choice(
                        (
                            None,
                            TODAY - dt.timedelta(days=rng.randint(1, 400)),  # lapsed
                            TODAY + dt.timedelta(days=rng.randint(0, 60)),  # expiring
                            TODAY + dt.timedelta(days=rng.randint(61, 700)),
                            TODAY,
                        )
                    )
                    db.session.add(
                        CompetenceRecord(
                            user_id=person.id,
                            competence_id=competence.id,
                            level=rng.choice(("aware", "practitioner", "expert")),
                            source="assessment",
                            achieved_on=TODAY - dt.timedelta(days=800),
                            expires_on=expires,
                        )
                    )
        if start == 12:
            self.people[7].active = False
            self.competences[1].active = False
            db.session.add(  # a qualification outside the catalogue: no cell
                CompetenceRecord(
                    user_id=self.people[3].id, source="external", title="Degree", achieved_on=TODAY, expires_on=None
                )
            )
        db.session.commit()


def every_page(**filters) -> tuple[list, int, int]:
    """The people of every page of the new matrix page, with its coverage figure."""
    people, after, figures = [], None, None
    for _ in range(100):
        found = paged_matrix(**filters, per_page=5, after=after, today=TODAY)
        figures = figures or (found.met_cells, found.required_cells)
        assert (found.met_cells, found.required_cells) == figures
        people += found.people
        after = found.page.next_cursor
        if after is None:
            return people, *figures
    raise AssertionError("the pages never ended")


FILTERS = (
    {},
    {"gaps_only": True},
    {"site_id": 1},
    {"process_id": 1, "gaps_only": True},
    {"job_role_id": 1},
    {"job_role_id": 2, "gaps_only": True},
    {"site_id": 2, "process_id": 2},
)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_page_shows_the_same_people_cells_and_coverage_as_the_whole_matrix(app, org, seed):
    world = World(org, random.Random(seed))  # noqa: S311  (a repeatable world, nothing secret)
    ids = {
        "site_id": [s.id for s in world.sites],
        "process_id": [p.id for p in world.processes],
        "job_role_id": [r.id for r in world.roles],
    }
    for filters in FILTERS:
        # the filters' numbers pick the first or second site, process, job role of this world
        real = {k: (ids[k][v - 1] if k in ids else v) for k, v in filters.items()}
        old = matrix(**real, today=TODAY)
        people, met, required = every_page(**real)
        assert [p.user.id for p in people] == [p.user.id for p in old.people], filters
        for new_row, old_row in zip(people, old.people, strict=True):
            for competence_id, cell in old_row.cells.items():
                assert new_row.cells[competence_id] == cell, (filters, old_row.user.name, competence_id)
        assert [(p.profile, p.user) for p in people] == [(p.profile, p.user) for p in old.people]
        assert (met, required) == (old.met_cells, old.required_cells), filters
    whole = matrix(today=TODAY)
    assert coverage(TODAY) == (whole.met_cells, whole.required_cells)
    statuses = {c.status for p in whole.people for c in p.cells.values()}
    assert statuses >= {"met", "gap", "expired", "expiring", "held", "none"}  # the world has every kind of cell


@contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []
    engine = db.engine

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_page_costs_the_same_statements_for_10_or_60_people(app, org, client, api):
    world = World(org, random.Random(4))  # noqa: S311  (a repeatable world, nothing secret)
    login(client, "quality@example.test")
    pages = ("/competence", "/competence?gaps=1", f"/competence?role={world.roles[0].id}")
    calls = [(client.get, url) for url in pages] + [
        (functools.partial(api.get, "quality"), f"{V1}/competence-matrix{query}")
        for query in ("", "?gaps_only=true&per_page=20")
    ]
    counts = {}
    for size in ("few", "many"):
        if size == "many":
            world.grow(48)
        for get, url in calls:
            assert get(url).status_code == 200  # warm: the first request loads the lifecycles
            with statements() as seen:
                page = get(url)
            assert page.status_code == 200
            counts[(size, url)] = len(seen)
    assert len(world.people) == 72
    for _get, url in calls:
        assert counts[("few", url)] == counts[("many", url)], url


def test_a_persons_own_row_counts_the_document_they_read(app, org):
    """A person's record (their row alone) sees the read receipt as the whole matrix does (PostgreSQL too)."""
    world = World(org, random.Random(5))  # noqa: S311  (a repeatable world, nothing secret)
    whole = {p.user.id: p for p in matrix(today=TODAY).people}
    for person in world.people[:6]:
        if person.active:
            assert person_status(person, TODAY).cells == whole[person.id].cells, person.name


def test_the_api_pages_the_matrix_by_name_with_cursors_and_refuses_bad_ones(app, org, api):
    World(org, random.Random(6))  # noqa: S311  (a repeatable world, nothing secret)
    whole = matrix(today=TODAY)
    names, url, pages = [], f"{V1}/competence-matrix?per_page=5", []
    while url:
        response = api.get("quality", url)
        body = ok(response)
        assert (body["met"], body["required"]) == (whole.met_cells, whole.required_cells)
        assert body["total"] == len(whole.people)
        pages.append(body)
        names += [p["user"]["name"] for p in body["people"]]
        url = f"{V1}/competence-matrix?per_page=5&after={body['next']}" if body["next"] else None
        if body["next"]:
            assert 'rel="next"' in response.headers["Link"]
    assert names == [p.user.name for p in whole.people]
    back = ok(api.get("quality", f"{V1}/competence-matrix?per_page=5&before={pages[-1]['prev']}"))
    assert [p["user"]["name"] for p in back["people"]] == [p["user"]["name"] for p in pages[-2]["people"]]
    second = ok(api.get("quality", f"{V1}/competence-matrix?per_page=5&page=2"))
    assert [p["user"]["name"] for p in second["people"]] == names[5:10]
    gaps = ok(api.get("quality", f"{V1}/competence-matrix?gaps_only=true&per_page=500"))
    attention = matrix(today=TODAY, gaps_only=True)
    assert [p["user"]["id"] for p in gaps["people"]] == [p.user.id for p in attention.people]
    assert (gaps["met"], gaps["required"]) == (attention.met_cells, attention.required_cells)
    assert "after" in error(api.get("quality", f"{V1}/competence-matrix?after=bm90LWEtY3Vyc29y"), 422)["errors"]
    refused = error(api.get("quality", f"{V1}/competence-matrix?page=2&after={pages[0]['next']}"), 422)
    assert "page" in refused["errors"]


def test_the_web_matrix_pages_fifty_people_and_survives_a_damaged_link(app, org, client):
    world = World(org, random.Random(7))  # noqa: S311  (a repeatable world, nothing secret)
    world.grow(40)
    login(client, "quality@example.test")
    whole = matrix(today=TODAY)
    assert len(whole.people) > 50
    first = client.get("/competence").get_data(as_text=True)
    assert first.count('<th scope="row">') == 50
    assert f"({len(whole.people)} people)" in first
    assert f"{whole.met_cells} of {whole.required_cells}" in first
    link = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = client.get(link).get_data(as_text=True)
    assert second.count('<th scope="row">') == len(whole.people) - 50
    assert whole.people[-1].user.name in second and whole.people[0].user.name not in second
    damaged = client.get("/competence?after=garbage&gaps=1")
    assert damaged.status_code == 200
    assert "out of date or damaged" in damaged.get_data(as_text=True)


def test_without_requirements_the_page_lists_people_and_their_records_with_no_coverage(app, org):
    competence = create_competence(org.quality, name="Forklift operation", validity_months=12)
    db.session.add(
        CompetenceRecord(
            user_id=org.owner.id,
            competence_id=competence.id,
            level="practitioner",
            source="assessment",
            achieved_on=TODAY - dt.timedelta(days=400),
            expires_on=TODAY - dt.timedelta(days=35),
        )
    )
    db.session.commit()
    found = paged_matrix(today=TODAY)
    assert (found.met_cells, found.required_cells, found.coverage) == (0, 0, None)
    assert [p.user.id for p in found.people] == [p.user.id for p in matrix(today=TODAY).people]
    lapsed = paged_matrix(gaps_only=True, today=TODAY)  # a lapsed record is shown as expired
    assert [p.user.id for p in lapsed.people] == [org.owner.id]
    assert lapsed.people[0].cells[competence.id].status == "expired"
    assert coverage(TODAY) == (0, 0)

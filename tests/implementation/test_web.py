"""The review pages and the implementation board in the browser's terms (test client): ISO-change reviews
opened from a loaded edition, organisational changes with suggested impacts, management reviews with
inputs compiled from the records and the minutes as PDF, the standards page and the board."""

from __future__ import annotations

from qms.database import db
from qms.models import (
    ImplementationItem,
)
from qms.services.implementation import clause_item, item_for_process

from ..audits.test_web import signed_in, text
from ..conftest import PASSWORD
from ..helpers import new_process
from ..reviews.test_web import count, document


def test_the_board_is_built_and_cards_move_with_the_guard_reasons(app, org):
    process = new_process(org)
    procedure = document(org, "Production control", process="Production")
    assert signed_in(app, org.viewer).post("/implementation/build").status_code == 403
    quality = signed_in(app, org.quality)
    page = text(quality.get("/implementation"))
    assert "The board is empty" in page
    response = quality.post("/implementation/build")
    assert response.status_code == 302
    page = text(quality.get("/implementation"))
    assert "29 item(s) added to the board" in page
    assert count(ImplementationItem) == 29
    assert "0.0 %" in page and "0 of 29 items" in page
    item = item_for_process(process)
    card = page.split(f'id="card-{item.id}"')[1].split("</li>")[0]
    assert "Process: Production" in card and org.owner.name in card and "0 evidence" in card
    assert "Add at least one controlled document linked as evidence first" in card
    processes_only = text(quality.get("/implementation?show=processes"))
    assert f'id="card-{item.id}"' in processes_only
    assert f'id="card-{clause_item("4.1").id}"' not in processes_only
    assert "The board already holds every process and clause" in text(
        quality.get(quality.post("/implementation/build").headers["Location"])
    )
    # the item page: the blocked move, then evidence, then the move
    address = f"/implementation/{item.id}"
    response = quality.post(f"{address}/events/document", data={"version": item.version})
    assert response.status_code == 409 and "Add at least one controlled document" in text(response)
    response = quality.post(f"{address}/evidence", data={"kind": "document", "ref": "999999"})
    assert response.status_code == 422 and "no document with id" in text(response)
    response = quality.post(f"{address}/evidence", data={"kind": "url", "ref": "javascript:alert(1)"})
    assert response.status_code == 422 and "must be a web address" in text(response)
    response = quality.post(f"{address}/evidence", data={"kind": "rumour", "ref": "1"})
    assert response.status_code == 422
    assert quality.post(f"{address}/evidence", data={"kind": "document", "ref": str(procedure.id)}).status_code == 302
    response = quality.post(
        f"{address}/evidence", data={"kind": "url", "ref": "https://intranet.example/prod", "label": "Shift log"}
    )
    assert response.status_code == 302
    page = text(quality.get(address))
    assert f'href="/documents/{procedure.id}"' in page and 'href="https://intranet.example/prod"' in page
    db.session.refresh(item)
    assert quality.post(f"{address}/events/document", data={"version": item.version}).status_code == 302
    db.session.refresh(item)
    assert item.state == "documented"
    card = text(quality.get("/implementation")).split('id="col-documented"')[1].split(f'id="card-{item.id}"')[1]
    assert "2 evidence" in card.split("</li>")[0] and "Next: Mark implemented" in card.split("</li>")[0]
    # removing evidence; the owner of the process may link too; a viewer may not
    assert quality.post(f"{address}/evidence/1/remove").status_code == 302
    assert quality.post(f"{address}/evidence/7/remove").status_code == 422
    db.session.refresh(item)
    assert [e["kind"] for e in item.evidence] == ["document"]
    owner = signed_in(app, org.owner)
    assert owner.post(f"{address}/evidence", data={"kind": "url", "ref": "https://example.org/x"}).status_code == 302
    assert (
        signed_in(app, org.viewer).post(f"{address}/evidence", data={"kind": "url", "ref": "https://x.org"}).status_code
        == 403
    )
    clause = clause_item("4.1")
    assert (
        owner.post(f"/implementation/{clause.id}/evidence", data={"kind": "url", "ref": "https://x.org"}).status_code
        == 403
    )
    # confirming effective needs an audit: the reason is on the page
    for event, data in (("implement", {"implementation": "Both shifts"}), ("monitor", {"monitoring": "Scrap rate"})):
        db.session.refresh(item)
        assert quality.post(f"{address}/events/{event}", data={"version": item.version, **data}).status_code == 302
    page = text(quality.get(address))
    assert "Add at least one completed internal audit covering it first" in page
    db.session.refresh(item)
    response = quality.post(
        f"{address}/events/confirm_effective",
        data={
            "version": item.version,
            "evidence": "Audited",
            "signature_email": org.quality.email,
            "signature_password": PASSWORD,
        },
    )
    assert response.status_code == 409

"""The demo certifications: a KEBS certificate to ISO 9001:2015 in its second year, its transition to the
2026 edition under way (the body's transition audit planned with the next surveillance), and an SGS application."""

from __future__ import annotations

import contextlib
import datetime as dt

from sqlalchemy import select

from workflows.errors import InvalidData

from ..services import certifications, fire


def _seed_certifications(users: dict, today: dt.date) -> int:
    """A KEBS certificate in its second year with a surveillance audit, and an SGS application in stage 1."""
    from ..database import db
    from ..models import CertificationBody
    from ..services.audit_trail import recorded_change

    qo, mgr = users["quality"], users["manager"]
    with recorded_change(None, "certification body profiles loaded") as session:
        certifications.ensure_bodies(session)
    by_code = {body.code: body for body in db.session.scalars(select(CertificationBody))}
    decided = today - dt.timedelta(days=400)
    kebs = certifications.create_certification(
        mgr,
        body_id=by_code["kebs"].id,
        standard_identifier="iso-9001-2015",
        scope="Design, manufacture and installation of steel doors and windows",
        applied_on=decided - dt.timedelta(days=150),
    )
    fire(
        kebs,
        "record_contract",
        mgr,
        {"signed_on": decided - dt.timedelta(days=140), "contract_reference": "KEBS/C/2291"},
    )
    fire(kebs, "start_stage1", qo, {"audit_date": decided - dt.timedelta(days=90)})
    fire(kebs, "ready_for_stage2", qo, {"audit_date": decided - dt.timedelta(days=45)})
    fire(kebs, "complete_stage2", qo, {"last_day": decided - dt.timedelta(days=44)})
    fire(kebs, "submit_response", qo)
    fire(kebs, "certify", qo, {"decided_on": decided, "certificate_number": "KEBS-QMS-2291"})
    surveillance_day = today - dt.timedelta(days=20)
    fire(kebs, "start_surveillance", qo, {"audit_date": surveillance_day})
    certifications.record_external_audit(
        kebs,
        qo,
        kind="surveillance",
        start_date=surveillance_day - dt.timedelta(days=1),
        end_date=surveillance_day,
        lead_auditor="Jane Mwangi",
        body_reference="KEBS/SA1/2291",
        outcome="Certificate maintained subject to closure of the findings.",
        findings=[
            {
                "body_reference": "SA1-01",
                "grade": "minor",
                "clause_number": "7.5.3",
                "description": "An obsolete revision of the welding work instruction was found at station 4.",
            },
            {
                "body_reference": "SA1-02",
                "grade": "observation",
                "clause_number": "9.1.2",
                "description": "Customer satisfaction results are not yet trended by product line.",
            },
        ],
    )
    # the transition to ISO 9001:2026: KEBS audits it together with the second surveillance audit
    dates = certifications.cycle_of(kebs)
    later = [d for d in (dates.surveillance_due if dates else ()) if d > today]
    with contextlib.suppress(InvalidData):  # the transition dates an admin recorded leave no room: plan nothing
        certifications.plan_body_transition_audit(
            kebs,
            qo,
            planned_on=later[0] - dt.timedelta(days=14) if later else today + dt.timedelta(days=300),
            combined_with="surveillance",
        )
    sgs = certifications.create_certification(
        mgr,
        body_id=by_code["sgs"].id,
        scope="Warehousing and distribution (Mombasa depot)",
        applied_on=today - dt.timedelta(days=60),
    )
    fire(sgs, "record_contract", mgr, {"signed_on": today - dt.timedelta(days=50)})
    fire(sgs, "start_stage1", qo, {"audit_date": today - dt.timedelta(days=5)})
    return 2

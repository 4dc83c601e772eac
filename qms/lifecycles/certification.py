"""Third-party certification with a certification body (ISO/IEC 17021-1 cycle).

applied → contracted → stage 1 → stage 2 → findings response → decision
pending → certified; surveillance audits and recertification return to
certified (recertification with a new expiry).  A refused decision means stage
2 is repeated.  The body can suspend the certificate, then reinstate or
withdraw it; a certificate that is not renewed expires.  The body decides, so
these events record its decisions and carry no signature of ours.  Deadlines
(findings response, surveillance interval) belong to the body's profile, not
to this definition.
"""

from workflows.definition import Event, Field, Guard, GuardContext, Lifecycle, State, roles
from workflows.guards import date_reached, none_open

QO, MGR = "quality_officer", "manager"

_no_open_major = none_open("open_major_nc_count", "major nonconformity", "major nonconformities")


def _expiry_after_decision(ctx: GuardContext) -> str | None:
    decided, expires = ctx.data.get("decided_on"), ctx.data.get("expires_on")
    if decided is not None and expires is not None and expires <= decided:
        return f"The expiry date ({expires.isoformat()}) must be after the decision date ({decided.isoformat()})"
    return None


_expiry_valid = Guard(
    "expiry_after_decision", _expiry_after_decision, "Expiry is after the decision", uses_data=True, field="expires_on"
)

_DECISION_FIELDS = (
    Field("decided_on", "Decision date", "date"),
    Field("certificate_number", "Certificate number", "string", max_length=60),
    Field(
        "expires_on",
        "Certificate expiry",
        "date",
        required=False,
        help="Leave empty to compute it from the body's cycle (three years less a day from the decision)",
    ),
)

LIFECYCLE = Lifecycle(
    name="certification",
    version=1,
    label="Certification",
    description="Certification of the QMS by a certification body, through its three-year cycle (ISO/IEC 17021-1).",
    initial="applied",
    states=(
        State("applied", "Applied", description="Application sent; waiting for the body's proposal."),
        State("contracted", "Contracted", description="Contract signed; stage 1 to be scheduled."),
        State("stage1", "Stage 1", description="Documentation and readiness audit."),
        State("stage2", "Stage 2", description="On-site audit of implementation and effectiveness."),
        State("findings_response", "Findings response", description="Corrections and corrective actions in progress."),
        State("decision_pending", "Decision pending", description="Waiting for the body's certification decision."),
        State("certified", "Certified"),
        State("surveillance", "Surveillance audit"),
        State("recertification", "Recertification audit"),
        State("suspended", "Suspended", description="Certificate temporarily invalid."),
        State("withdrawn", "Withdrawn", terminal=True, description="Certificate withdrawn."),
        State("expired", "Expired", terminal=True, description="Certificate ran out without recertification."),
        State("cancelled", "Cancelled", terminal=True, description="Application abandoned before certification."),
    ),
    events=(
        Event(
            "record_contract",
            "Record contract",
            ("applied",),
            "contracted",
            roles(MGR),
            fields=(
                Field("signed_on", "Contract signed on", "date"),
                Field("contract_reference", "Contract reference", "string", required=False, max_length=60),
            ),
        ),
        Event(
            "start_stage1",
            "Start stage 1",
            ("contracted",),
            "stage1",
            roles(QO, MGR),
            fields=(Field("audit_date", "Stage 1 audit date", "date"),),
        ),
        Event(
            "ready_for_stage2",
            "Ready for stage 2",
            ("stage1",),
            "stage2",
            roles(QO, MGR),
            guards=(_no_open_major,),
            fields=(Field("audit_date", "Stage 2 audit date", "date", required=False),),
        ),
        Event(
            "complete_stage2",
            "Record stage 2 findings",
            ("stage2",),
            "findings_response",
            roles(QO, MGR),
            fields=(
                Field("last_day", "Last day of stage 2", "date"),
                Field("response_due", "Response due", "date", required=False),
            ),
        ),
        Event(
            "submit_response",
            "Submit findings response",
            ("findings_response",),
            "decision_pending",
            roles(QO, MGR),
            guards=(_no_open_major,),
        ),
        Event(
            "certify",
            "Record decision: certified",
            ("decision_pending",),
            "certified",
            roles(QO, MGR),
            guards=(_expiry_valid,),
            fields=_DECISION_FIELDS,
        ),
        Event(
            "refuse",
            "Record decision: repeat stage 2",
            ("decision_pending",),
            "stage2",
            roles(QO, MGR),
            fields=(Field("reason", "Reason given by the body"),),
        ),
        Event(
            "start_surveillance",
            "Start surveillance audit",
            ("certified",),
            "surveillance",
            roles(QO, MGR),
            fields=(Field("audit_date", "Audit date", "date"),),
        ),
        Event(
            "complete_surveillance",
            "Record surveillance outcome: certificate maintained",
            ("surveillance",),
            "certified",
            roles(QO, MGR),
            guards=(_no_open_major,),
            fields=(Field("next_audit_due", "Next audit due", "date", required=False),),
        ),
        Event(
            "start_recertification",
            "Start recertification audit",
            ("certified",),
            "recertification",
            roles(QO, MGR),
            fields=(Field("audit_date", "Audit date", "date"),),
        ),
        Event(
            "recertify",
            "Record decision: recertified",
            ("recertification",),
            "certified",
            roles(QO, MGR),
            guards=(_no_open_major, _expiry_valid),
            fields=_DECISION_FIELDS,
        ),
        Event(
            "suspend",
            "Record suspension",
            ("certified", "surveillance", "recertification"),
            "suspended",
            roles(QO, MGR),
            fields=(
                Field("reason", "Reason for suspension"),
                Field("suspended_until", "Suspended until", "date", required=False),
            ),
        ),
        Event(
            "reinstate",
            "Record reinstatement",
            ("suspended",),
            "certified",
            roles(QO, MGR),
            guards=(_no_open_major,),
        ),
        Event(
            "withdraw",
            "Record withdrawal",
            ("certified", "suspended"),
            "withdrawn",
            roles(QO, MGR),
            fields=(Field("reason", "Reason for withdrawal"),),
        ),
        Event(
            "expire",
            "Mark expired",
            ("certified", "surveillance", "recertification", "suspended"),
            "expired",
            roles(QO, MGR),
            guards=(date_reached("expires_on", "The certificate expiry"),),
        ),
        Event(
            "cancel",
            "Cancel application",
            ("applied", "contracted", "stage1", "stage2", "findings_response"),
            "cancelled",
            roles(MGR),
            fields=(Field("reason", "Reason for cancelling"),),
        ),
    ),
)

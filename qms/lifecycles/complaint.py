"""Customer complaint (ISO 10002): receive, acknowledge, investigate, resolve, close.

received → acknowledged (initial assessment) → investigating → resolved →
closed.  A complaint that reveals a nonconformity is escalated; it can be
resolved only once the linked nonconformity is closed.  A complaint can be
rejected early with a reason, and a resolved one reopened when the customer is
not satisfied.  An escalation made by mistake is withdrawn: the complaint goes back
to investigation and its nonconformity, while untriaged, is withdrawn with it.
"""

from workflows.definition import Event, Field, Guard, GuardContext, Lifecycle, State, roles

QO, MGR, PO = "quality_officer", "manager", "process_owner"

SEVERITIES = ("low", "medium", "high")
SATISFACTION = ("yes", "no", "unknown")


def _linked_nc_closed(ctx: GuardContext) -> str | None:
    if ctx.fact("linked_nc_open"):
        return "The linked nonconformity is still open"
    return None


LIFECYCLE = Lifecycle(
    name="complaint",
    version=1,
    label="Complaint",
    description="A customer complaint from receipt to communicated decision and closure (ISO 10002).",
    initial="received",
    states=(
        State("received", "Received", description="Logged with the remedy the customer seeks."),
        State("acknowledged", "Acknowledged", description="Receipt confirmed to the customer; initially assessed."),
        State("investigating", "Investigating"),
        State("escalated", "Escalated", description="Handled through a linked nonconformity."),
        State("resolved", "Resolved", description="Resolution decided; waiting to be communicated and closed."),
        State("closed", "Closed", terminal=True),
        State("rejected", "Rejected", terminal=True, description="Not a valid complaint; the reason is recorded."),
    ),
    events=(
        Event(
            "acknowledge",
            "Acknowledge",
            ("received",),
            "acknowledged",
            roles(QO, MGR),
            fields=(
                Field("acknowledged_on", "Acknowledged to the customer on", "date"),
                Field("severity", "Severity", "choice", choices=SEVERITIES),
            ),
        ),
        Event(
            "reject",
            "Reject",
            ("received", "acknowledged"),
            "rejected",
            roles(QO, MGR),
            fields=(Field("reason", "Reason for rejection"),),
        ),
        Event(
            "investigate",
            "Start investigation",
            ("acknowledged",),
            "investigating",
            roles(QO, PO, MGR),
        ),
        Event(
            "escalate",
            "Escalate to a nonconformity",
            ("acknowledged", "investigating"),
            "escalated",
            roles(QO, MGR),
            fields=(Field("reason", "Why a nonconformity is needed"),),
        ),
        Event(
            "withdraw_escalation",
            "Withdraw the escalation (escalated by mistake)",
            ("escalated",),
            "investigating",
            roles(QO, MGR),
            fields=(Field("reason", "Why the escalation is withdrawn"),),
            description="Back to investigation; the nonconformity it raised is withdrawn while nobody has triaged it.",
        ),
        Event(
            "resolve",
            "Record resolution",
            ("investigating", "escalated"),
            "resolved",
            roles(QO, PO, MGR),
            guards=(Guard("linked_nc_closed", _linked_nc_closed, "The linked nonconformity is closed"),),
            fields=(
                Field("resolution", "Resolution"),
                Field("customer_satisfied", "Customer satisfied", "choice", required=False, choices=SATISFACTION),
            ),
        ),
        Event(
            "reopen",
            "Reopen: customer not satisfied",
            ("resolved",),
            "investigating",
            roles(QO, MGR),
            fields=(Field("reason", "Why the customer is not satisfied"),),
        ),
        Event(
            "close",
            "Close",
            ("resolved",),
            "closed",
            roles(QO, MGR),
            fields=(Field("communicated_on", "Decision communicated to the customer on", "date"),),
        ),
    ),
)

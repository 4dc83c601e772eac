"""Nonconformity (ISO 9001 10.2): react, find the cause, act, check it worked, close.

reported → triaged → contained → root cause identified → actions planned →
actions completed → effectiveness verified → closed; an ineffective result
sends the NC back to planning (reopening), and an NC can be rejected early
with a reason.  Observations may be closed without corrective action.

Segregation of duties: whoever implemented an action does not verify effectiveness; whoever
verified effectiveness does not approve the closure; whoever raised an observation does not
close it.
"""

from workflows.definition import Event, Field, Guard, GuardContext, Lifecycle, State, roles
from workflows.guards import at_least_one, date_reached, none_open, not_actor

QO, MGR, AUD, PO = "quality_officer", "manager", "internal_auditor", "process_owner"

SEVERITIES = ("major", "minor", "observation")
ROOT_CAUSE_METHODS = ("five_whys", "fishbone", "8d", "other")
#: the fishbone (Ishikawa) diagram's 6M: the causes found are listed under these
FISHBONE_CATEGORIES = ("man", "machine", "method", "material", "measurement", "environment")


def _raiser_or_reviewer(ctx: GuardContext) -> str | None:
    """Whoever raised the NC withdraws it, or a quality officer or a manager (who may reject it anyway):
    an NC raised automatically (a survey rule, a complaint's escalation) is withdrawn by whoever
    corrects its cause."""
    raiser = ctx.fact("raised_by_id")
    if raiser is None or raiser == ctx.actor.id or ctx.actor.roles & {QO, MGR}:
        return None
    return "Only the person who raised it, a quality officer or a manager can withdraw it"


def _check_after_a_wait(ctx: GuardContext) -> str | None:
    due = ctx.data.get("verification_due")
    if due is not None and due <= ctx.today:
        return "The effectiveness check must come after a waiting period: choose a date after today"
    return None


def _not_an_implementer(ctx: GuardContext) -> str | None:
    if ctx.actor.id in (ctx.fact("implementer_ids") or ()):
        return "You implemented one of its corrective actions, so someone else must verify effectiveness"
    return None


def _replanned_after_reopening(ctx: GuardContext) -> str | None:
    reopened = ctx.fact("reopened_on")
    if reopened is not None and int(ctx.fact("new_action_count") or 0) < 1:
        return (
            f"The actions were found ineffective on {reopened.isoformat()}: "
            "add at least one new corrective action before marking the actions completed"
        )
    return None


def _observation_only(ctx: GuardContext) -> str | None:
    severity = ctx.fact("severity")
    if severity != "observation":
        return f"Only an observation can close without corrective action (this one is {severity or 'not graded'})"
    return None


#: an NC against a supplier closes only once the supplier's corrective action is verified (or cancelled)
SCARS_VERIFIED = none_open("open_scar_count", "supplier corrective action request", still="not yet verified effective")

LIFECYCLE = Lifecycle(
    name="nonconformity",
    version=1,
    label="Nonconformity",
    description="From a reported nonconformity to verified, signed closure (ISO 9001 10.2).",
    initial="reported",
    states=(
        State("reported", "Reported", description="Raised; waiting to be graded."),
        State("triaged", "Triaged", description="Severity and owner set; containment due."),
        State("contained", "Contained", description="Immediate containment and correction done."),
        State("root_cause_identified", "Root cause identified"),
        State("action_planned", "Corrective action planned"),
        State("actions_completed", "Corrective actions completed", description="Waiting for the effectiveness check."),
        State("effectiveness_verified", "Effectiveness verified"),
        State("closed", "Closed", terminal=True),
        State("rejected", "Rejected", terminal=True, description="Not a nonconformity; the reason is recorded."),
        State(
            "withdrawn",
            "Withdrawn",
            terminal=True,
            description="Raised by mistake and withdrawn before triage (an answer corrected); not counted.",
        ),
    ),
    events=(
        Event(
            "triage",
            "Triage",
            ("reported",),
            "triaged",
            roles(QO, MGR),
            fields=(
                Field("severity", "Severity", "choice", choices=SEVERITIES),
                Field("containment_due", "Containment due", "date", required=False),
            ),
        ),
        Event(
            "reject",
            "Reject",
            ("reported", "triaged"),
            "rejected",
            roles(QO, MGR),
            fields=(Field("reason", "Reason for rejection"),),
        ),
        Event(
            "withdraw",
            "Withdraw (raised by mistake)",
            ("reported",),
            "withdrawn",
            roles(QO, MGR, AUD, PO),
            guards=(
                Guard(
                    "raiser_quality_officer_or_manager",
                    _raiser_or_reviewer,
                    "The person who raised it, a quality officer or a manager withdraws it",
                ),
            ),
            fields=(Field("reason", "Why it is withdrawn"),),
        ),
        Event(
            "contain",
            "Record containment",
            ("triaged",),
            "contained",
            roles(QO, PO, MGR),
            fields=(
                Field("containment", "Containment actions"),
                Field("correction", "Correction", required=False),
            ),
        ),
        Event(
            "analyse_root_cause",
            "Record root cause",
            ("contained",),
            "root_cause_identified",
            roles(QO, PO),
            fields=(
                Field("method", "Method", "choice", choices=ROOT_CAUSE_METHODS),
                Field("root_cause", "Root cause"),
                Field("whys", "Five whys", "list", required=False),
                Field(
                    "fishbone",
                    "Fishbone categories",
                    "json",
                    required=False,
                    groups=tuple((category, f"{category.capitalize()} causes") for category in FISHBONE_CATEGORIES),
                ),
            ),
        ),
        Event(
            "plan_actions",
            "Approve action plan",
            ("root_cause_identified",),
            "action_planned",
            roles(QO, PO, MGR),
            guards=(
                at_least_one("action_count", "corrective action", purpose="the plan has none"),
                Guard(
                    "check_after_a_wait",
                    _check_after_a_wait,
                    "Effectiveness check after today",
                    uses_data=True,
                    field="verification_due",
                ),
            ),
            fields=(Field("verification_due", "Effectiveness check due", "date"),),
        ),
        Event(
            "complete_actions",
            "Mark actions completed",
            ("action_planned",),
            "actions_completed",
            roles(QO, PO),
            guards=(
                none_open("open_action_count", "corrective action"),
                Guard("replanned_after_reopening", _replanned_after_reopening, "New actions after a reopening"),
            ),
        ),
        Event(
            "verify_effectiveness",
            "Verify effectiveness",
            ("actions_completed",),
            "effectiveness_verified",
            roles(QO, MGR, AUD),
            guards=(
                date_reached("verification_due", "The effectiveness check"),
                none_open("open_action_count", "corrective action"),
                none_open("unverified_action_count", "corrective action", still="not yet verified"),
                at_least_one("verified_action_count", "verified corrective action"),
                Guard("not_an_implementer", _not_an_implementer, "Verifier implemented none of its actions"),
            ),
            fields=(Field("evidence", "Evidence of effectiveness"),),
            signature="verified effective",
        ),
        Event(
            "mark_ineffective",
            "Reopen: actions ineffective",
            ("actions_completed",),
            "action_planned",
            roles(QO, MGR, AUD),
            guards=(
                Guard(
                    "new_check_after_a_wait",
                    _check_after_a_wait,
                    "New effectiveness check after today",
                    uses_data=True,
                    field="verification_due",
                ),
            ),
            fields=(
                Field("reason", "Why the actions were not effective"),
                Field("verification_due", "New effectiveness check due", "date"),
            ),
        ),
        Event(
            "close",
            "Close",
            ("effectiveness_verified",),
            "closed",
            roles(QO, MGR),
            guards=(
                none_open("open_action_count", "corrective action"),
                not_actor(
                    "effectiveness_verifier_id",
                    "You verified its effectiveness, so someone else must approve the closure",
                    name="closer_is_not_verifier",
                ),
                SCARS_VERIFIED,
            ),
            signature="approved for closure",
        ),
        Event(
            "close_observation",
            "Close without corrective action",
            ("triaged", "contained"),
            "closed",
            roles(QO, MGR),
            guards=(
                Guard("observation_only", _observation_only, "Only observations"),
                not_actor(
                    "raised_by_id",
                    "You raised this observation, so someone else must approve closing it",
                    name="closer_is_not_raiser",
                ),
                SCARS_VERIFIED,
            ),
            fields=(Field("justification", "Justification"),),
            signature="approved for closure",
        ),
    ),
)

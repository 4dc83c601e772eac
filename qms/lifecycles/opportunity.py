"""Opportunity for improvement and innovation (ISO 9001 6.1.3, 10.1): idea → pilot → adoption.

proposed → evaluated (cost–benefit and the competitive edge it gives) → approved by the
innovation committee (a member signs the committee's decision) → piloted (plan, success
criteria and dates) → adopted or dropped on the pilot's results → realised (the benefit is
measured).  A proposal can be declined at evaluation or by the committee.
"""

from workflows.definition import Event, Field, Guard, GuardContext, Lifecycle, State, roles

QO, MGR, PO = "quality_officer", "manager", "process_owner"

#: the competitive edge an innovation gives (the source standard's 2.2)
EDGE_CATEGORIES = ("price", "design", "technology", "re_engineering", "differentiation", "niche")


def _committee_member(ctx: GuardContext) -> str | None:
    if not ctx.fact("committee_id"):
        return "No innovation committee is assigned"
    members = ctx.fact("committee_member_ids")
    if getattr(ctx.actor, "id", None) not in members:
        return "Only a member of the innovation committee records its decision"
    return None


def _pilot_dates(ctx: GuardContext) -> str | None:
    start, end = ctx.data.get("pilot_start"), ctx.data.get("pilot_end")
    if start and end and end < start:
        return "The pilot cannot end before it starts"
    return None


COMMITTEE = Guard("committee_member", _committee_member, "A member of the assigned innovation committee decides")

LIFECYCLE = Lifecycle(
    name="opportunity",
    version=1,
    label="Opportunity",
    description="An opportunity for improvement or innovation from idea through a pilot to adoption (ISO 9001 6.1.3).",
    initial="proposed",
    states=(
        State("proposed", "Proposed", description="The idea and where it came from."),
        State("evaluated", "Evaluated", description="Costs, benefits and competitive edge assessed."),
        State("approved", "Approved", description="The innovation committee approved a pilot (signed)."),
        State("piloting", "Piloting", description="The pilot runs against its success criteria."),
        State("adopted", "Adopted", description="Adopted on the pilot's results; the benefit is to be measured."),
        State("realised", "Realised", terminal=True, description="The benefit was measured."),
        State("dropped", "Dropped", terminal=True, description="The pilot did not meet its criteria."),
        State("declined", "Declined", terminal=True, description="Not pursued; the reason is recorded."),
    ),
    events=(
        Event(
            "evaluate",
            "Record evaluation",
            ("proposed",),
            "evaluated",
            roles(QO, MGR, PO),
            fields=(
                Field("estimated_cost", "Estimated cost", "integer"),
                Field("expected_benefit", "Expected benefit"),
                Field("edge_category", "Competitive edge", "choice", choices=EDGE_CATEGORIES),
                Field("cost_benefit", "Cost–benefit analysis"),
            ),
        ),
        Event(
            "approve",
            "Approve for a pilot",
            ("evaluated",),
            "approved",
            roles(QO, MGR, PO),
            guards=(COMMITTEE,),
            fields=(
                Field("decision", "The committee's decision"),
                Field("decided_on", "Decided on", "date"),
            ),
            signature="approved by the innovation committee",
        ),
        Event(
            "decline",
            "Decline",
            ("proposed", "evaluated"),
            "declined",
            roles(QO, MGR),
            fields=(Field("reason", "Why it is not pursued"),),
        ),
        Event(
            "start_pilot",
            "Start pilot",
            ("approved",),
            "piloting",
            roles(QO, MGR, PO),
            guards=(Guard("pilot_dates", _pilot_dates, "The pilot ends after it starts", uses_data=True),),
            fields=(
                Field("pilot_plan", "Pilot plan"),
                Field("success_criteria", "Success criteria"),
                Field("pilot_start", "Pilot starts on", "date"),
                Field("pilot_end", "Pilot ends on", "date"),
            ),
        ),
        Event(
            "adopt",
            "Adopt on the pilot's results",
            ("piloting",),
            "adopted",
            roles(QO, MGR, PO),
            guards=(COMMITTEE,),
            fields=(Field("pilot_results", "Pilot results against the success criteria"),),
            signature="adopted by the innovation committee",
        ),
        Event(
            "drop",
            "Drop on the pilot's results",
            ("piloting",),
            "dropped",
            roles(QO, MGR, PO),
            fields=(Field("pilot_results", "Pilot results against the success criteria"),),
        ),
        Event(
            "realise",
            "Record the benefit realised",
            ("adopted",),
            "realised",
            roles(QO, MGR, PO),
            fields=(
                Field("benefit_measured", "Benefit measured"),
                Field("benefit_value", "Benefit value per year", "integer", required=False),
            ),
        ),
    ),
)

"""Risk (ISO 9001 6.1, ISO 31000): identify, rate, treat, monitor, close.

identified → assessed (likelihood × impact gives the inherent rating) → treatment planned
(avoid, reduce or transfer, with treatment actions tracked to verified) → monitored (the
residual rating recorded once every treatment action is verified) → closed.  A risk may instead
be accepted as it stands (a manager signs the acceptance).  While monitored it is reviewed at
the cadence its rating asks (high rated more often), and it can be re-assessed whenever an NC or
an audit finding shows that it happened.
"""

from workflows.definition import Event, Field, Guard, GuardContext, Lifecycle, State, roles

QO, MGR, PO = "quality_officer", "manager", "process_owner"

TREATMENTS = ("avoid", "reduce", "transfer")


def _treatment_done(ctx: GuardContext) -> str | None:
    open_count = int(ctx.fact("open_treatment_count") or 0)
    verified = int(ctx.fact("verified_treatment_count") or 0)
    if open_count:
        noun = "treatment action is" if open_count == 1 else "treatment actions are"
        return f"{open_count} {noun} not verified yet"
    if verified < 1:
        return "Add a treatment action and have it verified first"
    return None


def _owner_or_quality(ctx: GuardContext) -> str | None:
    """A process owner acts on the risks they own; quality officers and managers on any."""
    if ctx.actor.roles & {QO, MGR} or ctx.fact("owner_id") == ctx.actor.id:
        return None
    return "Only the risk's owner, a quality officer or a manager can do this"


_owner = Guard("risk_owner_or_quality", _owner_or_quality, "The risk's owner, a quality officer or a manager")

_rating = (
    Field("likelihood", "Likelihood", "integer", help="1 (rare) to the top of the scale (almost certain)"),
    Field("impact", "Impact", "integer", help="1 (negligible) to the top of the scale (severe)"),
)
_residual = (
    Field("residual_likelihood", "Residual likelihood", "integer", help="After the treatment"),
    Field("residual_impact", "Residual impact", "integer", help="After the treatment"),
)

LIFECYCLE = Lifecycle(
    name="risk",
    version=1,
    label="Risk",
    description="A risk to the QMS from identification through rating and treatment to monitoring and closure.",
    initial="identified",
    states=(
        State("identified", "Identified", description="Recorded with its cause and effect; not rated yet."),
        State("assessed", "Assessed", description="Rated: likelihood × impact gives the inherent rating."),
        State("treatment_planned", "Treatment planned", description="Avoid, reduce or transfer; actions under way."),
        State(
            "monitored",
            "Treated and monitored",
            description="Treatment verified or the risk accepted; reviewed at its cadence.",
        ),
        State("closed", "Closed", terminal=True, description="No longer relevant."),
        State("withdrawn", "Withdrawn", terminal=True, description="Not a risk (a duplicate or a mistake)."),
    ),
    events=(
        Event(
            "assess",
            "Assess (rate)",
            ("identified",),
            "assessed",
            roles(QO, MGR, PO),
            guards=(_owner,),
            fields=(*_rating, Field("rationale", "Why this rating", required=False)),
        ),
        Event(
            "plan_treatment",
            "Plan treatment",
            ("assessed",),
            "treatment_planned",
            roles(QO, MGR, PO),
            guards=(_owner,),
            fields=(
                Field("treatment", "Treatment", "choice", choices=TREATMENTS),
                Field("treatment_plan", "Treatment plan"),
            ),
        ),
        Event(
            "accept",
            "Accept the risk",
            ("assessed",),
            "monitored",
            roles(MGR),
            fields=(Field("rationale", "Why the risk is accepted as it stands"),),
            signature="risk accepted",
        ),
        Event(
            "record_treated",
            "Record the residual rating",
            ("treatment_planned",),
            "monitored",
            roles(QO, MGR),
            guards=(Guard("treatment_verified", _treatment_done, "Every treatment action is verified"),),
            fields=(*_residual, Field("effectiveness", "How effective the treatment was")),
        ),
        Event(
            "review",
            "Record a review",
            ("monitored",),
            "monitored",
            roles(QO, MGR, PO),
            guards=(_owner,),
            fields=(
                Field("notes", "Review notes"),
                Field("residual_likelihood", "Residual likelihood now", "integer", required=False),
                Field("residual_impact", "Residual impact now", "integer", required=False),
            ),
        ),
        Event(
            "reassess",
            "Re-assess",
            ("treatment_planned", "monitored"),
            "assessed",
            roles(QO, MGR, PO),
            guards=(_owner,),
            fields=(*_rating, Field("reason", "Why it is re-assessed")),
        ),
        Event(
            "close",
            "Close",
            ("monitored",),
            "closed",
            roles(QO, MGR),
            fields=(Field("reason", "Why the risk no longer applies"),),
        ),
        Event(
            "withdraw",
            "Withdraw",
            ("identified", "assessed"),
            "withdrawn",
            roles(QO, MGR),
            fields=(Field("reason", "Why this is not a risk"),),
        ),
    ),
)

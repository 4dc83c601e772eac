"""Monitoring and measuring equipment (ISO 9001 7.1.5): calibrated at intervals, safeguarded.

in service ⇄ quarantined (found or suspected unfit, not to be used) ⇄ out of
service (withdrawn on purpose, e.g. at a lab); retired at the end of its life.
Whether an instrument in service is *due* or *overdue* for calibration follows
from its next calibration date and is shown beside the state.  An instrument
returns to service only with a calibration in tolerance that is not overdue.
"""

from workflows.definition import Event, Field, Guard, GuardContext, Lifecycle, State, roles

QO, MGR, PO = "quality_officer", "manager", "process_owner"


def _fit_for_use(ctx: GuardContext) -> str | None:
    if not ctx.fact("calibrated_in_tolerance", False):
        return "Its latest calibration is missing or out of tolerance: calibrate it first"
    due = ctx.fact("next_calibration_due", None)
    if due is not None and due < ctx.today:
        return f"Its calibration was due on {due.isoformat()}: calibrate it first"
    return None


LIFECYCLE = Lifecycle(
    name="equipment",
    version=1,
    label="Measuring equipment",
    description="A measuring instrument from entry into service through calibration, quarantine and "
    "withdrawal to retirement (ISO 9001 7.1.5).",
    initial="in_service",
    states=(
        State("in_service", "In service", description="May be used while its calibration is not overdue."),
        State("quarantined", "Quarantined", description="Found or suspected unfit: not to be used."),
        State("out_of_service", "Out of service", description="Withdrawn (at a laboratory, under repair, stored)."),
        State("retired", "Retired", terminal=True),
    ),
    events=(
        Event(
            "quarantine",
            "Quarantine",
            ("in_service", "out_of_service"),
            "quarantined",
            roles(QO, MGR, PO),
            fields=(Field("reason", "Why it must not be used"),),
        ),
        Event(
            "withdraw",
            "Take out of service",
            ("in_service", "quarantined"),
            "out_of_service",
            roles(QO, MGR, PO),
            fields=(Field("reason", "Why (calibration at a lab, repair, storage)"),),
        ),
        Event(
            "return_to_service",
            "Return to service",
            ("quarantined", "out_of_service"),
            "in_service",
            roles(QO, MGR),
            guards=(Guard("fit_for_use", _fit_for_use, "Calibrated in tolerance and not overdue"),),
        ),
        Event(
            "retire",
            "Retire",
            ("in_service", "quarantined", "out_of_service"),
            "retired",
            roles(QO, MGR),
            fields=(Field("reason", "Why it is retired"),),
        ),
    ),
)

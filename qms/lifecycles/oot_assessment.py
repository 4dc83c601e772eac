"""Out-of-tolerance impact assessment (ISO 9001 7.1.5.2): was what the instrument measured still valid?

Opened when a calibration finds an instrument out of tolerance as found.  It
lists what the instrument measured since its last good calibration (audit
checklist answers and nonconformities that cite it); the assessor concludes
that the results were not adversely affected (with the rationale), or raises a
nonconformity for them, which the assessment follows until it is closed.
"""

from workflows.definition import Event, Field, Lifecycle, State, roles

QO, MGR = "quality_officer", "manager"

LIFECYCLE = Lifecycle(
    name="oot_assessment",
    version=1,
    label="Out-of-tolerance assessment",
    description="The impact of an out-of-tolerance instrument on the results it gave since its last good "
    "calibration (ISO 9001 7.1.5.2).",
    initial="open",
    states=(
        State("open", "Open", description="Assessing the records the instrument measured."),
        State("nc_raised", "Nonconformity raised", description="Affected results are handled by the NC."),
        State("closed", "Closed", terminal=True),
    ),
    events=(
        Event(
            "conclude_no_impact",
            "Conclude: results not affected",
            ("open",),
            "closed",
            roles(QO, MGR),
            fields=(Field("rationale", "Why the previous results remain valid"),),
            signature="assessed",
        ),
        Event(
            "raise_nonconformity",
            "Raise a nonconformity",
            ("open",),
            "nc_raised",
            roles(QO, MGR),
            fields=(Field("impact", "What is affected and why"),),
        ),
        Event(
            "close",
            "Close",
            ("nc_raised",),
            "closed",
            roles(QO, MGR),
            fields=(Field("rationale", "Conclusion"),),
        ),
    ),
)

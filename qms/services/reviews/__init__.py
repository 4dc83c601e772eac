"""Reviews of the QMS: ISO change (a new edition), organisational change (6.3), management review (9.3).

One function per user intention; each validates everything before writing and writes in one
transaction (``recorded_change``), so bad input never leaves half a change behind.

- *ISO change* (``iso_change``): ``open_iso_change_review`` runs the edition differ and records one
  item per clause change with what in the QMS refers to the old clause (documents, processes,
  checklist questions); every item is assessed (gap or no gap) before the gap analysis completes,
  and the transition actions must be done before the review closes.
- *Organisational change* (``org_change``): the impacts on documents, processes, risks and the
  audit programme (``suggest_impacts`` proposes them from the records), then the change actions.
- *Management review* (``management``): ``compile_inputs`` computes the 9.3.2 inputs (``inputs``)
  from the records of the review period; the inputs the system cannot know (quality objectives,
  resources, risks and opportunities) get notes; the outputs (9.3.3) become tracked actions.
- *Actions* (``actions``): what any review decided, with owner and due date.

The lifecycles' guards get their counts from the facts providers of each kind's module and the
events' fields are stored on the records by its effects; importing this package registers them.
"""

from __future__ import annotations

from .actions import (
    ACTION_OWNER_ROLES,
    ACTION_STATES,
    actions_of,
    add_action,
    cancel_action,
    complete_action,
    open_actions_for,
    review_kind,
    review_of,
    reviews_of,
)
from .common import MAX_TEXT, NC_CLOSED_STATES, REVIEW_ROLES, Review
from .inputs import COMPILED_INPUTS, compiled_inputs
from .iso_change import (
    AUDIT_PLANNING_STATES,
    DOCUMENT_STANDARD,
    GAP_ANALYSIS_STATES,
    ISO_CLOSED_STATES,
    VERIFICATION_STATES,
    assess_change,
    link_verification,
    open_iso_change_review,
    plan_transition_audit,
    transition_clauses,
)
from .management import (
    INPUT_STATES,
    compile_inputs,
    inputs_summary,
    missing_inputs,
    plan_management_review,
    set_input_notes,
)
from .org_change import (
    CHANGE_ROLES,
    IMPACT_STATES,
    LINK_KINDS,
    UPCOMING_AUDIT_STATES,
    add_impact,
    open_org_change_review,
    remove_impact,
    suggest_impacts,
)

__all__ = [
    "ACTION_OWNER_ROLES",
    "ACTION_STATES",
    "AUDIT_PLANNING_STATES",
    "CHANGE_ROLES",
    "COMPILED_INPUTS",
    "DOCUMENT_STANDARD",
    "GAP_ANALYSIS_STATES",
    "IMPACT_STATES",
    "INPUT_STATES",
    "ISO_CLOSED_STATES",
    "LINK_KINDS",
    "MAX_TEXT",
    "NC_CLOSED_STATES",
    "REVIEW_ROLES",
    "UPCOMING_AUDIT_STATES",
    "VERIFICATION_STATES",
    "Review",
    "actions_of",
    "add_action",
    "add_impact",
    "assess_change",
    "cancel_action",
    "compile_inputs",
    "compiled_inputs",
    "complete_action",
    "inputs_summary",
    "link_verification",
    "missing_inputs",
    "open_actions_for",
    "open_iso_change_review",
    "open_org_change_review",
    "plan_management_review",
    "plan_transition_audit",
    "remove_impact",
    "review_kind",
    "review_of",
    "reviews_of",
    "set_input_notes",
    "suggest_impacts",
    "transition_clauses",
]

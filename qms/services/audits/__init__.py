"""Internal audits: sites and processes, programmes, audits, checklists, findings, coverage, scores.

One function per user intention; each validates everything before writing and writes in one
transaction (``recorded_change``), so bad input never leaves half a change behind.

One module per area: ``sites`` (sites and processes), ``programmes``, ``audits`` (audits, teams and
the lifecycle's effects and facts), ``checklists`` (questions, answers, findings, evidence),
``results`` (scores), ``coverage``, ``calendar`` (and the iCalendar feed); ``common`` holds what
they share. Importing this package registers the effects and facts.
"""

from __future__ import annotations

from .audits import (
    AUDITOR_ROLES,
    OPEN_NC_EXCLUDED,
    TEAM_STATES,
    assign_team,
    create_audit,
    double_bookings,
    independence_problem,
    reschedule,
)
from .calendar import audits_between, ical_feed, month_grid, new_calendar_feed, revoke_calendar_feed, user_for_feed
from .checklists import (
    ATTACHMENT_LIFECYCLE,
    MAX_QUESTIONS,
    add_question,
    answer,
    attach_evidence,
    can_answer,
    can_edit_checklist,
    checklist_questions,
    edit_question,
    evidence_of,
    generate_checklist,
    remove_question,
)
from .common import NOT_HAPPENING, PLANNER_ROLES, PROCESS_STANDARD
from .coverage import Coverage, CoverageCell, coverage
from .programmes import create_programme, generate_audits, planned_dates
from .results import Score, finding_ncs, result_counts, score_trend, scores
from .sites import SETUP_ROLES, create_site, save_process

__all__ = [
    "ATTACHMENT_LIFECYCLE",
    "AUDITOR_ROLES",
    "MAX_QUESTIONS",
    "NOT_HAPPENING",
    "OPEN_NC_EXCLUDED",
    "PLANNER_ROLES",
    "PROCESS_STANDARD",
    "SETUP_ROLES",
    "TEAM_STATES",
    "Coverage",
    "CoverageCell",
    "Score",
    "add_question",
    "answer",
    "assign_team",
    "attach_evidence",
    "audits_between",
    "can_answer",
    "can_edit_checklist",
    "checklist_questions",
    "coverage",
    "create_audit",
    "create_programme",
    "create_site",
    "double_bookings",
    "edit_question",
    "evidence_of",
    "finding_ncs",
    "generate_audits",
    "generate_checklist",
    "ical_feed",
    "independence_problem",
    "month_grid",
    "new_calendar_feed",
    "planned_dates",
    "remove_question",
    "reschedule",
    "result_counts",
    "revoke_calendar_feed",
    "save_process",
    "score_trend",
    "scores",
    "user_for_feed",
]

"""Services: one function per user intention; they own the transactions.

Importing this package registers every domain's effects and guard facts.
"""

from . import (  # noqa: F401  (registers effects and facts)
    audits,
    certifications,
    changes,
    competence,
    complaints,
    context,
    dashboard_counts,
    documents,
    equipment,
    implementation,
    inspections,
    nonconformities,
    objectives,
    opportunities,
    reviews,
    risks,
    suppliers,
    surveys,
    training,
)
from .workflow import available_events, available_events_many, fire, history_of, replay

__all__ = ["available_events", "available_events_many", "fire", "history_of", "replay"]

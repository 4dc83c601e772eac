"""Services: one function per user intention; they own the transactions.

Importing this package registers every domain's effects and guard facts.
"""

from . import (  # noqa: F401  (registers effects and facts)
    audits,
    certifications,
    complaints,
    documents,
    equipment,
    implementation,
    nonconformities,
    reviews,
    suppliers,
    surveys,
)
from .workflow import available_events, available_events_many, fire, history_of, replay

__all__ = ["available_events", "available_events_many", "fire", "history_of", "replay"]

"""qmsflow's state-machine library: every QMS lifecycle, declared as data.

Pure Python on top of ``transitions``; no Flask, no database.  Typical use::

    from workflows import get_engine
    engine = get_engine("nonconformity")
    engine.available_events(record, actor)
    engine.fire(record, "triage", actor, {"severity": "major"})
"""

from .definition import Actor, Event, Field, Guard, GuardContext, Lifecycle, State
from .engine import Availability, FireResult, LifecycleEngine
from .errors import (
    Conflict,
    GuardFailed,
    InvalidData,
    InvalidTransition,
    NotPermitted,
    UnknownEvent,
    UnknownLifecycle,
    WorkflowError,
)
from .registry import all_lifecycles, get_engine, get_lifecycle, lifecycle_names

__all__ = [
    "Actor",
    "Availability",
    "Conflict",
    "Event",
    "Field",
    "FireResult",
    "Guard",
    "GuardContext",
    "GuardFailed",
    "InvalidData",
    "InvalidTransition",
    "Lifecycle",
    "LifecycleEngine",
    "NotPermitted",
    "State",
    "UnknownEvent",
    "UnknownLifecycle",
    "WorkflowError",
    "all_lifecycles",
    "get_engine",
    "get_lifecycle",
    "lifecycle_names",
]

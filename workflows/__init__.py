"""A state-machine library: lifecycles declared as data, fired by one engine each.

Pure Python on top of ``transitions``; no web framework, no database.  The
library knows no lifecycle or role of its own: the application declares them
and registers its lifecycles (see ``workflows.registry``).  Typical use::

    import workflows
    workflows.add_roles({"clerk", "approver"})
    workflows.register(PURCHASE_ORDER)   # a Lifecycle
    engine = workflows.get_engine("purchase_order")
    engine.available_events(record, actor)
    engine.fire(record, "approve", actor, {"amount": "120"})
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
from .registry import (
    Registry,
    add_roles,
    all_lifecycles,
    default_registry,
    get_engine,
    get_lifecycle,
    lifecycle_names,
    register,
)

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
    "Registry",
    "State",
    "UnknownEvent",
    "UnknownLifecycle",
    "WorkflowError",
    "add_roles",
    "all_lifecycles",
    "default_registry",
    "get_engine",
    "get_lifecycle",
    "lifecycle_names",
    "register",
]

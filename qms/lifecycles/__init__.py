"""The QMS lifecycles and the roles they require, registered with ``workflows`` on import.

``qms/__init__.py`` imports this package, so anything in ``qms`` finds every
lifecycle through ``workflows.get_lifecycle`` and ``workflows.get_engine``.
Each lifecycle is a module here with ``LIFECYCLE`` (the current version) and,
when its rules changed, ``PREVIOUS_VERSIONS`` (records keep the version they
started under); its docstring explains it in docs/lifecycles.md.
"""

from __future__ import annotations

from importlib import import_module

from workflows import Registry, default_registry

from .roles import EXTERNAL_ROLES, ROLE_LABELS, ROLES

#: every lifecycle, in the order of the reference and the lists
LIFECYCLE_NAMES = (
    "qms_implementation",
    "internal_audit",
    "nonconformity",
    "corrective_action",
    "document",
    "certification",
    "iso_change_review",
    "org_change_review",
    "management_review",
    "complaint",
    "survey",
    "training_session",
    "risk",
    "risk_treatment",
    "context_review",
    "quality_objective",
    "opportunity",
    "change_request",
    "supplier",
    "scar",
    "equipment",
    "oot_assessment",
    "inspection",
)


def register_all(registry: Registry) -> None:
    """Declare the QMS roles and register every version of every QMS lifecycle with ``registry``."""
    registry.add_roles(ROLES)
    registry.add_roles(EXTERNAL_ROLES)
    for name in LIFECYCLE_NAMES:
        module = import_module(f"{__name__}.{name}")
        for lifecycle in (*getattr(module, "PREVIOUS_VERSIONS", ()), module.LIFECYCLE):
            if lifecycle.name != name:
                raise ValueError(f"module {name} defines lifecycle {lifecycle.name}")
            registry.register(lifecycle)


register_all(default_registry)

__all__ = ["LIFECYCLE_NAMES", "ROLES", "ROLE_LABELS", "register_all"]

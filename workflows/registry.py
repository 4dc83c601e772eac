"""Every lifecycle, by name and version.

A record remembers the version it started under; the registry keeps every
version so old records keep following the rules they began with, while new
records start on the latest.
"""

from __future__ import annotations

from importlib import import_module

from .definition import Lifecycle
from .engine import LifecycleEngine, engine_for
from .errors import UnknownLifecycle

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
)

_versions: dict[str, dict[int, Lifecycle]] = {}


def _load() -> dict[str, dict[int, Lifecycle]]:
    if not _versions:
        found: dict[str, dict[int, Lifecycle]] = {}
        for name in LIFECYCLE_NAMES:
            module = import_module(f"{__package__}.lifecycles.{name}")
            versions = [*getattr(module, "PREVIOUS_VERSIONS", ()), module.LIFECYCLE]
            for lc in versions:
                if lc.name != name:
                    raise ValueError(f"module {name} defines lifecycle {lc.name}")
                found.setdefault(name, {})[lc.version] = lc
        _versions.update(found)
    return _versions


def lifecycle_names() -> tuple[str, ...]:
    return LIFECYCLE_NAMES


def get_lifecycle(name: str, version: int | None = None) -> Lifecycle:
    """The named lifecycle, at ``version`` or the latest."""
    versions = _load().get(name)
    if not versions:
        raise UnknownLifecycle(f"no lifecycle named '{name}'")
    if version is None:
        return versions[max(versions)]
    try:
        return versions[version]
    except KeyError:
        raise UnknownLifecycle(f"lifecycle '{name}' has no version {version}") from None


def all_lifecycles() -> list[Lifecycle]:
    """The latest version of every lifecycle, in the documented order."""
    return [get_lifecycle(name) for name in LIFECYCLE_NAMES]


def get_engine(name: str, version: int | None = None) -> LifecycleEngine:
    return engine_for(get_lifecycle(name, version))

"""The roles and lifecycles an application declares, by name and version.

A record remembers the version it started under; a registry keeps every
version so old records keep following the rules they began with, while new
records start on the latest.  The library knows no lifecycle of its own: an
application declares its roles, then registers its lifecycles::

    import workflows
    workflows.add_roles({"clerk", "approver"})
    workflows.register(LIFECYCLE)          # checked against the roles above
    workflows.get_engine("purchase_order").fire(record, "approve", actor)

Those module-level functions work on ``default_registry``; a separate
``Registry()`` keeps its own roles, lifecycles and engines.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from .definition import Lifecycle
from .engine import LifecycleEngine
from .errors import UnknownLifecycle


class Registry:
    """Roles, and every version of every lifecycle, with one shared engine per version."""

    def __init__(self, roles: Iterable[str] = ()) -> None:
        self._roles: frozenset[str] = frozenset()
        self._versions: dict[str, dict[int, Lifecycle]] = {}  # in registration order
        self._engines: dict[tuple[str, int], LifecycleEngine] = {}
        self._lock = threading.Lock()
        self.add_roles(roles)

    @property
    def roles(self) -> frozenset[str]:
        """The role names events may require."""
        return self._roles

    def add_roles(self, roles: Iterable[str]) -> None:
        """Declare role names; a lifecycle may only require declared roles."""
        roles = frozenset(roles)
        bad = sorted(repr(r) for r in roles if not isinstance(r, str) or not r.strip())
        if bad:
            raise ValueError("role names must be non-empty strings, not " + ", ".join(bad))
        with self._lock:
            self._roles |= roles

    def register(self, lifecycle: Lifecycle) -> Lifecycle:
        """Add one version of a lifecycle; its events may only require the registry's roles.

        Registering the same definition again does nothing; another definition
        under a name and version already taken is refused.
        """
        problems = [
            f"event {ev.name}: unknown roles {sorted(ev.roles - self._roles)} (known: {sorted(self._roles)})"
            for ev in lifecycle.events
            if not ev.roles <= self._roles
        ]
        if problems:
            raise ValueError(f"lifecycle {lifecycle.name} v{lifecycle.version}: " + "; ".join(problems))
        with self._lock:
            versions = self._versions.setdefault(lifecycle.name, {})
            known = versions.get(lifecycle.version)
            if known is not None and known is not lifecycle:
                raise ValueError(f"lifecycle {lifecycle.name} v{lifecycle.version} is already registered")
            versions[lifecycle.version] = lifecycle
        return lifecycle

    def lifecycle_names(self) -> tuple[str, ...]:
        """Every registered lifecycle name, in registration order."""
        return tuple(self._versions)

    def get_lifecycle(self, name: str, version: int | None = None) -> Lifecycle:
        """The named lifecycle, at ``version`` or the latest."""
        versions = self._versions.get(name)
        if not versions:
            raise UnknownLifecycle(f"no lifecycle named '{name}'")
        if version is None:
            return versions[max(versions)]
        try:
            return versions[version]
        except KeyError:
            raise UnknownLifecycle(f"lifecycle '{name}' has no version {version}") from None

    def all_lifecycles(self) -> list[Lifecycle]:
        """The latest version of every lifecycle, in registration order."""
        return [self.get_lifecycle(name) for name in self._versions]

    def get_engine(self, name: str, version: int | None = None) -> LifecycleEngine:
        """The one engine (and ``transitions`` machine) of a lifecycle version, built on first use."""
        lifecycle = self.get_lifecycle(name, version)
        key = (lifecycle.name, lifecycle.version)
        found = self._engines.get(key)
        if found is None:
            with self._lock:
                found = self._engines.get(key)
                if found is None:
                    found = self._engines[key] = LifecycleEngine(lifecycle)
        return found


#: the registry behind the module-level functions, filled by the application
default_registry = Registry()

add_roles = default_registry.add_roles
register = default_registry.register
lifecycle_names = default_registry.lifecycle_names
get_lifecycle = default_registry.get_lifecycle
all_lifecycles = default_registry.all_lifecycles
get_engine = default_registry.get_engine

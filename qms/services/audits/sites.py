"""Sites and processes: what the audits are planned for; a process's owner can never audit it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from workflows.errors import InvalidData

from ...database import db
from ...models import RISK_LEVELS, Actor, Process, Site, User
from ..audit_trail import recorded_change
from ..validation import clean_text, require_roles, row_by_id
from ..workflow import as_actor
from .common import PROCESS_STANDARD, _check_clauses, _check_standard

#: who may set up sites and processes
SETUP_ROLES = frozenset({"admin", "manager", "quality_officer"})


def _code(errors: dict[str, str], value: Any) -> str:
    code = clean_text(errors, "code", value, limit=12)
    if code and not code.replace("-", "").isalnum():
        errors["code"] = "may contain only letters, digits and '-'"
    return code.upper()


# --------------------------------------------------------------------------- sites and processes


def create_site(actor: User | Actor, *, name: str, code: str, address: str = "") -> Site:
    actor = as_actor(actor)
    require_roles(actor, SETUP_ROLES, "set up sites")
    errors: dict[str, str] = {}
    name = clean_text(errors, "name", name, limit=120)
    code = _code(errors, code)
    address = clean_text(errors, "address", address, required=False, limit=2000)
    if name and db.session.scalar(select(Site.id).where(func.lower(Site.name) == name.lower())):
        errors["name"] = "another site has this name"
    if code and db.session.scalar(select(Site.id).where(Site.code == code)):
        errors["code"] = "another site has this code"
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"site {code} set up") as session:
        site = Site(name=name, code=code, address=address)
        session.add(site)
    return site


def save_process(
    actor: User | Actor,
    *,
    name: str,
    code: str,
    owner_id: int | None = None,
    site_id: int | None = None,
    risk: str = "medium",
    clause_numbers: Sequence[str] | str = (),
    description: str = "",
    active: bool = True,
    process: Process | None = None,
    standard_identifier: str = PROCESS_STANDARD,
) -> Process:
    """Create a process, or update ``process``; its owner can never audit it."""
    actor = as_actor(actor)
    require_roles(actor, SETUP_ROLES, "set up processes")
    errors: dict[str, str] = {}
    name = clean_text(errors, "name", name, limit=120)
    code = _code(errors, code)
    description = clean_text(errors, "description", description, required=False, limit=5000)
    if risk not in RISK_LEVELS:
        errors["risk"] = "must be one of: " + ", ".join(RISK_LEVELS)
    owner = None
    if owner_id not in (None, ""):
        owner = row_by_id(User, owner_id)
        if owner is None or not owner.active:
            errors["owner_id"] = "must be an active user"
    site = None
    if site_id not in (None, ""):
        site = row_by_id(Site, site_id)
        if site is None:
            errors["site_id"] = "no such site"
    standard = _check_standard(errors, "standard", standard_identifier)
    clauses = _check_clauses(errors, "clause_numbers", standard, clause_numbers)
    this_id = process.id if process is not None else -1
    if name and db.session.scalar(
        select(Process.id).where(func.lower(Process.name) == name.lower(), Process.id != this_id)
    ):
        errors["name"] = "another process has this name"
    if code and db.session.scalar(select(Process.id).where(Process.code == code, Process.id != this_id)):
        errors["code"] = "another process has this code"
    if errors:
        raise InvalidData(errors)
    reason = f"process {code} " + ("updated" if process else "set up")
    with recorded_change(actor, reason) as session:
        if process is None:
            process = Process()
            session.add(process)
        process.name, process.code, process.description = name, code, description
        process.owner_id = owner.id if owner else None
        process.site_id = site.id if site else None
        process.risk, process.clause_numbers, process.active = risk, clauses, bool(active)
    return process

"""Compare two editions of a standard: clauses added, removed, renamed, moved and changed.

Without a mapping set, clauses are matched in three passes: same number and same (normalised)
title; then same title at another number (a move; generic or repeated titles such as "General"
are not matched this way); then same number with another title (a rename). Across a
restructured edition that last pass is only a guess, so pass the mapping set when there is one:
with a mapping, its entries whose relationship is equal, subset, superset or intersect match
clauses, and clauses it does not match are added or removed.

A matched pair is ``moved`` when the number differs (its description says so when the title
changed too), ``renamed`` when it keeps its number but not its title, and also ``changed`` when
the mapping flags a content change. A pair in none of these lists counts as ``unchanged``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from .catalogue import Clause, Standard
from .mappings import MappingSet

__all__ = ["ClauseChange", "ClauseRef", "StandardDiff", "diff_standards", "normalise_title"]


@dataclass(frozen=True)
class ClauseRef:
    """A clause as a change names it: URN, number and title."""

    urn: str
    number: str
    title: str

    @classmethod
    def of(cls, clause: Clause) -> ClauseRef:
        return cls(clause.urn, clause.number, clause.title)

    @property
    def label(self) -> str:
        return f"{self.number} {self.title}" if self.title else self.number


@dataclass(frozen=True)
class ClauseChange:
    """One difference; ``old`` is None for an added clause, ``new`` None for a removed one."""

    kind: str  # added | removed | renamed | moved | changed
    old: ClauseRef | None
    new: ClauseRef | None
    description: str
    relationship: str | None = None  # from the mapping set, when one was used
    note: str = ""


@dataclass(frozen=True)
class StandardDiff:
    """The differences between two standards, each list in document order."""

    old_identifier: str
    new_identifier: str
    added: tuple[ClauseChange, ...]
    removed: tuple[ClauseChange, ...]
    renamed: tuple[ClauseChange, ...]
    moved: tuple[ClauseChange, ...]
    changed: tuple[ClauseChange, ...]
    unchanged: int
    mapped: bool = False  # whether a mapping set decided the matches

    @property
    def changes(self) -> tuple[ClauseChange, ...]:
        """Every change, grouped by kind (added, removed, renamed, moved, changed)."""
        return self.added + self.removed + self.renamed + self.moved + self.changed

    @property
    def is_empty(self) -> bool:
        return not self.changes


def normalise_title(title: str) -> str:
    """Lower case, punctuation dropped, spaces collapsed, British -ise/-isation spelled -ize."""
    words = re.sub(r"[^\w]+", " ", title.casefold()).split()
    return " ".join(re.sub(r"is(e|ed|es|ing|ation|ations|ational)$", r"iz\1", word) for word in words)


def _pairs_by_matching(old: Standard, new: Standard) -> list[tuple[Clause, Clause, str | None, str, bool]]:
    pairs: list[tuple[Clause, Clause, str | None, str, bool]] = []
    used_old: set[str] = set()
    used_new: set[str] = set()
    # 1. same number, same title
    for clause in old.clauses:
        if new.has_clause(clause.number):
            other = new.clause(clause.number)
            if normalise_title(other.title) == normalise_title(clause.title):
                pairs.append((clause, other, None, "", False))
                used_old.add(clause.number)
                used_new.add(other.number)
    # 2. same unique title at another number: a move
    old_left = [c for c in old.clauses if c.number not in used_old and c.title]
    new_left = [c for c in new.clauses if c.number not in used_new and c.title]
    old_count = Counter(normalise_title(c.title) for c in old_left)
    new_by_title: dict[str, list[Clause]] = {}
    for clause in new_left:
        new_by_title.setdefault(normalise_title(clause.title), []).append(clause)
    for clause in old_left:
        key = normalise_title(clause.title)
        candidates = new_by_title.get(key, [])
        if old_count[key] == 1 and len(candidates) == 1:
            pairs.append((clause, candidates[0], None, "", False))
            used_old.add(clause.number)
            used_new.add(candidates[0].number)
    # 3. same number, another title: a rename
    for clause in old.clauses:
        if clause.number not in used_old and new.has_clause(clause.number) and clause.number not in used_new:
            pairs.append((clause, new.clause(clause.number), None, "", False))
            used_old.add(clause.number)
            used_new.add(clause.number)
    return pairs


def diff_standards(old: Standard, new: Standard, mapping: MappingSet | None = None) -> StandardDiff:
    """The differences from ``old`` to ``new``; with ``mapping`` (old → new) its entries decide matches."""
    if mapping is not None:
        if (mapping.source_identifier, mapping.target_identifier) == (new.identifier, old.identifier):
            mapping = mapping.reversed()
        if (mapping.source_identifier, mapping.target_identifier) != (old.identifier, new.identifier):
            raise ValueError(
                f"mapping {mapping.source_identifier} → {mapping.target_identifier} does not relate "
                f"{old.identifier} to {new.identifier}"
            )
        pairs = [
            (old.clause(e.source), new.clause(e.target), e.relationship, e.note, e.changed)
            for e in mapping.entries
            if e.matches
        ]
        added_notes = {e.target: e.note for e in mapping.entries if e.source is None and e.target and e.note}
        removed_notes = {e.source: e.note for e in mapping.entries if e.target is None and e.source and e.note}
    else:
        pairs = _pairs_by_matching(old, new)
        added_notes, removed_notes = {}, {}

    matched_old = {pair[0].number for pair in pairs}
    matched_new = {pair[1].number for pair in pairs}
    order_old = {c.number: i for i, c in enumerate(old.clauses)}
    order_new = {c.number: i for i, c in enumerate(new.clauses)}
    pairs.sort(key=lambda pair: (order_old[pair[0].number], order_new[pair[1].number]))

    added = tuple(
        ClauseChange(
            "added",
            None,
            ClauseRef.of(c),
            f"{_label(c)} is new in {new.label}" + (f": {added_notes[c.number]}" if c.number in added_notes else ""),
            note=added_notes.get(c.number, ""),
        )
        for c in new.clauses
        if c.number not in matched_new
    )
    removed = tuple(
        ClauseChange(
            "removed",
            ClauseRef.of(c),
            None,
            f"{_label(c)} has no counterpart in {new.label}"
            + (f": {removed_notes[c.number]}" if c.number in removed_notes else ""),
            note=removed_notes.get(c.number, ""),
        )
        for c in old.clauses
        if c.number not in matched_old
    )
    renamed: list[ClauseChange] = []
    moved: list[ClauseChange] = []
    changed: list[ClauseChange] = []
    unchanged = 0
    for before, after, relationship, note, content_changed in pairs:
        old_ref, new_ref = ClauseRef.of(before), ClauseRef.of(after)
        same_place = before.number == after.number
        same_title = normalise_title(before.title) == normalise_title(after.title)
        if not same_place:
            how = f" ({relationship})" if relationship and relationship != "equal" else ""
            text = f"{old_ref.label} moved to {after.number}{how}"
            if not same_title:
                text += f" as {after.title or 'an untitled sub-clause'}"
            moved.append(ClauseChange("moved", old_ref, new_ref, text, relationship, note))
        elif not same_title:
            text = f"{before.number} {before.title or '(untitled)'} renamed {after.title or '(untitled)'}"
            renamed.append(ClauseChange("renamed", old_ref, new_ref, text, relationship, note))
        if content_changed:
            text = f"{new_ref.label} changed" + (f": {note}" if note else "")
            changed.append(ClauseChange("changed", old_ref, new_ref, text, relationship, note))
        if same_place and same_title and not content_changed:
            unchanged += 1
    return StandardDiff(
        old_identifier=old.identifier,
        new_identifier=new.identifier,
        added=added,
        removed=removed,
        renamed=tuple(renamed),
        moved=tuple(moved),
        changed=tuple(changed),
        unchanged=unchanged,
        mapped=mapping is not None,
    )


def _label(clause: Clause) -> str:
    return clause.label

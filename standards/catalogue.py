"""Standards as data: frozen dataclasses, a YAML loader and a validator.

A standard is one YAML file (see ``standards/data/iso-9001-2015.yaml`` for the format). Clause
numbers are dotted numeric strings; each clause names its parent, which must be the number with
its last part removed (``null`` for a main clause). Sub-clauses that the standard numbers without
a title are written ``untitled: true`` and loaded with ``title == ""``. Each clause's URN is
derived as ``<standard urn>:clause:<number>``.

Optional top-level keys: ``kind`` (``standard``, ``checklist`` or ``service-standards``),
``description``, ``amends`` (the URN of the edition an amendment modifies) and ``published``
(a year or an ISO date). A clause may carry ``questions``: checklist questions in our own words.
``parse_standard_csv`` reads the same model from CSV (``number,title,parent,question``) and
``dump_standard_yaml`` writes the canonical YAML form.

Only the safe YAML loader is used. Nothing here imports Flask or SQLAlchemy.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "Clause",
    "Standard",
    "StandardError",
    "UnknownClauseError",
    "UnknownStandardError",
    "bundled_standards",
    "dump_standard_yaml",
    "get_standard",
    "load_standard",
    "parse_standard",
    "parse_standard_csv",
    "validate_standard",
]

NUMBER_RE = re.compile(r"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*")
IDENTIFIER_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
URN_RE = re.compile(r"urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:\S*[^\s:]")

#: required top-level keys
STANDARD_KEYS = ("identifier", "title", "edition", "urn", "clauses")
OPTIONAL_STANDARD_KEYS = ("kind", "description", "amends", "published")
CLAUSE_KEYS = ("number", "title", "parent", "untitled", "questions")
KINDS = ("standard", "checklist", "service-standards")
CSV_COLUMNS = ("number", "title", "parent", "question")
MAX_TITLE_LENGTH = 200
MAX_QUESTION_LENGTH = 500
MAX_DESCRIPTION_LENGTH = 2000
PUBLISHED_RE = re.compile(r"[12][0-9]{3}(?:-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12][0-9]|3[01]))?)?")


# --------------------------------------------------------------------------- errors


class StandardError(ValueError):
    """A standard failed validation; ``errors`` lists every problem found."""

    def __init__(self, errors: Sequence[str], source: str | None = None) -> None:
        self.errors = list(errors)
        self.source = source
        head = f"invalid standard {source}" if source else "invalid standard"
        super().__init__(head + ":\n" + "\n".join(f"  - {error}" for error in self.errors))


class _LookupMessage(KeyError):
    # KeyError's str() is the repr of its argument; show the message as written instead.
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownStandardError(_LookupMessage):
    """No bundled standard has this identifier."""


class UnknownClauseError(_LookupMessage):
    """The standard has no clause with this number."""


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Clause:
    """One clause or sub-clause: dotted number, title (``""`` if untitled), parent number, URN."""

    number: str
    title: str
    parent: str | None
    urn: str
    #: checklist questions an auditor asks against this clause, in our own words
    questions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "questions", tuple(self.questions))

    @property
    def untitled(self) -> bool:
        """True for a sub-clause the standard numbers without a title (e.g. 9.2.1)."""
        return not self.title

    @property
    def depth(self) -> int:
        """1 for a main clause, 2 for its sub-clauses, and so on."""
        return self.number.count(".") + 1

    @property
    def label(self) -> str:
        """Number and title for display, e.g. ``"9.2 Internal audit"`` (the number alone if untitled)."""
        return f"{self.number} {self.title}" if self.title else self.number


@dataclass(frozen=True)
class Standard:
    """A standard's identity and its clauses in document order.

    ``kind`` is ``standard`` (an external standard such as ISO 9001), ``checklist`` (an SOP or
    in-house checklist) or ``service-standards`` (service performance standards); ``amends`` is
    the URN of the edition an amendment modifies.
    """

    identifier: str
    title: str
    edition: int
    urn: str
    clauses: tuple[Clause, ...]
    kind: str = "standard"
    description: str = ""
    amends: str | None = None
    published: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "clauses", tuple(self.clauses))
        numbers = [clause.number for clause in self.clauses]
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"{self.identifier}: clause numbers are not unique")
        missing = sorted({c.parent for c in self.clauses if c.parent is not None} - set(numbers))
        if missing:
            raise ValueError(f"{self.identifier}: parent clauses missing: {', '.join(missing)}")

    @functools.cached_property
    def _index(self) -> dict[str, Clause]:
        return {clause.number: clause for clause in self.clauses}

    @functools.cached_property
    def _children(self) -> dict[str | None, tuple[Clause, ...]]:
        children: dict[str | None, list[Clause]] = {}
        for clause in self.clauses:
            children.setdefault(clause.parent, []).append(clause)
        return {parent: tuple(found) for parent, found in children.items()}

    def clause(self, number: str | int) -> Clause:
        """The clause with this number; UnknownClauseError (a KeyError) if there is none."""
        key = str(number)
        try:
            return self._index[key]
        except KeyError:
            raise UnknownClauseError(f"{self.identifier} has no clause {key!r}") from None

    def has_clause(self, number: str | int) -> bool:
        """Whether the standard has a clause with this number."""
        return str(number) in self._index

    def children(self, number: str | int | None = None) -> tuple[Clause, ...]:
        """Direct sub-clauses of ``number`` in document order; the main clauses when ``number`` is None."""
        if number is None:
            return self._children.get(None, ())
        parent = self.clause(number).number
        return self._children.get(parent, ())

    @property
    def label(self) -> str:
        """Title for display, e.g. ``"ISO 9001 Quality management systems — Requirements (2015)"``."""
        return self.title if str(self.edition) in self.title else f"{self.title} ({self.edition})"

    def questions(self) -> list[tuple[Clause, str]]:
        """Every (clause, question) pair in document order, for building an audit checklist."""
        return [(clause, question) for clause in self.clauses for question in clause.questions]


# --------------------------------------------------------------------------- validation


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _clause_number(value: Any) -> str | None:
    """A clause number as a string: strings as written, integers accepted; anything else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _check_title(value: Any, what: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f"{what} must be a non-empty string, not {_kind(value)}"
    if "\n" in value or "\r" in value:
        return f"{what} must be a single line (titles only, never requirement text)"
    if len(value) > MAX_TITLE_LENGTH:
        return f"{what} is longer than {MAX_TITLE_LENGTH} characters (titles only, never requirement text)"
    return None


def _check_question(value: Any, what: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f"{what} must be a non-empty string, not {_kind(value)}"
    if "\n" in value or "\r" in value:
        return f"{what} must be a single line"
    if len(value) > MAX_QUESTION_LENGTH:
        return f"{what} is longer than {MAX_QUESTION_LENGTH} characters (our own words, never requirement text)"
    return None


def _published(value: Any) -> str | None:
    """``published`` as a string (``"2024"``, ``"2024-02"``, ``"2024-02-23"``); None if invalid."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and PUBLISHED_RE.fullmatch(value):
        return value
    return None


def validate_standard(
    data: Any,
    *,
    clause_lines: Sequence[int] | None = None,
    key_lines: Mapping[str, int] | None = None,
    question_lines: Sequence[Sequence[int]] | None = None,
) -> list[str]:
    """Every problem in a standard's data (as read from YAML); an empty list when it is valid.

    ``clause_lines`` gives the YAML line of each entry of ``clauses``, ``key_lines`` the line of
    each top-level key and ``question_lines`` the line of each question of each clause entry;
    when present, messages start with ``line N:``. Each message about a clause names its number.
    """
    if not isinstance(data, Mapping):
        return [f"a standard must be a mapping with the keys {', '.join(STANDARD_KEYS)}, not {_kind(data)}"]

    def at(key: str) -> str:
        line = (key_lines or {}).get(key)
        return f"line {line}: " if line else ""

    allowed = STANDARD_KEYS + OPTIONAL_STANDARD_KEYS
    errors = [f"missing required key {key!r}" for key in STANDARD_KEYS if key not in data]
    errors += [f"{at(key)}unknown key {key!r} (allowed: {', '.join(allowed)})" for key in data if key not in allowed]
    if "identifier" in data:
        identifier = data["identifier"]
        if not isinstance(identifier, str) or not IDENTIFIER_RE.fullmatch(identifier) or len(identifier) > 60:
            errors.append(
                f"{at('identifier')}identifier {identifier!r} must be lowercase letters and digits joined by '-'"
            )
    if "title" in data and (problem := _check_title(data["title"], "title")):
        errors.append(at("title") + problem)
    if "edition" in data:
        edition = data["edition"]
        if not isinstance(edition, int) or isinstance(edition, bool) or edition <= 0:
            errors.append(f"{at('edition')}edition must be a positive integer such as 2015, not {edition!r}")
    for key in ("urn", "amends"):
        if key in data and (key == "urn" or data[key] is not None):
            urn = data[key]
            if not isinstance(urn, str) or not URN_RE.fullmatch(urn) or len(urn) > 160:
                errors.append(f"{at(key)}{key} {urn!r} must look like 'urn:iso:std:9001:2015'")
    if data.get("amends") is not None and data.get("amends") == data.get("urn"):
        errors.append(f"{at('amends')}amends must name another edition, not this standard's own urn")
    if "kind" in data and data["kind"] not in KINDS:
        errors.append(f"{at('kind')}kind {data['kind']!r} must be one of: {', '.join(KINDS)}")
    if "description" in data:
        description = data["description"]
        if not isinstance(description, str):
            errors.append(f"{at('description')}description must be a string, not {_kind(description)}")
        elif len(description) > MAX_DESCRIPTION_LENGTH:
            errors.append(f"{at('description')}description is longer than {MAX_DESCRIPTION_LENGTH} characters")
    if "published" in data and data["published"] is not None and _published(data["published"]) is None:
        errors.append(
            f"{at('published')}published {data['published']!r} must be a year or a date such as 2024 or 2024-02-23"
        )
    if "clauses" in data:
        clauses = data["clauses"]
        if not isinstance(clauses, list) or not clauses:
            errors.append(
                f"{at('clauses')}clauses must be a non-empty list, not {_kind(clauses) if clauses else 'empty'}"
            )
        else:
            errors += _validate_clauses(clauses, clause_lines, question_lines)
    return errors


def _validate_clauses(
    clauses: list[Any], lines: Sequence[int] | None, question_lines: Sequence[Sequence[int]] | None = None
) -> list[str]:
    errors: list[str] = []

    def where(index: int, number: str | None) -> str:
        name = f"clause {number}" if number else f"clause entry #{index + 1}"
        if lines is not None and index < len(lines):
            return f"line {lines[index]}: {name}"
        return name

    def position(index: int) -> str:
        if lines is not None and index < len(lines):
            return f"line {lines[index]}"
        return f"entry #{index + 1}"

    first_at: dict[str, int] = {}  # number -> index of its first entry
    parent_of: dict[str, tuple[int, str | None]] = {}  # number -> (index, parent) for well-formed entries
    for index, entry in enumerate(clauses):
        if not isinstance(entry, Mapping):
            errors.append(f"{where(index, None)}: must be a mapping with 'number', 'title' and 'parent'")
            continue
        raw_number = entry.get("number")
        number = _clause_number(raw_number)
        label = number if number is not None else (None if raw_number is None else str(raw_number))
        at = where(index, label)
        errors += [
            f"{at}: unknown key {key!r} (allowed: {', '.join(CLAUSE_KEYS)})" for key in entry if key not in CLAUSE_KEYS
        ]

        well_formed = False
        if "number" not in entry:
            errors.append(f"{at}: missing required key 'number'")
        elif number is None:
            hint = " (write it quoted: YAML reads 10.10 as the float 10.1)" if isinstance(raw_number, float) else ""
            errors.append(f"{at}: number must be a quoted string such as '7.1.5', not {_kind(raw_number)}{hint}")
        elif not NUMBER_RE.fullmatch(number):
            errors.append(f"{at}: number {number!r} is not a dotted numeric clause number such as '7.1.5'")
        elif number in first_at:
            errors.append(f"{at}: duplicate clause number (first defined at {position(first_at[number])})")
        else:
            first_at[number] = index
            well_formed = True

        untitled = entry.get("untitled", False)
        if not isinstance(untitled, bool):
            errors.append(f"{at}: untitled must be true or false, not {untitled!r}")
        elif untitled:
            if entry.get("title") not in (None, ""):
                errors.append(f"{at}: marked untitled but has a title")
        elif "title" not in entry:
            errors.append(f"{at}: missing title (write 'untitled: true' for a sub-clause without one)")
        elif problem := _check_title(entry["title"], "title"):
            errors.append(f"{at}: {problem}")

        if "questions" in entry:
            errors += _question_errors(entry["questions"], at, index, lines, question_lines)

        if "parent" not in entry:
            errors.append(f"{at}: missing required key 'parent' (null for a main clause)")
            continue
        raw_parent = entry["parent"]
        parent = _clause_number(raw_parent)
        if raw_parent is not None and (parent is None or not NUMBER_RE.fullmatch(parent)):
            errors.append(f"{at}: parent {raw_parent!r} is not a dotted numeric clause number")
            continue
        if well_formed:
            parent_of[number] = (index, parent)

    for number, (index, parent) in parent_of.items():
        at = where(index, number)
        expected = number.rpartition(".")[0] or None
        if parent is None:
            if expected is not None:
                errors.append(f"{at}: parent is null but {number} is a sub-clause (expected parent {expected!r})")
            continue
        if parent == number:
            errors.append(
                f"{at}: is its own parent (expected {expected!r})" if expected else f"{at}: is its own parent"
            )
            continue
        if parent not in first_at:
            errors.append(f"{at}: parent {parent!r} does not exist")
        if expected is None:
            errors.append(f"{at}: a main clause must have parent null, not {parent!r}")
        elif not number.startswith(parent + "."):
            errors.append(f"{at}: parent {parent!r} is not a prefix of the clause number (expected {expected!r})")
        elif parent != expected:
            errors.append(f"{at}: parent {parent!r} is not the immediate parent (expected {expected!r})")

    errors += _cycle_errors(parent_of, where)
    return errors


def _question_errors(
    questions: Any,
    at: str,
    index: int,
    lines: Sequence[int] | None,
    question_lines: Sequence[Sequence[int]] | None,
) -> list[str]:
    if not isinstance(questions, list):
        return [f"{at}: questions must be a list of strings, not {_kind(questions)}"]
    found: list[str] = []
    seen: set[str] = set()
    own_lines = question_lines[index] if question_lines is not None and index < len(question_lines) else ()
    for position, question in enumerate(questions):
        where = at
        if position < len(own_lines) and lines is not None:
            # name the question's own line, not the clause's
            where = re.sub(r"^line \d+:", f"line {own_lines[position]}:", at)
        if problem := _check_question(question, f"questions[{position + 1}]"):
            found.append(f"{where}: {problem}")
        elif question.strip() in seen:
            found.append(f"{where}: questions[{position + 1}] repeats an earlier question of this clause")
        else:
            seen.add(question.strip())
    return found


def _cycle_errors(
    parent_of: Mapping[str, tuple[int, str | None]], where: Callable[[int, str | None], str]
) -> list[str]:
    """One message per cycle in the parent links, named by the cycle's first clause in the file."""
    errors: list[str] = []
    done: set[str] = set()
    for start in parent_of:
        path: list[str] = []
        seen: set[str] = set()
        current: str | None = start
        while current is not None and current in parent_of and current not in done and current not in seen:
            seen.add(current)
            path.append(current)
            current = parent_of[current][1]
        if current is not None and current in seen and parent_of[current][1] != current:  # self-parent: reported
            cycle = path[path.index(current) :]
            first = min(cycle, key=lambda number: parent_of[number][0])
            loop = cycle[cycle.index(first) :] + cycle[: cycle.index(first)] + [first]
            errors.append(f"{where(parent_of[first][0], first)}: parent links form a cycle: {' → '.join(loop)}")
        done.update(path)
    return errors


# --------------------------------------------------------------------------- YAML


class _NoAliasLoader(yaml.SafeLoader):
    """The safe loader without aliases: no standard or mapping needs one, and aliases of aliases
    make a few hundred bytes a list of billions of items (a "billion laughs") for whatever reads
    or prints it next, as the validation's messages do."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"aliases (*{event.anchor}) are not allowed: write the value out", event.start_mark
            )
        return super().compose_node(parent, index)


def _compose(text: str, source: str | None) -> tuple[Any, yaml.Node | None]:
    """Data and node tree of one YAML document, with the safe loader (aliases refused).

    Everything the reader refuses (control characters, bad encoding, nesting deeper than
    Python's stack, aliases) becomes a StandardError naming the line, never another exception.
    """
    try:
        loader = _NoAliasLoader(text)
    except yaml.YAMLError as exc:
        raise StandardError([_reader_problem(text, exc)], source) from exc
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        raise StandardError([f"{where}invalid YAML: {problem}"], source) from exc
    except yaml.YAMLError as exc:
        raise StandardError([_reader_problem(text, exc)], source) from exc
    except RecursionError as exc:
        raise StandardError(["invalid YAML: nested too deeply"], source) from exc
    finally:
        if "loader" in locals():
            loader.dispose()
    return data, node


def _reader_problem(text: str, exc: yaml.YAMLError) -> str:
    position = getattr(exc, "position", None)
    where = f"line {text[:position].count(chr(10)) + 1}: " if isinstance(position, int) else ""
    return f"{where}invalid YAML: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"


def _mapping_value(node: yaml.Node, key: str) -> yaml.Node | None:
    """The value node of ``key`` (the last one if repeated, as the constructor keeps the last)."""
    found = None
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                found = value_node
    return found


def _duplicate_keys(node: yaml.Node) -> list[tuple[int, str]]:
    """(line, key) of every key repeated within one mapping (PyYAML silently keeps the last)."""
    found: list[tuple[int, str]] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    found.append((key_node.start_mark.line + 1, key_node.value))
                seen.add(key_node.value)
    return found


def _line_of(message: str) -> int:
    match = re.match(r"line (\d+)[:,]", message)
    return int(match.group(1)) if match else 0


def parse_standard(text: str, *, source: str | None = None) -> Standard:
    """Build a Standard from YAML text; StandardError lists every problem, with line numbers."""
    data, node = _compose(text, source)
    errors: list[str] = []
    clauses_node = None
    key_lines: dict[str, int] = {}
    if node is not None:
        errors += [f"line {line}: duplicate key {key!r}" for line, key in _duplicate_keys(node)]
        clauses_node = _mapping_value(node, "clauses")
        if isinstance(node, yaml.MappingNode):
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    key_lines.setdefault(key_node.value, key_node.start_mark.line + 1)
    clause_lines: list[int] | None = None
    question_lines: list[list[int]] | None = None
    if isinstance(clauses_node, yaml.SequenceNode):
        clause_lines = [item.start_mark.line + 1 for item in clauses_node.value]
        question_lines = []
        entries = data.get("clauses") if isinstance(data, Mapping) else None
        for item, entry in zip(clauses_node.value, entries or (), strict=False):
            number = entry.get("number") if isinstance(entry, Mapping) else None
            name = f"clause {number}" if number is not None else "clause entry"
            errors += [f"line {line}: {name}: duplicate key {key!r}" for line, key in _duplicate_keys(item)]
            questions_node = _mapping_value(item, "questions")
            question_lines.append(
                [q.start_mark.line + 1 for q in questions_node.value]
                if isinstance(questions_node, yaml.SequenceNode)
                else []
            )
    errors += validate_standard(data, clause_lines=clause_lines, key_lines=key_lines, question_lines=question_lines)
    if errors:
        raise StandardError(sorted(errors, key=_line_of), source)
    return _build(data)


def _build(data: Mapping[str, Any]) -> Standard:
    """A Standard from data that ``validate_standard`` found valid."""
    urn = data["urn"]
    clauses = []
    for entry in data["clauses"]:
        number = _clause_number(entry["number"])
        parent = _clause_number(entry["parent"])
        questions = tuple(question.strip() for question in entry.get("questions") or ())
        clauses.append(
            Clause(
                number=number,
                title=entry.get("title") or "",
                parent=parent,
                urn=f"{urn}:clause:{number}",
                questions=questions,
            )
        )
    published = data.get("published")
    return Standard(
        identifier=data["identifier"],
        title=data["title"],
        edition=data["edition"],
        urn=urn,
        clauses=tuple(clauses),
        kind=data.get("kind") or "standard",
        description=(data.get("description") or "").strip(),
        amends=data.get("amends"),
        published=_published(published) if published is not None else None,
    )


def dump_standard_yaml(standard: Standard) -> str:
    """The canonical YAML form of a standard; ``parse_standard`` reads it back to an equal Standard."""
    head: dict[str, Any] = {
        "identifier": standard.identifier,
        "title": standard.title,
        "edition": standard.edition,
        "urn": standard.urn,
    }
    if standard.kind != "standard":
        head["kind"] = standard.kind
    if standard.description:
        head["description"] = standard.description
    if standard.amends:
        head["amends"] = standard.amends
    if standard.published:
        head["published"] = standard.published
    clauses: list[dict[str, Any]] = []
    for clause in standard.clauses:
        entry: dict[str, Any] = {"number": clause.number, "parent": clause.parent}
        if clause.title:
            entry["title"] = clause.title
        else:
            entry["untitled"] = True
        if clause.questions:
            entry["questions"] = list(clause.questions)
        clauses.append(entry)
    dump = functools.partial(yaml.safe_dump, sort_keys=False, allow_unicode=True, width=1000)
    return dump(head) + dump({"clauses": clauses})


# --------------------------------------------------------------------------- CSV


def parse_standard_csv(
    text: str,
    *,
    identifier: str,
    title: str,
    edition: int,
    urn: str,
    kind: str = "checklist",
    description: str = "",
    source: str | None = None,
) -> Standard:
    """Build a Standard from CSV with the header ``number,title,parent,question``.

    ``parent`` may be blank (derived from the number); a clause may repeat on several rows to
    carry several questions, its title given on its first row. StandardError lists every
    problem as ``line N, column 'name': ...``.
    """
    errors: list[str] = []
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise StandardError([f"line 1: invalid CSV: {exc}"], source) from exc
    if header is None or not any(cell.strip() for cell in header):
        raise StandardError(["line 1: missing header row (expected: " + ",".join(CSV_COLUMNS) + ")"], source)
    columns = [cell.strip().lower() for cell in header]
    for name in columns:
        if name not in CSV_COLUMNS:
            errors.append(f"line 1, column {name!r}: unknown column (allowed: {', '.join(CSV_COLUMNS)})")
    errors += [
        f"line 1, column {name!r}: repeated column" for i, name in enumerate(columns) if name in columns[:i] and name
    ]
    errors += [f"line 1: missing required column {name!r}" for name in ("number", "title") if name not in columns]
    if errors:
        raise StandardError(errors, source)

    entries: dict[str, dict[str, Any]] = {}  # number -> clause entry, in order of first appearance
    first_line: dict[str, int] = {}
    previous_end = reader.line_num
    try:
        for row in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(columns):
                errors.append(f"line {line}: {len(row)} cells but the header names {len(columns)} columns")
                continue
            cells = dict(zip(columns, (cell.strip() for cell in row), strict=False))
            errors += _csv_row(cells, line, entries, first_line)
    except csv.Error as exc:
        errors.append(f"line {reader.line_num}: invalid CSV: {exc}")
    if not entries and not errors:
        errors.append("line 2: no clause rows after the header")
    for number, entry in entries.items():
        parent = entry["parent"]
        if parent is not None and parent not in entries:
            errors.append(
                f"line {first_line[number]}, column 'parent': clause {number}: parent {parent!r} has no row "
                "(add a row for it)"
            )
    data: dict[str, Any] = {
        "identifier": identifier,
        "title": title,
        "edition": edition,
        "urn": urn,
        "kind": kind,
        "description": description,
        "clauses": list(entries.values()),
    }
    if not errors:
        errors += validate_standard(data, clause_lines=[first_line[n] for n in entries])
    if errors:
        raise StandardError(sorted(errors, key=_line_of), source)
    return _build(data)


def _csv_row(
    cells: Mapping[str, str], line: int, entries: dict[str, dict[str, Any]], first: dict[str, int]
) -> list[str]:
    """Fold one CSV row into ``entries``; the problems of the row, each naming line and column."""

    def at(column: str) -> str:
        return f"line {line}, column {column!r}"

    number = cells.get("number", "")
    row_title = cells.get("title", "")
    parent = cells.get("parent", "")
    question = cells.get("question", "")
    if not number:
        return [f"{at('number')}: a clause number is required"]
    if not NUMBER_RE.fullmatch(number):
        return [f"{at('number')}: {number!r} is not a dotted numeric clause number such as '7.1.5'"]
    errors: list[str] = []
    expected = number.rpartition(".")[0] or None
    if parent and parent != expected:
        expectation = f"expected {expected!r} or blank" if expected else "a main clause has no parent: leave it blank"
        errors.append(f"{at('parent')}: {parent!r} is not the parent of clause {number} ({expectation})")
    entry = entries.get(number)
    if entry is None:
        if not row_title:
            errors.append(f"{at('title')}: clause {number} needs a title on its first row")
        elif problem := _check_title(row_title, "title"):
            errors.append(f"{at('title')}: {problem}")
        entry = {"number": number, "title": row_title, "parent": expected, "questions": []}
        entries[number] = entry
        first[number] = line
    elif row_title and row_title != entry["title"]:
        errors.append(
            f"{at('title')}: clause {number} already has the title {entry['title']!r} (line {first[number]}); "
            "leave the title blank on its further rows"
        )
    if question:
        if problem := _check_question(question, "question"):
            errors.append(f"{at('question')}: {problem}")
        elif question in entry["questions"]:
            errors.append(f"{at('question')}: clause {number} already has this question")
        else:
            entry["questions"].append(question)
    return errors


# --------------------------------------------------------------------------- loading


def _data_dir() -> Traversable:
    return resources.files(__package__ or "standards") / "data"


def _bundled_identifiers() -> list[str]:
    names = (entry.name for entry in _data_dir().iterdir() if entry.is_file())
    return sorted(name.removesuffix(".yaml") for name in names if name.endswith(".yaml"))


def _load_bundled(identifier: str) -> Standard:
    resource = _data_dir() / f"{identifier}.yaml"
    if not IDENTIFIER_RE.fullmatch(identifier) or not resource.is_file():
        bundled = ", ".join(_bundled_identifiers()) or "none"
        raise UnknownStandardError(f"no bundled standard {identifier!r} (bundled: {bundled})")
    source = f"standards/data/{identifier}.yaml"
    standard = parse_standard(resource.read_text(encoding="utf-8"), source=source)
    if standard.identifier != identifier:
        raise StandardError([f"identifier {standard.identifier!r} does not match the file name"], source)
    return standard


def load_standard(path_or_identifier: str | os.PathLike[str]) -> Standard:
    """Load a standard from a YAML file, or a bundled one by identifier (e.g. ``"iso-9001-2015"``).

    A string that is a valid identifier (lowercase words joined by "-", no dot or slash) names a
    bundled standard; anything else is a path. Raises StandardError if the data is invalid.
    """
    if isinstance(path_or_identifier, str) and IDENTIFIER_RE.fullmatch(path_or_identifier):
        return _load_bundled(path_or_identifier)
    path = Path(path_or_identifier)
    return parse_standard(path.read_text(encoding="utf-8"), source=str(path))


@functools.cache
def get_standard(identifier: str) -> Standard:
    """The bundled standard with this identifier, loaded once; UnknownStandardError if none."""
    return _load_bundled(identifier)


def bundled_standards() -> list[Standard]:
    """Every standard shipped in ``standards/data``, sorted by identifier."""
    return [get_standard(identifier) for identifier in _bundled_identifiers()]

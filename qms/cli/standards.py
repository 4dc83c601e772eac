"""``qms standards``: list, show, import and compare standards (bundled and imported)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from standards import StandardDiff, StandardError, UnknownStandardError


@click.group("standards")
def standards_group() -> None:
    """Standards and checklists: list, show, import (YAML or CSV) and compare editions."""


@standards_group.command("list")
@with_appcontext
def standards_list() -> None:
    """List every standard: identifier, kind, clauses, questions, origin and title."""
    from ..services.standards import all_standards, is_bundled

    for standard in all_standards():
        origin = "bundled" if is_bundled(standard.identifier) else "imported"
        click.echo(
            f"{standard.identifier}\t{standard.kind}\t{len(standard.clauses)} clauses\t"
            f"{len(standard.questions())} questions\t{origin}\t{standard.label}"
        )


@standards_group.command("show")
@click.argument("identifier")
@click.option("--questions/--no-questions", default=True, show_default=True, help="Print checklist questions.")
@with_appcontext
def standards_show(identifier: str, questions: bool) -> None:
    """Print a standard's identity and its clauses as an indented outline."""
    from ..services.standards import find_standard

    try:
        standard = find_standard(identifier)
    except UnknownStandardError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{standard.label}\n{standard.urn}\nkind: {standard.kind}")
    if standard.amends:
        click.echo(f"amends: {standard.amends}")
    if standard.description:
        click.echo(standard.description)
    click.echo("")
    for clause in standard.clauses:
        indent = "  " * (clause.depth - 1)
        click.echo(f"{indent}{clause.label}")
        if questions:
            for question in clause.questions:
                click.echo(f"{indent}  ? {question}")


@standards_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["yaml", "csv"]),
    help="File format (default: from the file name's extension; .csv is CSV, anything else YAML).",
)
@click.option("--identifier", help="Identifier for a CSV import (lowercase words joined by '-').")
@click.option("--title", help="Title for a CSV import.")
@click.option("--edition", type=int, help="Edition year for a CSV import (default: this year).")
@click.option("--urn", help="URN for a CSV import (default: urn:qmsflow:org:<identifier>:<edition>).")
@click.option("--replace", is_flag=True, help="Replace an imported standard with the same identifier.")
@with_appcontext
def standards_import(
    path: Path,
    fmt: str | None,
    identifier: str | None,
    title: str | None,
    edition: int | None,
    urn: str | None,
    replace: bool,
) -> None:
    """Import a standard or SOP checklist; a file with any error is refused as a whole."""
    from ..services.standards import import_standard

    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "yaml")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        row = import_standard(
            text,
            fmt,  # type: ignore[arg-type]
            None,
            identifier=identifier,
            title=title,
            edition=edition,
            urn=urn,
            replace=replace,
            source=str(path),
        )
    except StandardError as exc:
        click.echo(f"{path}: not imported, {len(exc.errors)} error(s):", err=True)
        for error in exc.errors:
            click.echo(f"{path}: {error}", err=True)
        sys.exit(1)
    click.echo(f"Imported {row.identifier} ({row.title}, {row.urn}) from {path}")


def _print_diff(diff: StandardDiff) -> None:
    basis = "mapping set" if diff.mapped else "clause numbers and titles (no mapping set)"
    click.echo(f"{diff.old_identifier} → {diff.new_identifier} (matched by {basis})")
    for name in ("added", "removed", "renamed", "moved", "changed"):
        changes = getattr(diff, name)
        click.echo(f"{name}: {len(changes)}")
        for change in changes:
            note = f" — {change.note}" if change.note and change.note not in change.description else ""
            click.echo(f"  {change.description}{note}")
    click.echo(f"unchanged: {diff.unchanged}")


@standards_group.command("diff")
@click.argument("old")
@click.argument("new")
@with_appcontext
def standards_diff(old: str, new: str) -> None:
    """Compare two editions: clauses added, removed, renamed, moved and changed."""
    from ..services.standards import diff_editions

    try:
        diff = diff_editions(old, new)
    except UnknownStandardError as exc:
        raise click.ClickException(str(exc)) from None
    _print_diff(diff)


@standards_group.command("import-mapping")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["yaml", "csv"]),
    help="File format (default: from the file name's extension; .csv is CSV, anything else YAML).",
)
@click.option("--source", "source_identifier", help="The source standard's identifier (required for CSV).")
@click.option("--target", "target_identifier", help="The target standard's identifier (required for CSV).")
@click.option("--description", default="", help="What the set is (for CSV; YAML carries its own).")
@click.option("--replace", is_flag=True, help="Replace an imported mapping set between the same standards.")
@with_appcontext
def standards_import_mapping(
    path: Path,
    fmt: str | None,
    source_identifier: str | None,
    target_identifier: str | None,
    description: str,
    replace: bool,
) -> None:
    """Import a mapping set between two editions; it replaces the bundled one. A file with any error is refused."""
    from ..services.standards import MAX_MAPPING_BYTES, import_mapping

    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "yaml")
    if path.stat().st_size > MAX_MAPPING_BYTES:
        raise click.ClickException(f"{path}: larger than {MAX_MAPPING_BYTES // 1_000_000} MB")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        row = import_mapping(
            text,
            fmt,  # type: ignore[arg-type]
            None,
            source_identifier=source_identifier,
            target_identifier=target_identifier,
            description=description,
            replace=replace,
            source=str(path),
        )
    except StandardError as exc:
        click.echo(f"{path}: not imported, {len(exc.errors)} error(s):", err=True)
        for error in exc.errors:
            click.echo(f"{path}: {error}", err=True)
        sys.exit(1)
    click.echo(
        f"Imported the mapping set {row.source_identifier} → {row.target_identifier} "
        f"({row.entry_count} entries) from {path}"
    )


@standards_group.command("editions")
@with_appcontext
def standards_editions() -> None:
    """List every edition's status and transition dates (an admin edits them on the standards page)."""
    from ..services.standards import all_editions

    for edition in sorted(all_editions().values(), key=lambda e: e.identifier):
        click.echo(
            f"{edition.identifier}\t{edition.status}\tpublished {edition.published_on or '-'}\t"
            f"replaces {edition.replaces or '-'}\tcut-over {edition.cutover_on or '-'}\t"
            f"transition ends {edition.transition_ends_on or '-'}"
        )

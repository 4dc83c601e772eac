"""``workflows`` stands alone: with only ``transitions`` (and its own requirements) importable.

A fresh interpreter runs with ``-I -S`` (no site-packages, no environment, no
current directory on the path) and a path holding nothing but a copy of
``workflows/`` and of the installed ``transitions`` distribution, so neither
Flask, SQLAlchemy nor ``qms`` can be imported there.  No network is needed.
The test takes no ``app``, so it runs once, not once per database.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[1])

    for name in ("flask", "sqlalchemy", "qms"):
        try:
            __import__(name)
        except ImportError:
            pass
        else:
            raise SystemExit(f"{name} should not be importable here")

    from types import SimpleNamespace

    import workflows
    from workflows import Event, Field, Guard, Lifecycle, State
    from workflows.diagram import mermaid
    from workflows.reference import lifecycle_markdown
    from workflows.svg import render_svg

    assert workflows.lifecycle_names() == (), "the library registers no lifecycle of its own"


    def dry(ctx):
        return None if ctx.fact("dry") else "The paint is still wet"


    DOOR = Lifecycle(
        name="door",
        version=1,
        label="Door",
        description="A door gets painted once.",
        initial="bare",
        states=(State("bare", "Bare"), State("painted", "Painted", terminal=True)),
        events=(
            Event(
                "paint",
                "Paint",
                ("bare",),
                "painted",
                frozenset({"painter"}),
                guards=(Guard("dry", dry, "The paint is dry"),),
                fields=(Field("colour", "Colour", "choice", choices=("red", "blue")),),
            ),
        ),
    )

    try:
        workflows.register(DOOR)
    except ValueError as exc:
        assert "unknown roles ['painter']" in str(exc), exc
    else:
        raise SystemExit("a lifecycle with an undeclared role was registered")
    workflows.add_roles({"painter", "visitor"})
    workflows.register(DOOR)
    assert workflows.lifecycle_names() == ("door",)

    engine = workflows.get_engine("door")
    painter = SimpleNamespace(id=1, roles=frozenset({"painter"}))
    visitor = SimpleNamespace(id=2, roles=frozenset({"visitor"}))
    door = SimpleNamespace(state="bare", dry=False)

    [paint] = engine.available_events(door, painter)
    assert (paint.allowed, paint.reason, paint.blocked_by) == (False, "The paint is still wet", "dry"), paint
    try:
        engine.fire(door, "paint", painter, {"colour": "red"})
    except workflows.GuardFailed as exc:
        assert (exc.reason, exc.guard) == ("The paint is still wet", "dry"), exc
    else:
        raise SystemExit("the guard did not block")
    try:
        engine.fire(door, "paint", visitor, {"colour": "red"})
    except workflows.NotPermitted as exc:
        assert exc.message == "Requires the role painter to paint", exc.message
    else:
        raise SystemExit("a visitor painted the door")
    try:
        engine.fire(door, "paint", painter, {"colour": "green"}, {"dry": True})
    except workflows.InvalidData as exc:
        assert exc.errors == {"colour": "must be one of: red, blue"}, exc.errors
    else:
        raise SystemExit("a colour outside the choices was accepted")
    assert door.state == "bare"

    result = engine.fire(door, "paint", painter, {"colour": "red"}, {"dry": True})
    assert (door.state, result.source, result.dest, result.data) == ("painted", "bare", "painted", {"colour": "red"})
    assert "bare --> painted: Paint" in mermaid(DOOR)
    assert lifecycle_markdown(DOOR).startswith("## Door (`door`, v1)")
    assert '<g class="lc-state lc-terminal lc-visited lc-current">' in render_svg(
        DOOR, current="painted", taken=[("bare", "painted")]
    )

    leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("flask", "sqlalchemy", "qms"))
    assert not leaked, leaked
    print("standalone ok")
    """
)


def _copy_distribution(name: str, target: Path, seen: set[str]) -> None:
    """Copy an installed distribution's files, and those of its (non-extra) requirements, into ``target``."""
    key = name.lower().replace("_", "-")
    if key in seen:
        return
    seen.add(key)
    dist = metadata.distribution(name)
    for file in dist.files or ():
        if file.parts[0] == ".." or "__pycache__" in file.parts:
            continue  # scripts outside site-packages, bytecode
        destination = target / file
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dist.locate_file(file), destination)
    for requirement in dist.requires or ():
        if not re.search(r";.*\bextra\s*==", requirement):  # optional extras are not needed
            _copy_distribution(re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0], target, seen)


def test_workflows_runs_with_only_transitions_installed(tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(ROOT / "workflows", site / "workflows", ignore=shutil.ignore_patterns("__pycache__"))
    copied: set[str] = set()
    _copy_distribution("transitions", site, copied)
    assert "transitions" in copied
    script = tmp_path / "standalone.py"
    script.write_text(SCRIPT, encoding="utf-8")

    result = subprocess.run(
        [sys.executable, "-I", "-S", str(script), str(site)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "standalone ok"

"""The committed lifecycle reference matches the definitions."""

from pathlib import Path

from qms.lifecycles import LIFECYCLE_NAMES
from qms.lifecycles.reference import markdown_reference

ROOT = Path(__file__).resolve().parents[2]


def test_docs_lifecycles_md_is_current():
    committed = (ROOT / "docs" / "lifecycles.md").read_text(encoding="utf-8")
    assert committed == markdown_reference(), "run: qms lifecycle docs -o docs/lifecycles.md"


def test_reference_has_a_diagram_per_lifecycle():
    text = markdown_reference()
    assert text.count("```mermaid") == len(LIFECYCLE_NAMES)
    assert "title: Nonconformity (v1)" in text

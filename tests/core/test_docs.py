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


def test_deploying_guide_carries_the_measured_nginx_configuration():
    """The production guide's nginx block is deploy/nginx.conf, the file `make bench-topology` measures."""
    from tests.core.test_topology_benchmark import topology

    guide = (ROOT / "docs" / "deploying.md").read_text(encoding="utf-8")
    block = guide.split("```nginx\n", 1)[1].split("```", 1)[0]
    assert block == topology.render_site(topology.PRODUCTION_SITE), "copy deploy/nginx.conf into docs/deploying.md"

"""axe-core (vendored from its npm package, injected by Playwright) over the main page of every area.

The demo organisation is loaded (conftest's ``demo``: seeded once per test worker) so that
registers, dashboards and record pages hold what a visitor sees; every page must be free of
serious and critical violations (WCAG 2.1 A/AA rules and axe's best practices). The axe script
is injected into the page under test, so the context bypasses the site's Content-Security-Policy
for that script only; the pages themselves are served exactly as in production.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from qms.database import db
from qms.demo import DEMO_PASSWORD
from qms.models import (
    Audit,
    Certification,
    Complaint,
    ContextReview,
    CorrectiveAction,
    Document,
    ImplementationItem,
    ManagementReview,
    Nonconformity,
    Risk,
    Survey,
)

from ..browser import DESKTOP, browser_context, live_server, sign_in  # noqa: F401  (live_server is a fixture)

pytestmark = pytest.mark.parametrize("app", ["sqlite"], indirect=True)
AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js"
#: the main page of every area, and one record page of every kind (its id filled in from the demo data),
#: in three groups: each is a test of its own, so that the test workers share them out (each test signs
#: in once, which costs about as much as checking a page)
GROUPS: dict[str, list[str | tuple[type, str]]] = {
    "home-nonconformities-documents": [
        "/",
        "/my-work",
        "/account/",
        "/standards",
        "/lifecycles",
        "/lifecycles/nonconformity",
        "/nonconformities",
        "/nonconformities/new",
        (Nonconformity, "/nonconformities/{}"),
        (CorrectiveAction, "/corrective-actions/{}"),
        "/documents",
        (Document, "/documents/{}"),
    ],
    "audits-customers-certifications": [
        "/audits",
        "/audits/calendar",
        "/audits/coverage",
        "/programmes",
        (Audit, "/audits/{}"),
        "/complaints",
        (Complaint, "/complaints/{}"),
        "/surveys",
        (Survey, "/surveys/{}"),
        "/certifications",
        (Certification, "/certifications/{}"),
    ],
    "reviews-risks-context": [
        "/readiness",
        "/reviews",
        (ManagementReview, "/reviews/management/{}"),
        "/implementation",
        (ImplementationItem, "/implementation/{}"),
        "/risks",
        "/risks/heat-map",
        (Risk, "/risks/{}"),
        "/context",
        "/context/parties",
        (ContextReview, "/context/reviews/{}"),
    ],
}
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map(n => n.target.join(" ")).join("; ")}`);
}"""


@pytest.mark.parametrize("group", list(GROUPS))
def test_the_main_pages_have_no_serious_accessibility_violations(demo, live_server, group):  # noqa: F811
    paths = []
    with demo.app_context():
        for page in GROUPS[group]:
            if isinstance(page, str):
                paths.append(page)
                continue
            model, url = page
            first = db.session.scalar(select(model.id).order_by(model.id).limit(1))
            assert first is not None, f"the demo has no {model.__name__}"
            paths.append(url.format(first))

    found: dict[str, list[str]] = {}
    with browser_context(viewport=DESKTOP, bypass_csp=True) as (_, page):
        sign_in(page, live_server, "quality@example.com", DEMO_PASSWORD)
        for path in paths:
            response = page.goto(live_server + path)
            assert response is not None and response.ok, f"{path} answered {response and response.status}"
            page.add_script_tag(path=str(AXE))
            violations = page.evaluate(RUN_AXE)
            if violations:
                found[path] = violations

    assert not found, "\n".join(f"{path}: {v}" for path, vs in found.items() for v in vs)

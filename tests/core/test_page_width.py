"""Every kind of page of the demo fits the screen: no sideways scrolling of the whole page on a phone
(390 px) or on a desktop (1280 px).

The quality officer (who reaches the most pages) follows the links from the dashboard and opens one
page of each kind (its address with the numbers taken out) on each viewport. A wide table
may scroll inside its own box; the page itself must not be wider than the screen. A page that is
names the elements sticking out past the right edge, outside any box that scrolls.
"""

from __future__ import annotations

import re

import pytest

from qms.demo import DEMO_PASSWORD

from ..browser import DESKTOP, browser_context, live_server, sign_in  # noqa: F401  (live_server is a fixture)

pytestmark = pytest.mark.parametrize("app", ["sqlite"], indirect=True)
SCREENS = {"phone": {"width": 390, "height": 844}, "desktop": DESKTOP}
NOT_CRAWLED = ("/static", "/api", "/logout", "/calendar-feed", "/revisions/")
DOWNLOADS = (".pdf", ".csv", ".xlsx", ".ics")
MAX_PAGES = 300
#: the page's width beyond the screen, and what sticks out (outside a box that scrolls)
MEASURE = """() => {
  const overflow = document.documentElement.scrollWidth - window.innerWidth;
  const out = [];
  if (overflow > 0) {
    for (const el of document.querySelectorAll("main *")) {
      const box = el.getBoundingClientRect();
      if (box.width === 0 || box.right <= window.innerWidth + 1) continue;
      let parent = el.parentElement, scrolls = false;
      for (; parent; parent = parent.parentElement) {
        const x = getComputedStyle(parent).overflowX;
        if (x === "auto" || x === "scroll" || x === "hidden") { scrolls = true; break; }
      }
      if (scrolls) continue;
      const classes = typeof el.className === "string" ? el.className.trim().replace(/\\s+/g, ".") : "";
      out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (classes ? "." + classes : ""));
    }
  }
  return {overflow, out: out.slice(-3)};
}"""


def kind_of(link: str) -> str:
    return re.sub(r"\d+", "N", link)


def test_every_kind_of_page_fits_the_screen(demo, live_server):  # noqa: F811
    """One crawl; each page measured on a phone, then on a desktop (the window resized, not reloaded)."""
    seen: set[str] = set()
    kinds: set[str] = set()
    queue = ["/"]
    wide: dict[str, str] = {}
    with browser_context(viewport=SCREENS["phone"], accept_downloads=True) as (_, page):
        sign_in(page, live_server, "quality@example.com", DEMO_PASSWORD)
        while queue and len(seen) < MAX_PAGES:
            path = queue.pop(0)
            if path in seen or kind_of(path) in kinds:
                continue
            seen.add(path)
            kinds.add(kind_of(path))
            page.set_viewport_size(SCREENS["phone"])
            response = page.goto(live_server + path)
            assert response is not None and response.status < 500, path
            if not response.ok or not response.headers.get("content-type", "").startswith("text/html"):
                continue
            for screen, size in SCREENS.items():
                page.set_viewport_size(size)
                measured = page.evaluate(MEASURE)
                if measured["overflow"] > 0:
                    wide[f"{path} on a {screen}"] = f"{measured['overflow']} px too wide: {', '.join(measured['out'])}"
            for link in page.eval_on_selector_all("a[href^='/']", "links => links.map(a => a.getAttribute('href'))"):
                link = link.split("#")[0].split("?")[0]
                if link not in seen and not link.startswith(NOT_CRAWLED) and not link.endswith(DOWNLOADS):
                    queue.append(link)

    assert len(kinds) > 60, f"only {len(kinds)} kinds of page reached: is the crawler signed in?"
    assert not wide, "\n".join(f"{path}: {why}" for path, why in sorted(wide.items()))


def test_on_a_desktop_the_header_keeps_sign_out_beside_the_menu(demo, live_server):  # noqa: F811
    """The menu wraps inside its own column; the signed-in name and Sign out stay on the header's first row."""
    with browser_context(viewport=DESKTOP) as (_, page):
        sign_in(page, live_server, "admin@example.com", DEMO_PASSWORD)  # the longest menu: Users and Jobs too
        header = page.locator("header.topbar").bounding_box()
        menu = page.get_by_role("navigation", name="Main").bounding_box()
        sign_out = page.get_by_role("button", name="Sign out").bounding_box()
        assert sign_out["y"] < menu["y"] + menu["height"], (sign_out, menu)
        assert header["height"] < 120, header


def test_on_a_phone_a_register_shows_each_reference_on_one_line(demo, live_server):  # noqa: F811
    """The narrow columns of a register on a phone never break a reference (NC-2026-0012) at its hyphens."""
    broken: dict[str, list[str]] = {}
    with browser_context(viewport=SCREENS["phone"]) as (_, page):
        sign_in(page, live_server, "quality@example.com", DEMO_PASSWORD)
        for path in ("/my-work", "/nonconformities", "/complaints", "/risks", "/suppliers", "/inspections", "/changes"):
            page.goto(live_server + path)
            lines = page.eval_on_selector_all(
                "main td a",
                "links => links.filter(a => /^[A-Z]+-\\d{4}-\\d{4}$/.test(a.textContent.trim()))"
                ".map(a => [a.textContent.trim(), a.getClientRects().length])",
            )
            assert lines, f"no reference found on {path}"
            if any(count > 1 for _, count in lines):
                broken[path] = [reference for reference, count in lines if count > 1][:3]
    assert not broken, broken

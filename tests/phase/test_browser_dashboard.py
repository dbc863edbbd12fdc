"""In a real browser: an executive opens the dashboard, sees the phase and the unmet gates
with their charts drawn, drills into one gate, and downloads its rows as CSV; on a phone the
page fits the screen. The console is watched: a CSP refusal or a script error fails the test."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.browser.conftest import browser_page, chromium, live_server, sign_in  # noqa: F401 (fixtures)
from tests.phase.dashboard_world import World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_executive_reads_the_phase_drills_into_a_gate_and_downloads_the_rows(
    browser_page,  # noqa: F811
    live_server,  # noqa: F811
    sign_in,  # noqa: F811
):
    world = World()
    page = browser_page
    sign_in(page, live_server, world.executive)
    page.goto(f"{live_server.url}/dashboard/")

    hero = page.locator(".dash-hero")
    assert hero.get_by_role("heading", level=2).inner_text().startswith("Inclusive")
    assert page.locator('.ladder__step[aria-current="step"]').inner_text().split()[1] == "Inclusive"

    # The next phase's gates, the unmet one marked in words as well as by style.
    gate = page.locator("#gate-answering_departments")
    assert "Not met" in gate.locator(".gate-status").inner_text()
    assert gate.locator(".gate__value").inner_text() == "1"
    assert "needs 2" in gate.inner_text()
    assert "one more customer-facing department must reach 3" in gate.inner_text()

    # Chart.js (served by the app) draws each chart as it scrolls into view: all of them, once seen.
    canvases = page.locator("canvas[data-chart]")
    for canvas in canvases.all():
        canvas.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => window.Chart && Object.keys(window.Chart.instances).length"
        " === document.querySelectorAll('canvas[data-chart]').length"
    )
    assert canvases.count() >= 5
    assert canvases.count() == page.locator("canvas[data-drawn]").count()

    # Drill into the unmet gate: the rows behind it.
    with page.expect_navigation():
        gate.get_by_role("link", name=re.compile("See the rows")).click()
    assert "/dashboard/figures/answering_departments/" in page.url
    assert page.get_by_role("heading", level=1).inner_text() == "Answering departments"
    assert "4 rows" in page.locator(".drill-count").inner_text()
    by_department = page.locator(".drill-departments")
    assert "Support" in by_department.inner_text()
    assert "Sales" in by_department.inner_text()

    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename.startswith("engage-answering_departments-")
    with open(download.path(), encoding="utf-8-sig") as handle:
        rows = list(csv.reader(io.StringIO(handle.read())))
    assert rows[0] == ["Published", "Author", "Author's department", "Query", "Query's department"]
    assert len(rows) == 1 + 4
    assert {row[1] for row in rows[1:]} == {"Ana Answerer"}


def test_the_dashboard_fits_a_phone(chromium, live_server, sign_in):  # noqa: F811
    world = World()
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    try:
        sign_in(page, live_server, world.executive)
        page.goto(f"{live_server.url}/dashboard/")
        page.wait_for_load_state("load")
        # Nothing is drawn (nor Chart.js loaded) for charts a phone has not scrolled to yet.
        total = page.locator("canvas[data-chart]").count()
        assert page.locator("canvas[data-drawn]").count() < total
        page.locator("canvas[data-chart]").last.scroll_into_view_if_needed()
        page.wait_for_function("() => window.Chart && Object.keys(window.Chart.instances).length > 0")
        assert page.locator("canvas[data-chart]").last.get_attribute("data-drawn") is not None
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        assert page.locator("#gate-answering_departments").is_visible()
    finally:
        context.close()
    assert problems == []


def test_an_executive_picks_the_day_the_dashboard_shows(
    browser_page,  # noqa: F811
    live_server,  # noqa: F811
    sign_in,  # noqa: F811
):
    from datetime import timedelta

    from engage.phase import services as phase_services

    world = World()
    week_ago = world.today - timedelta(days=7)
    phase_services.phase_recompute(first=week_ago, last=week_ago)
    page = browser_page
    sign_in(page, live_server, world.executive)
    page.goto(f"{live_server.url}/dashboard/")
    picker = page.get_by_label("Figures as of", exact=True)
    assert picker.input_value() == world.today.isoformat()
    picker.fill(week_ago.isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="Show", exact=True).click()
    assert f"as_of={week_ago.isoformat()}" in page.url
    assert f"on {week_ago.day} {week_ago:%B %Y}" in page.locator(".dash-hero__kicker").text_content()
    assert page.get_by_label("Figures as of", exact=True).input_value() == week_ago.isoformat()
    with page.expect_navigation():
        page.get_by_role("link", name="Latest").click()
    assert f"on {world.today.day} {world.today:%B %Y}" in page.locator(".dash-hero__kicker").text_content()

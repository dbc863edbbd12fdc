"""axe-core in a real browser over the pages each role reaches: no violation anywhere.

axe-core is a pinned npm dev dependency; the test reads it from node_modules and runs it
in the page (Playwright's evaluate is not subject to the page's CSP), so the product never
ships a script tag for it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from accounts.models import RoleName
from engage import services
from engage.models import Query
from tests.browser.conftest import browser_page, chromium, live_server, sign_in  # noqa: F401 (fixtures)
from tests.factories import DepartmentFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"

PAGES = {
    "employee": ["/", "/queries/", "/insights/", "/messages/", "/training/", "/profile/", "/notifications/"],
    "admin": ["/", "/deliveries/", "/deliveries/?status=dead", "/channels/", "/insights/", "/queries/"],
    "curator": ["/", "/messages/", "/messages/usage/", "/training/"],
}


def violations(page: Any) -> list[str]:
    result = page.evaluate("async () => JSON.stringify((await axe.run(document)).violations)")
    return [
        f"{v['id']} ({v['impact']}): {len(v['nodes'])} node(s), e.g. {v['nodes'][0]['target']}"
        for v in json.loads(result)
    ]


def test_no_page_has_an_accessibility_violation_for_any_role(browser_page, live_server, sign_in):  # noqa: F811
    if not AXE.exists():
        if os.environ.get("ENGAGE_REQUIRE_BROWSER") == "1":
            pytest.fail("ENGAGE_REQUIRE_BROWSER=1 but axe-core is not installed (npm ci)", pytrace=False)
        pytest.skip("axe-core is not installed (npm ci)")
    source = AXE.read_text()
    support = DepartmentFactory(slug="support", name="Customer Support")
    people = {
        "employee": UserFactory(department=support),
        "admin": UserFactory(roles=[RoleName.ADMIN]),
        "curator": UserFactory(department=support, roles=[RoleName.CURATOR]),
    }
    channel, _secret = services.channel_create(slug="forum", name="Community forum", kind="forum")
    query_id, _ = services.query_receive(
        channel=channel, inbound=services.Inbound(external_id="a-1", text="Where is my refund?", author_handle="@c")
    )
    Query.objects.filter(pk=query_id).update(department=support)
    PAGES["employee"].append(f"/queries/{query_id}/")
    found: dict[str, list[str]] = {}
    checked = 0
    for role, paths in PAGES.items():
        browser_page.context.clear_cookies()
        sign_in(browser_page, live_server, people[role])
        for path in paths:
            response = browser_page.goto(f"{live_server.url}{path}")
            assert response is not None
            assert response.status == 200, f"{role} {path}: {response.status}"
            browser_page.evaluate(source)
            problems = violations(browser_page)
            checked += 1
            if problems:
                found[f"{role} {path}"] = problems
    print(f"axe-core: {checked} pages checked, {sum(len(v) for v in found.values())} violation(s)")
    assert not found, json.dumps(found, indent=1)

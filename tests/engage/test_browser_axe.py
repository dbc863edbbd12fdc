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
from django.utils import timezone

from accounts.models import DepartmentKind, RoleName
from content import services as content_services
from engage import services
from engage.models import Query
from engage.phase import services as phase_services
from tests.browser.conftest import browser_page, chromium, live_server, sign_in  # noqa: F401 (fixtures)
from tests.factories import DepartmentFactory, UserFactory
from tests.training.conftest import course_spec
from training import services as training_services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"

PAGES = {
    "employee": ["/", "/queries/", "/insights/", "/messages/", "/training/", "/profile/", "/notifications/"],
    "admin": ["/", "/deliveries/", "/deliveries/?status=dead", "/channels/", "/insights/", "/queries/"],
    "curator": ["/", "/messages/", "/messages/usage/", "/training/", "/training/manage/", "/training/manage/new/"],
    "reviewer": ["/", "/review/", "/queries/"],
    "executive": [
        "/",
        "/dashboard/",
        "/dashboard/departments/support/",
        "/dashboard/figures/response_rate/",
        "/dashboard/leaderboard/",
    ],
    "product": ["/", "/insights/"],
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
    product = DepartmentFactory(slug="product", name="Product", kind=DepartmentKind.PRODUCT)
    people = {
        "employee": UserFactory(department=support),
        "admin": UserFactory(roles=[RoleName.ADMIN]),
        "curator": UserFactory(department=support, roles=[RoleName.CURATOR]),
        "reviewer": UserFactory(department=support, roles=[RoleName.REVIEWER]),
        "executive": UserFactory(roles=[RoleName.EXECUTIVE]),
        "product": UserFactory(department=product),
    }
    pages = {role: list(paths) for role, paths in PAGES.items()}
    channel, _secret = services.channel_create(slug="forum", name="Community forum", kind="forum")
    query_id, _ = services.query_receive(
        channel=channel, inbound=services.Inbound(external_id="a-1", text="Where is my refund?", author_handle="@c")
    )
    Query.objects.filter(pk=query_id).update(department=support)
    pages["employee"].append(f"/queries/{query_id}/")
    pages["reviewer"].append(f"/queries/{query_id}/")
    insight = services.insight_create(
        user=people["employee"], title="Refunds are slow", description="Customers ask.", query_ids=[query_id]
    )
    pages["product"].append(f"/insights/{insight.pk}/")
    # A published message with a revision under review: the reviewer's page shows the diff.
    curator, reviewer = people["curator"], people["reviewer"]
    message = content_services.message_create(
        author=curator, fields={"title": "Refunds take five days", "body": "We refund every order in five days."}
    )
    content_services.message_submit(user=curator, message_id=message.pk)
    content_services.message_approve(user=reviewer, message_id=message.pk)
    content_services.message_update(
        user=curator, message_id=message.pk, fields={"body": "We refund every order in three days."}
    )
    pages["reviewer"].append(f"/messages/{message.pk}/")
    # A published course and the draft of its next version: the curator's editor for both.
    course = training_services.course_publish(
        user=curator, course_id=training_services.course_create(author=curator, **course_spec()).pk
    )
    edition = training_services.course_new_version(user=curator, course_id=course.pk)
    pages["curator"] += [
        f"/training/manage/{course.pk}/edit/",
        f"/training/manage/{edition.pk}/edit/",
        f"/training/manage/{course.pk}/report/",
    ]
    pages["employee"] += [f"/training/courses/{course.pk}/", f"/training/courses/{course.pk}/quiz/"]
    phase_services.phase_recompute(first=timezone.localdate())
    found: dict[str, list[str]] = {}
    checked = 0
    for role, paths in pages.items():
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

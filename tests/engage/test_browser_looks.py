"""In a real browser: dark mode's badges are readable (text contrast at least 4.5:1) and,
on a phone (390 px wide), the deliveries page's Retry button is on screen and works."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from engage import services
from engage.models import Delivery, DeliveryStatus, InsightStatus
from tests.browser.conftest import chromium, live_server, sign_in  # noqa: F401 (fixtures)
from tests.browser.helpers import watched_page
from tests.engage.conftest import certify_responder
from tests.web.conftest import ensure_roles

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# WCAG's contrast ratio of each badge's text against the background it is drawn on.
CONTRASTS = """
(selector) => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  return [...document.querySelectorAll(selector)].map((el) => {
    const a = lum(rgb(getComputedStyle(el).color).slice(0, 3)), b = lum(background(el));
    return [el.className + ": " + el.textContent.trim(), (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
  });
}
"""


def _page(chromium: Any, **options: Any) -> Iterator[Any]:  # noqa: F811
    ensure_roles()
    yield from watched_page(chromium, **options)


@pytest.fixture
def dark_page(chromium: Any) -> Iterator[Any]:  # noqa: F811
    yield from _page(chromium, viewport={"width": 1280, "height": 900}, color_scheme="dark")


@pytest.fixture
def phone_page(chromium: Any) -> Iterator[Any]:  # noqa: F811
    yield from _page(chromium, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)


def dead_delivery(owner: Any, make_query: Any, department: Any) -> Delivery:
    certify_responder(owner)
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    answer = services.answer_submit(user=owner, query_id=query.pk, body="Delivered?")
    delivery = Delivery.objects.get(answer=answer)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.DEAD,
        attempts=8,
        last_error="HTTP 503 from the receiver, which said it was down for maintenance " * 2,
        last_status_code=503,
        dead_at=timezone.now(),
    )
    return delivery


def test_dark_mode_badges_meet_text_contrast(
    dark_page,
    live_server,  # noqa: F811
    sign_in,  # noqa: F811
    owner,
    make_query,
    department,
):
    dead_delivery(owner, make_query, department)
    for n, status in enumerate([InsightStatus.SUBMITTED, InsightStatus.UNDER_REVIEW, InsightStatus.SHIPPED]):
        insight = services.insight_create(user=owner, title=f"Idea {n}", description="", query_ids=[make_query().pk])
        type(insight).objects.filter(pk=insight.pk).update(status=status)
    make_query(department=department)  # open in Olive's department: her home page's queue card counts it
    sign_in(dark_page, live_server, owner)
    checked = 0
    for path in ("/", "/insights/", "/queries/"):
        dark_page.goto(f"{live_server.url}{path}")
        assert dark_page.evaluate("() => matchMedia('(prefers-color-scheme: dark)').matches")
        for label, ratio in dark_page.evaluate(CONTRASTS, ".badge, .qstatus, .bell__count"):
            assert ratio >= 4.5, f"{path}: {label} has contrast {ratio:.2f}:1"
            checked += 1
    assert checked >= 5  # the home page's count, the board's counts and statuses at least
    dark_page.goto(f"{live_server.url}/")
    assert dark_page.evaluate(CONTRASTS, ".card .badge")  # the home page's badge was among them


def test_on_a_phone_the_retry_button_is_on_screen_and_works(
    phone_page,
    live_server,  # noqa: F811
    sign_in,  # noqa: F811
    admin_user,
    owner,
    make_query,
    department,
):
    delivery = dead_delivery(owner, make_query, department)
    sign_in(phone_page, live_server, admin_user)
    phone_page.goto(f"{live_server.url}/deliveries/?status=dead")
    retry = phone_page.get_by_role("button", name=f"Retry delivery {delivery.pk}")
    retry.scroll_into_view_if_needed()
    box = retry.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 390  # inside the screen, no sideways scrolling needed
    assert phone_page.evaluate("() => document.documentElement.scrollWidth") <= 390
    with phone_page.expect_navigation():
        retry.click()
    delivery.refresh_from_db()
    assert delivery.status != DeliveryStatus.DEAD

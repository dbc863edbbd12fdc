from __future__ import annotations

import re

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from accounts import navigation
from accounts.models import RoleName
from tests.factories import UserFactory
from tests.web.csp_check import csp_problems

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry():
    """Restore the navigation and home-card registries after a test adds to them."""
    items, cards = dict(navigation._NAV_ITEMS), dict(navigation._HOME_CARDS)
    yield navigation
    navigation._NAV_ITEMS.clear()
    navigation._NAV_ITEMS.update(items)
    navigation._HOME_CARDS.clear()
    navigation._HOME_CARDS.update(cards)


def _nav_labels(html: str) -> list[str]:
    nav = re.search(r'<nav class="site-nav" aria-label="Primary">(.*?)</nav>', html, re.S)
    assert nav, "no primary navigation on the page"
    return re.findall(r'class="site-nav__link" href="[^"]*"[^>]*>([^<]+)</a>', nav.group(1))


@pytest.mark.parametrize("path", ["/", "/profile/", "/notifications/", "/notifications/1/open/"])
def test_pages_need_a_signed_in_person(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


@pytest.mark.parametrize("role", RoleName.values)
def test_home_renders_for_each_role(signed_in, department, role):
    person = UserFactory(department=department, roles=[role], name="Rosa Role")
    response = signed_in(person).get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Rosa" in html
    assert department.name in html
    assert RoleName(role).label in html
    labels = _nav_labels(html)
    assert labels[0] == "Home"
    assert "Profile" in labels
    assert ("Admin" in labels) == (role == RoleName.ADMIN)
    assert ("API docs" in labels) == (role == RoleName.ADMIN)
    assert ('id="card-administration-title"' in html) == (role == RoleName.ADMIN)
    assert 'id="card-notifications-title"' in html
    assert csp_problems(html) == []


def test_home_without_a_department_says_so(signed_in):
    person = UserFactory(department=None)
    html = signed_in(person).get("/").content.decode()
    assert "Not in a department yet" in html


def test_the_current_section_is_marked(signed_in, owner):
    html = signed_in(owner).get("/profile/").content.decode()
    assert re.search(r'href="/profile/" aria-current="page">Profile<', html)
    assert not re.search(r'href="/" aria-current="page"', html)


def test_registered_items_and_cards_follow_roles_and_unknown_urls_are_skipped(registry, signed_in, owner):
    registry.register_nav_item(
        key="t-reviewers", label="Reviewers only", url_name="home", order=5, roles=[RoleName.REVIEWER]
    )
    registry.register_nav_item(key="t-missing", label="Not mounted", url_name="nowhere:at-all", order=6)
    registry.register_nav_item(key="t-everyone", label="Everyone sees", url_name="accounts:notifications", order=7)
    registry.register_home_card(
        key="t-card",
        template_name="cards/notifications.html",
        order=1,
        roles=["reviewer"],
        context=lambda request: {"latest": []},
    )
    employee_html = signed_in(owner).get("/").content.decode()
    labels = _nav_labels(employee_html)
    assert "Everyone sees" in labels
    assert "Reviewers only" not in labels
    assert "Not mounted" not in labels
    assert 'id="card-t-card-title"' not in employee_html

    reviewer = UserFactory(roles=[RoleName.REVIEWER])
    reviewer_html = signed_in(reviewer).get("/").content.decode()
    assert "Reviewers only" in _nav_labels(reviewer_html)
    assert 'id="card-t-card-title"' in reviewer_html
    # Cards come in their order: the test card (order 1) before the built-in notifications card.
    assert reviewer_html.index('id="card-t-card-title"') < reviewer_html.index('id="card-notifications-title"')


def test_registering_an_unknown_role_fails_loudly(registry):
    with pytest.raises(ValueError, match="unknown roles"):
        registry.register_nav_item(key="t-bad", label="Bad", url_name="home", order=1, roles=["wizard"])


def test_security_headers_and_csp_with_debug_off(settings, client, owner):
    settings.DEBUG = False
    settings.SECURE_SSL_REDIRECT = True
    insecure = Client().get("/login/")
    assert insecure.status_code == 301
    assert insecure["Location"].startswith("https://")

    response = client.get("/login/", secure=True)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    nonce = re.search(r"script-src 'self' 'nonce-([^']+)'", policy)
    assert nonce, policy
    html = response.content.decode()
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts, "htmx and our script are loaded"
    assert all('src="/static/' in tag for tag in scripts)
    assert csp_problems(html) == []
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")

    client.post("/login/", {"email": owner.email, "password": "correct horse battery staple"}, secure=True)
    session_cookie = client.cookies["sessionid"]
    assert session_cookie["secure"]
    assert session_cookie["httponly"]
    assert session_cookie["samesite"] == "Lax"


@pytest.mark.parametrize("path", ["/", "/profile/", "/notifications/"])
def test_signed_in_pages_run_under_the_csp(signed_in, owner, path):
    from accounts.models import Notification

    Notification.objects.create(user=owner, kind="account", title="<b>Bold?</b>", body="x", url="/")
    html = signed_in(owner).get(path).content.decode()
    assert csp_problems(html) == []
    assert "<b>Bold?</b>" not in html


def test_layout_landmarks_and_skip_link(signed_in, owner):
    html = signed_in(owner).get("/").content.decode()
    assert '<a class="skip-link" href="#main">' in html
    assert '<main id="main"' in html
    assert '<header class="site-header">' in html
    assert '<nav class="site-nav" aria-label="Primary">' in html
    assert '<html lang="en-GB">' in html
    assert 'name="viewport"' in html
    # Sign-out is a form that posts, with its CSRF token.
    sign_out = r'<form class="sign-out" method="post" action="/logout/">\s*<input type="hidden" name="csrfmiddleware'
    assert re.search(sign_out, html)
    # htmx requests carry the CSRF token.
    assert 'hx-headers=\'{"X-CSRFToken": "' in html


def test_404_page_in_the_layout(client, owner, settings):
    settings.DEBUG = False
    client.force_login(owner)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "We could not find that page" in html
    assert "site-header" in html


@pytest.fixture
def debug_like_make_run(settings):
    """DEBUG on with the middleware settings.py adds under DEBUG, as `make run` serves."""
    settings.DEBUG = True
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "config.not_found.ProductNotFoundMiddleware"]


@pytest.mark.parametrize("path", ["/no/such/page/", "/notifications/999999/open/"], ids=["no-route", "view-404"])
def test_under_debug_a_missing_page_is_the_products_404(client, owner, debug_like_make_run, path):
    client.force_login(owner)
    response = client.get(path)
    assert response.status_code == 404
    html = response.content.decode()
    assert "We could not find that page" in html
    assert "site-header" in html
    assert "DEBUG = True" not in html

    # Developers still reach Django's debug page with ?debug-404.
    debug = client.get(path + "?debug-404")
    assert debug.status_code == 404
    assert "DEBUG = True" in debug.content.decode()


@pytest.mark.parametrize(
    "path", ["/api/v1/no-such-endpoint/", "/api/v1/answers/null%2Cnull/", "/api/v1/departments/%C3%8E%C3%A2%C2%83/"]
)
def test_under_debug_api_404s_are_the_apis_json(client, owner, debug_like_make_run, path):
    client.force_login(owner)
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_debug_settings_install_the_middleware(tmp_path):
    from tests.platform.procs import clean_env, run_python

    code = (
        "from django.conf import settings; print('config.not_found.ProductNotFoundMiddleware' in settings.MIDDLEWARE)"
    )
    assert run_python(code, clean_env(tmp_path, DEBUG="1")).stdout.strip() == "True"
    off = clean_env(tmp_path, DEBUG="0", SECRET_KEY="x" * 50)
    assert run_python(code, off).stdout.strip() == "False"


def test_500_page_renders_without_a_request_context(rf: RequestFactory):
    response = server_error(rf.get("/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert "site-header" in html


def test_403_page_for_a_non_admin_in_the_admin(signed_in, owner):
    response = signed_in(owner).get("/admin/", follow=True)
    assert response.status_code == 403
    html = response.content.decode()
    assert "You do not have access to this" in html
    assert "administrator role" in html


def test_api_docs_render_from_local_assets_without_inline_script(client):
    response = client.get(reverse("docs"))
    assert response.status_code == 200
    html = response.content.decode()
    assert csp_problems(html) == []
    sources = re.findall(r'<script src="([^"]+)"', html)
    assert any("swagger-ui-bundle.js" in src for src in sources)
    assert any("script" in src and "docs" in src for src in sources), sources
    for src in sources:
        assert src.startswith("/"), f"{src} would be fetched from elsewhere"
    for href in re.findall(r'<link rel="stylesheet" href="([^"]+)"', html):
        assert href.startswith("/static/")
        assert client.get(href).status_code == 200
    init = client.get(reverse("docs") + "?script=")
    assert init.status_code == 200
    assert "javascript" in init["Content-Type"]
    assert "/api/v1/schema/" in init.content.decode()

"""What production answers carry: security headers, HTTPS redirects (never for probes)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.platform.procs import clean_env, run_python

# Runs in a fresh production process (DEBUG off) and reports what the requests got.
PROBE = """
import django, json
django.setup()
from django.conf import settings
from django.test import Client
client = Client()
def answer(response):
    return {"status": response.status_code, "location": response.get("Location"),
            "headers": {key.lower(): value for key, value in response.headers.items()}}
print(json.dumps({
    "https_healthz": answer(client.get("/healthz", secure=True)),
    "https_api": answer(client.get("/api/v1/users/me/", secure=True)),
    "http_healthz": answer(client.get("/healthz")),
    "http_readyz": answer(client.get("/readyz")),
    "http_readyz_web": answer(client.get("/readyz/web")),
    "http_page": answer(client.get("/api/v1/schema/?x=1")),
    "proxied_https": answer(client.get("/api/v1/users/me/", headers={"X-Forwarded-Proto": "https"})),
    "settings": {name: getattr(settings, name) for name in (
        "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SAMESITE")},
}))
"""


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    var_dir: Path = tmp_path_factory.mktemp("production")
    env = clean_env(var_dir, DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="testserver")
    result = run_python(PROBE, env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("answer", ["https_healthz", "https_api"])
def test_security_headers_are_on_every_answer(production: dict[str, Any], answer: str) -> None:
    headers = production[answer]["headers"]
    assert headers["strict-transport-security"].startswith("max-age=31536000")
    assert "includesubdomains" in headers["strict-transport-security"].lower()
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"


def test_plain_http_is_redirected_to_https(production: dict[str, Any]) -> None:
    assert production["http_page"]["status"] == 301
    assert production["http_page"]["location"] == "https://testserver/api/v1/schema/?x=1"


def test_probes_are_never_redirected(production: dict[str, Any]) -> None:
    assert production["http_healthz"]["status"] == 200
    assert production["http_readyz"]["status"] == 200
    assert production["http_readyz_web"]["status"] == 200


def test_https_terminated_by_a_proxy_is_not_redirected(production: dict[str, Any]) -> None:
    assert production["proxied_https"]["status"] == 401


def test_cookies_are_secure_http_only_and_same_site(production: dict[str, Any]) -> None:
    assert production["settings"] == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SAMESITE": "Lax",
    }


@pytest.mark.parametrize("path", ["/static/css/engage.css", "/static/js/"])
def test_static_files_served_by_whitenoise_carry_the_security_headers(client: Any, path: str) -> None:
    if path.endswith("/"):
        path += sorted(p.name for p in (Path(__file__).resolve().parents[2] / "static" / "js").glob("*.js"))[0]
    response = client.get(path)
    assert response.status_code == 200
    assert "WhiteNoise" in type(response).__name__ or response.streaming, "served by WhiteNoise, not a view"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_only_the_runtime_front_end_packages_are_served(client: Any) -> None:
    """chart.js (a runtime dependency) is served; the test tools among the devDependencies
    (axe-core, the OpenID provider) are not, though npm ci puts them in node_modules."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "node_modules" / "axe-core" / "axe.min.js").exists():
        pytest.skip("node_modules has no axe-core (run npm ci)")
    assert client.get("/static/vendor/chart.js/dist/chart.umd.js").status_code == 200
    assert client.get("/static/vendor/axe-core/axe.min.js").status_code == 404
    assert client.get("/static/vendor/oidc-provider/package.json").status_code == 404

from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularSwaggerSplitView

from config import health
from config.schema import SchemaView
from config.views import home

# Django tries routes in order, and a failed include costs as many tries as it has routes: the
# engage API (the queue, claims, answers and the webhook, the busiest operations) comes first.
# tests/platform/test_routes.py checks that no address reaches a view other than its own.
api_v1: list[URLPattern | URLResolver] = [
    path("", include("engage.api_urls")),
    path("", include("accounts.api_urls")),
    path("", include("training.api_urls")),
    path("", include("content.api_urls")),
    path("", include("engage.phase.api_urls")),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
]

handler400 = "config.api.bad_request"
handler403 = "config.api.permission_denied"
handler404 = "config.api.page_not_found"
handler500 = "config.api.server_error"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("readyz/web", health.readyz_web, name="readyz_web"),
    path("api/v1/", include(api_v1)),
    # SCIM 2.0 provisioning (RFC 7644): its contract is RFC 7643/7644 and /scim/v2/Schemas.
    path("scim/v2/", include("accounts.scim.urls")),
    path("admin/", admin.site.urls),
    path("", home, name="home"),
    path("", include("accounts.urls")),
    path("training/", include("training.urls")),
    path("", include("content.urls")),
    path("", include("engage.urls")),
    path("dashboard/", include("engage.dashboard.urls")),
]

if getattr(settings, "ENGAGE_BENCH_VIEWS", False):
    urlpatterns.append(path("bench/", include("bench.urls")))

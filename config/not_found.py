"""Under DEBUG (``make run``), a missing page still shows the product's own 404 page.

Django's yellow debug page stays one query parameter away for developers: add
``?debug-404`` to the address. Under ``/api/`` the answer is the API's JSON 404, as with
DEBUG off (``config.api.page_not_found``): a client, or the schema fuzzer run against
``make run``'s server, never gets an HTML page from the API.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from config.input import is_api_request

DEBUG_PARAMETER = "debug-404"


class ProductNotFoundMiddleware:
    """Installed only when DEBUG is on (with DEBUG off, Django already renders ``404.html``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # No resolver match: no URL pattern matched, and Django answered with its debug page.
        if response.status_code == 404 and getattr(request, "resolver_match", None) is None and self._applies(request):
            return self._page(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Http404) and self._applies(request):
            return self._page(request)
        return None

    @staticmethod
    def _applies(request: HttpRequest) -> bool:
        return DEBUG_PARAMETER not in request.GET

    @staticmethod
    def _page(request: HttpRequest) -> HttpResponse:
        if is_api_request(request):
            return JsonResponse({"detail": "Not found."}, status=404)
        return render(request, "404.html", status=404)

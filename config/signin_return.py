"""Work a person must never lose when their session ends.

``LoginRequiredMiddleware`` (every page not marked ``@login_not_required``) answers an anonymous request
with a redirect to the sign-in page whose ``next`` is the request's own path. Two cases
need more:

- a background request from htmx (the answer's autosave, a poll) would follow that
  redirect and paste the sign-in page into the page: it gets **401** instead, with
  ``X-Engage-Session: expired``, and the page's script keeps the text and offers sign-in;
- a form posted to a POST-only address would come back there after sign-in as a GET and
  meet a 405: ``next`` becomes the page the form was on (its ``Referer``, when it is ours).

A GET that still reaches a POST-only page (a bookmark, an old link) shows a page that
says so and links to the page the action belongs to, never a blank 405.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme

SESSION_HEADER = "X-Engage-Session"


class SignInReturnMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 302 and self._to_sign_in(response):
            if request.headers.get("HX-Request") == "true":
                expired = HttpResponse("Your session has ended. Sign in again to go on.", status=401)
                expired[SESSION_HEADER] = "expired"
                expired["Cache-Control"] = "no-store"
                return expired
            if request.method == "POST":
                back = self._referer_path(request)
                if back:
                    response["Location"] = self._with_next(response["Location"], back)
        elif response.status_code == 405 and request.method in ("GET", "HEAD") and not self._is_api(request):
            page = render(request, "405.html", {"back": self._parent(request.path)}, status=405)
            page["Allow"] = response.get("Allow", "POST")
            return page
        return response

    @staticmethod
    def _is_api(request: HttpRequest) -> bool:
        return request.path_info.startswith("/api/")

    @staticmethod
    def _to_sign_in(response: HttpResponse) -> bool:
        location = response.get("Location", "")
        return urlsplit(location).path == resolve_url(settings.LOGIN_URL)

    @staticmethod
    def _referer_path(request: HttpRequest) -> str:
        referer = request.headers.get("Referer", "")
        if not referer or not url_has_allowed_host_and_scheme(
            referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return ""
        parts = urlsplit(referer)
        if parts.path == resolve_url(settings.LOGIN_URL):
            return ""
        return urlunsplit(("", "", parts.path, parts.query, ""))

    @staticmethod
    def _with_next(location: str, next_path: str) -> str:
        parts = urlsplit(location)
        query = parse_qs(parts.query)
        query["next"] = [next_path]
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query, doseq=True), parts.fragment))

    @staticmethod
    def _parent(path: str) -> str:
        """/queries/5/answer/ → /queries/5/: the page an action's address belongs to."""
        trimmed = path.rstrip("/")
        return trimmed.rsplit("/", 1)[0] + "/" if "/" in trimmed.strip("/") else "/"

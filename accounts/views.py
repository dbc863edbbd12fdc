"""Web pages of accounts: sign-in and out, password reset and invitations, the profile,
and notifications (the bell and its page). Thin: the rules are in ``accounts.services``.
"""

from __future__ import annotations

import time
from base64 import b32encode
from collections.abc import Iterable
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import PasswordResetConfirmView, redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts import demo, notifications, oidc, services
from accounts.forms import PasswordResetRequestForm, ProfileForm, SignInForm
from accounts.models import Notification, User
from accounts.network import client_address
from accounts.permissions import signed_in
from config.errors import Conflict, RateLimited, ServiceError

# htmx stops polling when a poll is answered with this status.
HTMX_STOP_POLLING = 286
NOTIFICATIONS_PER_PAGE = 25


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


# --- Signing in and out ------------------------------------------------------------------------


@login_not_required
@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request)
    if request.method == "GET" and request.user.is_authenticated:
        return redirect(next_url or settings.LOGIN_REDIRECT_URL)
    error = ""
    status = 200
    retry_after: int | None = None
    if request.method == "POST" and not settings.ENGAGE_PASSWORD_SIGN_IN:
        form = SignInForm()
        error, status = f"Sign in with {settings.OIDC_BUTTON_NAME}: password sign-in is turned off.", 400
    elif request.method == "POST":
        form = SignInForm(request.POST)
        if form.is_valid():
            try:
                user = services.user_authenticate(
                    email=form.cleaned_data["email"], password=form.cleaned_data["password"], ip=client_address(request)
                )
            except RateLimited as exc:
                error, status, retry_after = exc.message, 429, exc.retry_after
            except ServiceError as exc:
                error, status = exc.message, 400
            else:
                if services.second_factor_enrolled(user=user) or services.second_factor_required(user=user):
                    request.session[MFA_PENDING] = {"user": user.pk, "at": time.time(), "next": next_url}
                    return redirect("accounts:sign_in_code")
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                return redirect(next_url or settings.LOGIN_REDIRECT_URL)
        else:
            status = 400
        if error:
            # Never send the password back; keep the email and put the cursor on the password.
            form = SignInForm(initial={"email": request.POST.get("email", "")})
            form.fields["email"].widget.attrs.pop("autofocus", None)
            form.fields["password"].widget.attrs["autofocus"] = True
    else:
        form = SignInForm()
    response = render(
        request,
        "accounts/sign_in.html",
        {
            "form": form,
            "error": error,
            "locked": status == 429,
            "next": next_url,
            "demo_accounts": demo.demo_accounts_to_hint(),
            "demo_password": demo.DEMO_PASSWORD,
            "password_sign_in": settings.ENGAGE_PASSWORD_SIGN_IN,
            "oidc_enabled": oidc.enabled(),
            "oidc_button_name": settings.OIDC_BUTTON_NAME,
        },
        status=status,
    )
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@login_not_required
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """End the Engage session and, after single sign-on, the provider's too (RP-initiated logout)."""
    id_token = request.session.get("oidc_id_token")
    logout(request)
    messages.info(request, "You have signed out.")
    provider_logout = oidc.logout_url(
        id_token=id_token, post_logout_redirect_uri=request.build_absolute_uri(reverse("accounts:login"))
    )
    return redirect(provider_logout or reverse("accounts:login"))


# --- The second factor (TOTP, recovery codes) -------------------------------------------------

MFA_PENDING = "mfa_pending"
MFA_PENDING_SECONDS = 600


def _enrolment(device: Any) -> dict[str, Any]:
    """What a person needs to add ``device``'s secret to an app: the key, the otpauth link,
    and that link as a QR code (an SVG data URI, which the CSP's img-src allows)."""
    otpauth = device.config_url
    return {
        "device": device,
        "secret": b32encode(device.bin_key).decode(),
        "otpauth": otpauth,
        "qr": segno.make(otpauth, error="m").svg_data_uri(scale=4, border=2),
    }


@login_not_required
@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def sign_in_code(request: HttpRequest) -> HttpResponse:
    """After the password: the code from the app (or a recovery code); an administrator
    without a second factor sets one up here first."""
    pending = request.session.get(MFA_PENDING) or {}
    user = None
    if pending and time.time() - pending.get("at", 0) < MFA_PENDING_SECONDS:
        user = User.objects.filter(pk=int(pending.get("user") or 0), is_active=True).first()
    if user is None:
        request.session.pop(MFA_PENDING, None)
        return redirect("accounts:login")
    context: dict[str, Any] = {"enrolled": services.second_factor_enrolled(user=user), "error": ""}
    status = 200
    if request.method == "POST":
        try:
            if context["enrolled"]:
                services.second_factor_verify(user=user, code=request.POST.get("code", ""), ip=client_address(request))
                codes = None
            else:
                codes = services.totp_enrolment_confirm(user=user, code=request.POST.get("code", ""))
        except RateLimited as exc:
            context["error"], status = exc.message, 429
        except ServiceError as exc:
            context["error"], status = exc.message, 400
        else:
            request.session.pop(MFA_PENDING, None)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            if codes:
                return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": pending.get("next")})
            return redirect(pending.get("next") or settings.LOGIN_REDIRECT_URL)
    if not context["enrolled"]:
        # A wrong code keeps the secret the app was just given; a new visit starts afresh.
        device = services.totp_enrolment_pending(user=user) if request.method == "POST" else None
        context.update(_enrolment(device or services.totp_enrolment_start(user=user)))
    return render(request, "accounts/sign_in_code.html", context, status=status)


# --- Single sign-on (OpenID Connect: accounts/oidc.py) -----------------------------------------


def _sign_in_refused(request: HttpRequest, refusal: oidc.SignInRefused) -> HttpResponse:
    return render(
        request,
        "accounts/sign_in_refused.html",
        {"title": refusal.title, "message": refusal.message, "oidc_button_name": settings.OIDC_BUTTON_NAME},
        status=refusal.status,
    )


class OIDCSignInView(OIDCAuthenticationRequestView):  # type: ignore[misc]  # the library ships no types
    """Send the browser to the provider (state, nonce and PKCE kept in the session)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc.enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = oidc.discovery()["authorization_endpoint"]
        except oidc.SignInRefused as refusal:
            return _sign_in_refused(request, refusal)
        response: HttpResponse = super().get(request)
        return response


class OIDCCallbackView(OIDCAuthenticationCallbackView):  # type: ignore[misc]  # the library ships no types
    """Where the provider sends the browser back. Every refusal is a page saying why."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc.enabled():
            raise Http404("Single sign-on is not configured.")
        states = request.session.get("oidc_states") or {}
        state = request.GET.get("state", "")
        if request.GET.get("error"):
            states.pop(state, None)
            request.session["oidc_states"] = states
            description = request.GET.get("error_description") or request.GET["error"]
            return _sign_in_refused(
                request,
                oidc.SignInRefused("The provider did not sign you in", f"The provider answered: {description}."),
            )
        if not request.GET.get("code") or not state:
            return _sign_in_refused(
                request, oidc.SignInRefused("Single sign-on was refused", "The provider's answer has no code or state.")
            )
        if state not in states:
            return _sign_in_refused(
                request,
                oidc.SignInRefused(
                    "Single sign-on was refused",
                    "This answer does not belong to a sign-in started in this browser, or it was used "
                    "already (the state does not match). Start again from the sign-in page.",
                ),
            )
        try:
            response: HttpResponse = super().get(request)
        except oidc.SignInRefused as refusal:
            return _sign_in_refused(request, refusal)
        return response

    def login_failure(self) -> HttpResponse:
        return _sign_in_refused(
            self.request, oidc.SignInRefused("Single sign-on was refused", "The provider did not sign you in.")
        )


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def break_glass(request: HttpRequest, token: str) -> HttpResponse:
    """The bootstrap administrator's way in when single sign-on is down (``manage.py break_glass``).

    GET shows a button, POST signs in: a link preview or a mail scanner fetching the
    link does not use it up.
    """
    if request.method == "POST":
        try:
            user = services.break_glass_redeem(token=token)
        except ServiceError as exc:
            return render(request, "accounts/break_glass.html", {"error": exc.message}, status=400)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "accounts/break_glass.html", {"error": ""})


oidc_sign_in = login_not_required(OIDCSignInView.as_view())
oidc_callback = login_not_required(OIDCCallbackView.as_view())


# --- Password reset and invitations ------------------------------------------------------------


@login_not_required
@csrf_protect
@require_http_methods(["GET", "POST"])
def password_reset_request(request: HttpRequest) -> HttpResponse:
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.password_reset_request(email=form.cleaned_data["email"])
        return redirect("accounts:password_reset_done")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/password_reset_request.html", {"form": form}, status=status)


@login_not_required
@require_GET
def password_reset_done(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/password_reset_done.html")


class SetPasswordView(PasswordResetConfirmView):
    """Where both a reset link and an invitation land: the person chooses a password."""

    template_name = "accounts/password_set.html"
    success_url = reverse_lazy("accounts:login")

    def get_user(self, uidb64: str) -> Any:
        user = super().get_user(uidb64)
        # A deactivated person's old link must not reopen the account.
        return user if user is not None and user.is_active else None

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "label_suffix": ""}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["invitation"] = bool(self.validlink and self.user and not self.user.has_usable_password())
        return context

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, "Your password is set. Sign in with it now.")
        return response


# --- Profile ---------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    status = 200
    if request.method == "POST":
        form = ProfileForm(request.POST, user=user)
        if form.is_valid():
            try:
                services.user_update_profile(
                    user=user, name=form.cleaned_data["name"], notification_prefs=form.notification_prefs()
                )
            except ServiceError as exc:
                field = exc.extra.get("field")
                form.add_error(field if field in form.fields else None, exc.message)
            else:
                messages.success(request, "Your profile is saved.")
                return redirect("accounts:profile")
        status = 400
    else:
        form = ProfileForm(user=user)
    context = {
        "form": form,
        "person": user,
        "roles": user.roles.order_by("slug"),
        "second_factor": services.second_factor_enrolled(user=user),
        "recovery_codes_left": services.recovery_codes_left(user=user),
        "second_factor_required": services.second_factor_required(user=user),
        "password_sign_in": settings.ENGAGE_PASSWORD_SIGN_IN,
    }
    return render(request, "accounts/profile.html", context, status=status)


# --- The second factor from the profile ------------------------------------------------------


@sensitive_post_parameters("code", "current_code", "password")
@never_cache
@require_http_methods(["GET", "POST"])
def second_factor_set_up(request: HttpRequest) -> HttpResponse:
    """Add an authenticator app (or replace the one there is): the key and its QR code, then
    a code from the app to confirm; the recovery codes are shown once, on the answer.

    Replacing one needs proof first: a current code (or a recovery code) or the password.
    """
    user = signed_in(request)
    enrolled = services.second_factor_enrolled(user=user)
    error, error_field, status = "", "", 200
    device = None
    if request.method == "POST":
        device = services.totp_enrolment_pending(user=user)
        ip = client_address(request)
        try:
            if enrolled:
                services.second_factor_prove(
                    user=user,
                    code=request.POST.get("current_code", ""),
                    password=request.POST.get("password", ""),
                    ip=ip,
                )
            codes = services.totp_enrolment_confirm(user=user, code=request.POST.get("code", ""))
        except RateLimited as exc:
            error, status = exc.message, 429
        except ServiceError as exc:
            error, error_field, status = exc.message, str(exc.extra.get("field") or ""), 400
        else:
            shown = {"codes": codes, "next": reverse("accounts:profile")}
            return render(request, "accounts/recovery_codes.html", shown)
    context: dict[str, Any] = {
        "enrolled": enrolled,
        "error": error,
        "error_field": error_field,
        "password_sign_in": settings.ENGAGE_PASSWORD_SIGN_IN,
        "has_password": user.has_usable_password(),
        **_enrolment(device or services.totp_enrolment_start(user=user)),
    }
    return render(request, "accounts/second_factor_set_up.html", context, status=status)


@sensitive_post_parameters("code", "password")
@never_cache
@require_http_methods(["GET", "POST"])
def second_factor_remove(request: HttpRequest) -> HttpResponse:
    """Remove the authenticator and recovery codes, after a current code or the password."""
    user = signed_in(request)
    if not services.second_factor_enrolled(user=user):
        return redirect("accounts:profile")
    error, error_field, status = "", "", 200
    if request.method == "POST":
        try:
            services.second_factor_remove(
                user=user,
                code=request.POST.get("code", ""),
                password=request.POST.get("password", ""),
                ip=client_address(request),
            )
        except RateLimited as exc:
            error, status = exc.message, 429
        except Conflict as exc:
            error, status = exc.message, 409
        except ServiceError as exc:
            error, error_field, status = exc.message, str(exc.extra.get("field") or ""), 400
        else:
            messages.success(request, "Your second factor is removed. You sign in with your password alone now.")
            return redirect("accounts:profile")
    context = {
        "error": error,
        "error_field": error_field,
        "allowed": services.second_factor_removal_allowed(user=user),
        "has_password": user.has_usable_password(),
    }
    return render(request, "accounts/second_factor_remove.html", context, status=status)


# --- Notifications ---------------------------------------------------------------------------


def _unread_count(user: User) -> int:
    return user.notifications.filter(read_at__isnull=True, in_app=True).count()


def _label_kinds(notes: Iterable[Notification]) -> None:
    labels = {kind.key: kind.label for kind in notifications.kinds()}
    for note in notes:
        note.kind_label = labels.get(note.kind, note.kind)  # type: ignore[attr-defined]


@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    only_unread = request.GET.get("show") == "unread"
    notes = user.notifications.filter(in_app=True).order_by("-created_at", "-id")
    if only_unread:
        notes = notes.filter(read_at__isnull=True)
    page = Paginator(notes, NOTIFICATIONS_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    _label_kinds(page.object_list)
    return render(request, "accounts/notifications.html", {"page": page, "only_unread": only_unread})


@login_not_required
@never_cache
@require_GET
def notification_bell(request: HttpRequest) -> HttpResponse:
    """The bell, for htmx to poll. Answers 204 (nothing to swap) when the count is unchanged."""
    if not request.user.is_authenticated:
        if getattr(request, "htmx", False):
            # Signed out meanwhile (or deactivated): stop polling, and offer to sign in
            # again without taking the page, and whatever is typed into it, away.
            html = render_to_string("accounts/_bell_signed_out.html", {"next": request.htmx.current_url_abs_path})  # type: ignore[attr-defined]
            return HttpResponse(html, status=HTMX_STOP_POLLING)
        return redirect_to_login(request.get_full_path())
    count = _unread_count(signed_in(request))
    if request.GET.get("count") == str(count):
        return HttpResponse(status=204)
    return HttpResponse(render_to_string("accounts/_bell.html", {"unread_notifications": count}))


def _safe_target(url: str, request: HttpRequest) -> str:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return url
    return ""


@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    note = services.notification_mark_read(user=signed_in(request), notification_id=pk)
    if getattr(request, "htmx", False):
        # The item in its read state, and the bell (out of band) with the new count.
        _label_kinds([note])
        return render(request, "accounts/_notification_read.html", {"note": note})
    return redirect(_safe_next(request) or reverse("accounts:notifications"))


@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    marked = services.notification_mark_all_read(user=signed_in(request))
    if marked:
        messages.success(request, f"Marked {marked} notification{'s' if marked != 1 else ''} as read.")
    return redirect(_safe_next(request) or reverse("accounts:notifications"))


@require_GET
def notification_open(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Follow a notification's link, marking it read on the way."""
    note: Notification = services.notification_mark_read(user=signed_in(request), notification_id=pk)
    return redirect(_safe_target(note.url, request) or reverse("accounts:notifications"))

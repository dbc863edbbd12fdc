"""The Django admin for people, departments, topics, tokens, notifications and jobs.

Changes that have rules go through ``accounts.services`` (creating people, their roles and
department, deactivation, invitations, departments and topics); what a service refuses is
shown as a message and nothing is saved. Access follows the admin role (``User.is_staff``).
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import Group
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import ApiToken, Department, LoginLock, Notification, Role, ScimToken, Topic, User
from config.admin import ReadOnlyAdmin, ServiceAdmin
from config.errors import ServiceError
from config.jobs import dispatch
from config.models import OutboxJob

# Roles, not groups, say what a person may do: the auth app's groups would only mislead.
if admin.site.is_registered(Group):
    admin.site.unregister(Group)

admin.site.site_header = "Engage administration"
admin.site.site_title = "Engage admin"
admin.site.index_title = "Run Engage"


@login_not_required
def _sign_in_through_engage(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    """Replaces the admin's own login form, so everyone signs in one way, lock-out included."""
    next_url = request.GET.get("next") or reverse("admin:index")
    if request.user.is_authenticated:
        if admin.site.has_permission(request):
            return HttpResponseRedirect(next_url)
        raise PermissionDenied("The admin is for people with the administrator role.")
    return redirect_to_login(next_url, reverse("accounts:login"))


admin.site.login = _sign_in_through_engage  # type: ignore[method-assign]


# --- Departments, roles, topics -------------------------------------------------------------


@admin.register(Department)
class DepartmentAdmin(ServiceAdmin[Department]):
    list_display = ["name", "slug", "kind", "customer_facing", "people"]
    list_filter = ["kind", "customer_facing"]
    search_fields = ["name", "slug"]
    fields = ["name", "slug", "kind", "customer_facing", "created_at"]
    readonly_fields = ["created_at"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Department]:
        return super().get_queryset(request).annotate(people_count=Count("members", distinct=True))

    @admin.display(description="People", ordering="people_count")
    def people(self, obj: Department) -> int:
        return int(obj.people_count)  # type: ignore[attr-defined]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The slug names the department in the API and in exports: it does not change.
        return [*self.readonly_fields, "slug"] if obj else list(self.readonly_fields)

    def get_prepopulated_fields(self, request: HttpRequest, obj: Any = None) -> dict[str, Any]:
        return {} if obj else dict(self.prepopulated_fields)

    def save_form(self, request: HttpRequest, form: ModelForm[Any], change: bool) -> Any:
        if change:
            return super().save_form(request, form, change)  # changed in save_model, by the service
        data = form.cleaned_data
        return services.department_create(
            slug=data["slug"], name=data["name"], kind=data["kind"], customer_facing=data["customer_facing"]
        )

    def save_model(self, request: HttpRequest, obj: Department, form: ModelForm[Any], change: bool) -> None:
        if change:
            data = form.cleaned_data
            services.department_update(
                department=obj, name=data["name"], kind=data["kind"], customer_facing=data["customer_facing"]
            )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # people and routing point at it; rename or leave it empty instead


@admin.register(Role)
class RoleAdmin(ReadOnlyAdmin[Role]):
    list_display = ["name", "slug", "holders"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Role]:
        return super().get_queryset(request).annotate(holder_count=Count("users", distinct=True))

    @admin.display(description="People holding it", ordering="holder_count")
    def holders(self, obj: Role) -> int:
        return int(obj.holder_count)  # type: ignore[attr-defined]


class KeywordsField(forms.Field):
    """Keywords as one per line (or separated by commas), stored as a list."""

    widget = forms.Textarea(attrs={"rows": 6})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value: Any) -> list[str]:
        text = str(value or "")
        parts = [part for line in text.splitlines() for part in line.split(",")]
        try:
            return services._clean_keywords([part for part in parts if part.strip()])
        except ServiceError as exc:
            raise forms.ValidationError(exc.message) from None


class TopicForm(forms.ModelForm[Topic]):
    keywords = KeywordsField(
        required=False, help_text="One keyword or phrase per line. A query mentioning any of them is routed here."
    )

    class Meta:
        model = Topic
        fields = ["name", "slug", "department", "keywords"]


@admin.register(Topic)
class TopicAdmin(ServiceAdmin[Topic]):
    form = TopicForm
    list_display = ["name", "slug", "department", "keyword_list"]
    list_filter = ["department"]
    list_select_related = ["department"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    @admin.display(description="Keywords")
    def keyword_list(self, obj: Topic) -> str:
        words = list(obj.keywords or [])
        return ", ".join(words[:8]) + (f" … (+{len(words) - 8})" if len(words) > 8 else "")

    def save_form(self, request: HttpRequest, form: ModelForm[Any], change: bool) -> Any:
        if change:
            return super().save_form(request, form, change)
        data = form.cleaned_data
        return services.topic_create(
            slug=data["slug"], name=data["name"], keywords=data["keywords"], department=data["department"]
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The slug names the topic in the API: it does not change.
        return ["slug"] if obj else []

    def get_prepopulated_fields(self, request: HttpRequest, obj: Any = None) -> dict[str, Any]:
        return {} if obj else dict(self.prepopulated_fields)

    def save_model(self, request: HttpRequest, obj: Topic, form: ModelForm[Any], change: bool) -> None:
        if change:
            data = form.cleaned_data
            services.topic_update(
                topic=obj, name=data["name"], keywords=data["keywords"], department=data["department"]
            )


# --- People -------------------------------------------------------------------------------


class UserAddForm(forms.ModelForm[User]):
    roles = forms.ModelMultipleChoiceField(
        queryset=Role.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Everyone is an employee; tick any other roles.",
    )
    send_invitation = forms.BooleanField(
        required=False, initial=True, help_text="Email them a link to choose their password."
    )

    class Meta:
        model = User
        fields = ["email", "name", "department"]


class UserChangeForm(forms.ModelForm[User]):
    roles = forms.ModelMultipleChoiceField(
        queryset=Role.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = User
        fields = ["name", "department", "roles", "is_active"]
        help_texts = {"is_active": "Turning this off ends their sessions and API tokens at once."}


@admin.register(User)
class UserAdmin(ServiceAdmin[User]):
    list_display = ["name", "email", "department", "role_names", "is_active", "last_login"]
    list_filter = ["department", "roles", "is_active"]
    list_select_related = ["department"]
    search_fields = ["email", "name"]
    ordering = ["name", "id"]
    readonly_fields = ["email", "date_joined", "last_login", "deactivated_at", "erased_at"]
    actions = ["deactivate", "reactivate", "send_invitation", "export_json"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("roles")

    @admin.display(description="Roles")
    def role_names(self, obj: User) -> str:
        return ", ".join(role.name for role in obj.roles.all())

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        kwargs["form"] = UserChangeForm if obj else UserAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return [(None, {"fields": ["email", "name", "department", "roles", "send_invitation"]})]
        return [
            (None, {"fields": ["email", "name", "department", "roles", "is_active"]}),
            ("History", {"fields": ["date_joined", "last_login", "deactivated_at", "erased_at"]}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return list(self.readonly_fields) if obj else []

    def save_form(self, request: HttpRequest, form: ModelForm[Any], change: bool) -> Any:
        if change:
            return super().save_form(request, form, change)  # changed in save_model, by the service
        data = form.cleaned_data
        return services.user_create(
            email=data["email"],
            name=data["name"],
            password=None,
            department=data["department"],
            roles=[role.slug for role in data["roles"]],
            invite=data["send_invitation"],
            invited_by=request.user,  # type: ignore[arg-type]
        )

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm[Any], change: bool) -> None:
        if not change:
            return  # created by user_create in save_form
        data = form.cleaned_data
        services.user_update(
            user=obj,
            name=data["name"],
            department=data["department"],
            roles=[role.slug for role in data["roles"]],
            is_active=data["is_active"],
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate, or erase through the API: what they did stays counted

    @admin.action(description="Deactivate (end their sessions and tokens now)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        done = 0
        for person in queryset.filter(is_active=True):
            try:
                services.user_deactivate(user=person)
            except ServiceError as exc:
                self.message_user(request, f"{person}: {exc.message}", messages.ERROR)
            else:
                done += 1
        self.message_user(request, f"Deactivated {done} {'person' if done == 1 else 'people'}.", messages.SUCCESS)

    @admin.action(description="Reactivate")
    def reactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        done = 0
        for person in queryset.filter(is_active=False):
            try:
                services.user_update(user=person, is_active=True)
            except ServiceError as exc:
                self.message_user(request, f"{person}: {exc.message}", messages.ERROR)
            else:
                done += 1
        self.message_user(request, f"Reactivated {done} {'person' if done == 1 else 'people'}.", messages.SUCCESS)

    @admin.action(description="Send an invitation to choose a password")
    def send_invitation(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        people = list(queryset.filter(is_active=True))
        for person in people:
            services.invitation_send(user=person, invited_by=request.user)  # type: ignore[arg-type]
        self.message_user(request, f"Invited {len(people)} {'person' if len(people) == 1 else 'people'}.")

    @admin.action(description="Export as JSON (everything Engage holds about them)")
    def export_json(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse:
        people = [services.user_export(user=person) for person in queryset.order_by("id")]
        body = json.dumps({"exported_at": timezone.now().isoformat(), "people": people}, indent=2)
        response = HttpResponse(body, content_type="application/json")
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="engage-people-{stamp}.json"'
        return response


# --- Tokens, notifications, sign-in locks ------------------------------------------------------


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin[ApiToken]):
    """Tokens are shown by prefix only; the hash never leaves the database."""

    list_display = ["prefix", "user", "created_at", "expires_at", "revoked_at", "live"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["prefix", "user__email", "user__name"]
    fields = readonly_fields = ("prefix", "user", "created_at", "expires_at", "revoked_at")
    actions = ["revoke"]

    @admin.display(boolean=True, description="Live")
    def live(self, obj: ApiToken) -> bool:
        return obj.is_live()

    @admin.action(description="Revoke")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        tokens = list(queryset.filter(revoked_at__isnull=True))
        for token in tokens:
            services.token_revoke(token=token)
        self.message_user(request, f"Revoked {len(tokens)} token{'s' if len(tokens) != 1 else ''}.")


@admin.register(ScimToken)
class ScimTokenAdmin(ServiceAdmin[ScimToken]):
    """Provisioning tokens for identity providers (SCIM). Adding one shows it once; the hash
    never leaves the database; revoking ends its access at once."""

    list_display = ["name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    actions = ["revoke"]

    shown = ("name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["name"] if obj is None else list(self.shown)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if obj is None else list(self.shown)

    def save_form(self, request: HttpRequest, form: ModelForm[Any], change: bool) -> Any:
        assert not change  # a token is never changed, only revoked
        actor = request.user if isinstance(request.user, User) else None
        issued = services.scim_token_create(name=form.cleaned_data["name"], created_by=actor)
        request._scim_token = issued.token  # type: ignore[attr-defined]
        return issued.record

    def response_add(self, request: HttpRequest, obj: ScimToken, post_url_continue: str | None = None) -> HttpResponse:
        """The token, once: on this page only (not in a message, which a cookie would carry)."""
        return render(
            request,
            "admin/accounts/scimtoken/created.html",
            {
                **self.admin_site.each_context(request),
                "title": "Provisioning token made",
                "token": request._scim_token,  # type: ignore[attr-defined]
                "record": obj,
                "scim_base": request.build_absolute_uri("/scim/v2/"),
                "opts": self.model._meta,
            },
        )

    @admin.action(description="Revoke")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ScimToken]) -> None:
        actor = request.user if isinstance(request.user, User) else None
        done = sum(services.scim_token_revoke(token=token, actor=actor) for token in queryset)
        self.message_user(request, f"Revoked {done} provisioning token{'s' if done != 1 else ''}.")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin[Notification]):
    list_display = ["title", "user", "kind", "created_at", "read_at", "in_app"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter), "in_app"]
    list_select_related = ["user"]
    search_fields = ["title", "user__email", "user__name"]
    fields = readonly_fields = ("user", "kind", "title", "body", "url", "created_at", "read_at", "in_app", "dedupe_key")


@admin.register(LoginLock)
class LoginLockAdmin(ReadOnlyAdmin[LoginLock]):
    """Sign-in locks after repeated wrong passwords. Delete one to let someone try again now."""

    deletable = True  # deleting the lock is the remedy; nothing else points at it

    list_display = ["key", "locked_until", "active"]
    search_fields = ["key"]
    fields = readonly_fields = ("key", "locked_until")

    @admin.display(boolean=True, description="Still locked")
    def active(self, obj: LoginLock) -> bool:
        return obj.locked_until > timezone.now()


# --- Background jobs ----------------------------------------------------------------------


class DeadLetterFilter(admin.SimpleListFilter):
    title = "dead letter"
    parameter_name = "dead"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Failed for good"), ("no", "Waiting")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[OutboxJob]) -> QuerySet[OutboxJob]:
        if self.value() in ("yes", "no"):
            return queryset.filter(dead_at__isnull=self.value() == "no")
        return queryset


@admin.register(OutboxJob)
class OutboxJobAdmin(ReadOnlyAdmin[OutboxJob]):
    """Jobs not yet handed to the broker (or, embedded, not yet run), with their last error,
    and dead letters: jobs that failed for good (config.job_policy), kept for "Retry now"."""

    deletable = True  # a dead letter an administrator has dealt with may go

    list_display = ["task_name", "created_at", "run_after", "attempts", "dead_at", "error_summary"]
    list_filter = [DeadLetterFilter, "task_name"]
    search_fields = ["task_name", "last_error"]
    fields = readonly_fields = (
        "task_name",
        "args_json",
        "kwargs_json",
        "created_at",
        "run_after",
        "attempts",
        "dead_at",
        "last_error",
    )
    actions = ["retry_now"]

    @admin.display(description="Arguments")
    def args_json(self, obj: OutboxJob) -> str:
        return json.dumps(obj.args)

    @admin.display(description="Keyword arguments")
    def kwargs_json(self, obj: OutboxJob) -> str:
        return json.dumps(obj.kwargs, indent=2, sort_keys=True)

    @admin.display(description="Last error")
    def error_summary(self, obj: OutboxJob) -> str:
        first_line = (obj.last_error or "").strip().splitlines()[:1]
        return (first_line[0][:120] if first_line else "") or "—"

    @admin.action(description="Retry now")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[OutboxJob]) -> None:
        jobs = list(queryset.order_by("id"))
        sent = sum(1 for job in jobs if dispatch(job))
        failed = len(jobs) - sent
        level = messages.SUCCESS if not failed else messages.WARNING
        text = f"Sent {sent} of {len(jobs)} job{'s' if len(jobs) != 1 else ''}."
        if failed:
            text += f" {failed} failed again and stay in the outbox; see their last error."
        self.message_user(request, text, level)

"""The admin's two kinds of page, for every app: shown only, or saved through a service.

What a service writes has its rules there (a query's ``answered_at`` and participation
event, a channel's outbound address checked against SSRF, a topic's keywords cleaned): an
admin page for it either shows the rows (``ReadOnlyAdmin``, ``ReadOnlyInline``) or saves
through the service (``ServiceAdmin``), never with ``obj.save()`` on the form's instance.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Model
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from config.errors import ServiceError


class ReadOnlyAdmin[M: Model](admin.ModelAdmin[M]):
    """Shown, never added, changed or deleted here: the services are the only writers.

    Actions that call a service (revoke, retry) are still offered. A page where deleting
    a row is itself the remedy (a sign-in lock) sets ``deletable = True`` and says why.
    """

    deletable = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.deletable and super().has_delete_permission(request, obj)


class _ReadOnlyInlineMixin:
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(_ReadOnlyInlineMixin, admin.TabularInline[Any, Any]):
    """The rows under an object (its history, its revisions), shown as they were written."""


class ReadOnlyStackedInline(_ReadOnlyInlineMixin, admin.StackedInline[Any, Any]):
    """The same, one row under the other (for long text)."""


class ServiceAdmin[M: Model](admin.ModelAdmin[M]):
    """Saves through a service (``save_form`` makes a new object, ``save_model`` changes one)
    and shows what the service refuses as an error message instead of a server error.

    The admin wraps a save in a transaction, so a refusal undoes anything written.
    Subclasses override both ``save_form`` and ``save_model``; the defaults refuse, so a
    page that forgets one cannot fall back to ``obj.save()``.
    """

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_form(self, request: HttpRequest, form: ModelForm[Any], change: bool) -> Any:
        if change:
            return form.instance  # not saved: save_model hands the form's values to the service
        raise NotImplementedError(f"{type(self).__name__} makes no new object without its service")

    def save_model(self, request: HttpRequest, obj: M, form: ModelForm[Any], change: bool) -> None:
        if change:
            raise NotImplementedError(f"{type(self).__name__} changes nothing without its service")
        # A new object was made whole by its service in save_form.

    def save_related(self, request: HttpRequest, form: ModelForm[Any], formsets: Any, change: bool) -> None:
        pass  # relations (roles, a topic's department) are set by the service, never by the form

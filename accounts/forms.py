"""Web forms of accounts. They check the shape of input; the rules live in services."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts import notifications
from accounts.models import User


class EngageForm(forms.Form):
    """Labels without a trailing colon."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class SignInForm(EngageForm):
    email = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True, "spellcheck": "false"}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class PasswordResetRequestForm(EngageForm):
    email = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True, "spellcheck": "false"}),
    )


def _pref_field(kind_key: str, channel: str) -> str:
    return f"pref__{kind_key}__{channel}"


class ProfileForm(EngageForm):
    """A person's name and, per notification kind, whether to see it in the app and by email.

    Roles, department and email are not fields: they are shown read-only and anything
    posted under those names is ignored.
    """

    name = forms.CharField(label="Name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"}))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        initial: dict[str, Any] = {"name": user.name}
        self.kinds = notifications.kinds()
        for kind in self.kinds:
            choice = notifications.preference(user.notification_prefs, kind.key)
            for channel in ("in_app", "email"):
                initial[_pref_field(kind.key, channel)] = choice[channel]
        super().__init__(*args, initial=initial, **kwargs)
        for kind in self.kinds:
            self.fields[_pref_field(kind.key, "in_app")] = forms.BooleanField(
                label=f"{kind.label}: in the app", required=False
            )
            self.fields[_pref_field(kind.key, "email")] = forms.BooleanField(
                label=f"{kind.label}: by email", required=False
            )

    def preference_rows(self) -> list[dict[str, Any]]:
        """One row per kind, with its two bound checkboxes, for the preferences table."""
        return [
            {
                "kind": kind,
                "in_app": self[_pref_field(kind.key, "in_app")],
                "email": self[_pref_field(kind.key, "email")],
            }
            for kind in self.kinds
        ]

    def notification_prefs(self) -> dict[str, dict[str, bool]]:
        data = self.cleaned_data
        return {
            kind.key: {
                "in_app": bool(data.get(_pref_field(kind.key, "in_app"))),
                "email": bool(data.get(_pref_field(kind.key, "email"))),
            }
            for kind in self.kinds
        }

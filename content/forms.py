"""Forms of the content pages. They parse what a person typed; the rules are in services."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import Department, Topic
from config.errors import ServiceError
from content.models import SHORT_TEXT_MAX, Channel, Message, MessageRevision
from content.services import BODY_MAX, COMMENT_MAX, LONG_TEXT_MAX, TITLE_MAX, MessageFields


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class ServiceErrorsMixin:
    """Show a service's refusal next to the field it names."""

    def add_service_error(self, error: ServiceError) -> None:
        field = error.extra.get("field")
        target = field if field in self.fields else None  # type: ignore[attr-defined]
        self.add_error(target, error.message)  # type: ignore[attr-defined]


class MessageForm(ServiceErrorsMixin, forms.Form):
    title = forms.CharField(max_length=TITLE_MAX)
    body = forms.CharField(
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text="Markdown: **bold**, _italic_, [links](https://example.com), lists.",
    )
    short_text = forms.CharField(
        label="Short post",
        max_length=SHORT_TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": SHORT_TEXT_MAX, "data-count": SHORT_TEXT_MAX}),
        help_text=f"For X and other short channels: at most {SHORT_TEXT_MAX} characters.",
    )
    long_text = forms.CharField(
        label="Long post",
        max_length=LONG_TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="For LinkedIn, Facebook and email.",
    )
    link_url = forms.URLField(
        label="Link", required=False, max_length=500, assume_scheme="https", help_text="Where shared links lead."
    )
    topics = forms.ModelMultipleChoiceField(
        queryset=Topic.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    audience = forms.ModelMultipleChoiceField(
        queryset=Department.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave empty for everyone.",
    )
    publish_at = forms.DateTimeField(
        label="Publish at", required=False, widget=DateTimeLocalInput(), help_text="Empty: as soon as approved."
    )
    expires_at = forms.DateTimeField(label="Expires at", required=False, widget=DateTimeLocalInput())

    @classmethod
    def initial_from(cls, source: Message | MessageRevision) -> dict[str, Any]:
        if isinstance(source, MessageRevision):
            topics, audience = list(source.topics), list(source.audience)
        else:
            topics = [t.slug for t in source.topics.all()]
            audience = [d.slug for d in source.audience.all()]
        return {
            "title": source.title,
            "body": source.body,
            "short_text": source.short_text,
            "long_text": source.long_text,
            "link_url": source.link_url,
            "topics": topics,
            "audience": audience,
            "publish_at": source.publish_at,
            "expires_at": source.expires_at,
        }

    def message_fields(self) -> MessageFields:
        data = self.cleaned_data
        return MessageFields(
            title=data["title"],
            body=data["body"],
            short_text=data.get("short_text") or "",
            long_text=data.get("long_text") or "",
            link_url=data.get("link_url") or "",
            topics=[t.slug for t in data.get("topics") or []],
            audience=[d.slug for d in data.get("audience") or []],
            publish_at=data.get("publish_at"),
            expires_at=data.get("expires_at"),
        )


class RejectForm(ServiceErrorsMixin, forms.Form):
    revision = forms.IntegerField(widget=forms.HiddenInput)
    comment = forms.CharField(
        max_length=COMMENT_MAX, widget=forms.Textarea(attrs={"rows": 3}), label="What should change?"
    )


class ApproveForm(forms.Form):
    revision = forms.IntegerField(widget=forms.HiddenInput)


class ShareForm(forms.Form):
    channel = forms.ChoiceField(choices=Channel.choices)
    # One per rendering of the share buttons (content_tags.share_request_key).
    request_key = forms.CharField(required=False, max_length=64)


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=500, label="Search")
    topic = forms.SlugField(required=False)


class ToolkitForm(ServiceErrorsMixin, forms.Form):
    title = forms.CharField(max_length=TITLE_MAX)
    description = forms.CharField(
        max_length=10_000, required=False, widget=forms.Textarea(attrs={"rows": 6}), help_text="Markdown."
    )
    campaign = forms.CharField(max_length=120, required=False, help_text="The campaign it serves, if any.")
    audience = forms.ModelMultipleChoiceField(
        queryset=Department.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave empty for everyone.",
    )
    publish_at = forms.DateTimeField(label="Publish at", required=False, widget=DateTimeLocalInput())
    expires_at = forms.DateTimeField(label="Expires at", required=False, widget=DateTimeLocalInput())

    def toolkit_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["audience"] = [d.slug for d in data.get("audience") or []]
        return data


class ToolkitItemForm(ServiceErrorsMixin, forms.Form):
    kind = forms.ChoiceField(choices=[("message", "Message"), ("course", "Course"), ("link", "Link"), ("file", "File")])
    message = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, choices=())
    course = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, choices=())
    url = forms.CharField(required=False, max_length=500, label="Link address")
    file = forms.FileField(required=False, help_text="PDF, images, Office documents or text; at most 10 MB.")
    title = forms.CharField(required=False, max_length=TITLE_MAX, help_text="Optional: a title of your own.")
    note = forms.CharField(required=False, max_length=1_000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(
        self, *args: Any, message_choices: list[tuple[Any, str]], course_choices: list[tuple[Any, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["message"].choices = [("", "—"), *message_choices]  # type: ignore[attr-defined]
        self.fields["course"].choices = [("", "—"), *course_choices]  # type: ignore[attr-defined]

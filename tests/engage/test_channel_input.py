"""A channel's slug and name: checked in the service the API and the page share.

Refused with a sentence naming the field (400 in the API, the form's error on the page,
the text kept in the form), never cut; and ``/channels/`` answers even when a row written
before the check (or in Django admin) carries a slug no address can hold.
"""

from __future__ import annotations

import pytest
from django.test import Client

from config.errors import ServiceError
from engage import services
from engage.models import Channel
from tests.engage.conftest import names_field

pytestmark = pytest.mark.django_db


def admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("slug", "field"),
    [("", "slug"), ("   ", "slug"), ("bad slug/x", "slug"), ("a" * 61, "slug"), ("é-x", "slug"), ("x?y", "slug")],
)
def test_the_service_refuses_a_slug_no_webhook_address_can_hold(slug: str, field: str) -> None:
    with pytest.raises(ServiceError) as refused:
        services.channel_create(slug=slug, name="Forum", kind="forum")
    assert refused.value.extra["field"] == field
    assert not Channel.objects.exists()


@pytest.mark.parametrize("name", ["", "  ", "n" * 121])
def test_the_service_refuses_an_empty_or_over_long_name(name: str) -> None:
    with pytest.raises(ServiceError) as refused:
        services.channel_create(slug="forum", name=name, kind="forum")
    assert refused.value.extra["field"] == "name"
    assert not Channel.objects.exists()
    made, _secret = services.channel_create(slug="forum", name="n" * 120, kind="forum")
    with pytest.raises(ServiceError) as renamed:
        services.channel_update(channel=made, name="n" * 121)
    assert renamed.value.extra["field"] == "name"
    assert Channel.objects.get().name == "n" * 120


def test_the_longest_slug_and_name_are_kept_whole() -> None:
    made, _secret = services.channel_create(slug="s" * 60, name="n" * 120, kind="forum")
    made.refresh_from_db()
    assert (made.slug, made.name) == ("s" * 60, "n" * 120)


@pytest.mark.parametrize(
    ("values", "field", "says"),
    [
        ({"slug": "", "name": "Forum"}, "slug", "needs a slug"),
        ({"slug": "bad slug/x", "name": "Forum"}, "slug", "letters, digits, hyphens and underscores"),
        ({"slug": "s" * 61, "name": "Forum"}, "slug", "at most 60 characters (this one has 61)"),
        ({"slug": "forum", "name": "n" * 121}, "name", "at most 120 characters (this one has 121)"),
    ],
)
def test_the_new_channel_page_refuses_with_the_form_error_and_keeps_the_text(
    admin_user, values: dict[str, str], field: str, says: str
) -> None:
    admin = admin_client(admin_user)
    page = admin.post("/channels/", {"kind": "forum", "outbound_url": "", **values})
    assert page.status_code == 400
    html = page.content.decode()
    assert says in html
    assert f'name="{field}" aria-invalid="true"' in html
    for key, value in values.items():
        assert f'name="{key}"' in html
        if value.strip():
            assert f'value="{value}"' in html, f"the {key} typed is kept whole in the form"
    assert not Channel.objects.exists()
    assert admin.get("/channels/").status_code == 200


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"slug": "s" * 61, "name": "Forum"}, "slug"),
        ({"slug": "bad slug/x", "name": "Forum"}, "slug"),
        ({"slug": "forum", "name": "n" * 121}, "name"),
    ],
)
def test_the_api_refuses_an_over_long_or_bad_slug_or_name_naming_the_field(
    admin_user, api, values: dict[str, str], field: str
) -> None:
    response = api(admin_user).post("/api/v1/channels/", {"kind": "forum", **values}, format="json")
    assert response.status_code == 400
    assert names_field(response.json(), field)
    assert not Channel.objects.exists()


def test_the_channels_page_answers_with_a_row_whose_slug_no_address_can_hold(admin_user) -> None:
    made, _secret = services.channel_create(slug="forum", name="Forum", kind="forum")
    services.channel_create(slug="good", name="Good", kind="forum")
    Channel.objects.filter(pk=made.pk).update(slug="bad slug/x")  # as Django admin or an old row could
    page = admin_client(admin_user).get("/channels/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "bad slug/x" in html
    assert "correct it in Django admin" in html
    assert 'action="/channels/good/rotate/"' in html

"""The admin's engage pages: queries, answers, deliveries, insights and the log are shown,
never written (their services record what goes with a change); a channel saves through
``channel_update``, which checks its outbound address as the API does."""

from __future__ import annotations

import pytest
from django.urls import reverse

from engage.models import (
    Answer,
    Delivery,
    Insight,
    LeaderboardOptOut,
    ParticipationEvent,
    Query,
    QueryState,
)

pytestmark = pytest.mark.django_db

SERVICE_WRITTEN = [Query, Answer, Delivery, Insight, ParticipationEvent, LeaderboardOptOut]


def _url(model: type, page: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}", args=args)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize("model", SERVICE_WRITTEN, ids=lambda model: model.__name__)
def test_service_written_rows_are_shown_but_not_added(admin_client, model):
    assert admin_client.get(_url(model, "changelist")).status_code == 200
    assert admin_client.get(_url(model, "add")).status_code == 403


def test_an_admin_cannot_set_a_query_answered(admin_client, make_query):
    """The issue's case: the admin set `answered` and left no answered_at and no event."""
    query = make_query()
    events = ParticipationEvent.objects.count()
    page = admin_client.get(_url(Query, "change", query.pk))
    assert page.status_code == 200  # shown
    assert 'name="state"' not in page.content.decode()  # with nothing to edit
    response = admin_client.post(_url(Query, "change", query.pk), {"state": QueryState.ANSWERED})
    assert response.status_code == 403
    assert admin_client.get(_url(Query, "delete", query.pk)).status_code == 403
    query.refresh_from_db()
    assert query.state != QueryState.ANSWERED
    assert query.answered_at is None
    assert ParticipationEvent.objects.count() == events


def _channel_form(channel, **changes):
    return {"name": channel.name, "outbound_url": channel.outbound_url, "_save": "Save", **changes}


def test_a_channel_is_saved_through_its_service(admin_client, channel):
    made = channel.channel
    response = admin_client.post(
        _url(type(made), "change", made.pk), _channel_form(made, name="  Forum (EU)  ", kind="email")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    made.refresh_from_db()
    assert made.name == "Forum (EU)"  # cleaned by the service
    assert made.kind == "forum"  # not editable here
    assert admin_client.get(_url(type(made), "delete", made.pk)).status_code == 403


def test_a_channel_outbound_address_is_checked_as_the_api_checks_it(admin_client, channel):
    made = channel.channel
    before = made.outbound_url
    response = admin_client.post(
        _url(type(made), "change", made.pk), _channel_form(made, outbound_url="http://127.0.0.1:6379/"), follow=True
    )
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert any("must point at a public address" in message for message in messages), messages
    made.refresh_from_db()
    assert made.outbound_url == before

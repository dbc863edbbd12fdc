"""What people read when they get something wrong is a sentence for them, not a field name
and a list of codes ("No department ''.", "status must be one of …"). One test per message."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import DepartmentKind, RoleName
from config.errors import ServiceError
from engage import services
from engage.dashboard import leaderboard, selectors
from tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def detail(response) -> str:
    assert response.status_code == 400, response.content
    return response.json()["detail"]


def test_an_unknown_department_in_the_queue_filter(api, owner):
    assert detail(api(owner).get("/api/v1/queries/?department=nowhere")) == (
        "There is no department called “nowhere”; choose one from the list."
    )


def test_an_unknown_topic_in_the_queue_filter(api, owner):
    assert detail(api(owner).get("/api/v1/queries/?topic=nothing")) == (
        "There is no topic called “nothing”; choose one from the list."
    )


def test_an_unknown_status_in_the_queue_filter(api, owner):
    assert detail(api(owner).get("/api/v1/queries/?status=bogus")) == (
        "There is no query status “bogus”; choose open (open), claimed (claimed), pending review "
        "(pending_review), answered (answered), closed (closed)."
    )


def test_an_unknown_kind_of_channel():
    with pytest.raises(ServiceError) as refused:
        services.channel_create(slug="pigeons", name="Pigeon post", kind="pigeon")
    assert refused.value.message.startswith("Choose what kind of channel it is: twitter / x (twitter), ")
    assert "community forum (forum)" in refused.value.message
    assert refused.value.extra["field"] == "kind"


def test_an_insight_moved_to_an_unknown_status(make_query):
    product = DepartmentFactory(slug="product", name="Product", kind=DepartmentKind.PRODUCT)
    owner = UserFactory(department=product)
    query = make_query(department=product)
    insight = services.insight_create(user=owner, title="Faster refunds", description="", query_ids=[query.pk])
    with pytest.raises(ServiceError) as refused:
        services.insight_set_status(user=owner, insight_id=insight.pk, status="done")
    assert refused.value.message == (
        "Choose where the insight moves: under review (under_review), planned (planned), shipped (shipped), "
        "declined (declined)."
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("soon", "Choose how far back to show: the last 30, 90, 180 or 365 days."),
        ("7", "Choose how far back to show: the last 30, 90, 180 or 365 days (7 is not one of them)."),
    ],
)
def test_the_dashboard_period_in_words(value, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)") + "$"):
        selectors.history_days(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("week", "Choose the period of the leaderboard: the last 7, 30 or 90 days."),
        ("14", "Choose the period of the leaderboard: the last 7, 30 or 90 days (14 is not one of them)."),
    ],
)
def test_the_leaderboard_period_in_words(value, message):
    with pytest.raises(ValueError) as refused:
        leaderboard.window_days_of(value)
    assert str(refused.value) == message


def test_a_day_the_dashboard_cannot_show_is_explained(admin_user):
    today = timezone.localdate()
    with pytest.raises(ValueError) as badly_written:
        selectors.parse_day("30/11/2026")
    assert str(badly_written.value) == "Give the day as year-month-day, such as 2026-11-30."
    tomorrow = today + timedelta(days=1)
    with pytest.raises(ValueError) as future:
        selectors.parse_day(tomorrow.isoformat())
    assert str(future.value) == f"{tomorrow.isoformat()} has not happened yet: choose today or a day before it."
    with pytest.raises(ValueError) as too_old:
        selectors.parse_day((today - timedelta(days=800)).isoformat())
    assert str(too_old.value).startswith("Figures go back 730 days: choose a day after ")


def test_the_dashboard_page_says_it_in_words(client):
    executive = UserFactory(roles=[RoleName.EXECUTIVE])
    client.force_login(executive)
    response = client.get("/dashboard/", {"as_of": "yesterday"})
    assert response.status_code == 400
    assert "Give the day as year-month-day, such as 2026-11-30." in response.content.decode()


def test_a_drill_down_side_that_does_not_exist(client):
    executive = UserFactory(roles=[RoleName.EXECUTIVE])
    client.force_login(executive)
    page = client.get("/dashboard/figures/response_rate/", {"side": "sideways"})
    assert page.status_code == 400
    assert "Choose which rows to show: " in page.content.decode()


def test_an_insight_without_queries(owner):
    with pytest.raises(ServiceError) as refused:
        services.insight_create(user=owner, title="Faster refunds", description="", query_ids=[])
    assert refused.value.message == "Choose at least one query the insight comes from."


def test_an_insight_from_a_query_one_cannot_see(owner):
    with pytest.raises(ServiceError) as refused:
        services.insight_create(user=owner, title="Faster refunds", description="", query_ids=[999_999])
    assert refused.value.message == "There is no query 999999 that you can see; choose the queries from the list."


def test_a_hand_off_without_a_colleague(api, owner, make_query, department):
    query = make_query(department=department)
    client = api(owner)
    client.post(f"/api/v1/queries/{query.pk}/claim/")
    refused = client.post(f"/api/v1/queries/{query.pk}/handoff/", {"to": ""}, format="json")
    assert detail(refused) == "Choose the colleague to hand the query to."
    gone = client.post(f"/api/v1/queries/{query.pk}/handoff/", {"to": 999_999}, format="json")
    assert detail(gone) == "That colleague is not (or no longer) on Engage; choose another."

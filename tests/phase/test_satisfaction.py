"""Customer satisfaction (the share of customers' ratings of 4 or 5) as a phase metric:
reported for the organisation and each department, gating nothing until an administrator
gives it a threshold, on the dashboard's heat map, history and drill-down."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.models import DepartmentKind, RoleName
from engage.dashboard.selectors import dashboard_overview
from engage.models import AnswerRating
from engage.phase.definitions import default_config
from engage.phase.engine import compute_day
from engage.phase.services import phase_recompute
from tests.phase.conftest import answer, at, department, person, query
from tests.phase.dashboard_world import client_for

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 3, 31)


def rated(q, author, published, score, *, when=None):
    made = answer(q, author, published, event=False)
    return AnswerRating.objects.create(
        answer=made, score=score, created_at=when or published + timedelta(hours=2), updated_at=when or published
    )


@pytest.fixture
def company():
    sup = department("sup", DepartmentKind.CUSTOMER_SERVICE, True)
    hr = department("hr", DepartmentKind.HR, True)
    fin = department("fin", DepartmentKind.FINANCE, False)
    s1, h1 = person(sup), person(hr)
    person(fin)
    for score in (5, 4, 2):
        rated(query(sup, at(date(2026, 3, 10))), s1, at(date(2026, 3, 10), 14), score)
    rated(query(hr, at(date(2026, 3, 12))), h1, at(date(2026, 3, 12), 14), 1)
    # Left out: an answer published before the window, and a rating given after as_of.
    rated(query(sup, at(date(2026, 2, 1))), s1, at(date(2026, 2, 1), 14), 5)
    rated(query(sup, at(date(2026, 3, 30))), s1, at(date(2026, 3, 30), 14), 5, when=at(date(2026, 4, 2)))
    # An answer nobody rated counts nowhere.
    answer(query(sup, at(date(2026, 3, 11))), s1, at(date(2026, 3, 11), 14), event=False)
    return {"sup": sup, "hr": hr, "fin": fin}


def by_key(entries):
    return {entry["key"]: entry for entry in entries}


def test_reported_for_the_organisation_and_each_department_gating_nothing(company):
    results = compute_day(as_of=AS_OF, config=default_config())
    organisation = results[0]
    reported = by_key(organisation.result["metrics"])["customer_satisfaction"]
    assert (reported["numerator"], reported["denominator"], reported["value"]) == (2, 4, 0.5)
    assert reported["threshold"] is None
    assert reported["phase"] is None
    assert "2 of 4 customer ratings" in reported["summary"]
    assert "customer_satisfaction" not in by_key(organisation.result["gates"])
    departments = {r.department.slug: by_key(r.result["metrics"])["customer_satisfaction"] for r in results[1:]}
    assert (departments["sup"]["numerator"], departments["sup"]["denominator"]) == (2, 3)
    assert (departments["hr"]["numerator"], departments["hr"]["denominator"]) == (0, 1)
    assert departments["fin"]["value"] is None  # nobody rated Finance's answers: undefined
    assert departments["fin"]["applicable"] is True


def test_an_administrator_may_make_it_a_gate_of_social(company):
    config = default_config()
    config["thresholds"]["customer_satisfaction"] = 0.8
    organisation = compute_day(as_of=AS_OF, config=config)[0]
    gate = by_key(organisation.result["gates"])["customer_satisfaction"]
    assert (gate["phase"], gate["threshold"], gate["met"]) == (4, 0.8, False)
    # 2 of 4; k more ratings of 4 or 5 reach 80 %: (2 + k) / (4 + k) >= 0.8 at k = 6.
    assert "the next six ratings of 4 or 5 would reach 80%" in gate["distance"]
    assert "customer_satisfaction" not in by_key(organisation.result["metrics"])


def test_the_threshold_is_configurable_through_the_api(api, admin_user):
    response = api(admin_user).patch(
        "/api/v1/phase/config/", {"thresholds": {"customer_satisfaction": 0.7}}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["thresholds"]["customer_satisfaction"] == 0.7
    refused = api(admin_user).patch(
        "/api/v1/phase/config/", {"thresholds": {"customer_satisfaction": 2}}, format="json"
    )
    assert refused.status_code == 400


def test_the_dashboard_shows_it_by_department_over_time_and_opens_the_ratings():
    today = timezone.localdate()
    sup = department("support")
    ana = person(sup, name="Ana Answerer")
    executive = person(None, name="Erin Executive", roles=[RoleName.EXECUTIVE])
    yesterday = today - timedelta(days=1)
    rated(query(sup, at(yesterday, 9)), ana, at(yesterday, 10), 5, when=at(yesterday, 11))
    rated(query(sup, at(yesterday, 9)), ana, at(yesterday, 12), 3, when=at(yesterday, 13))
    phase_recompute(first=today, last=today)
    client = client_for(executive)
    page = client.get("/dashboard/").content.decode()
    assert "Customer satisfaction" in page
    drill = client.get("/dashboard/figures/customer_satisfaction/").content.decode()
    assert "2 rows" in drill
    assert "5 of 5" in drill
    assert "3 of 5" in drill
    happy = client.get("/dashboard/figures/customer_satisfaction/", {"side": "satisfied"}).content.decode()
    assert "1 row" in happy
    assert "3 of 5" not in happy
    # By department (the heat map) and over time (the history the charts draw).
    overview = dashboard_overview()
    assert overview is not None
    row = next(r for r in overview["heat_rows"] if r.slug == "support")
    cell = next(c for c in row.cells if c.key == "customer_satisfaction")
    assert cell.value == 0.5
    line = next(m for m in overview["chart"]["metrics"] if m["key"] == "customer_satisfaction")
    assert line["values"][-1] == 0.5
    assert "customer_satisfaction" in [c["key"] for c in overview["heat_columns"]]

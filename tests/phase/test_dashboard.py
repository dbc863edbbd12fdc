"""The executive dashboard's pages: who may open them, what they show, the drill-down and
its permissions, the CSV exports (inert formulas), the home card, and a fixed query count."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import DepartmentKind, RoleName
from engage.dashboard.csv_export import inert
from engage.models import PhaseSnapshot, Query
from engage.phase import services as phase_services
from tests.factories import DepartmentFactory
from tests.phase.conftest import answer, at, department, fold, person
from tests.phase.dashboard_world import World, client_for

pytestmark = pytest.mark.django_db

DASHBOARD = "/dashboard/"


def csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


@pytest.fixture
def world() -> World:
    return World()


# --- Who opens what -------------------------------------------------------------------------------------


def test_the_dashboard_is_for_executives_and_admins(world, admin_user):
    assert Client().get(DASHBOARD).status_code == 302  # to the sign-in page
    assert client_for(world.ana).get(DASHBOARD).status_code == 403
    response = client_for(world.executive).get(DASHBOARD)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Where the company stands" in page
    assert client_for(admin_user).get(DASHBOARD).status_code == 200


def test_the_dashboard_shows_the_phase_its_reasons_and_the_next_gates(world):
    page = client_for(world.executive).get(DASHBOARD).content.decode()
    # Response rate 4 of 6 and answers without broadcast: Inclusive's gates hold; one of the two
    # customer-facing departments answers, so Collaborative's do not.
    assert "Inclusive <span" in page
    assert "Why Inclusive" in page
    assert "What stands between the organisation and Collaborative" in page
    # Every Collaborative gate with its progress, in words and numbers.
    for label in ("Answering departments", "Customer-facing coverage", "Answers from outside marketing"):
        assert label in page
    assert 'class="gate__progress"' in page
    assert "Not met" in page
    # The heat map has a row per department with a link to its rows.
    assert f"/dashboard/figures/response_rate/?as_of={world.today.isoformat()}&amp;department=support" in page
    # Charts get their data as JSON, never as inline script.
    assert 'id="dash-history" type="application/json"' in page
    assert "vendor/chart.js/dist/chart.umd.js" in page


def test_a_department_page_is_for_its_members_executives_and_admins(world, admin_user):
    url = f"{DASHBOARD}departments/support/"
    assert client_for(world.ana).get(url).status_code == 200
    assert client_for(world.executive).get(url).status_code == 200
    assert client_for(admin_user).get(url).status_code == 200
    assert client_for(world.fay).get(url).status_code == 404
    assert client_for(world.ana).get(f"{DASHBOARD}departments/nowhere/").status_code == 404


def test_every_figure_a_member_is_offered_opens(world):
    client = client_for(world.bob)
    page = client.get(f"{DASHBOARD}departments/support/").content.decode()
    links = set(re.findall(r'href="(/dashboard/figures/[^"]+)"', page))
    assert any("response_rate" in link for link in links)
    assert not any("active_employee_ratio" in link for link in links), "who took part is not a member's to open"
    for link in links:
        assert client.get(link.replace("&amp;", "&")).status_code == 200, link
    executive_page = client_for(world.executive).get(f"{DASHBOARD}departments/support/").content.decode()
    assert "/dashboard/figures/active_employee_ratio/" in executive_page


def test_the_overview_says_why_queries_received_differs_from_the_response_rate(world):
    page = client_for(world.executive).get(DASHBOARD).content.decode()
    note = re.search(r'<p class="small muted" id="received-note">(.*?)</p>', page, re.S)
    assert note, "the participation table explains its count of queries"
    assert "closed as spam or as a duplicate" in note.group(1)


def test_bad_input_is_a_400_naming_what_is_wrong(world):
    client = client_for(world.executive)
    response = client.get(DASHBOARD, {"days": "7"})
    assert response.status_code == 400
    assert "Choose how far back to show: the last 30, 90, 180 or 365 days (7 is not one of them)." in (
        response.content.decode()
    )
    assert client.get(f"{DASHBOARD}figures/response_rate/", {"as_of": "yesterday"}).status_code == 400
    future = (world.today + timedelta(days=2)).isoformat()
    assert client.get(f"{DASHBOARD}figures/response_rate/", {"as_of": future}).status_code == 400
    assert client.get(f"{DASHBOARD}figures/response_rate/", {"side": "sideways"}).status_code == 400
    assert client.get(f"{DASHBOARD}figures/no_such_metric/").status_code == 404
    assert client.get(f"{DASHBOARD}export/everything.csv").status_code == 400


# --- Drill-down -----------------------------------------------------------------------------------------


def test_the_drill_down_lists_the_rows_behind_the_figure(world):
    client = client_for(world.executive)
    response = client.get(f"{DASHBOARD}figures/response_rate/", {"department": "support"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "5 rows" in page  # 3 answered, 1 unanswered, 1 more unanswered (the formula)
    assert "3 of 5 queries routed to Support" in page
    unanswered = client.get(f"{DASHBOARD}figures/response_rate/", {"department": "support", "side": "unanswered"})
    assert "2 rows" in unanswered.content.decode()
    assert f"/queries/{world.unanswered.pk}/" in unanswered.content.decode()


def test_a_member_drills_into_their_own_department_and_sees_only_what_they_may(world):
    client = client_for(world.ana)
    own = client.get(f"{DASHBOARD}figures/two_way_ratio/", {"department": "support"})
    assert own.status_code == 200
    page = own.content.decode()
    assert f"/queries/{world.answered[0].pk}/" in page
    # Ana's answer on a query routed to Finance: on the figure, but not Ana's colleague Bob's to open.
    bob = client_for(world.bob).get(f"{DASHBOARD}figures/two_way_ratio/", {"department": "support"})
    assert f"/queries/{world.elsewhere.pk}/" not in bob.content.decode()
    assert "3 rows" in bob.content.decode()
    executive = client_for(world.executive).get(f"{DASHBOARD}figures/two_way_ratio/", {"department": "support"})
    assert f"/queries/{world.elsewhere.pk}/" in executive.content.decode()
    assert "4 rows" in executive.content.decode()


def test_a_member_may_not_open_the_organisation_people_or_another_department(world):
    client = client_for(world.bob)
    assert client.get(f"{DASHBOARD}figures/response_rate/").status_code == 403
    assert client.get(f"{DASHBOARD}figures/active_employee_ratio/", {"department": "support"}).status_code == 403
    assert client.get(f"{DASHBOARD}figures/response_rate/", {"department": "finance"}).status_code == 404
    assert client.get(f"{DASHBOARD}figures/response_rate/rows.csv").status_code == 403
    assert client.get(f"{DASHBOARD}figures/response_rate/rows.csv", {"department": "finance"}).status_code == 404


def test_executives_see_who_took_part(world):
    response = client_for(world.executive).get(f"{DASHBOARD}figures/active_employee_ratio/")
    page = response.content.decode()
    assert response.status_code == 200
    for name in ("Ana Answerer", "Bob Bystander", "Fay Finance"):
        assert name in page
    took_part = client_for(world.executive).get(f"{DASHBOARD}figures/active_employee_ratio/", {"side": "took_part"})
    assert "Ana Answerer" in took_part.content.decode()
    assert "Fay Finance" not in took_part.content.decode()


# --- CSV ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("plain text", "plain text"),
        ("a=b", "a=b"),
        (None, ""),
        (True, "yes"),
        (0.25, "0.25"),
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_exported_inert(value, expected):
    assert inert(value) == expected


def test_the_drill_down_csv_has_every_row_with_formulas_made_inert(world):
    response = client_for(world.executive).get(f"{DASHBOARD}figures/response_rate/rows.csv", {"department": "support"})
    assert response.status_code == 200
    rows = csv_rows(response)
    assert rows[0][:2] == ["Received", "Query"]
    texts = [row[1] for row in rows[1:]]
    assert len(texts) == 5
    assert '\'=HYPERLINK("http://evil.example","click")' in texts
    assert not any(text.startswith(("=", "+", "-", "@")) for row in rows for text in row)


def test_the_csv_of_the_gates_and_departments_is_what_the_page_shows(world):
    client = client_for(world.executive)
    gates = csv_rows(client.get(f"{DASHBOARD}export/gates.csv"))
    assert gates[0][:3] == ["As of", "Scope", "Metric"]
    keys = [row[2] for row in gates[1:]]
    assert "response_rate" in keys
    assert "contribution_evenness" in keys
    response_rate = next(row for row in gates[1:] if row[2] == "response_rate")
    assert response_rate[5:9] == ["0.6667", "4", "6", "0.25"]  # 4 of 6 answered; threshold 25%
    departments = csv_rows(client.get(f"{DASHBOARD}export/departments.csv"))
    assert {row[1] for row in departments[1:]} == {"Support", "Marketing", "Finance", "Sales"}
    history = csv_rows(client.get(f"{DASHBOARD}export/history.csv", {"days": "30"}))
    assert history[0][:3] == ["Day", "Phase", "Raw phase"]
    assert history[1][:3] == [world.today.isoformat(), "Inclusive", "Inclusive"]
    assert len(history) == 2  # one day computed


def test_a_member_exports_their_department_only(world):
    client = client_for(world.bob)
    assert client.get(f"{DASHBOARD}export/gates.csv").status_code == 403
    own = csv_rows(client.get(f"{DASHBOARD}export/gates.csv", {"department": "support"}))
    assert {row[1] for row in own[1:]} == {"Support"}
    assert client.get(f"{DASHBOARD}export/gates.csv", {"department": "finance"}).status_code == 404
    assert client.get(f"{DASHBOARD}export/departments.csv", {"department": "support"}).status_code == 403


# --- Home card and cost ------------------------------------------------------------------------------------


def test_employees_see_their_departments_phase_on_their_home_page(world):
    page = client_for(world.bob).get("/").content.decode()
    assert "Your department, Support, is" in page
    assert "/dashboard/departments/support/" in page
    assert "Open the dashboard" not in page
    executive_home = client_for(world.executive).get("/").content.decode()
    assert "The organisation is Inclusive" in executive_home
    assert "Open the dashboard" in executive_home


def test_the_dashboard_costs_the_same_whatever_the_number_of_departments(world):
    client = client_for(world.executive)

    def queries() -> int:
        phase_services.phase_recompute(first=world.today, last=world.today)
        client.get(DASHBOARD)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(DASHBOARD).status_code == 200
        return len(captured)

    few = queries()
    for n in range(6):
        DepartmentFactory(slug=f"more-{n}", customer_facing=bool(n % 2))
    assert queries() == few


def test_the_first_open_computes_today_when_there_is_no_snapshot_yet(db):
    board = department("board", kind=DepartmentKind.EXECUTIVE, customer_facing=False)
    executive = person(board, roles=[RoleName.EXECUTIVE])
    response = client_for(executive).get(DASHBOARD)
    assert response.status_code == 200
    assert "Authoritarian" in response.content.decode()


# --- As of a day, compared with the period before -----------------------------------------------------


def test_the_dashboard_shows_the_figures_as_of_a_chosen_day(world):
    client = client_for(world.executive)
    yesterday = world.today - timedelta(days=1)
    phase_services.phase_recompute(first=yesterday, last=yesterday)
    page = client.get(DASHBOARD, {"as_of": yesterday.isoformat()}).content.decode()
    shown = f"{yesterday.day} {yesterday:%B %Y}"
    assert f"The organisation on {shown}" in page
    assert f'name="as_of" value="{yesterday.isoformat()}"' in page  # the date picker shows the day
    assert f'max="{world.today.isoformat()}"' in page
    assert f"/dashboard/figures/response_rate/?as_of={yesterday.isoformat()}" in page
    assert "Latest</a>" in page
    department_page = client.get(f"{DASHBOARD}departments/support/", {"as_of": yesterday.isoformat()})
    assert f"{world.support.name} on {shown}" in department_page.content.decode()
    # The latest, without as_of.
    latest = client.get(DASHBOARD).content.decode()
    assert f"The organisation on {world.today.day} {world.today:%B %Y}" in latest
    assert "Latest</a>" not in latest


def test_a_day_without_figures_shows_the_last_day_before_it_or_says_there_is_none(world):
    client = client_for(world.executive)
    early = world.today - timedelta(days=40)
    phase_services.phase_recompute(first=early, last=early)  # computes every day from then to today
    PhaseSnapshot.objects.filter(day__gt=early, day__lt=world.today).delete()  # a gap after the early day
    asked = early + timedelta(days=5)
    page = client.get(DASHBOARD, {"as_of": asked.isoformat()}).content.decode()
    assert f"No figures were computed on {asked.day} {asked:%B %Y}" in page
    assert f"these are the figures of {early.day} {early:%B %Y}, the last day before it" in page
    before = early - timedelta(days=1)
    none = client.get(DASHBOARD, {"as_of": before.isoformat()})
    assert none.status_code == 200
    assert f"No figures on or before {before.day} {before:%B %Y}" in none.content.decode()


def test_the_figures_are_compared_with_the_previous_period(world):
    client = client_for(world.executive)
    page = client.get(DASHBOARD).content.decode()
    assert "There are no figures for the 30 days before this period, so nothing is compared." in page
    assert 'class="delta' not in page
    previous_end = world.today - timedelta(days=30)
    phase_services.phase_recompute(first=previous_end, last=previous_end)
    page = client.get(DASHBOARD).content.decode()
    first = previous_end - timedelta(days=29)
    assert (
        "The changes beside the figures (▲ up, ▼ down) compare them with the previous 30 days, "
        f"{first.day} {first:%B} to {previous_end.day} {previous_end:%B %Y}." in page
    )
    # Participation: Bob's share is new in this period (none in the previous one).
    row = re.search(r"<th scope=\"row\">Messages shared</th>(.*?)</tr>", page, re.S)
    assert row, page
    assert re.findall(r'<td class="num[^"]*">([^<]*)</td>', row.group(1)) == ["1", "0", "+1"]
    # Gates: the active people's share rose from nothing a period ago.
    rose = r'class="delta delta--up"><span aria-hidden="true">▲</span> \+\d+ points<span class="delta__was"> from 0%'
    assert re.search(rose, page)


def test_a_bad_as_of_is_a_400_in_words(world):
    response = client_for(world.executive).get(DASHBOARD, {"as_of": "last tuesday"})
    assert response.status_code == 400


# --- The figures kept between views --------------------------------------------------------------


def _main(page: str) -> str:
    """The page's content, without the layout (whose script nonce changes with every response)."""
    return page[page.index("<main") : page.index("</main>")]


def test_the_figures_are_kept_between_views_and_renewed_as_soon_as_a_snapshot_is_computed(world):
    client = client_for(world.executive)
    first = client.get(DASHBOARD).content.decode()
    assert "4 of 6 queries" in first
    with CaptureQueriesContext(connection) as captured:
        again = client.get(DASHBOARD).content.decode()
    assert _main(again) == _main(first)
    statements = [q["sql"] for q in captured]
    # Kept: the snapshots' version is read (one statement), not the snapshots or the rollups.
    assert sum('"engage_phasesnapshot"' in sql for sql in statements) == 1
    assert not any('"engage_dailyrollup"' in sql or '"engage_personday"' in sql for sql in statements)

    # One more query answered and today computed again: the next view shows it.
    yesterday = world.today - timedelta(days=1)
    Query.objects.filter(pk=world.unanswered.pk).update(answered_at=at(yesterday, 16))
    answer(world.unanswered, world.ana, at(yesterday, 16))
    fold()
    phase_services.phase_recompute(first=world.today, last=world.today)
    assert "5 of 6 queries" in client.get(DASHBOARD).content.decode()


def test_kept_figures_are_per_page_department_and_reader(world):
    url = f"{DASHBOARD}departments/support/"
    member = client_for(world.ana).get(url).content.decode()
    executive = client_for(world.executive).get(url).content.decode()
    assert world.support.name in member
    # The executive's copy offers the people behind the active-employee figure; the member's does not.
    people = "/dashboard/figures/active_employee_ratio/"
    assert people in executive
    assert people not in member
    assert people not in client_for(world.bob).get(url).content.decode()  # a member again: the member's copy
    finance = client_for(world.executive).get(f"{DASHBOARD}departments/finance/").content.decode()
    assert world.finance.name in finance
    assert _main(finance) != _main(executive)

"""Every metric on a hand-built company, with the right answers worked out here.

The company (window W = 30 days ending 2026-03-31, so 2026-03-02 … 2026-03-31):

- departments: MKT (marketing, customer-facing), SUP (customer service, customer-facing),
  HR (customer-facing), PRD (product, not customer-facing); one executive belongs to none;
- people active at as_of: MKT 2, SUP 5, HR 2, PRD 1, no department 1 = 11. Not counted: a
  SUP person deactivated on 2026-03-20 and one who joined on 2026-04-05.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from accounts.models import DepartmentKind
from config.activity import ActivityKind
from engage.models import CloseReason, InsightStatus, PhaseSnapshot
from engage.phase import metrics
from engage.phase.definitions import default_config
from engage.phase.engine import compute_day
from engage.phase.services import phase_recompute
from tests.phase.conftest import answer, at, certify, department, fold, insight, person, query, record

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 3, 31)
BEFORE = date(2026, 2, 20)  # outside the window
AFTER = date(2026, 4, 2)


def d(day: int, month: int = 3) -> date:
    return date(2026, month, day)


@pytest.fixture
def company():
    mkt = department("mkt", DepartmentKind.MARKETING, True)
    sup = department("sup", DepartmentKind.CUSTOMER_SERVICE, True)
    hr = department("hr", DepartmentKind.HR, True)
    prd = department("prd", DepartmentKind.PRODUCT, False)
    mkt1, mkt2 = person(mkt), person(mkt)
    sup1, sup2, sup3, sup4, _sup5 = (person(sup) for _ in range(5))
    hr1, _hr2 = person(hr), person(hr)
    prd1 = person(prd)
    boss = person(None)
    gone = person(sup, deactivated=at(d(20)))
    late = person(sup, joined=at(date(2026, 4, 5)))

    # Queries received in the window. SUP: q1 on time, q2 late, q3 unanswered and overdue,
    # q4 unanswered and not yet due (received at 23:00 on as_of), q7 answered after as_of
    # (overdue at as_of), d1 closed as duplicate only after as_of (still counted then),
    # q5 closed as spam in the window (left out). HR: h1 on time. Unrouted: u1 overdue.
    q1 = query(sup, at(d(10), 9), answered=at(d(10), 10))
    q2 = query(sup, at(d(11), 9), answered=at(d(12), 11))
    query(sup, at(d(12)))
    query(sup, at(AS_OF, 23))
    query(sup, at(d(20)), answered=at(AFTER))
    query(sup, at(d(25)), close_reason=CloseReason.DUPLICATE, closed=at(date(2026, 4, 1), 8))
    query(sup, at(d(14)), close_reason=CloseReason.SPAM, closed=at(d(15)))
    h1 = query(hr, at(d(15), 8), answered=at(d(15), 9))
    query(None, at(d(16)))
    # Received before the window (not counted as queries), answered in it (answers count).
    q6 = query(mkt, at(BEFORE), answered=at(d(3)))
    q9 = query(sup, at(d(27, 2)), answered=at(d(5)))
    q10 = query(sup, at(d(28, 2)), answered=at(d(6)))
    q11 = query(prd, at(d(26, 2)), answered=at(d(8)))
    q8 = query(sup, at(d(24, 2)), answered=at(d(25, 2)))

    # Answers published in the window: SUP 4 (a1, a2, a6, a7), HR 1, MKT 1, PRD 1 = 7.
    answer(q1, sup1, at(d(10), 10))
    answer(q2, sup2, at(d(12), 11))
    answer(q9, sup3, at(d(5)))
    answer(q10, sup3, at(d(6)))
    answer(h1, hr1, at(d(15), 9))
    answer(q6, mkt1, at(d(3)))
    answer(q11, prd1, at(d(8)))
    answer(q8, sup1, at(d(25, 2)))  # before the window

    # Broadcast: 10 messages by MKT and 1 by SUP in the window, one by MKT before it.
    for day in range(3, 13):
        record(ActivityKind.MESSAGE_PUBLISHED, mkt2, at(d(day)))
    record(ActivityKind.MESSAGE_PUBLISHED, sup4, at(d(18)))
    record(ActivityKind.MESSAGE_PUBLISHED, mkt2, at(d(28, 2)))

    # Other participation: claims, reviews, shares, a course. Not participation: visitors'
    # clicks. Outside the window or by people not active at as_of: not counted.
    record(ActivityKind.QUERY_CLAIMED, sup1, at(d(10), 9))
    record(ActivityKind.ANSWER_REVIEWED, hr1, at(d(15), 10))
    record(ActivityKind.MESSAGE_SHARED, mkt1, at(d(20)))
    record(ActivityKind.COURSE_COMPLETED, boss, at(d(30)))
    record(ActivityKind.SHARE_LINK_CLICKED, None, at(d(21)))
    record(ActivityKind.INSIGHT_SUBMITTED, prd1, at(d(1)))
    record(ActivityKind.QUERY_CLAIMED, gone, at(d(10)))
    record(ActivityKind.QUERY_CLAIMED, late, at(date(2026, 4, 6)))

    # Responder certifications valid at as_of: SUP1 and MKT1 (customer-facing) and PRD1
    # (not customer-facing: not counted). SUP2's expired on 2026-03-30; HR1's starts later.
    year = timedelta(days=365)
    certify(sup1, at(date(2026, 1, 1)), at(date(2026, 1, 1)) + year)
    certify(sup2, at(date(2025, 3, 30)), at(d(30)))
    certify(hr1, at(date(2026, 4, 1)), at(date(2026, 4, 1)) + year)
    certify(mkt1, at(date(2026, 2, 1)), at(date(2026, 2, 1)) + year)
    certify(prd1, at(date(2026, 2, 1)), at(date(2026, 2, 1)) + year)

    # Insights: i1 (PRD) planned in the window; i2 (SUP) planned on 15 Jan, within 90 days,
    # shipped only after as_of; i3 planned too long ago; i4 declined after being planned;
    # i5 planned but drawn from no query. Adopted at as_of: i1 and i2.
    sub, plan, ship, no = InsightStatus.SUBMITTED, InsightStatus.PLANNED, InsightStatus.SHIPPED, InsightStatus.DECLINED
    insight(prd1, [(sub, at(d(1, 2))), (plan, at(d(10)))], from_query=q1)
    insight(sup1, [(sub, at(d(10, 1))), (plan, at(d(15, 1))), (ship, at(AFTER))], from_query=q2)
    insight(sup1, [(sub, at(date(2025, 11, 1))), (plan, at(date(2025, 12, 1)))], from_query=q2)
    insight(hr1, [(sub, at(d(1))), (plan, at(d(2))), (no, at(d(20)))], from_query=h1)
    insight(hr1, [(sub, at(d(1))), (plan, at(d(5)))])
    fold()
    return {"mkt": mkt, "sup": sup, "hr": hr, "prd": prd}


def by_key(entries):
    return {entry["key"]: entry for entry in entries}


def figures(entry):
    return entry["numerator"], entry["denominator"]


def test_organisation_metrics(company):
    organisation = compute_day(as_of=AS_OF, config=default_config())[0]
    gates = by_key(organisation.result["gates"])
    others = by_key(organisation.result["metrics"])

    # Received 8 counted queries (SUP 6 with d1, HR 1, unrouted 1; spam and earlier ones
    # out); answered by as_of: q1, q2, h1.
    assert figures(gates["response_rate"]) == (3, 8)
    assert gates["response_rate"]["value"] == 0.375
    # 7 answers against 11 broadcast messages.
    assert figures(gates["two_way_ratio"]) == (7, 18)
    # Answered or overdue by as_of: q1, q2, q3, q7, d1, h1, u1 (q4 not due yet); on time: q1, h1.
    assert figures(gates["sla_attainment"]) == (2, 7)
    # Candidates SUP and HR; only SUP has at least 3 answers.
    assert figures(gates["answering_departments"]) == (1, 2)
    assert gates["answering_departments"]["threshold"] == 2
    assert figures(gates["customer_facing_coverage"]) == (1, 2)
    assert figures(gates["non_marketing_answer_share"]) == (6, 7)
    # Active: SUP1, SUP2, SUP3 (answers, claim), HR1, MKT1, PRD1 (answer on 8 March), boss.
    assert figures(gates["active_employee_ratio"]) == (7, 11)
    # MKT 1/2, SUP 3/5, HR 1/2, PRD 1/1: all at least 20 %.
    assert figures(gates["department_coverage"]) == (4, 4)
    # Customer-facing people: MKT 2 + SUP 5 + HR 2; certified at as_of: SUP1, MKT1.
    assert figures(gates["certified_ratio"]) == (2, 9)
    assert gates["insights_adopted"]["value"] == 2

    # Answers per department 4, 1, 1, 1: normalised entropy over four departments.
    shares = [4 / 7, 1 / 7, 1 / 7, 1 / 7]
    expected = -sum(p * math.log(p) for p in shares) / math.log(4)
    assert others["contribution_evenness"]["value"] == pytest.approx(expected, abs=1e-4)
    assert others["contribution_evenness"]["threshold"] is None

    # Phase 2 holds (0.375 >= 0.25, 0.389 >= 0.20); phase 3 fails on answering departments
    # (1 < 2) and response times (2/7 < 0.5).
    assert organisation.raw_phase == 2
    unmet = {key for key, gate in gates.items() if gate["met"] is False}
    assert unmet == {"answering_departments", "sla_attainment", "certified_ratio"}


def test_department_metrics_and_gates_that_do_not_apply(company):
    results = {r.department.slug: r for r in compute_day(as_of=AS_OF, config=default_config())[1:]}
    sup = by_key(results["sup"].result["gates"])
    assert figures(sup["response_rate"]) == (2, 6)
    assert figures(sup["two_way_ratio"]) == (4, 5)  # 4 answers, 1 message by SUP4
    assert figures(sup["sla_attainment"]) == (1, 5)
    assert figures(sup["active_employee_ratio"]) == (3, 5)
    assert figures(sup["certified_ratio"]) == (1, 5)
    assert sup["insights_adopted"]["value"] == 1  # i2
    for key in (
        "answering_departments",
        "customer_facing_coverage",
        "non_marketing_answer_share",
        "department_coverage",
    ):
        assert sup[key]["applicable"] is False
        assert sup[key]["met"] is None
        assert sup[key]["value"] is None
    assert results["sup"].raw_phase == 2  # response times 1/5 < 0.5

    hr = by_key(results["hr"].result["gates"])
    assert figures(hr["response_rate"]) == (1, 1)
    assert figures(hr["sla_attainment"]) == (1, 1)
    assert figures(hr["certified_ratio"]) == (0, 2)
    # Phases 2 and 3 hold (only response rate, two-way and response times apply); 4 fails.
    assert results["hr"].raw_phase == 3

    # Product is not customer-facing: response rate, response times and certification do
    # not apply; Collaborative has no applicable gate, so it is not reached.
    prd = by_key(results["prd"].result["gates"])
    for key in ("response_rate", "sla_attainment", "certified_ratio"):
        assert prd[key]["applicable"] is False
        assert prd[key]["met"] is None
    assert figures(prd["two_way_ratio"]) == (1, 1)
    assert prd["active_employee_ratio"]["applicable"] is True
    assert results["prd"].raw_phase == 2

    # Marketing has no queries routed to it: its response rate is undefined, never met.
    mkt = by_key(results["mkt"].result["gates"])
    assert mkt["response_rate"]["value"] is None
    assert figures(mkt["response_rate"]) == (0, 0)
    assert mkt["response_rate"]["met"] is False
    assert results["mkt"].raw_phase == 1


def test_next_phase_says_what_to_do(company):
    phase_recompute(first=AS_OF)
    organisation = PhaseSnapshot.objects.get(scope_key=0, day=AS_OF).result
    assert organisation["phase"] == 2  # the first snapshot: the raw phase
    following = organisation["next_phase"]
    assert following["phase"] == 3
    assert following["name"] == "Collaborative"
    distances = {item["key"]: item["distance"] for item in following["unmet"]}
    assert set(distances) == {"answering_departments", "sla_attainment"}
    assert distances["answering_departments"] == (
        "HR published 1 answer in 30 days; one more customer-facing department must reach 3."
    )
    # (2 + 3) / (7 + 3) = 50 %.
    assert "the next three queries answered on time would reach 50%" in distances["sla_attainment"]

    product = PhaseSnapshot.objects.get(department=company["prd"], day=AS_OF).result
    assert product["phase"] == 2
    assert product["next_phase"]["reachable"] is False
    assert product["next_phase"]["unmet"] == []
    assert "not customer-facing" in product["next_phase"]["summary"]


def test_spam_and_duplicates_are_left_out_of_every_query_metric(company):
    window = metrics.Window(as_of=AS_OF, days=30)
    counted = metrics.queries_counted(window)
    assert not counted.filter(close_reason=CloseReason.SPAM).exists()
    # The duplicate was closed only after as_of: on as_of it still counted.
    assert counted.filter(close_reason=CloseReason.DUPLICATE).count() == 1
    later = metrics.Window(as_of=date(2026, 4, 1), days=30)
    assert not metrics.queries_counted(later).filter(close_reason=CloseReason.DUPLICATE).exists()


def test_undefined_metrics_on_an_empty_company(db):
    department("sup")
    organisation = compute_day(as_of=AS_OF, config=default_config())[0]
    gates = by_key(organisation.result["gates"])
    for key in (
        "response_rate",
        "two_way_ratio",
        "sla_attainment",
        "non_marketing_answer_share",
        "active_employee_ratio",
        "certified_ratio",
    ):
        assert gates[key]["value"] is None, key
        assert gates[key]["met"] is False, key
    assert gates["department_coverage"]["denominator"] == 0
    assert organisation.raw_phase == 1
    assert by_key(organisation.result["metrics"])["contribution_evenness"]["value"] is None


def test_answering_departments_does_not_apply_without_candidates(db):
    department("mkt", DepartmentKind.MARKETING, True)
    department("prd", DepartmentKind.PRODUCT, False)
    organisation = compute_day(as_of=AS_OF, config=default_config())[0]
    gates = by_key(organisation.result["gates"])
    assert gates["answering_departments"]["applicable"] is False
    assert gates["answering_departments"]["met"] is None
    # Coverage has a zero denominator: undefined, never met.
    assert gates["customer_facing_coverage"]["value"] is None
    assert gates["customer_facing_coverage"]["met"] is False


def test_answering_departments_threshold_is_capped_by_the_number_of_candidates(db):
    sup = department("sup")
    department("mkt", DepartmentKind.MARKETING, True)
    author = person(sup)
    for n in range(3):
        q = query(sup, at(d(10 + n)), answered=at(d(10 + n), 13))
        answer(q, author, at(d(10 + n), 13))
    fold()
    organisation = compute_day(as_of=AS_OF, config=default_config())[0]
    gate = by_key(organisation.result["gates"])["answering_departments"]
    assert gate["threshold"] == 1  # min(2, one candidate)
    assert gate["met"] is True


def test_window_is_in_the_organisations_time_zone(settings, db):
    settings.TIME_ZONE = "America/New_York"
    sup = department("sup")
    author = person(sup)
    # 02:00 UTC on 1 April is still 31 March in New York: inside the window ending 31 March.
    from datetime import UTC, datetime

    q = query(sup, datetime(2026, 4, 1, 2, 0, tzinfo=UTC), answered=datetime(2026, 4, 1, 3, 0, tzinfo=UTC))
    answer(q, author, datetime(2026, 4, 1, 3, 0, tzinfo=UTC))
    fold()
    organisation = compute_day(as_of=AS_OF, config=default_config())[0]
    gates = by_key(organisation.result["gates"])
    assert figures(gates["response_rate"]) == (1, 1)
    assert figures(gates["active_employee_ratio"]) == (1, 1)


def test_the_rows_behind_each_figure_add_up_to_it(company):
    """The drill-down and the engine share one definition: rows and figures agree."""
    from engage.phase.selectors import metric_rows

    organisation = compute_day(as_of=AS_OF, config=default_config())[0]
    gates = by_key(organisation.result["gates"])

    def rows(key, department=None):
        return list(metric_rows(key=key, as_of=AS_OF, window_days=30, department=department))

    queries = rows("response_rate")
    assert (sum(q.answered for q in queries), len(queries)) == figures(gates["response_rate"])
    due = [q for q in rows("sla_attainment") if q.sla_due]
    assert (sum(q.on_time for q in due), len(due)) == figures(gates["sla_attainment"])
    people = rows("active_employee_ratio")
    assert (sum(p.took_part for p in people), len(people)) == figures(gates["active_employee_ratio"])
    customer_facing = rows("certified_ratio")
    assert (sum(p.certified for p in customer_facing), len(customer_facing)) == figures(gates["certified_ratio"])
    assert len(rows("non_marketing_answer_share")) == gates["non_marketing_answer_share"]["denominator"]
    assert len(rows("insights_adopted")) == gates["insights_adopted"]["value"]
    support = rows("response_rate", company["sup"])
    assert (sum(q.answered for q in support), len(support)) == (2, 6)
    assert [a.author_department.slug for a in rows("two_way_ratio", company["hr"])] == ["hr"]

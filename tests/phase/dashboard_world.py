"""A small company for the dashboard's tests (pages, browser)."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from accounts.models import DepartmentKind, RoleName
from config.activity import ActivityKind
from engage.models import Query
from engage.phase import services as phase_services
from tests.phase.conftest import answer, at, department, fold, person, query, record


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


class World:
    """Support (customer-facing) answers most of its queries; Sales (customer-facing) answers
    none, so Collaborative is out of reach; Finance (not customer-facing) has one query; one
    Support answer went to a query now routed to Finance. One snapshot: today's."""

    def __init__(self) -> None:
        self.today = timezone.localdate()
        yesterday = self.today - timedelta(days=1)
        self.support = department("support")
        self.marketing = department("marketing", kind=DepartmentKind.MARKETING)
        self.sales = department("sales", kind=DepartmentKind.SALES)
        self.finance = department("finance", kind=DepartmentKind.FINANCE, customer_facing=False)
        self.executive = person(self.finance, name="Erin Executive", roles=[RoleName.EXECUTIVE])
        self.ana = person(self.support, name="Ana Answerer")
        self.bob = person(self.support, name="Bob Bystander")
        self.fay = person(self.finance, name="Fay Finance")
        self.mia = person(self.marketing, name="Mia Marketing")
        received = at(yesterday, 9)
        self.answered = []
        for n in range(3):
            q = query(self.support, received, answered=at(yesterday, 10 + n))
            answer(q, self.ana, at(yesterday, 10 + n))
            self.answered.append(q)
        self.unanswered = query(self.support, received)
        self.formula = query(self.support, received)
        Query.objects.filter(pk=self.formula.pk).update(text='=HYPERLINK("http://evil.example","click")')
        # Ana answered a query that now sits with Finance: Support's members do not see it.
        self.elsewhere = query(self.finance, received, answered=at(yesterday, 15))
        self.elsewhere_answer = answer(self.elsewhere, self.ana, at(yesterday, 15))
        record(ActivityKind.MESSAGE_SHARED, self.bob, at(yesterday, 11))
        fold()
        phase_services.phase_recompute(first=self.today, last=self.today)

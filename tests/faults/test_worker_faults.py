"""Jobs on a real Celery worker while the database under it fails."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from django.db import transaction
from django.test import Client

from accounts.models import User
from config import jobs
from config.models import OutboxJob
from engage import services
from engage.models import Channel, Query
from tests.factories import TopicFactory
from tests.faults.conftest import database_dsn, terminate_backends
from tests.platform.procs import Worker, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def received_query(text: str = "I need a refund for my order") -> Query:
    channel, _secret = services.channel_create(slug="forum", name="Forum", kind="forum")
    with transaction.atomic():
        query_id, _created = services.query_receive(
            channel=Channel.objects.get(pk=channel.pk),
            inbound=services.Inbound(external_id="ext-1", text=text, author_handle="@cust"),
        )
    return Query.objects.get(pk=query_id)


def test_a_route_job_whose_database_connection_is_terminated_is_retried_and_routes(
    fault_env: dict[str, str], workers: list[Worker], settings: Any
) -> None:
    settings.ENGAGE_HOT_JOBS_BY_RELAY = False  # the route job published at commit, not by the relay
    topic = TopicFactory(keywords=["refund"])
    query = received_query()  # its route job waits in Redis: no worker runs yet
    assert query.routed_at is None
    with psycopg.connect(database_dsn()) as locker:
        # Hold the query's row, so the job is inside the database when its backend goes.
        table = Query._meta.db_table
        locker.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE", [query.pk])  # noqa: S608
        workers.append(Worker(fault_env).start())
        wait_for(
            lambda: terminate_backends("wait_event_type = 'Lock'"),
            timeout=20,
            what="the worker's route job to wait on the row, then its backend to be terminated",
        )
        locker.rollback()
    query = wait_for(
        lambda: Query.objects.filter(pk=query.pk, routed_at__isnull=False).first(),
        timeout=20,
        what="the retried job to route the query",
    )
    assert query.department_id == topic.department_id
    assert not OutboxJob.objects.filter(dead_at__isnull=False).exists()


def test_a_job_that_fails_for_good_is_a_dead_letter_an_admin_sees(
    fault_env: dict[str, str], workers: list[Worker], client: Client, admin_user: User
) -> None:
    workers.append(Worker(fault_env).start())
    with transaction.atomic():
        jobs.enqueue("engage.route_query", "not-a-query-id")  # a ValueError: retrying will not cure it
    dead = wait_for(
        lambda: OutboxJob.objects.filter(task_name="engage.route_query", dead_at__isnull=False).first(),
        timeout=20,
        what="the failed job to be kept as a dead letter",
    )
    assert dead.args == ["not-a-query-id"]
    assert "ValueError" in dead.last_error
    assert jobs.relay_outbox() == 0, "the relay leaves a dead letter for an admin"

    client.force_login(admin_user)
    page = client.get("/admin/platform/outboxjob/?dead=yes")
    assert page.status_code == 200
    assert "engage.route_query" in page.content.decode()
    assert "Dead letter" in page.content.decode()

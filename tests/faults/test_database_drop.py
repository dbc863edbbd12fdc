"""A PostgreSQL backend terminated in the middle of a request (config/db_drop.py).

The request runs in a thread of its own (its own connection), blocked on a table lock
that a connection of the test's holds, so it is inside a statement when its backend is
terminated (``pg_terminate_backend`` from another connection); then the lock goes. A read
is answered on a new connection; a write is never re-run: 503 with Retry-After.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from django.db import connections
from django.test import Client

from accounts.models import Notification
from tests.faults.conftest import database_dsn, terminate_backends
from tests.platform.procs import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def answer_while_the_backend_is_terminated(
    send: Callable[[], Any], table: str, *, row: int | None = None
) -> tuple[Any, int]:
    """``send()`` in a thread, blocked on ``table`` (or one of its rows), its backend terminated.

    Returns the answer and how many backends were terminated.
    """
    answers: list[Any] = []

    def run() -> None:
        try:
            answers.append(send())
        finally:
            connections.close_all()

    with psycopg.connect(database_dsn()) as locker:
        if row is None:
            locker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        else:
            locker.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE", [row])  # noqa: S608
        thread = threading.Thread(target=run)
        thread.start()
        terminated = wait_for(
            lambda: terminate_backends("wait_event_type = 'Lock'"),
            timeout=20,
            what="the request to wait on the table lock, then its backend to be terminated",
        )
        locker.rollback()  # the lock goes: a second try is not blocked
    thread.join(30)
    assert not thread.is_alive()
    (answer,) = answers
    return answer, terminated


def unread(owner) -> list[Notification]:
    return [Notification.objects.create(user=owner, kind="test", title=f"Hello {n}") for n in range(3)]


def test_an_api_read_whose_connection_is_terminated_is_answered_on_a_new_connection(api, owner) -> None:
    unread(owner)
    client = api(owner)
    client.raise_request_exception = False
    response, terminated = answer_while_the_backend_is_terminated(
        lambda: client.get("/api/v1/notifications/"), Notification._meta.db_table
    )
    assert terminated == 1
    assert response.status_code == 200, response.content[:500]
    assert response.json()["count"] == 3


def test_a_page_read_whose_connection_is_terminated_is_answered_on_a_new_connection(owner) -> None:
    unread(owner)
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    response, terminated = answer_while_the_backend_is_terminated(
        lambda: client.get("/notifications/"), Notification._meta.db_table
    )
    assert terminated == 1
    assert response.status_code == 200, response.content[:500]
    assert "Hello 2" in response.content.decode()


def test_a_write_whose_connection_is_terminated_is_not_run_again_and_answers_503(api, owner) -> None:
    notes = unread(owner)
    client = api(owner)
    client.raise_request_exception = False
    response, terminated = answer_while_the_backend_is_terminated(
        lambda: client.post("/api/v1/notifications/read-all/"), Notification._meta.db_table
    )
    assert terminated == 1
    assert response.status_code == 503, response.content[:500]
    assert response["Retry-After"] == "1"
    assert response["Content-Type"] == "application/json"
    assert "try again" in response.json()["detail"]
    assert Notification.objects.filter(pk__in=[n.pk for n in notes], read_at__isnull=True).count() == 3
    # The next request is served on a new connection, as a client retrying would be.
    assert client.post("/api/v1/notifications/read-all/").status_code in (200, 204)
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_a_get_that_had_written_when_its_connection_dropped_is_not_run_again(owner) -> None:
    """Opening a notification marks it read: its UPDATE waits on the row, then the backend goes."""
    note = Notification.objects.create(user=owner, kind="test", title="Hello", url="/notifications/")
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    response, terminated = answer_while_the_backend_is_terminated(
        lambda: client.get(f"/notifications/{note.pk}/open/"), Notification._meta.db_table, row=note.pk
    )
    assert terminated == 1
    assert response.status_code == 503, response.content[:500]
    assert response["Retry-After"] == "1"
    assert "Try again in a moment" in response.content.decode()
    note.refresh_from_db()
    assert note.read_at is None, "not run again: the write is the client's to repeat"
    assert client.get(f"/notifications/{note.pk}/open/").status_code == 302

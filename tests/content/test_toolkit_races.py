"""A toolkit file downloaded while a curator removes the item: 404, never 500.

Real threads, each on its own PostgreSQL connection, through the real views. The first
test makes the race happen every time: a transaction of the test's own holds the
person's use row for the day (uncommitted), so the download waits inside its use insert
after it has found the item; meanwhile the curator reopens the toolkit and removes the
item; then the held row is rolled back and the download carries on. Before the fix the
download's use failed its foreign key at commit (500); now the removal waits for the
use and removes it with the item.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections, transaction
from django.test import Client
from django.utils import timezone

from content import services
from content.models import ToolkitItem, ToolkitItemUse

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def live_toolkit_with_files(author, reviewer, count: int) -> tuple[Any, list[ToolkitItem]]:
    toolkit = services.toolkit_create(author=author, fields={"title": "Spring launch"})
    items = [
        services.toolkit_item_add(
            user=author, toolkit_id=toolkit.pk, kind="file", upload=SimpleUploadedFile(f"deck-{n}.pdf", PDF)
        )
        for n in range(count)
    ]
    services.toolkit_submit(user=author, toolkit_id=toolkit.pk)
    return services.toolkit_approve(user=reviewer, toolkit_id=toolkit.pk), items


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def wait_for_lock_waiters(count: int, what: str) -> None:
    deadline = time.monotonic() + 10
    while True:
        with connections["default"].cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] >= count:
                return
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_a_download_that_found_the_item_just_before_its_removal_never_fails(author, reviewer, employee, api) -> None:
    toolkit, (item,) = live_toolkit_with_files(author, reviewer, 1)
    stored = item.file.name
    storage = item.file.storage
    held = threading.Event()
    release = threading.Event()

    def hold_the_use_row() -> None:
        try:
            with transaction.atomic():
                now = timezone.now()
                ToolkitItemUse.objects.create(
                    item_id=item.pk,
                    toolkit_id=toolkit.pk,
                    user=employee,
                    department_id=employee.department_id,
                    day=timezone.localdate(now),
                    first_at=now,
                    last_at=now,
                )
                held.set()
                release.wait(20)
                transaction.set_rollback(True)
        finally:
            connections.close_all()

    answers: list[Any] = []
    failures: list[BaseException] = []

    def download() -> None:
        try:
            answers.append(api(employee).get(f"/api/v1/toolkits/{toolkit.pk}/items/{item.pk}/file/"))
        except BaseException as exc:  # the test client re-raises what would be a 500
            failures.append(exc)
        finally:
            connections.close_all()

    def remove() -> None:
        try:
            services.toolkit_reopen(user=author, toolkit_id=toolkit.pk)
            services.toolkit_item_remove(user=author, toolkit_id=toolkit.pk, item_id=item.pk)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_use_row)
    holder.start()
    assert held.wait(10)
    downloader = threading.Thread(target=download)
    downloader.start()
    wait_for_lock_waiters(1, "the download to wait in its use insert, the item found")
    curator = threading.Thread(target=remove)
    curator.start()
    time.sleep(0.5)  # the curator's removal runs now (before the fix it committed here)
    release.set()
    for thread in (holder, downloader, curator):
        thread.join(20)

    assert not failures, failures
    (answer,) = answers
    assert answer.status_code in (200, 404), answer.content[:300]
    if answer.status_code == 404:
        assert answer["Content-Type"] == "application/json"
    assert not ToolkitItem.objects.filter(pk=item.pk).exists()
    assert not ToolkitItemUse.objects.exists(), "the use is removed with the item"
    assert not storage.exists(stored)


@pytest.mark.parametrize("where", ["api", "page"])
def test_a_file_gone_from_storage_as_the_removal_commits_is_a_404(author, reviewer, employee, api, where) -> None:
    toolkit, (item,) = live_toolkit_with_files(author, reviewer, 1)
    item.file.storage.delete(item.file.name)  # the state a download meets just after a removal's commit
    if where == "api":
        response = api(employee).get(f"/api/v1/toolkits/{toolkit.pk}/items/{item.pk}/file/")
        assert response["Content-Type"] == "application/json"
    else:
        response = signed_in(employee).get(f"/toolkits/{toolkit.pk}/items/{item.pk}/open/")
    assert response.status_code == 404


def test_downloads_racing_removals_answer_200_or_404_never_500(author, second_curator, reviewer) -> None:
    toolkit, items = live_toolkit_with_files(author, reviewer, 12)
    services.toolkit_reopen(user=author, toolkit_id=toolkit.pk)  # curators try a draft's files out
    statuses: list[int] = []
    stop = threading.Event()

    def download(worker: int) -> None:
        client = signed_in(second_curator)
        try:
            n = worker
            while not stop.is_set():
                item = items[n % len(items)]
                response = client.get(f"/toolkits/{toolkit.pk}/items/{item.pk}/open/")
                if hasattr(response, "streaming_content"):
                    b"".join(response.streaming_content)
                statuses.append(response.status_code)
                n += 1
        finally:
            connections.close_all()

    threads = [threading.Thread(target=download, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for item in items:
        time.sleep(0.05)
        services.toolkit_item_remove(user=author, toolkit_id=toolkit.pk, item_id=item.pk)
    time.sleep(0.1)
    stop.set()
    for thread in threads:
        thread.join(30)

    assert not ToolkitItem.objects.exists()
    counts = {status: statuses.count(status) for status in set(statuses)}
    print("download answers while items were removed:", counts)
    assert set(counts) <= {200, 404}, counts
    assert counts.get(200), counts
    assert counts.get(404), counts

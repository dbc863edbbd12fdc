"""Toolkits: ordered bundles of approved messages, courses, checked files and links, reviewed
and scheduled like messages, visible to their audience, with their use counted."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from content import services
from content.models import ItemKind, Status, Toolkit, ToolkitItem, ToolkitItemUse
from tests.content.conftest import make_message, publish

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def course(author):
    from training.models import Course, CourseStatus

    return Course.objects.create(title="Responding to the community", status=CourseStatus.PUBLISHED)


def live_toolkit(author, reviewer, **fields):
    toolkit = services.toolkit_create(author=author, fields={"title": "Spring launch", **fields})
    services.toolkit_item_add(user=author, toolkit_id=toolkit.pk, kind="link", url="https://example.com/launch")
    services.toolkit_submit(user=author, toolkit_id=toolkit.pk)
    return services.toolkit_approve(user=reviewer, toolkit_id=toolkit.pk)


def test_the_workflow_through_the_api(api, author, reviewer, employee, course):
    message = publish(author, reviewer)
    client = api(author)
    created = client.post(
        "/api/v1/toolkits/",
        {"title": "Spring launch", "campaign": "spring-26", "audience": ["support"], "status": "published"},
        format="json",
    )
    assert created.status_code == 201
    toolkit_id = created.json()["id"]
    assert created.json()["status"] == "draft"
    assert client.post(f"/api/v1/toolkits/{toolkit_id}/submit/").status_code == 400  # nothing in it yet
    for payload in (
        {"kind": "message", "message": message.pk},
        {"kind": "course", "course": course.pk, "note": "Take this first"},
        {"kind": "link", "url": "https://example.com/brand", "title": "Brand guide"},
    ):
        assert client.post(f"/api/v1/toolkits/{toolkit_id}/items/", payload, format="json").status_code == 201
    upload = client.post(
        f"/api/v1/toolkits/{toolkit_id}/items/",
        {"kind": "file", "file": SimpleUploadedFile("deck.pdf", PDF, content_type="application/pdf")},
        format="multipart",
    )
    assert upload.status_code == 201, upload.json()
    assert upload.json()["content_type"] == "application/pdf"
    assert client.post(f"/api/v1/toolkits/{toolkit_id}/submit/").json()["status"] == "in_review"
    assert api(author).post(f"/api/v1/toolkits/{toolkit_id}/approve/").status_code == 403  # the author
    assert api(employee).get(f"/api/v1/toolkits/{toolkit_id}/").status_code == 404  # not live yet
    approved = api(reviewer).post(f"/api/v1/toolkits/{toolkit_id}/approve/")
    assert approved.status_code == 200
    assert approved.json()["status"] == "published"
    seen = api(employee).get(f"/api/v1/toolkits/{toolkit_id}/").json()
    assert [i["kind"] for i in seen["items"]] == ["message", "course", "link", "file"]
    assert seen["items"][2]["title"] == "Brand guide"


def test_reject_sends_it_back_with_the_comment(api, author, reviewer):
    toolkit = services.toolkit_create(author=author, fields={"title": "Kit"})
    services.toolkit_item_add(user=author, toolkit_id=toolkit.pk, kind="link", url="https://example.com")
    services.toolkit_submit(user=author, toolkit_id=toolkit.pk)
    assert api(reviewer).post(f"/api/v1/toolkits/{toolkit.pk}/reject/", {}, format="json").status_code == 400
    response = api(reviewer).post(f"/api/v1/toolkits/{toolkit.pk}/reject/", {"comment": "Add the deck"}, format="json")
    assert response.json()["status"] == "draft"
    assert toolkit.events.get(action="rejected").comment == "Add the deck"
    assert api(reviewer).post(f"/api/v1/toolkits/{toolkit.pk}/approve/").status_code == 409


def test_approved_toolkits_are_edited_only_after_reopening(api, author, reviewer, employee):
    toolkit = live_toolkit(author, reviewer)
    client = api(author)
    assert client.patch(f"/api/v1/toolkits/{toolkit.pk}/", {"title": "Changed"}, format="json").status_code == 409
    assert (
        client.post(
            f"/api/v1/toolkits/{toolkit.pk}/items/", {"kind": "link", "url": "https://x.example"}, format="json"
        ).status_code
        == 409
    )
    assert client.post(f"/api/v1/toolkits/{toolkit.pk}/reopen/").json()["status"] == "draft"
    assert api(employee).get(f"/api/v1/toolkits/{toolkit.pk}/").status_code == 404  # out of sight again
    assert client.patch(f"/api/v1/toolkits/{toolkit.pk}/", {"title": "Changed"}, format="json").status_code == 200


def test_audience_and_schedule(api, author, reviewer, employee, stranger, now):
    for_support = live_toolkit(author, reviewer, audience=["support"])
    assert api(employee).get(f"/api/v1/toolkits/{for_support.pk}/").status_code == 200
    assert api(stranger).get(f"/api/v1/toolkits/{for_support.pk}/").status_code == 404
    later_kit = services.toolkit_create(
        author=author,
        fields={"title": "Later", "publish_at": now + timedelta(hours=1), "expires_at": now + timedelta(hours=3)},
    )
    services.toolkit_item_add(user=author, toolkit_id=later_kit.pk, kind="link", url="https://example.com")
    services.toolkit_submit(user=author, toolkit_id=later_kit.pk)
    assert services.toolkit_approve(user=reviewer, toolkit_id=later_kit.pk, now=now).status == Status.SCHEDULED
    assert services.schedule_apply(now=now + timedelta(hours=2))["toolkits_published"] == 1
    assert services.schedule_apply(now=now + timedelta(hours=2))["toolkits_published"] == 0
    assert Toolkit.objects.get(pk=later_kit.pk).status == Status.PUBLISHED
    assert services.schedule_apply(now=now + timedelta(hours=4))["toolkits_expired"] == 1
    assert services.schedule_apply(now=now + timedelta(hours=4))["toolkits_expired"] == 0
    assert Toolkit.objects.get(pk=later_kit.pk).status == Status.EXPIRED


def test_employees_see_only_the_items_they_may_use(author, reviewer, employee, stranger, course):
    from content import selectors

    for_finance = publish(author, reviewer, title="Finance wording", audience=["finance"])
    for_all = publish(author, reviewer, title="Everyone's wording")
    toolkit = services.toolkit_create(author=author, fields={"title": "Mixed"})
    for message in (for_finance, for_all):
        services.toolkit_item_add(user=author, toolkit_id=toolkit.pk, kind="message", message_id=message.pk)
    services.toolkit_submit(user=author, toolkit_id=toolkit.pk)
    services.toolkit_approve(user=reviewer, toolkit_id=toolkit.pk)
    assert [i.message.title for i in selectors.toolkit_items(user=employee, toolkit=toolkit)] == ["Everyone's wording"]
    assert len(selectors.toolkit_items(user=stranger, toolkit=toolkit)) == 2
    services.message_withdraw(user=reviewer, message_id=for_all.pk)
    assert selectors.toolkit_items(user=employee, toolkit=toolkit) == []


def test_only_approved_messages_and_published_courses_go_in(api, author, course):
    from training.models import Course

    draft = make_message(author)
    draft_course = Course.objects.create(title="Draft course")
    toolkit = services.toolkit_create(author=author, fields={"title": "Kit"})
    client = api(author)
    for payload, field in (
        ({"kind": "message", "message": draft.pk}, "message"),
        ({"kind": "course", "course": draft_course.pk}, "course"),
        ({"kind": "message"}, "message"),
        ({"kind": "link", "url": "javascript:alert(1)"}, "url"),
        ({"kind": "link"}, "url"),
        ({"kind": "file"}, "file"),
        ({"kind": "spaceship"}, "kind"),
    ):
        response = client.post(f"/api/v1/toolkits/{toolkit.pk}/items/", payload, format="json")
        assert response.status_code == 400, payload
        assert field in str(response.json())
    assert not ToolkitItem.objects.exists()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("deck.pdf", PDF),
        ("logo.png", PNG),
        ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 32),
        ("brief.docx", docx_bytes()),
        ("notes.txt", "Plain words, even ünïcödé.".encode()),
        ("contacts.csv", b"name,email\nA,a@example.com\n"),
    ],
)
def test_allowed_files_are_accepted(api, author, name, content):
    toolkit = services.toolkit_create(author=author, fields={"title": "Kit"})
    response = api(author).post(
        f"/api/v1/toolkits/{toolkit.pk}/items/",
        {"kind": "file", "file": SimpleUploadedFile(name, content)},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    item = ToolkitItem.objects.get()
    assert item.file_name == name
    assert item.file_size == len(content)
    assert not item.file.name.endswith(name)  # stored under a name of ours


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("evil.html", b"<html><script>alert(1)</script></html>"),
        ("evil.svg", b"<svg onload=alert(1)></svg>"),
        ("run.exe", b"MZ\x90\x00"),
        ("fake.pdf", b"<html>not a pdf</html>"),
        ("fake.png", PDF),
        ("fake.docx", b"PK\x03\x04 not really a zip"),
        ("zip.docx", b"PK\x03\x04"),
        ("page.txt", b"<!DOCTYPE html><html><script>alert(1)</script>"),
        ("binary.txt", b"\x00\x01\x02\x03"),
        ("noextension", PDF),
        ("empty.pdf", b""),
    ],
)
def test_files_that_are_not_what_they_claim_are_400(api, author, name, content):
    toolkit = services.toolkit_create(author=author, fields={"title": "Kit"})
    response = api(author).post(
        f"/api/v1/toolkits/{toolkit.pk}/items/",
        {"kind": "file", "file": SimpleUploadedFile(name, content, content_type="application/pdf")},
        format="multipart",
    )
    assert response.status_code == 400
    assert "file" in str(response.json())
    assert not ToolkitItem.objects.exists()


def test_files_over_10_mb_are_413(api, author):
    toolkit = services.toolkit_create(author=author, fields={"title": "Kit"})
    big = PDF + b"0" * (10 * 1024 * 1024)
    response = api(author).post(
        f"/api/v1/toolkits/{toolkit.pk}/items/",
        {"kind": "file", "file": SimpleUploadedFile("big.pdf", big)},
        format="multipart",
    )
    assert response.status_code == 413
    assert not ToolkitItem.objects.exists()


def test_just_under_the_limit_is_accepted_by_the_service(author):
    toolkit = services.toolkit_create(author=author, fields={"title": "Kit"})
    content = PDF + b"0" * (10 * 1024 * 1024 - len(PDF))
    item = services.toolkit_item_add(
        user=author, toolkit_id=toolkit.pk, kind="file", upload=SimpleUploadedFile("edge.pdf", content)
    )
    assert item.file_size == 10 * 1024 * 1024
    with pytest.raises(services.UploadTooLarge):
        services.upload_check(SimpleUploadedFile("over.pdf", content + b"0"))


def test_files_are_downloaded_as_attachments_and_count_as_a_use(api, author, reviewer, employee, stranger):
    toolkit = services.toolkit_create(author=author, fields={"title": "Kit", "audience": ["support"]})
    item = services.toolkit_item_add(
        user=author, toolkit_id=toolkit.pk, kind="file", upload=SimpleUploadedFile("deck.pdf", PDF)
    )
    services.toolkit_submit(user=author, toolkit_id=toolkit.pk)
    services.toolkit_approve(user=reviewer, toolkit_id=toolkit.pk)
    response = api(employee).get(f"/api/v1/toolkits/{toolkit.pk}/items/{item.pk}/file/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PDF
    assert api(stranger).get(f"/api/v1/toolkits/{toolkit.pk}/items/{item.pk}/file/").status_code == 404
    web = Client()
    web.force_login(employee)
    assert web.get(f"/toolkits/{toolkit.pk}/items/{item.pk}/open/").status_code == 200
    use = ToolkitItemUse.objects.get()
    assert use.user == employee
    assert use.count == 2  # twice the same day: one row, counted twice
    assert use.department == employee.department


def test_reorder_and_remove(api, author):
    toolkit = services.toolkit_create(author=author, fields={"title": "Kit"})
    ids = [
        services.toolkit_item_add(user=author, toolkit_id=toolkit.pk, kind="link", url=f"https://example.com/{n}").pk
        for n in range(3)
    ]
    client = api(author)
    assert (
        client.post(f"/api/v1/toolkits/{toolkit.pk}/reorder/", {"item_ids": ids[:2]}, format="json").status_code == 400
    )
    response = client.post(f"/api/v1/toolkits/{toolkit.pk}/reorder/", {"item_ids": ids[::-1]}, format="json")
    assert [i["id"] for i in response.json()["items"]] == ids[::-1]
    assert client.delete(f"/api/v1/toolkits/{toolkit.pk}/items/{ids[1]}/").status_code == 204
    assert list(toolkit.items.values_list("id", flat=True).order_by("position")) == [ids[2], ids[0]]


def test_usage_report_counts_toolkit_use_by_department(api, author, reviewer, employee, stranger):
    toolkit = live_toolkit(author, reviewer)
    item = toolkit.items.get()
    for person in (employee, employee, stranger):
        services.toolkit_item_use(user=person, toolkit_id=toolkit.pk, item_id=item.pk)
    report = api(author).get("/api/v1/messages/usage/").json()
    assert report["totals"]["toolkit_uses"] == 3
    row = report["toolkits"][0]
    assert row["id"] == toolkit.pk
    assert row["uses"] == 3
    assert row["people"] == 2
    assert {d["department"]: d["uses"] for d in row["departments"]} == {"support": 2, "finance": 1}


def test_toolkit_pages(author, reviewer, employee, course):
    message = publish(author, reviewer)
    curator = Client()
    curator.force_login(author)
    response = curator.post("/toolkits/new/", {"title": "Web kit", "campaign": "autumn"})
    assert response.status_code == 302
    toolkit = Toolkit.objects.get(title="Web kit")
    assert curator.get(f"/toolkits/{toolkit.pk}/").status_code == 200
    curator.post(f"/toolkits/{toolkit.pk}/items/", {"kind": "message", "message": message.pk})
    curator.post(f"/toolkits/{toolkit.pk}/items/", {"kind": "course", "course": course.pk})
    curator.post(f"/toolkits/{toolkit.pk}/items/", {"kind": "file", "file": SimpleUploadedFile("evil.html", b"<html>")})
    assert [i.kind for i in toolkit.items.order_by("position")] == [ItemKind.MESSAGE, ItemKind.COURSE]
    first, second = toolkit.items.order_by("position")
    curator.post(f"/toolkits/{toolkit.pk}/items/{second.pk}/up/")
    assert list(toolkit.items.order_by("position").values_list("id", flat=True)) == [second.pk, first.pk]
    curator.post(f"/toolkits/{toolkit.pk}/submit/")
    review = Client()
    review.force_login(reviewer)
    queue = review.get("/review/").content.decode()
    assert "Web kit" in queue
    review.post(f"/toolkits/{toolkit.pk}/approve/")
    assert Toolkit.objects.get(pk=toolkit.pk).status == Status.PUBLISHED
    reader = Client()
    reader.force_login(employee)
    listing = reader.get("/toolkits/").content.decode()
    assert "Web kit" in listing
    opened = reader.get(f"/toolkits/{toolkit.pk}/items/{first.pk}/open/")
    assert opened.status_code == 302
    assert opened["Location"] == f"/messages/{message.pk}/"


def test_submitting_an_empty_toolkit_is_a_documented_400_naming_items(api, author):
    client = api(author)
    toolkit = client.post("/api/v1/toolkits/", {"title": "Empty kit"}, format="json").json()
    response = client.post(f"/api/v1/toolkits/{toolkit['id']}/submit/")
    assert response.status_code == 400
    assert response.json()["field"] == "items"
    assert Toolkit.objects.get(pk=toolkit["id"]).status == Status.DRAFT  # nothing half-written
    schema = client.get("/api/v1/schema/?format=json").json()
    assert "400" in schema["paths"]["/api/v1/toolkits/{id}/submit/"]["post"]["responses"]

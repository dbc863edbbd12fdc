from __future__ import annotations

import json

import pytest
from django.contrib import admin
from django.core import mail
from django.urls import reverse

from accounts import services
from accounts.models import ApiToken, Department, LoginLock, Notification, Role, RoleName, Topic, User
from config.models import OutboxJob
from tests.factories import TopicFactory, UserFactory
from tests.platform.procs import BASE_DIR

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(signed_in, admin_user):
    return signed_in(admin_user)


def _changelist(model: type) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


@pytest.mark.parametrize("role", [r for r in RoleName.values if r != RoleName.ADMIN])
def test_the_admin_is_for_the_admin_role_only(signed_in, department, role):
    person = UserFactory(department=department, roles=[role])
    client = signed_in(person)
    assert client.get("/admin/", follow=True).status_code == 403
    assert client.get(_changelist(User), follow=True).status_code == 403


def test_the_admin_opens_for_an_admin(admin_client):
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Engage administration" in html
    assert "/admin/auth/group/" not in html, "roles, not groups"


@pytest.mark.parametrize("model", [Department, User, Role, Topic, ApiToken, Notification, LoginLock, OutboxJob])
def test_every_changelist_and_change_page_renders(admin_client, admin_user, department, model):
    TopicFactory(department=department)
    services.token_create(user=admin_user)
    Notification.objects.create(user=admin_user, kind="account", title="Hello")
    OutboxJob.objects.create(task_name="accounts.send_email", kwargs={"to": [], "subject": "s", "body": "b"})
    LoginLock.objects.create(key="ip:10.0.0.1", locked_until="2099-01-01T00:00:00Z")
    assert model in admin.site._registry
    response = admin_client.get(_changelist(model))
    assert response.status_code == 200
    obj = model.objects.first()
    change = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
    assert admin_client.get(change).status_code == 200


def test_user_search_and_filters(admin_client, owner, outsider):
    html = admin_client.get(_changelist(User), {"q": "otto"}).content.decode()
    assert outsider.email in html
    assert owner.email not in html
    html = admin_client.get(_changelist(User), {"department__id__exact": owner.department_id}).content.decode()
    assert owner.email in html
    assert outsider.email not in html
    html = admin_client.get(_changelist(User), {"roles__slug__exact": "admin"}).content.decode()
    assert owner.email not in html


def test_tokens_show_no_hash(admin_client, owner):
    issued = services.token_create(user=owner)
    record = issued.record
    html = admin_client.get(reverse("admin:accounts_apitoken_change", args=[record.pk])).content.decode()
    assert record.prefix in html
    assert record.key_hash not in html
    assert issued.token not in html
    assert admin_client.get(reverse("admin:accounts_apitoken_add")).status_code == 403


def test_adding_a_person_goes_through_the_service_and_invites_them(
    admin_client, department, django_capture_on_commit_callbacks
):
    reviewer = Role.objects.get(slug=RoleName.REVIEWER)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:accounts_user_add"),
            {
                "email": "New.Person@Example.com",
                "name": "New Person",
                "department": department.pk,
                "roles": [reviewer.pk],
                "send_invitation": "on",
                "_save": "Save",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    person = User.objects.get(email="new.person@example.com")
    assert person.role_set == {RoleName.EMPLOYEE, RoleName.REVIEWER}
    assert not person.has_usable_password()
    assert [m.to for m in mail.outbox] == [["new.person@example.com"]]
    assert "/password-reset/" in mail.outbox[0].body


def test_adding_a_duplicate_email_is_refused_in_the_form(admin_client, owner):
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {"email": owner.email.upper(), "name": "Copy", "roles": [], "_save": "Save"},
    )
    assert response.status_code == 200
    assert User.objects.filter(email__iexact=owner.email).count() == 1


def test_changing_roles_keeps_employee_and_department(admin_client, owner, other_department):
    executive = Role.objects.get(slug=RoleName.EXECUTIVE)
    response = admin_client.post(
        reverse("admin:accounts_user_change", args=[owner.pk]),
        {"name": "Olive Owner", "department": other_department.pk, "roles": [executive.pk], "is_active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    owner.refresh_from_db()
    owner.__dict__.pop("role_set", None)
    assert owner.role_set == {RoleName.EMPLOYEE, RoleName.EXECUTIVE}
    assert owner.department == other_department


def test_removing_the_last_admin_is_refused_with_a_message(admin_client, admin_user):
    response = admin_client.post(
        reverse("admin:accounts_user_change", args=[admin_user.pk]),
        {"name": admin_user.name, "roles": [], "is_active": "on"},
        follow=True,
    )
    assert "without an active administrator" in response.content.decode()
    admin_user.refresh_from_db()
    admin_user.__dict__.pop("role_set", None)
    assert RoleName.ADMIN in admin_user.role_set


def test_deactivate_action_ends_tokens(admin_client, owner, colleague):
    token = services.token_create(user=owner).record
    response = admin_client.post(
        _changelist(User), {"action": "deactivate", "_selected_action": [owner.pk]}, follow=True
    )
    assert "Deactivated 1 person." in response.content.decode()
    owner.refresh_from_db()
    token.refresh_from_db()
    assert not owner.is_active
    assert token.revoked_at is not None
    colleague.refresh_from_db()
    assert colleague.is_active


def test_export_json_action(admin_client, owner, colleague):
    response = admin_client.post(_changelist(User), {"action": "export_json", "_selected_action": [owner.pk]})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert [person["profile"]["email"] for person in data["people"]] == [owner.email]


def test_users_cannot_be_deleted_from_the_admin(admin_client, owner):
    assert admin_client.get(reverse("admin:accounts_user_delete", args=[owner.pk])).status_code == 403


def test_adding_a_department_and_a_topic(admin_client, department):
    response = admin_client.post(
        reverse("admin:accounts_department_add"),
        {"name": "Human Resources", "slug": "hr", "kind": "hr", "_save": "Save"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    hr = Department.objects.get(slug="hr")
    assert not hr.customer_facing
    response = admin_client.post(
        reverse("admin:accounts_topic_add"),
        {
            "name": "Payroll",
            "slug": "payroll",
            "department": hr.pk,
            "keywords": "Payslip\n  salary ,  PAYSLIP\nbonus",
            "_save": "Save",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Topic.objects.get(slug="payroll").keywords == ["payslip", "salary", "bonus"]


def test_retry_now_runs_a_waiting_job(admin_client, owner):
    job = OutboxJob.objects.create(
        task_name="accounts.send_email",
        kwargs={"to": [owner.email], "subject": "Retried", "body": "Hello again"},
        attempts=2,
        last_error="broker was down",
    )
    response = admin_client.post(
        _changelist(OutboxJob), {"action": "retry_now", "_selected_action": [job.pk]}, follow=True
    )
    assert "Sent 1 of 1 job." in response.content.decode()
    assert not OutboxJob.objects.filter(pk=job.pk).exists()
    assert [m.subject for m in mail.outbox] == ["Retried"]


def test_outbox_jobs_are_read_only(admin_client):
    job = OutboxJob.objects.create(task_name="accounts.send_email", kwargs={})
    assert admin_client.get(reverse("admin:platform_outboxjob_add")).status_code == 403
    response = admin_client.post(reverse("admin:platform_outboxjob_change", args=[job.pk]), {"task_name": "evil"})
    assert response.status_code == 403
    job.refresh_from_db()
    assert job.task_name == "accounts.send_email"


def test_changing_a_department_goes_through_the_service(admin_client, department):
    change = reverse("admin:accounts_department_change", args=[department.pk])
    form = {"name": "  Care  ", "slug": "renamed", "kind": "customer_service", "customer_facing": "on", "_save": "Save"}
    response = admin_client.post(change, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    department.refresh_from_db()
    assert (department.name, department.slug, department.customer_facing) == ("Care", "support", True)
    refused = admin_client.post(change, {**form, "name": "   "})
    assert refused.status_code == 200  # the form again, with its error
    department.refresh_from_db()
    assert department.name == "Care"


def test_changing_a_topic_cleans_its_keywords_as_creating_does(admin_client, department):
    topic = TopicFactory(department=department, slug="refunds", keywords=["refund"])
    change = reverse("admin:accounts_topic_change", args=[topic.pk])
    response = admin_client.post(
        change,
        {
            "name": " Refunds ",
            "slug": "changed",
            "department": department.pk,
            "keywords": "Money Back\n  REFUND ,  money   back",
            "_save": "Save",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    topic.refresh_from_db()
    assert (topic.name, topic.slug, topic.keywords) == ("Refunds", "refunds", ["money back", "refund"])


def test_the_accounts_admin_never_saves_a_form_instance_itself():
    """Department and topic changes used to be ``obj.save()`` on the form's instance."""
    source = (BASE_DIR / "accounts" / "admin.py").read_text()
    assert "obj.save()" not in source

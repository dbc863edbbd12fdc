"""Email: a mailbox read over IMAP from a real Dovecot, replies sent over SMTP to a real
aiosmtpd server, both started by these tests on loopback ports (tests/connectors/mailservers.py)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import pytest
from django.utils import timezone

from engage.connectors import mail, mailbox
from engage.models import Channel, CustomerMessage, Delivery, DeliveryStatus, Query, QueryState
from tests.connectors.mailservers import SMTP_PASSWORD, SMTP_USER, Captured, Mailbox

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.mailservers,
    # The capturing server takes the channel's SMTP login over plain TCP on loopback.
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]

SUPPORT = "support@example.test"


def customer_mail(
    subject: str = "Refund for order 42",
    text: str | None = "Hello, I would like a refund for order 42.",
    *,
    html: str | None = None,
    sender: str = "Carol Customer <carol@example.org>",
    **headers: str,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = make_msgid(domain="example.org")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    if text is not None:
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
    elif html is not None:
        message.set_content(html, subtype="html")
    return message


@pytest.fixture
def inbox(api, admin_user, mailbox: Mailbox, smtp_server: Captured, loopback_allowed) -> Channel:  # type: ignore[no-untyped-def]
    response = api(admin_user).post(
        "/api/v1/channels/",
        {
            "slug": "mail",
            "name": "Support mail",
            "kind": "email",
            "connector": "email",
            "config": {
                "from_address": SUPPORT,
                "imap_host": mailbox.host,
                "imap_port": mailbox.port,
                "imap_security": "none",
                "imap_username": mailbox.username,
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp_server.port,
                "smtp_security": "none",
                "smtp_username": SMTP_USER,
            },
            "credentials": {"imap_password": mailbox.password, "smtp_password": SMTP_PASSWORD},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["credentials_set"] == ["imap_password", "smtp_password"]
    assert response.json()["inbound_path"] == ""
    return Channel.objects.get(slug="mail")


def poll(channel: Channel, capture: Any) -> int:
    with capture(execute=True):
        return mailbox.mailbox_poll(channel_id=channel.pk)


def test_a_mail_becomes_a_routed_query_once(inbox, mailbox, refund_topic, django_capture_on_commit_callbacks):
    sent = customer_mail()
    mailbox.deliver(sent)
    assert poll(inbox, django_capture_on_commit_callbacks) == 1
    query = Query.objects.get()
    assert query.external_id == sent["Message-ID"]
    assert query.text == "Refund for order 42\n\nHello, I would like a refund for order 42."
    assert query.author_handle == "carol@example.org"
    assert query.author_name == "Carol Customer"
    assert query.department == refund_topic.department
    inbox.refresh_from_db()
    assert inbox.cursor["last_uid"] == 1
    assert inbox.last_event_at is not None
    assert poll(inbox, django_capture_on_commit_callbacks) == 0  # the cursor moved past it
    Channel.objects.filter(pk=inbox.pk).update(cursor={})  # as after a UIDVALIDITY change
    assert poll(inbox, django_capture_on_commit_callbacks) == 1
    assert Query.objects.count() == 1  # the same Message-ID is stored once


def test_html_is_turned_to_safe_text_and_attachments_are_named(inbox, mailbox, django_capture_on_commit_callbacks):
    html_only = customer_mail(
        "Broken page",
        None,
        html="<html><head><style>p{color:red}</style><script>alert('x')</script></head>"
        "<body><p>The <b>checkout</b> page&nbsp;fails.</p><p>Since &lt;Monday&gt;</p></body></html>",
    )
    with_file = customer_mail("Invoice", "See the attached invoice.")
    with_file.add_attachment(b"%PDF-1.4 " + b"x" * 3000, maintype="application", subtype="pdf", filename="invoice.pdf")
    mailbox.deliver(html_only)
    mailbox.deliver(with_file)
    assert poll(inbox, django_capture_on_commit_callbacks) == 2
    page = Query.objects.get(external_id=html_only["Message-ID"])
    assert "The checkout page\xa0fails." in page.text
    assert "Since <Monday>" in page.text
    assert "alert" not in page.text
    assert "color" not in page.text
    assert "<b>" not in page.text
    invoice = Query.objects.get(external_id=with_file["Message-ID"])
    assert "See the attached invoice." in invoice.text
    assert "invoice.pdf (3 KB)" in invoice.text


def test_auto_replies_and_bounces_are_ignored(inbox, mailbox, django_capture_on_commit_callbacks):
    mailbox.deliver(customer_mail("Out of office", "I am away.", Auto_Submitted="auto-replied"))
    mailbox.deliver(customer_mail("Newsletter", "News.", Precedence="bulk"))
    bounce = EmailMessage()
    bounce["From"] = "Mail Delivery System <MAILER-DAEMON@example.org>"
    bounce["To"] = SUPPORT
    bounce["Subject"] = "Undelivered Mail Returned to Sender"
    bounce["Message-ID"] = make_msgid(domain="example.org")
    bounce.set_content("This is the mail system.")
    bounce.add_attachment(
        "Reporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; x@example.org\nAction: failed\nStatus: 5.1.1\n",
        subtype="delivery-status",
    )
    bounce.replace_header("Content-Type", 'multipart/report; report-type=delivery-status; boundary="b"')
    mailbox.deliver(bounce.as_bytes())
    mailbox.deliver(customer_mail("A real question", "Where is my parcel?"))
    assert poll(inbox, django_capture_on_commit_callbacks) == 4
    assert list(Query.objects.values_list("text", flat=True)) == ["A real question\n\nWhere is my parcel?"]


def test_the_answer_is_mailed_threaded_and_the_customers_reply_joins_the_thread(
    inbox, mailbox, smtp_server, answer_now, django_capture_on_commit_callbacks
):
    question = customer_mail()
    mailbox.deliver(question)
    poll(inbox, django_capture_on_commit_callbacks)
    query = Query.objects.get()
    answer = answer_now(query.pk)
    delivery = Delivery.objects.get(answer=answer)
    assert delivery.status == DeliveryStatus.DELIVERED, delivery.last_error
    assert smtp_server.logins == [SMTP_USER]
    [sent] = smtp_server.messages
    assert smtp_server.envelopes[0]["to"] == ["carol@example.org"]
    assert sent["Subject"] == "Re: Refund for order 42"
    assert sent["In-Reply-To"] == question["Message-ID"]
    assert question["Message-ID"] in sent["References"]
    assert sent["From"].addresses[0].addr_spec == SUPPORT
    assert sent["Auto-Submitted"] == "auto-replied"
    assert "You will get your refund" in sent.get_body(preferencelist=("plain",)).get_content()
    assert "Rate this answer" in sent.get_body(preferencelist=("plain",)).get_content()
    assert delivery.remote_id == sent["Message-ID"]
    inbox.refresh_from_db()
    assert inbox.last_reply_at is not None
    # The customer answers our mail; their client names only our Message-ID.
    follow_up = customer_mail("Re: Refund for order 42", "Thanks, but it has not arrived.")
    follow_up["In-Reply-To"] = sent["Message-ID"]
    follow_up["References"] = sent["Message-ID"]
    mailbox.deliver(follow_up)
    poll(inbox, django_capture_on_commit_callbacks)
    assert Query.objects.count() == 1
    query.refresh_from_db()
    assert query.state == QueryState.OPEN  # answered, then re-opened by the follow-up
    assert CustomerMessage.objects.filter(query=query, external_id=follow_up["Message-ID"]).exists()


def test_a_refused_login_is_shown_on_the_channel_and_a_refused_smtp_login_is_a_dead_letter(
    api, admin_user, inbox, mailbox, smtp_server, answer_now, django_capture_on_commit_callbacks
):
    mailbox.deliver(customer_mail())
    api(admin_user).patch("/api/v1/channels/mail/", {"credentials": {"imap_password": "wrong"}}, format="json")
    assert poll(inbox, django_capture_on_commit_callbacks) == 0
    inbox.refresh_from_db()
    assert inbox.last_error.startswith("IMAP:")
    assert not Query.objects.exists()
    api(admin_user).patch(
        "/api/v1/channels/mail/",
        {"credentials": {"imap_password": mailbox.password, "smtp_password": "wrong"}},
        format="json",
    )
    poll(inbox, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(answer=answer_now(Query.objects.get().pk))
    assert delivery.status == DeliveryStatus.DEAD
    assert "SMTP" in delivery.last_error
    assert smtp_server.messages == []


def test_an_unreachable_imap_server_is_raised_for_the_retry_policy(inbox, django_capture_on_commit_callbacks):
    from tests.connectors.mailservers import free_port

    Channel.objects.filter(pk=inbox.pk).update(config={**inbox.config, "imap_port": free_port()})
    with pytest.raises(ConnectionError):
        mailbox.mailbox_poll(channel_id=inbox.pk)
    inbox.refresh_from_db()
    assert inbox.last_error.startswith("IMAP:")


def test_settings_name_the_field(api, admin_user):
    base = {"slug": "m", "name": "M", "kind": "email", "connector": "email"}
    config = {
        "from_address": SUPPORT,
        "imap_host": "imap.example.com",
        "imap_username": "u",
        "smtp_host": "smtp.example.com",
    }
    missing = api(admin_user).post("/api/v1/channels/", {**base, "config": config}, format="json")
    assert missing.status_code == 400
    assert missing.json()["field"] == "credentials.imap_password"
    private = api(admin_user).post(
        "/api/v1/channels/",
        {**base, "config": {**config, "smtp_host": "10.0.0.5"}, "credentials": {"imap_password": "p"}},
        format="json",
    )
    assert private.status_code == 400
    assert private.json()["field"] == "config.smtp_host"
    bad = api(admin_user).post(
        "/api/v1/channels/",
        {**base, "config": {**config, "imap_security": "maybe"}, "credentials": {"imap_password": "p"}},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["field"] == "config.imap_security"


def test_parse_prefers_plain_text_and_threads_by_references():
    message = customer_mail("Re: Refund", "plain words", html="<p>html words</p>")
    message["In-Reply-To"] = "<b@x>"
    message["References"] = "<a@x> <b@x>"
    parsed = mail.parse(message.as_bytes())
    assert parsed.inbound is not None
    assert parsed.inbound.text == "Re: Refund\n\nplain words"
    assert parsed.inbound.thread_id == "<a@x>"
    assert parsed.inbound.in_reply_to == "<b@x>"
    assert parsed.references == ("<a@x>", "<b@x>")


def test_a_delivery_status_report_is_ignored_whoever_sends_it():
    report = (
        b"From: mail-system@example.org\r\nTo: support@example.test\r\nSubject: Delivery failure\r\n"
        b"Message-ID: <r1@example.org>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="XX"\r\n\r\n'
        b"--XX\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        b"--XX\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n"
        b"Final-Recipient: rfc822; x@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n--XX--\r\n"
    )
    parsed = mail.parse(report)
    assert parsed.inbound is None
    assert parsed.ignored == "a delivery status report"

"""Email: a mailbox read over IMAP by a scheduled job, replies sent over SMTP.

Inbound (``engage.connectors.mailbox`` polls; this module parses): each new message (by
UID, the last one kept in the channel's ``cursor`` with the mailbox's UIDVALIDITY) is
parsed with the standard library's ``email`` package: plain text preferred, HTML turned to
safe text (nh3 removes every tag and the content of scripts and styles), attachments named
with their sizes (their content is not kept; a message over ``MAX_MESSAGE_BYTES`` is not
downloaded), the external id its ``Message-ID``, the thread its ``References`` /
``In-Reply-To``. Auto-replies and bounces are ignored: ``Auto-Submitted`` other than
``no``, ``Precedence: bulk/junk/list/auto_reply``, ``X-Autoreply`` / ``X-Autorespond``,
delivery status reports (``multipart/report``, ``message/delivery-status``) and mail from
``MAILER-DAEMON`` or ``postmaster``.

Outbound, a reply to the customer's latest message over SMTP, with the customer's subject
(``Re: …``), ``In-Reply-To`` and ``References`` so it threads in their mail client, and a
``Message-ID`` of our own, kept as the delivery's ``remote_id``. The channel's own SMTP
settings are used, never the site's ``EMAIL_URL``.

IMAP and SMTP connections are made to an address vetted like an outbound delivery's (the
host resolved, every address public, the socket connected to the vetted one, TLS checked
against the host's name).
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import html
import imaplib
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.utils import getaddresses, make_msgid, parsedate_to_datetime
from typing import Any

import nh3
from imapclient import IMAPClient, imap4, tls

from engage import outbound
from engage.connectors.base import Invalid, Reply, Setting, check_host
from engage.inbound import Inbound
from engage.models import Channel, ConnectorKind, CustomerMessage, Delivery, DeliveryStatus

MAX_TEXT = 10_000
MAX_MESSAGE_BYTES = 10 * 1024 * 1024
TIMEOUT_SECONDS = 20.0
SECURITY = ("ssl", "starttls", "none")
_IGNORED_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_BLANK_LINES = re.compile(r"\n{3,}")


# --- Parsing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parsed:
    inbound: Inbound | None
    ignored: str = ""
    references: tuple[str, ...] = ()  # the message's References and In-Reply-To, oldest first


def _ids(value: str | None) -> list[str]:
    return _MESSAGE_ID.findall(str(value or ""))


def ignored_reason(message: Message) -> str:
    """Why ``message`` is an auto-reply or a bounce (not a customer's question), or ''."""
    auto = str(message.get("Auto-Submitted", "")).strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = str(message.get("Precedence", "")).strip().lower()
    if precedence in _IGNORED_PRECEDENCE:
        return f"Precedence: {precedence}"
    for header in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        if header in message and header != "X-Auto-Response-Suppress":
            return f"{header} set"
    if message.get_content_type() == "multipart/report" or any(
        part.get_content_type() in ("message/delivery-status", "message/disposition-notification")
        for part in message.walk()
    ):
        return "a delivery status report"
    sender = (getaddresses([str(message.get("From", ""))]) or [("", "")])[0][1].lower()
    if sender.split("@", 1)[0] in ("mailer-daemon", "postmaster"):
        return f"sent by {sender}"
    return ""


def _text_of_html(markup: str) -> str:
    for tag in ("br", "/p", "/div", "/li", "/tr", "/h1", "/h2", "/h3"):
        markup = re.sub(rf"<{tag}\b[^>]*>", "\n", markup, flags=re.IGNORECASE)
    return html.unescape(nh3.clean(markup, tags=set()))


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset, a broken encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_type() == "text/html":
        content = _text_of_html(content)
    lines = [line.rstrip() for line in content.replace("\r\n", "\n").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _size(count: int) -> str:
    return f"{count / 1024 / 1024:.1f} MB" if count >= 1024 * 1024 else f"{max(1, round(count / 1024))} KB"


def _attachments(message: EmailMessage) -> list[str]:
    named = []
    for part in message.iter_attachments():
        name = part.get_filename() or part.get_content_type()
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else 0
        named.append(f"{name[:200]} ({_size(size)})")
    return named[:50]


def parse(raw: bytes, *, mailbox_address: str = "") -> Parsed:
    """The customer message ``raw`` (RFC 5322 bytes) carries, or why it is ignored."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    reason = ignored_reason(message)
    if reason:
        return Parsed(inbound=None, ignored=reason)
    sender_name, sender = (getaddresses([str(message.get("From", ""))]) or [("", "")])[0]
    if not sender or "@" not in sender:
        return Parsed(inbound=None, ignored="no sender address")
    if mailbox_address and sender.lower() == mailbox_address.lower():
        return Parsed(inbound=None, ignored="sent by the mailbox itself")
    message_ids = _ids(message.get("Message-ID"))
    # Without a Message-ID (rare), the message's own bytes name it: a second poll finds the same one.
    message_id = message_ids[0] if message_ids else f"<{hashlib.sha256(raw).hexdigest()[:40]}@engage.invalid>"
    subject = str(message.get("Subject", "")).strip() or "(no subject)"
    body = _body(message)
    names = _attachments(message)
    if names:
        body = f"{body}\n\nAttachments (not kept): {', '.join(names)}".strip()
    references = _ids(message.get("References"))
    in_reply_to = (_ids(message.get("In-Reply-To")) or [""])[0]
    if in_reply_to and in_reply_to not in references:
        references.append(in_reply_to)
    sent_at = None
    try:
        sent_at = parsedate_to_datetime(str(message.get("Date"))) if message.get("Date") else None
    except (TypeError, ValueError):
        sent_at = None
    if sent_at is not None and sent_at.tzinfo is None:
        sent_at = None
    inbound = Inbound(
        external_id=message_id[:255],
        text=f"{subject}\n\n{body or '(no text)'}"[:MAX_TEXT],
        author_handle=sender[:255],
        author_name=sender_name[:255],
        sender_created_at=sent_at,
        thread_id=(references[0] if references else "")[:255],
        in_reply_to=in_reply_to[:255],
    )
    return Parsed(inbound=inbound, references=tuple(references))


def parse_too_large(header: bytes, size: int) -> Parsed:
    """A message over ``MAX_MESSAGE_BYTES``: its headers only, and a note of its size."""
    parsed = parse(header + b"\r\n\r\n")
    if parsed.inbound is None:
        return parsed
    subject = parsed.inbound.text.split("\n", 1)[0]
    note = f"(This message is {_size(size)}, over the {_size(MAX_MESSAGE_BYTES)} limit: read it in the mailbox.)"
    return Parsed(
        inbound=Inbound(**{**parsed.inbound.__dict__, "text": f"{subject}\n\n{note}"}), references=parsed.references
    )


# --- Connections ----------------------------------------------------------------------------------


class _PinnedIMAP4(imap4.IMAP4WithTimeout):
    def __init__(self, host: str, port: int, timeout: float | None, *, address: str) -> None:
        self._address = address
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        return socket.create_connection((self._address, self.port), timeout or self._timeout)


class _PinnedIMAP4TLS(tls.IMAP4_TLS):
    def __init__(self, host: str, port: int, context: ssl.SSLContext | None, timeout: float | None, *, address: str):
        self._address = address
        super().__init__(host, port, context, timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        sock = socket.create_connection((self._address, self.port), timeout or self._timeout)
        return tls.wrap_socket(sock, self.ssl_context, self.host)


class PinnedIMAPClient(IMAPClient):
    """``IMAPClient`` connecting to the vetted address of its host (TLS still checks the name)."""

    def _create_IMAP4(self) -> imaplib.IMAP4:
        address = outbound.resolve(self.host, self.port)
        if self.ssl:
            return _PinnedIMAP4TLS(self.host, self.port, self.ssl_context, TIMEOUT_SECONDS, address=address)
        return _PinnedIMAP4(self.host, self.port, TIMEOUT_SECONDS, address=address)


class _PinnedSMTP(smtplib.SMTP):
    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return socket.create_connection((outbound.resolve(host, port), port), timeout)


class _PinnedSMTPSSL(smtplib.SMTP_SSL):
    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = socket.create_connection((outbound.resolve(host, port), port), timeout)
        return self.context.wrap_socket(sock, server_hostname=getattr(self, "_host", host))


def imap_connect(config: dict[str, Any], credentials: dict[str, str]) -> IMAPClient:
    """A logged-in IMAP connection to the channel's mailbox (the caller logs out)."""
    security = config.get("imap_security", "ssl")
    client = PinnedIMAPClient(
        str(config["imap_host"]),
        port=int(config.get("imap_port") or (993 if security == "ssl" else 143)),
        ssl=security == "ssl",
        ssl_context=ssl.create_default_context(),
        timeout=TIMEOUT_SECONDS,
    )
    if security == "starttls":
        client.starttls(ssl.create_default_context())
    client.login(str(config["imap_username"]), credentials.get("imap_password", ""))
    return client


def _smtp(config: dict[str, Any], credentials: dict[str, str]) -> smtplib.SMTP:
    security = config.get("smtp_security", "starttls")
    host = str(config["smtp_host"])
    port = int(config.get("smtp_port") or (465 if security == "ssl" else 587))
    smtp: smtplib.SMTP
    if security == "ssl":
        smtp = _PinnedSMTPSSL(host, port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context())
    else:
        smtp = _PinnedSMTP(host, port, timeout=TIMEOUT_SECONDS)
        if security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
    username = str(config.get("smtp_username") or config.get("imap_username") or "")
    password = credentials.get("smtp_password") or credentials.get("imap_password", "")
    if username and password:
        smtp.login(username, password)
    return smtp


# --- Replies ---------------------------------------------------------------------------------------


def _reply_subject(text: str) -> str:
    subject = text.split("\n", 1)[0].strip() or "Your question"
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def reply_message(*, channel: Channel, reply: Reply) -> EmailMessage:
    """The reply as it is sent: to the customer of the latest message, threaded under it."""
    delivery = reply.delivery
    answered = (
        CustomerMessage.objects.filter(channel=channel, external_id=reply.in_reply_to)
        .only("text", "author_handle")
        .first()
    )
    recipient = answered.author_handle if answered is not None else delivery.query.author_handle
    subject_source = answered.text if answered is not None else delivery.query.text
    from_address = str(channel.config.get("from_address", ""))
    message = EmailMessage()
    message["From"] = Address(channel.name, addr_spec=from_address) if from_address else channel.name
    message["To"] = recipient
    message["Subject"] = _reply_subject(subject_source)
    domain = from_address.rsplit("@", 1)[-1] if "@" in from_address else None
    message["Message-ID"] = make_msgid(idstring=f"engage.{delivery.pk}", domain=domain)
    # The thread as the customer's client knows it: the first message, the replies already
    # sent, the customer's later messages, ending with the one answered.
    earlier = list(
        Delivery.objects.filter(query_id=delivery.query_id, status=DeliveryStatus.DELIVERED)
        .exclude(remote_id="")
        .order_by("delivered_at")
        .values_list("remote_id", flat=True)
    )
    chain = [reply.thread_id, *earlier, reply.in_reply_to]
    references = [
        ref for index, ref in enumerate(chain) if ref and _MESSAGE_ID.fullmatch(ref) and ref not in chain[:index]
    ]
    if reply.in_reply_to and _MESSAGE_ID.fullmatch(reply.in_reply_to):
        message["In-Reply-To"] = reply.in_reply_to
    if references:
        message["References"] = " ".join(references)
    message["Auto-Submitted"] = "auto-replied"  # so the customer's auto-responder does not answer it
    text = reply.body
    if reply.rating_url:
        text += f"\n\nRate this answer: {reply.rating_url}"
    message.set_content(text)
    body_html = str(reply.payload.get("body_html") or "")
    if body_html:
        if reply.rating_url:
            body_html += f'<p><a href="{html.escape(reply.rating_url)}">Rate this answer</a></p>'
        message.add_alternative(body_html, subtype="html")
    return message


def _permanent(exc: smtplib.SMTPException) -> bool:
    if isinstance(exc, smtplib.SMTPAuthenticationError | smtplib.SMTPRecipientsRefused | smtplib.SMTPSenderRefused):
        return True
    code = getattr(exc, "smtp_code", 0)
    return isinstance(code, int) and 500 <= code < 600


class EmailConnector:
    kind = ConnectorKind.EMAIL.value
    config: tuple[Setting, ...] = (
        Setting("from_address", "Address replies come from", help="The support mailbox's address."),
        Setting("imap_host", "IMAP server"),
        Setting("imap_port", "IMAP port", type="int", required=False),
        Setting("imap_security", "IMAP security", type="choice", choices=SECURITY, required=False, default="ssl"),
        Setting("imap_username", "IMAP username"),
        Setting("imap_mailbox", "IMAP folder", required=False, default="INBOX"),
        Setting("smtp_host", "SMTP server"),
        Setting("smtp_port", "SMTP port", type="int", required=False),
        Setting("smtp_security", "SMTP security", type="choice", choices=SECURITY, required=False, default="starttls"),
        Setting("smtp_username", "SMTP username", required=False, help="Empty: the IMAP username."),
    )
    credentials: tuple[Setting, ...] = (
        Setting("imap_password", "IMAP password"),
        Setting("smtp_password", "SMTP password", required=False, help="Empty: the IMAP password."),
    )

    def check(self, *, config: dict[str, Any]) -> None:
        if "@" not in config["from_address"] or any(c.isspace() for c in config["from_address"]):
            raise Invalid("Give an email address, such as support@example.com.", field="config.from_address")
        for side, default_port in (("imap", 993), ("smtp", 587)):
            host = config[f"{side}_host"]
            if not re.fullmatch(r"[A-Za-z0-9.\-:\[\]]+", host):
                raise Invalid("Give a host name or address, without a scheme or port.", field=f"config.{side}_host")
            check_host(host, int(config.get(f"{side}_port") or default_port), field=f"config.{side}_host")

    def send(self, *, channel: Channel, credentials: dict[str, str], reply: Reply) -> outbound.Outcome:
        config = channel.config
        target = f"smtp://{config.get('smtp_host', '')}:{config.get('smtp_port') or ''}"
        try:
            message = reply_message(channel=channel, reply=reply)
            smtp = _smtp(config, credentials)
            try:
                smtp.send_message(message)
            finally:
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    smtp.close()
        except outbound.OutboundRefused as exc:
            return outbound.Outcome(ok=False, target=target, error=str(exc), permanent=True)
        except smtplib.SMTPException as exc:
            return outbound.Outcome(ok=False, target=target, error=f"SMTP: {exc}"[:2000], permanent=_permanent(exc))
        except (OSError, ValueError) as exc:
            return outbound.Outcome(ok=False, target=target, error=f"{type(exc).__name__}: {exc}"[:2000])
        return outbound.Outcome(ok=True, target=target, remote_id=str(message["Message-ID"]))


connector = EmailConnector()

"""Reading an email channel's mailbox: the scheduled job's service.

``mailboxes_poll`` (beat, every minute) queues ``mailbox_poll`` for each email channel.
One poll logs in, selects the folder read-only (nothing is marked or moved), fetches the
messages after the last UID it read (at most ``BATCH`` a run; the cursor is saved after each
message, so a poll killed midway resumes where it stopped), and hands each to
:mod:`engage.connectors.receipt`, once per ``Message-ID``: a message read twice (a
concurrent poll, a reset UIDVALIDITY) is stored once. A network failure is raised for the
job's retry policy; a refused login or a missing folder is recorded on the channel's health
and tried again at the next run.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import ssl
from dataclasses import replace
from typing import Any

from django.db import transaction
from django.db.models import Q

from config.jobs import enqueue
from engage import outbound
from engage.connectors import mail, receipt, vault
from engage.models import Channel, ConnectorKind, CustomerMessage, Delivery

logger = logging.getLogger(__name__)
BATCH = 50


def mailboxes_poll() -> int:
    """Queue one ``engage.poll_mailbox`` job per email channel (the beat's entry)."""
    ids = list(Channel.objects.filter(connector=ConnectorKind.EMAIL).values_list("pk", flat=True))
    with transaction.atomic():
        for channel_id in ids:
            enqueue("engage.poll_mailbox", channel_id)
    return len(ids)


def _thread_key(*, channel: Channel, references: tuple[str, ...]) -> str:
    """The thread a reply belongs to, from its references: a message the customer sent, or
    a reply we sent (our ``Message-ID`` is the delivery's ``remote_id``)."""
    if not references:
        return ""
    known = set(
        CustomerMessage.objects.filter(channel=channel, external_id__in=references).values_list(
            "external_id", flat=True
        )
    )
    ours = dict(
        Delivery.objects.filter(channel=channel, remote_id__in=references).values_list(
            "remote_id", "query__external_id"
        )
    )
    for reference in references:
        if reference in known:
            return reference
        if reference in ours:
            return str(ours[reference])
    return references[0]


def _store(*, channel: Channel, parsed: mail.Parsed) -> None:
    if parsed.inbound is None:
        logger.info("mailbox %s: ignored a message (%s)", channel.slug, parsed.ignored)
        return
    inbound = parsed.inbound
    thread = _thread_key(channel=channel, references=parsed.references)
    if thread:
        inbound = replace(inbound, thread_id=thread[:255])
    receipt.receive(channel=channel, inbound=inbound, event_id=f"email:{inbound.external_id}")


def _fetch(client: Any, uid: int, size: int) -> mail.Parsed:
    if size > mail.MAX_MESSAGE_BYTES:
        header = client.fetch([uid], ["BODY.PEEK[HEADER]"]).get(uid, {}).get(b"BODY[HEADER]", b"")
        return mail.parse_too_large(header, size)
    raw = client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {}).get(b"BODY[]", b"")
    return mail.parse(raw)


def mailbox_poll(*, channel_id: int) -> int:
    """Read the channel's new mail; the number of messages read. Idempotent."""
    channel = Channel.objects.filter(pk=channel_id, connector=ConnectorKind.EMAIL).first()
    if channel is None:
        return 0
    try:
        credentials = vault.unseal(channel.credentials)
    except vault.Unreadable as exc:
        receipt.channel_failed(channel=channel, error=str(exc))
        return 0
    try:
        client = mail.imap_connect(channel.config, credentials)
    except (imaplib.IMAP4.error, outbound.OutboundRefused, ssl.SSLError) as exc:
        receipt.channel_failed(channel=channel, error=f"IMAP: {exc}")
        return 0
    except (TimeoutError, OSError) as exc:
        receipt.channel_failed(channel=channel, error=f"IMAP: {type(exc).__name__}: {exc}")
        raise ConnectionError(f"IMAP server of {channel.slug} did not answer: {exc}") from exc
    try:
        return _read(client, channel=channel)
    except imaplib.IMAP4.error as exc:
        receipt.channel_failed(channel=channel, error=f"IMAP: {exc}")
        return 0
    except OSError as exc:
        receipt.channel_failed(channel=channel, error=f"IMAP: {type(exc).__name__}: {exc}")
        raise ConnectionError(f"IMAP connection of {channel.slug} failed: {exc}") from exc
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()


def _read(client: Any, *, channel: Channel) -> int:
    folder = client.select_folder(str(channel.config.get("imap_mailbox") or "INBOX"), readonly=True)
    validity = int(folder.get(b"UIDVALIDITY", 0))
    cursor = channel.cursor or {}
    last_uid = int(cursor.get("last_uid", 0)) if cursor.get("uidvalidity") == validity else 0
    uids = sorted(uid for uid in client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)[:BATCH]
    sizes = client.fetch(uids, ["RFC822.SIZE"]) if uids else {}
    for uid in uids:
        parsed = _fetch(client, uid, int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0)))
        _store(channel=channel, parsed=parsed)
        Channel.objects.filter(pk=channel.pk).update(cursor={"uidvalidity": validity, "last_uid": uid})
    if not uids:
        Channel.objects.filter(Q(pk=channel.pk) & ~Q(cursor__uidvalidity=validity)).update(
            cursor={"uidvalidity": validity, "last_uid": last_uid}
        )
    return len(uids)

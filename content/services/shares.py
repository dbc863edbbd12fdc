"""Shares and clicks: an employee's tracking link for a live message, and the visits it brings.

A click counts once per visitor and day (a keyed hash of the address and the browser, the
address not kept); robots and link previewers never count.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from config.activity import ActivityKind, activity, activity_key, announce
from config.errors import Conflict, ServiceError
from content import selectors, signals
from content.models import Channel, Message, Share, ShareClick
from content.services.common import _now


def share_text(message: Message, *, channel: str, url: str) -> str:
    """What an employee posts: the variant for the channel, then the tracking link."""
    if channel == Channel.X:
        text = message.short_text or message.title
    elif channel == Channel.EMAIL:
        text = message.long_text or message.body
    else:
        text = message.long_text or message.short_text or message.title
    return f"{text}\n\n{url}"


def share_url(share: Share) -> str:
    return settings.ENGAGE_SITE_URL + reverse("content:share_redirect", args=[share.code])


SHARE_REQUEST_KEY_MAX = 64


@transaction.atomic
def share_create(
    *, user: User, message_id: int, channel: str, request_key: str = "", now: datetime | None = None
) -> Share:
    """A tracking link for ``user`` sharing a live message to ``channel``.

    With a ``request_key`` (the share form's one-time key) the call is idempotent: the same
    person, channel and key get the share already made, however close together the requests
    come (a unique constraint decides, not a read before the write).
    """
    now = _now(now)
    message = selectors.message_get_for_user(user=user, id=message_id, now=now)
    if channel not in Channel.values:
        raise ServiceError(f"Choose where to share it: {', '.join(Channel.labels)}.", field="channel")
    if len(request_key) > SHARE_REQUEST_KEY_MAX:
        raise ServiceError(f"The request key is longer than {SHARE_REQUEST_KEY_MAX} characters.", field="request_key")
    if not message.is_live(now):
        raise Conflict("Only a published message can be shared.", status=message.status_at(now))
    for _attempt in range(5):
        try:
            with transaction.atomic():
                share = Share.objects.create(
                    message=message,
                    user=user,
                    department_id=user.department_id,
                    channel=channel,
                    code=secrets.token_urlsafe(9),
                    created_at=now,
                    request_key=request_key,
                )
            break
        except IntegrityError:
            if request_key:
                earlier = Share.objects.filter(
                    user=user, channel=channel, request_key=request_key, message=message
                ).first()
                if earlier is not None:
                    return earlier  # the same request again: already made and announced
            continue  # otherwise a code collision, astronomically rare: draw again
    else:
        raise RuntimeError("could not draw a unique share code")
    announce(
        signals.activity,
        sender=Share,
        activity=activity(
            kind=ActivityKind.MESSAGE_SHARED,
            occurred_at=now,
            object_type="content.message",
            object_id=message.pk,
            key=activity_key(ActivityKind.MESSAGE_SHARED, share.pk),
            actor=user,
            data={"share_id": share.pk, "channel": channel},
        ),
    )
    return share


# A client that says it is a robot, a crawler or a link previewer is not a visitor.
BOT_USER_AGENT = re.compile(
    r"bot|crawl|spider|slurp|preview|facebookexternalhit|facebookcatalog|embedly|whatsapp|skypeuri|"
    r"headless|lighthouse|pingdom|uptime|monitor|curl/|wget/|python-requests|python-urllib|httpx|"
    r"go-http-client|java/|okhttp|libwww|feedfetcher|scrapy|phantomjs",
    re.IGNORECASE,
)


def is_bot(user_agent: str) -> bool:
    return bool(BOT_USER_AGENT.search(user_agent or ""))


def visitor_key(*, address: str, user_agent: str, day: str) -> str:
    """A keyed hash of who the visitor seems to be on ``day``; the address is not kept."""
    secret = hashlib.sha256(f"engage-share-visitor:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(secret, f"{address}|{user_agent}|{day}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Followed:
    share: Share
    target: str
    counted: bool


def share_follow(*, code: str, address: str, user_agent: str, now: datetime | None = None) -> Followed | None:
    """Where a share link leads, counting the click once per visitor and day (bots never).

    ``None`` for a code that does not exist.
    """
    now = _now(now)
    share = Share.objects.select_related("message").filter(code=code).first()
    if share is None:
        return None
    target = share.message.link_url or reverse("content:share_landing", args=[share.code])
    if is_bot(user_agent):
        return Followed(share=share, target=target, counted=False)
    day = timezone.localdate(now)
    visitor = visitor_key(address=address, user_agent=user_agent[:500], day=day.isoformat())
    with transaction.atomic():
        try:
            with transaction.atomic():
                click = ShareClick.objects.create(share=share, visitor=visitor, day=day, clicked_at=now)
        except IntegrityError:
            return Followed(share=share, target=target, counted=False)
        Share.objects.filter(pk=share.pk).update(click_count=F("click_count") + 1)
        announce(
            signals.activity,
            sender=ShareClick,
            activity=activity(  # by a visitor: no actor, the department the sharer's
                kind=ActivityKind.SHARE_LINK_CLICKED,
                occurred_at=now,
                object_type="content.message",
                object_id=share.message_id,
                key=activity_key(ActivityKind.SHARE_LINK_CLICKED, click.pk),
                department_id=share.department_id,
                data={"share_id": share.pk, "sharer_id": share.user_id, "channel": share.channel},
            ),
        )
    return Followed(share=share, target=target, counted=True)

"""Customer satisfaction: each published answer's customer may rate it 1 to 5, with an optional
comment, through a public, signed, expiring link.

The link carries the answer's id and the moment it expires, signed with Django's signing
(``SECRET_KEY``, a salt of its own): nothing in it can be changed without breaking the
signature, and the same answer always gets the same link, however many times its delivery
is attempted. It is made when the answer's delivery is sent (:func:`with_rating_link`),
never in the request that publishes. One rating per answer (a unique row); a second visit
within the window changes it. The window is ``ENGAGE_RATING_WINDOW_DAYS`` from publication.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db.models import prefetch_related_objects
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import strip_tags

from accounts.models import User
from config.errors import ServiceError
from engage.models import Answer, AnswerRating, AnswerStatus
from engage.selectors import answer_get_for_user

SALT = "engage.rating"
MAX_COMMENT_LENGTH = 2000
SCORES = (1, 2, 3, 4, 5)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


class LinkExpired(Exception):
    """A genuine link whose window has closed."""


def window() -> timedelta:
    return timedelta(days=settings.ENGAGE_RATING_WINDOW_DAYS)


def token_for(*, answer_id: int, published_at: datetime) -> str:
    expires = int((published_at + window()).timestamp())
    return signing.dumps([answer_id, expires], salt=SALT, compress=False)


def link_for(*, answer_id: int, published_at: datetime) -> str:
    token = token_for(answer_id=answer_id, published_at=published_at)
    return f"{settings.ENGAGE_SITE_URL}{reverse('engage:rate', args=[token])}"


def with_rating_link(payload: dict[str, Any], *, answer_id: int) -> dict[str, Any]:
    """The outbound body of an answer with its ``rating_url`` (made at delivery time)."""
    published_at = parse_datetime(str(payload.get("published_at") or ""))
    if published_at is None:
        return payload
    return {**payload, "rating_url": link_for(answer_id=answer_id, published_at=published_at)}


@dataclass(frozen=True)
class Link:
    answer: Answer
    expires_at: datetime
    rating: AnswerRating | None


def _read(token: str) -> tuple[int, datetime]:
    try:
        answer_id, expires = signing.loads(token, salt=SALT)
        return int(answer_id), datetime.fromtimestamp(int(expires), tz=UTC)
    except (signing.BadSignature, ValueError, TypeError):
        raise Http404("No such rating link") from None


def link_open(token: str, *, now: datetime | None = None) -> Link:
    """The answer a link rates: ``Http404`` for a link we did not make (or an answer no longer
    published), :class:`LinkExpired` after its window."""
    answer_id, expires_at = _read(token)
    answer = (
        Answer.objects.filter(pk=answer_id, status=AnswerStatus.PUBLISHED)
        .select_related("query", "author", "rating")
        .first()
    )
    if answer is None:
        raise Http404("No such answer")
    if (now or timezone.now()) >= expires_at:
        raise LinkExpired
    return Link(answer=answer, expires_at=expires_at, rating=getattr(answer, "rating", None))


def clean_comment(comment: Any) -> str:
    """Plain text: markup and control characters removed, line ends normalised."""
    if comment is None:
        return ""
    if not isinstance(comment, str):
        raise ServiceError("comment must be text.", field="comment")
    if len(comment) > MAX_COMMENT_LENGTH:
        raise ServiceError(f"A comment is at most {MAX_COMMENT_LENGTH} characters.", field="comment")
    text = strip_tags(comment.replace("\r\n", "\n").replace("\r", "\n"))
    return _CONTROL.sub("", text).strip()


def clean_score(score: Any) -> int:
    if (
        isinstance(score, bool)
        or not isinstance(score, int | str)
        or str(score).strip() not in {str(s) for s in SCORES}
    ):
        raise ServiceError("Choose a rating from 1 to 5.", field="score")
    return int(score)


def rating_save(*, token: str, score: Any, comment: Any = "") -> AnswerRating:
    """Rate (or re-rate) the link's answer; bad input writes nothing (400 naming the field)."""
    now = timezone.now()
    link = link_open(token, now=now)
    clean = clean_score(score)
    text = clean_comment(comment)
    row = AnswerRating(answer=link.answer, score=clean, comment=text, created_at=now, updated_at=now)
    # One statement, whoever else submits the same link at the same moment: the first
    # inserts, any other updates (the first rating's time is kept).
    AnswerRating.objects.bulk_create(
        [row], update_conflicts=True, unique_fields=["answer"], update_fields=["score", "comment", "updated_at"]
    )
    return AnswerRating.objects.get(answer=link.answer)


# --- Reads ---------------------------------------------------------------------------------------


def rating_of_answer(*, user: User, answer_id: int) -> tuple[Answer, AnswerRating | None]:
    """An answer the person may see (else ``Http404``) and its rating, if any, which the
    answer then holds too (``answer.rating``, read without a statement: ``RatingOutput``)."""
    answer = answer_get_for_user(user=user, id=answer_id)
    prefetch_related_objects([answer], "rating")
    return answer, getattr(answer, "rating", None)

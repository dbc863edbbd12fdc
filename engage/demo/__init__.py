"""The demo company's community queries: a seed step of ``manage.py seed_demo``.

Five channels bring a few thousand customer queries over 180 days, more every month. The
story follows the phase model:

- **Authoritarian** (six to four months ago): questions mostly go unanswered; now and then
  the social media team in marketing replies, days later.
- **Inclusive** (from about four months ago): marketing listens and answers most queries
  itself — nothing is routed yet, so every answer is marketing's.
- **Collaborative** (from about twelve weeks ago): routing by topic goes live; Customer
  Service and Tech Support answer their own queries, then Sales, Product, Engineering,
  HR and Finance join; answers come within their response targets, and uncertified
  authors go through review (some answers come back with a comment first).
- **Social** stays out of reach: most people still do not take part, too few departments
  are covered and not enough people are certified — though insights flow back to the
  product team and some were planned or shipped in the last 90 days.

Queries are routed with the real routing rules; stale unanswered ones were closed in the
weekly triage; some were spam or duplicates, some escalated to another department, some
missed their response targets (each flagged once, as the breach job does). Two deliveries
are dead letters an administrator can retry. The named accounts have work waiting: Sam
Support an answer in review, one sent back with a comment and a draft on a lapsed claim;
the reviewer answers to review; Pia Product insights to move.

Rows are written directly at their moment in the past (the services work in the present),
with the participation events the services would have recorded, built by the same
constructors (:mod:`engage.participation`: same kinds, keys and payloads), so the phase
engine counts exactly what real use would have made. Deterministic for a
given seed; a second run adds nothing.

The package keeps the three apart: :mod:`~engage.demo.data` (the story's fixed parts),
:mod:`~engage.demo.simulation` (each query's story planned in memory) and
:mod:`~engage.demo.writing` (the rows and their participation events, in bulk).
"""

from __future__ import annotations

import random

from django.db import transaction
from django.utils import timezone

from accounts.demo import DEMO_DOMAIN, demo_people
from engage import participation
from engage.demo.data import CHANNELS, HISTORY_DAYS
from engage.demo.simulation import Story
from engage.demo.writing import (
    through_connectors,
    write_channels,
    write_connector_traces,
    write_conversations,
    write_insights,
    write_notices,
    write_queries,
)
from engage.models import Channel, QueryState

__all__ = ["HISTORY_DAYS", "seed_engage"]


def seed_engage(*, rng: random.Random) -> str | None:
    """Channels, six months of queries, answers, reviews, insights and their participation events."""
    if Channel.objects.filter(slug=CHANNELS[0].slug).exists():
        return None
    if not demo_people().filter(email=f"employee@{DEMO_DOMAIN}").exists():
        return None  # the people step has not run
    now = timezone.now()
    with transaction.atomic():
        story = Story(rng, now)
        channels, slack = write_channels(now)
        plans = story.queries(channels)
        plans += story.named_work({c.slug: c for c in channels})
        through_connectors(plans, slack)
        story.breaches(plans)
        activities = write_queries(story, plans)
        insights, insight_events = write_insights(story, plans)
        activities += write_conversations(story, plans)
        participation.record_many([*activities, *insight_events])
        write_notices(story, plans)
        write_connector_traces([*channels, slack])
    answered = sum(1 for p in plans if p.state == QueryState.ANSWERED)
    departments = len({p.answer.author.department_id for p in plans if p.answer and p.answer.published_at})
    late = sum(1 for p in plans if p.sla_breached_at)
    return (
        f"{len(channels) + 1} channels, {len(plans)} queries over {HISTORY_DAYS} days ({answered} answered by "
        f"{departments} departments, {late} past their response target), {insights} insights, "
        f"{len(activities) + len(insight_events)} participation events, {story.rated} customer ratings"
    )

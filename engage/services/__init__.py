"""Writes for community queries: channels, receipt and routing, claims, answers and
review, escalation and closing, insights, outbound deliveries and response-time breaches.

Every change is made here and only here; the API views, the web pages and the jobs call
these functions. Each is atomic, records its participation event in the same
transaction, and queues its follow-up jobs with ``config.jobs.enqueue`` (after commit).
One module per family; this package re-exports their public names, so callers import
from ``engage.services``.
"""

from engage.inbound import Inbound
from engage.services.answers import answer_approve, answer_reject, answer_submit, user_is_responder
from engage.services.breaches import sla_breaches_escalate
from engage.services.channels import (
    CHANNEL_NAME_MAX,
    CHANNEL_SLUG_MAX,
    channel_create,
    channel_rotate_secret,
    channel_update,
)
from engage.services.claims import Claim, _live_claims_locked, query_claim, query_draft_save, query_release
from engage.services.common import (
    DELIVERY_ATTEMPT_LEASE,
    DELIVERY_FIRST_BACKOFF_SECONDS,
    DELIVERY_MAX_ATTEMPTS,
    ESCALATION_NOTE_MAX,
    INSIGHT_DESCRIPTION_MAX,
    INSIGHT_TITLE_MAX,
    MAX_ANSWER_LENGTH,
    MAX_MESSAGES_PER_ANSWER,
    REVIEW_COMMENT_MAX,
    SECRET_OVERLAP,
    claim_lease,
    max_open_claims,
)
from engage.services.delivery import (
    _backoff,
    answer_payload,
    deliveries_sweep,
    delivery_attempt,
    delivery_create_for_answer,
    delivery_retry,
    unrouted_queries_route,
)
from engage.services.escalation import query_close, query_escalate
from engage.services.insights import MOVABLE_INSIGHT_STATUSES, insight_create, insight_set_status
from engage.services.receipt import latest_customer_message, query_receive, query_route
from engage.threads import first_message

__all__ = [
    "CHANNEL_NAME_MAX",
    "CHANNEL_SLUG_MAX",
    "DELIVERY_ATTEMPT_LEASE",
    "DELIVERY_FIRST_BACKOFF_SECONDS",
    "DELIVERY_MAX_ATTEMPTS",
    "ESCALATION_NOTE_MAX",
    "INSIGHT_DESCRIPTION_MAX",
    "INSIGHT_TITLE_MAX",
    "MAX_ANSWER_LENGTH",
    "MAX_MESSAGES_PER_ANSWER",
    "MOVABLE_INSIGHT_STATUSES",
    "REVIEW_COMMENT_MAX",
    "SECRET_OVERLAP",
    "Claim",
    "Inbound",
    "_backoff",
    "_live_claims_locked",
    "answer_approve",
    "answer_payload",
    "answer_reject",
    "answer_submit",
    "channel_create",
    "channel_rotate_secret",
    "channel_update",
    "claim_lease",
    "deliveries_sweep",
    "delivery_attempt",
    "delivery_create_for_answer",
    "delivery_retry",
    "first_message",
    "insight_create",
    "insight_set_status",
    "latest_customer_message",
    "max_open_claims",
    "query_claim",
    "query_close",
    "query_draft_save",
    "query_escalate",
    "query_receive",
    "query_release",
    "query_route",
    "sla_breaches_escalate",
    "unrouted_queries_route",
    "user_is_responder",
]

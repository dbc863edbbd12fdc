"""Engage's background jobs: thin, idempotent, queued only through ``config.jobs.enqueue``."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from engage import services
from engage.connectors import mailbox, receipt
from engage.dashboard import tasks as dashboard_tasks  # noqa: F401 (registers the weekly digest)
from engage.phase import tasks as phase_tasks  # noqa: F401 (registers the phase engine's jobs)


@shared_task(name="engage.route_query", time_limit=60, soft_time_limit=50)
def route_query(query_id: int) -> int | None:
    query = services.query_route(query_id=query_id)
    return query.department_id if query is not None else None


@shared_task(name="engage.deliver", time_limit=30, soft_time_limit=25)
def deliver(delivery_id: int, attempt: int | None = None) -> str:
    """One outbound attempt; the hard time limit stays under the attempt's lease (35 s)."""
    return services.delivery_attempt(delivery_id=delivery_id, attempt=attempt)


@shared_task(name="engage.sweep_deliveries", time_limit=120, soft_time_limit=100)
def sweep_deliveries() -> int:
    return services.deliveries_sweep()


@shared_task(name="engage.escalate_sla_breaches", time_limit=300, soft_time_limit=240)
def escalate_sla_breaches() -> int:
    return services.sla_breaches_escalate()


@shared_task(name="engage.route_unrouted", time_limit=120, soft_time_limit=100)
def route_unrouted() -> int:
    return services.unrouted_queries_route()


@shared_task(name="engage.poll_mailboxes", time_limit=60, soft_time_limit=50)
def poll_mailboxes() -> int:
    return mailbox.mailboxes_poll()


@shared_task(name="engage.poll_mailbox", time_limit=120, soft_time_limit=100)
def poll_mailbox(channel_id: int) -> int:
    return mailbox.mailbox_poll(channel_id=channel_id)


@shared_task(name="engage.connector_receive", time_limit=60, soft_time_limit=50)
def connector_receive(channel_id: int, fields: dict[str, Any]) -> int | None:
    """A connector's deferred message (``engage.connectors.receipt.receive_later``)."""
    received = receipt.receive_deferred(channel_id=channel_id, fields=fields)
    return received.query_id if received is not None else None

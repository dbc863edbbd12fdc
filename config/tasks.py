from celery import shared_task

from config import jobs


@shared_task(name="platform.relay_outbox", time_limit=120, soft_time_limit=100, acks_late=False)
def relay_outbox() -> int:
    return jobs.relay_outbox()

from __future__ import annotations

from celery import shared_task

from accounts import services


@shared_task(name="accounts.deliver_notification", time_limit=120)
def deliver_notification(
    *, user_ids: list[int], kind: str, title: str, body: str, url: str, dedupe_key: str | None
) -> int:
    return services.notification_deliver(
        user_ids=user_ids, kind=kind, title=title, body=body, url=url, dedupe_key=dedupe_key
    )


@shared_task(name="accounts.send_email", time_limit=60)
def send_email(*, to: list[str], subject: str, body: str) -> None:
    services.email_send(to=to, subject=subject, body=body)


@shared_task(name="accounts.purge_auth_records", time_limit=300)
def purge_auth_records() -> int:
    return services.auth_records_purge()

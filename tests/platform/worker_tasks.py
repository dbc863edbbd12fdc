"""A job for the redelivery tests, loaded into their workers with ``--include``.

It stalls on its first run (so the test can kill the worker mid-job) and completes on the
next, recording which process did what in files under ``marker_dir``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from celery import shared_task

from accounts.services import notification_deliver


@shared_task(name="tests.stall_then_notify", time_limit=120)
def stall_then_notify(*, marker_dir: str, user_id: int) -> None:
    markers = Path(marker_dir)
    started = markers / "started"
    if not started.exists():
        started.write_text(str(os.getpid()))
        time.sleep(60)  # killed long before this ends
    notification_deliver(
        user_ids=[user_id], kind="account", title="Survived a killed worker", body="", url="", dedupe_key="killed"
    )
    (markers / "finished").write_text(str(os.getpid()))

"""Running work at the same moment on real connections (the concurrency tests on PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import close_old_connections, connection


def run_together(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Call ``work(0)`` … ``work(count - 1)`` in ``count`` threads released by one barrier, each
    on its own database connection (closed when it is done); the outcomes in that order, an
    exception standing as the outcome of the call that raised it (the test inspects it)."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    close_old_connections()
    return results


def run_each(jobs: list[Callable[[], Any]]) -> list[Any]:
    """:func:`run_together` for a list of different calls: each job's outcome, in order."""
    return run_together(len(jobs), lambda index: jobs[index]())

from __future__ import annotations

from django.db import models


class OutboxJob(models.Model):
    """A background job waiting to reach the broker (or, embedded, to run in-process).

    Written in the same transaction as the change that asked for the job, so a job is
    never lost between commit and broker: if publishing after commit fails (Redis down,
    the process killed), the relay sends it later. A job that failed for good stays here
    as a dead letter (``dead_at``) for an admin to see and retry (config.job_policy).
    """

    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    run_after = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Set when the job failed for good (a dead letter): the relay leaves it for an admin.
    dead_at = models.DateTimeField("dead letter since", null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="outbox_created_idx")]

    def __str__(self) -> str:
        return f"{self.task_name} #{self.pk}"

"""A job: one piece of long background work (an import, an export, a bulk action),
recorded in the database in the transaction of the change that asks for it. The row,
not the broker message, is the record: a worker takes it under a lease, saves its
progress and checkpoint with each chunk of work, and a worker that dies leaves a lease
that runs out, so the sweep hands the job to another worker, which resumes from the
checkpoint."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from workspaces.models import Workspace

MAX_ERRORS = 50  # the sample of errors kept on the row; the full list goes to a file


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    OPEN = (Status.QUEUED, Status.RUNNING)

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=50)
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    total = models.BigIntegerField(null=True, blank=True)
    done = models.BigIntegerField(default=0)
    counters = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    checkpoint = models.JSONField(null=True, blank=True)
    result_file = models.CharField(max_length=500, blank=True)
    result_url = models.CharField(max_length=500, blank=True)
    message = models.TextField(blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    # Who works on it now, until when; a dead worker's lease runs out.
    leased_by = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="job_ws_created"),
            models.Index(fields=["status", "lease_expires_at"], name="job_status_lease"),
        ]

    def __str__(self):
        return self.title or f"{self.kind} #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("jobs:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    @property
    def percent(self) -> int | None:
        """Progress in whole percent, None while the size is unknown."""
        if self.status == self.Status.DONE:
            return 100
        if not self.total:
            return None
        return max(0, min(100, int(self.done * 100 / self.total)))

    @property
    def duration(self):
        if self.started_at is None:
            return None
        return (self.finished_at or timezone.now()) - self.started_at

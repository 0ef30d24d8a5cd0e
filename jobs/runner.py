"""Running one job in a worker: take its lease, hand it to the function registered
for its kind, record how it ended, and tell the person who started it.

The lease makes a job worked on by one worker at a time. Each chunk of work saves its
progress through JobContext.advance in its own transaction, which also renews the
lease and fails if the lease was lost: a chunk done by a worker that another one has
replaced rolls back instead of being applied twice."""

import logging
import os
import socket
import uuid
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from jobs import registry
from jobs.models import MAX_ERRORS, Job
from jobs.services import dispatch
from workspaces import audit
from workspaces.errors import database_lost
from workspaces.services import notification_create

logger = logging.getLogger(__name__)


class JobCancelled(Exception):
    """Raised by a handler (through raise_if_cancelled) to stop between chunks."""


class LeaseLost(Exception):
    """Another worker took the job over (this one was too slow, or thought dead)."""


def lease_seconds() -> int:
    return settings.JOB_LEASE_SECONDS


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class JobContext:
    """What a handler gets: the job (params, checkpoint) and the ways to report."""

    def __init__(self, job: Job, token: str):
        self.job = job
        self.token = token

    def advance(
        self,
        *,
        done: int | None = None,
        add_done: int = 0,
        counters: dict | None = None,
        errors: list | None = None,
        checkpoint=None,
        total: int | None = None,
    ) -> None:
        """Save progress. Call it inside the transaction of the chunk's work, so the
        checkpoint and the work commit together, or neither does. `counters` are added
        to the job's ("created": 10 adds ten); `errors` join the kept sample."""
        job = self.job
        if done is not None:
            job.done = done
        job.done += add_done
        for key, value in (counters or {}).items():
            job.counters[key] = job.counters.get(key, 0) + value
        if errors:
            job.errors = (job.errors + list(errors))[:MAX_ERRORS]
        if checkpoint is not None:
            job.checkpoint = checkpoint
        if total is not None:
            job.total = total
        updated = Job.objects.filter(pk=job.pk, leased_by=self.token).update(
            done=job.done,
            counters=job.counters,
            errors=job.errors,
            checkpoint=job.checkpoint,
            total=job.total,
            lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds()),
        )
        if not updated:
            raise LeaseLost(f"Job {job.pk} is being run by another worker now.")

    def set_result(self, *, file: str = "", url: str = "", message: str = "") -> None:
        """What the job made: a file to download, a page to open, a sentence."""
        self.job.result_file = file or self.job.result_file
        self.job.result_url = url or self.job.result_url
        self.job.message = message or self.job.message

    def cancel_requested(self) -> bool:
        return Job.objects.filter(pk=self.job.pk, cancel_requested_at__isnull=False).exists()

    def raise_if_cancelled(self) -> None:
        if self.cancel_requested():
            raise JobCancelled()


def _claim(job_id: int, token: str) -> Job | None:
    """Take the job's lease if nobody holds a live one; None if it is not ours."""
    now = timezone.now()
    free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(free, pk=job_id, status__in=Job.OPEN).first()
        if job is None:
            return None
        job.status = Job.Status.RUNNING
        job.started_at = job.started_at or now
        job.leased_by = token
        job.lease_expires_at = now + timedelta(seconds=lease_seconds())
        job.attempts += 1
        job.save(
            update_fields=["status", "started_at", "leased_by", "lease_expires_at", "attempts"]
        )
    return job


def run(job_id: int) -> str:
    """Run the job to its end (or until it is cancelled, fails or is taken over).
    Returns the status it left the job in, or "skipped" when it was not ours."""
    token = worker_name()
    job = _claim(job_id, token)
    if job is None:
        return "skipped"
    kind = registry.get(job.kind)
    context = JobContext(job, token)
    try:
        if kind is None:
            raise RuntimeError(f"No handler is registered for jobs of kind '{job.kind}'.")
        if job.cancel_requested_at:
            raise JobCancelled()
        kind.run(context)
    except JobCancelled:
        return _end(context, Job.Status.CANCELLED)
    except LeaseLost:
        logger.warning("Job %s was taken over by another worker; this one stops.", job_id)
        return "taken_over"
    except SoftTimeLimitExceeded:
        # Out of time for one task, not failed: hand it back, a new task resumes it
        # from its checkpoint.
        _release(context)
        dispatch(job)
        return "continued"
    except Exception as exc:
        if database_lost(exc):
            # Not the job's fault (the database restarted, the network cut): it stays
            # running, its lease runs out and the sweep sends it again, to resume
            # from its checkpoint once the database is back.
            logger.warning("Job %s lost its database connection: %s", job_id, exc)
            raise
        logger.exception("Job %s (%s) failed", job_id, job.kind)
        context.job.message = context.job.message or f"It failed: {exc}"
        return _end(context, Job.Status.FAILED)
    return _end(context, Job.Status.DONE)


def _release(context: JobContext) -> None:
    Job.objects.filter(pk=context.job.pk, leased_by=context.token).update(
        leased_by="", lease_expires_at=None
    )


def _end(context: JobContext, status: str) -> str:
    job = context.job
    with transaction.atomic():
        updated = Job.objects.filter(pk=job.pk, leased_by=context.token).update(
            status=status,
            finished_at=timezone.now(),
            leased_by="",
            lease_expires_at=None,
            message=job.message or _default_message(job, status),
            result_file=job.result_file,
            result_url=job.result_url,
        )
        if updated:
            job.refresh_from_db()
            audit.job_ended(job)  # the outcome of an action the audit trail saw start
            _notify(job)
    return status


def _default_message(job: Job, status: str) -> str:
    if status == Job.Status.CANCELLED:
        return f"Cancelled after {job.done:,} of {job.total or job.done:,}."
    return ""


TITLES = {
    Job.Status.DONE: "Done: {}",
    Job.Status.FAILED: "Failed: {}",
    Job.Status.CANCELLED: "Cancelled: {}",
}
LEVELS = {Job.Status.DONE: "success", Job.Status.FAILED: "error", Job.Status.CANCELLED: "info"}


def _notify(job: Job) -> None:
    """Tell the person who started it, linking to its result (or the job's page)."""
    if job.created_by_id is None:
        return
    notification_create(
        workspace=job.workspace,
        user=job.created_by,
        title=TITLES[job.status].format(job.title),
        body=job.message,
        url=job.result_url or job.get_absolute_url(),
        level=LEVELS[job.status],
    )

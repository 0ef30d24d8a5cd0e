"""Starting and cancelling jobs. The work itself is done by jobs.runner in a worker."""

from django.db import transaction
from django.utils import timezone

from jobs import registry
from jobs.dispatch import send_after_commit
from jobs.models import Job
from workspaces import audit
from workspaces.errors import KithError
from workspaces.models import Workspace


@transaction.atomic
def job_start(
    *,
    workspace: Workspace,
    kind: str,
    title: str,
    params: dict | None = None,
    user=None,
    total: int | None = None,
) -> Job:
    """Record a job in the caller's transaction; a worker is woken after the commit.
    If the broker is down, the sweep wakes one later: the job is not lost."""
    if registry.get(kind) is None:
        raise KithError(f"Unknown kind of job '{kind}'.", code="unknown_job_kind")
    job = Job.objects.create(
        workspace=workspace,
        kind=kind,
        title=title[:200],
        params=params or {},
        created_by=user if user is not None and user.is_authenticated else None,
        total=total,
        dispatched_at=timezone.now(),
    )
    audit.job_started(job)  # an action on a thing the audit trail follows (a segment)
    dispatch(job)
    return job


# The task that runs a job (jobs.tasks.run_job), sent by name: see jobs.dispatch.
RUN_JOB = "jobs.tasks.run_job"


def dispatch(job: Job) -> None:
    """Wake a worker for the job once the transaction commits."""
    send_after_commit(RUN_JOB, job.pk)


@transaction.atomic
def job_cancel(*, job: Job) -> Job:
    """A queued job is cancelled at once; a running one stops after its current chunk
    (what was done stays done, and the job says how much)."""
    job = Job.objects.select_for_update().get(pk=job.pk)
    kind = registry.get(job.kind)
    if not job.is_open:
        raise KithError("This job has already ended.", code="job_ended", status=409)
    if kind is not None and not kind.cancellable:
        raise KithError("This job cannot be cancelled.", code="job_not_cancellable", status=409)
    now = timezone.now()
    job.cancel_requested_at = now
    fields = ["cancel_requested_at"]
    if job.status == Job.Status.QUEUED and not job.leased_by:
        job.status, job.finished_at = Job.Status.CANCELLED, now
        job.message = "Cancelled before it started."
        fields += ["status", "finished_at", "message"]
    job.save(update_fields=fields)
    return job

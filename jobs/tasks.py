"""Background tasks of the floor. Thin: ids in, the runner or the sweep does the work."""

from celery import shared_task

from jobs import runner
from jobs import sweep as sweeping
from jobs.services import RUN_JOB


@shared_task(name=RUN_JOB, acks_late=True)
def run_job(job_id: int) -> str:
    return runner.run(job_id)


@shared_task(acks_late=True)
def sweep() -> int:
    return sweeping.sweep()

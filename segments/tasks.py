"""Background work of segments. Thin: ids in, the domain does the work. The work to
do is recorded in the database (segments.pending); a task only says "look at this
workspace", so a lost, repeated or late message changes nothing but timing."""

from celery import shared_task

from segments import drift, pending


@shared_task(name=pending.WORK_THROUGH, acks_late=True)
def work_through(workspace_id: int) -> dict:
    result = pending.work_through(workspace_id)
    return {str(k): [d.entered, d.left] for k, d in result.diffs.items()}


@shared_task(acks_late=True)
def refresh_time_based() -> int:
    return pending.request_time_based_refreshes()


@shared_task(acks_late=True)
def repair_drift() -> int:
    """Daily: stored membership cannot drift from the rules for longer than a day."""
    return sum(report.missing + report.extra for report in drift.check(repair=True))

"""Showing jobs: the kind's label, durations, time left, counters and errors."""

from datetime import timedelta

from django import template
from django.utils import timezone

from jobs import registry
from jobs.models import Job

register = template.Library()

STATUS_WORDS = {
    Job.Status.QUEUED: "Waiting",
    Job.Status.RUNNING: "Running",
    Job.Status.DONE: "Done",
    Job.Status.FAILED: "Failed",
    Job.Status.CANCELLED: "Cancelled",
}


@register.filter
def kind_label(kind: str) -> str:
    return registry.label(kind)


@register.filter
def status_word(job: Job) -> str:
    """The status as the pages say it; an open job asked to stop is "Cancelling"."""
    if job.is_open and job.cancel_requested_at:
        return "Cancelling"
    return STATUS_WORDS.get(job.status, job.get_status_display())


@register.filter
def duration(value: timedelta | None) -> str:
    """'under a second', '42 s', '3 min 5 s', '2 h 4 min'."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    if seconds < 1:
        return "under a second"
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60} min" if rest // 60 else f"{hours} h"


@register.filter
def time_left(job: Job) -> str:
    """'about 3 min left' from the pace so far, or "" while it cannot be told."""
    if job.status != Job.Status.RUNNING or not job.total or not job.done or not job.started_at:
        return ""
    elapsed = (timezone.now() - job.started_at).total_seconds()
    remaining = max(0, job.total - job.done)
    if elapsed <= 0 or remaining == 0:
        return ""
    left = timedelta(seconds=elapsed * remaining / job.done)
    return f"about {duration(left)} left"


@register.filter
def counter_items(counters) -> list[tuple[str, object]]:
    """A job's counters as (label, number), in the order they were first counted."""
    if not isinstance(counters, dict):
        return []
    return [(str(key).replace("_", " ").capitalize(), value) for key, value in counters.items()]


@register.filter
def error_text(error) -> str:
    """One error of the sample: text as it is; a dict as 'row 12 · email x: message'."""
    if not isinstance(error, dict):
        return str(error)
    message = error.get("error") or error.get("message") or ""
    where = " · ".join(f"{k} {v}" for k, v in error.items() if k not in ("error", "message"))
    return f"{where}: {message}" if where and message else where or str(message)


@register.filter
def local_url(url: str) -> str:
    """The URL if it is a path on this site (a job's result link), else ""."""
    url = url or ""
    return url if url.startswith("/") and not url.startswith(("//", "/\\")) else ""


@register.filter
def file_name(path: str) -> str:
    return (path or "").replace("\\", "/").rsplit("/", 1)[-1]

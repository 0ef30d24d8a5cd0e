"""The periodic sweep (every BACKGROUND_SWEEP_SECONDS, by beat): sends again whatever
is still to do and not being worked on. After a worker dies (its lease runs out) or
the broker restarts empty (its messages are gone), this is what gets the work going
again. Apps above the floor register a sweeper for their own pending work (the
segment engine's pending refreshes)."""

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from jobs.dispatch import send_now
from jobs.models import Job
from jobs.services import RUN_JOB

logger = logging.getLogger(__name__)

_sweepers: list[Callable[[], int]] = []


def register_sweeper(sweeper: Callable[[], int]) -> None:
    """sweeper() -> how many pieces of work it sent again."""
    if sweeper not in _sweepers:
        _sweepers.append(sweeper)


def stalled_jobs():
    """Open jobs nobody holds a live lease on, not sent in the last sweep interval (a
    job sent just now is probably on its way to a worker)."""
    now = timezone.now()
    recently = now - timedelta(seconds=settings.BACKGROUND_SWEEP_SECONDS)
    return Job.objects.filter(
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now),
        Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=recently),
        status__in=Job.OPEN,
    )


def sweep_jobs() -> int:
    sent = 0
    for job_id in stalled_jobs().values_list("pk", flat=True):
        if send_now(RUN_JOB, job_id, even_if_away=True):
            Job.objects.filter(pk=job_id).update(dispatched_at=timezone.now())
            sent += 1
    return sent


def sweep() -> int:
    sent = sweep_jobs()
    for sweeper in list(_sweepers):
        sent += sweeper()
    if sent:
        logger.info("Sweep sent %s piece(s) of pending work again.", sent)
    return sent

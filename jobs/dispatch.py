"""Sending work to the workers without ever failing the write that asked for it.

The database holds the record of what is still to do (a job row, a pending refresh);
a broker message only wakes a worker. So a message is sent after the commit, and a
broker that cannot be reached is logged, not raised: the write has already succeeded,
and the sweep (jobs.sweep) sends the message again once the broker is back."""

import logging

from django.db import transaction
from kombu.exceptions import KombuError, OperationalError

logger = logging.getLogger(__name__)

# Fail fast when the broker is down: the request is answered, the sweep sends later.
RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def send_now(task, *args, **kwargs) -> bool:
    """Send `task` now; False (logged) when the broker cannot take it."""
    try:
        task.apply_async(args=args, kwargs=kwargs, retry=True, retry_policy=RETRY_POLICY)
    except (OperationalError, KombuError, ConnectionError, OSError) as exc:
        if task.app.conf.task_always_eager:
            raise  # inline tasks never touch a broker: this is the task's own error
        logger.warning("Broker unreachable, %s not sent (the sweep will): %s", task.name, exc)
        return False
    return True


def send_after_commit(task, *args, **kwargs) -> None:
    """Send `task` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: send_now(task, *args, **kwargs))

"""Sending work to the workers without ever failing, or holding up, the write that
asked for it.

The database holds the record of what is still to do (a job row, a pending refresh);
a broker message only wakes a worker. So:
- a message is sent after the commit, by the task's name through the Celery app
  (app.send_task): the modules that send work import no task module, and a task
  module imports what it runs, so there is no import loop to ignore;
- a broker that cannot be reached is logged, not raised: the write has succeeded,
  and the sweep (jobs.sweep) sends the message again once the broker is back;
- a broker found away is left alone for BROKER_AWAY_SECONDS: each write would
  otherwise wait out the connection's timeouts (seconds, with a hung Redis) only to
  fail again. Only the sweep tries meanwhile (`even_if_away`), and its first success
  ends the wait for everyone in the process.
With CELERY_TASK_ALWAYS_EAGER (the tests), the task runs inline, as .delay() would."""

import logging
import time

from celery import current_app
from django.conf import settings
from django.db import transaction
from kombu.exceptions import KombuError, OperationalError

logger = logging.getLogger(__name__)

# Each send has a connection of its own that gives up after this long on a broker
# that does not answer (a hung Redis accepts connections and never replies): a wake
# is a few bytes, and a worker's connection (CELERY_BROKER_TRANSPORT_OPTIONS) must
# wait longer than its 1 s BRPOP. A new connection also needs no retry after Redis
# restarted, where a pooled one would be dead.
SEND_TIMEOUT = 1.0
BROKER_ERRORS = (OperationalError, KombuError, ConnectionError, OSError)

# time.monotonic() until which sends (other than the sweep's) are skipped.
_away_until = 0.0


def broker_away() -> bool:
    """Whether a send failed less than BROKER_AWAY_SECONDS ago (in this process)."""
    return time.monotonic() < _away_until


def forget_broker_away() -> None:
    """Try the broker again with the next send (tests; a send that succeeds)."""
    global _away_until
    _away_until = 0.0


def send_now(name: str, *args, even_if_away: bool = False) -> bool:
    """Send the task called `name` ("jobs.tasks.run_job") with `args`; False (logged)
    when the broker cannot take it, or was away moments ago and `even_if_away` is
    not set."""
    global _away_until
    app = current_app
    if app.conf.task_always_eager:
        # Inline tasks never touch a broker: an error here is the task's own.
        _registered(app, name).apply_async(args=args)
        return True
    if broker_away() and not even_if_away:
        logger.info("Broker away, %s not sent (the sweep will).", name)
        return False
    try:
        _publish(app, name, args)
    except BROKER_ERRORS as exc:
        _away_until = time.monotonic() + settings.BROKER_AWAY_SECONDS
        logger.warning(
            "Broker unreachable, %s not sent; the sweep will, and sends wait %s s: %s",
            name,
            settings.BROKER_AWAY_SECONDS,
            exc,
        )
        return False
    forget_broker_away()
    return True


def send_after_commit(name: str, *args) -> None:
    """Send the task called `name` once the current transaction commits (at once
    outside one)."""
    transaction.on_commit(lambda: send_now(name, *args))


def _publish(app, name: str, args: tuple) -> None:
    options = {
        "socket_connect_timeout": SEND_TIMEOUT,
        "socket_timeout": SEND_TIMEOUT,
        "max_retries": 0,  # kombu would try to connect again for connect_timeout
    }
    with app.connection_for_write(
        connect_timeout=SEND_TIMEOUT, transport_options=options
    ) as connection:
        app.send_task(name, args=args, connection=connection, retry=False)


def _registered(app, name: str):
    """The task called `name`, importing the apps' task modules the first time (a
    web process that only sends by name has not imported them)."""
    if name not in app.tasks:
        app.loader.import_default_modules()
    return app.tasks[name]

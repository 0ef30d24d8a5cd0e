"""The Celery app. Broker: Redis when REDIS_URL is set, else the filesystem transport
under var/broker (see config.settings.base), so `make run` needs no server."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("kith")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _survive_broker_restart() -> None:
    """Keep a worker alive when Redis goes away while it holds unacknowledged messages.

    kombu 5.7, on losing the broker, closes the consumer's connection twice: collect()
    drops the transport's client, then close() closes the default channel again. When
    the first close was cut short (a BRPOP was in flight) and a message was delivered
    but not yet acknowledged (a running acks_late task), the second close tries to put
    that message back through a new connection pool, whose parameters come from the
    client that is gone: AttributeError: 'NoneType' object has no attribute 'hostname'.
    That is not one of the connection errors the worker expects, so it stopped with
    "Unrecoverable error" (and took an embedded beat with it). Same failure as
    https://github.com/celery/kombu/issues/582, on the restore path of
    https://github.com/celery/kombu/issues/970.

    Here, a channel whose connection is closed refuses to make a pool with a Redis
    ConnectionError, which kombu and the worker already treat as "broker unreachable":
    the worker reconnects and goes on. The message stays in Redis's unacked index
    (restored after the visibility timeout), or is gone with an empty Redis; either
    way the database still holds the work and the sweep (jobs.sweep) sends it again.
    """
    try:
        from kombu.transport import redis as kombu_redis
        from redis.exceptions import ConnectionError as RedisConnectionError
    except ImportError:  # no redis library: the filesystem broker only
        return
    get_pool = kombu_redis.Channel._get_pool
    if getattr(get_pool, "kith_guarded", False):
        return

    def _get_pool(self, asynchronous=False):
        if self.connection is None or self.connection.client is None:
            raise RedisConnectionError("The broker connection of this channel is closed.")
        return get_pool(self, asynchronous=asynchronous)

    _get_pool.kith_guarded = True
    kombu_redis.Channel._get_pool = _get_pool


_survive_broker_restart()

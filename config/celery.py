"""The Celery app. Broker: Redis when REDIS_URL is set, else the filesystem transport
under var/broker (see config.settings.base), so `make run` needs no server."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("kith")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

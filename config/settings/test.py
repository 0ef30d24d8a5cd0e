"""Test settings: a fast hasher, mail kept in memory, tasks run inline unless a test
starts a real worker (see tests/conftest.py)."""

import os
import tempfile
from pathlib import Path

from config.env import VAR_DIR, env_bool

from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", True)
CELERY_TASK_EAGER_PROPAGATES = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "test-media"
if not REDIS_URL:  # noqa: F405
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file of this run's own (on tmpfs where there is one), not SQLite's shared
    # in-memory cache: with WAL, the browser tests' live server, its request threads
    # and the worker threads each read while another writes, and a writer waits out
    # the busy timeout instead of failing at once with "database table is locked".
    _SCRATCH = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    DATABASES["default"]["TEST"] = {"NAME": str(_SCRATCH / f"kith-test-{os.getpid()}.sqlite3")}  # noqa: F405

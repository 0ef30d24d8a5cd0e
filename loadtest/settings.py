"""The production settings for the load test, but for static files: stored plainly
instead of through the manifest, so no collectstatic is needed before a run (locust
fetches no static file; a page's {% static %} is a lookup either way)."""

from config.settings.production import *  # noqa: F403

STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

"""Who is calling the JSON API, and how often.

A request carries `Authorization: Bearer <key>`; the key's workspace scopes everything
the handler does (request.auth is the ApiKey, request.auth.workspace the workspace).

The rate limit counts requests per key in fixed one-minute windows in Django's cache
(Redis when REDIS_URL is set). A counter needs one atomic INCR per request, where
ninja's own throttle reads and rewrites a list of every timestamp of the minute.
When the cache cannot be reached the limit fails open: the call is served, a warning
is logged, and the cache is left alone for CACHE_RETRY_SECONDS, so a Redis that is
down or hung costs one request its timeout, not every request.
"""

import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache
from ninja.security import HttpBearer
from ninja.throttling import BaseThrottle

from workspaces.models import ApiKey
from workspaces.services import api_key_authenticate

WINDOW_SECONDS = 60
CACHE_RETRY_SECONDS = 10
logger = logging.getLogger(__name__)
# time.monotonic() until which the rate limit leaves an unreachable cache alone.
_cache_down_until = 0.0


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request, token: str) -> ApiKey | None:
        return api_key_authenticate(token.strip())


class PerKeyRateLimit(BaseThrottle):
    """At most settings.API_RATE_LIMIT_PER_MINUTE requests per key and minute."""

    def __init__(self):
        self._local = threading.local()  # one instance serves every request thread

    def allow_request(self, request) -> bool:
        global _cache_down_until
        api_key = getattr(request, "auth", None)
        if not isinstance(api_key, ApiKey):
            return True  # nothing to count against; authentication refuses the call
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        self._local.retry_after = WINDOW_SECONDS - (now % WINDOW_SECONDS)
        if time.monotonic() < _cache_down_until:
            return True
        try:
            count = _count(f"api-rate:{api_key.pk}:{window}")
        except Exception as exc:  # the cache server is down: serve rather than fail
            _cache_down_until = time.monotonic() + CACHE_RETRY_SECONDS
            logger.warning(
                "API rate limit not counted for %s s: the cache is unavailable (%s: %s)",
                CACHE_RETRY_SECONDS,
                type(exc).__name__,
                exc,
            )
            return True
        return count <= settings.API_RATE_LIMIT_PER_MINUTE

    def wait(self) -> float:
        return self._local.retry_after


def _count(key: str) -> int:
    """Add one to the window's counter and return it."""
    if cache.add(key, 1, timeout=WINDOW_SECONDS * 2):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # the key expired between add() and incr()
        cache.set(key, 1, timeout=WINDOW_SECONDS * 2)
        return 1

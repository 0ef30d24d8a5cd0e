"""Who is calling the JSON API, and how often.

A request carries `Authorization: Bearer <key>`; the key's workspace scopes everything
the handler does (request.auth is the ApiKey, request.auth.workspace the workspace).

The rate limit is a sliding window (api.md): never more than
API_RATE_LIMIT_PER_MINUTE requests of one key in any 60 seconds.
- Requests are counted in 5-second buckets in Django's cache (Redis when REDIS_URL is
  set): one atomic INCR and one read of 13 counters (one MGET on Redis) per request,
  the same on every cache backend, where a log of timestamps per key would need Redis.
- A request at t is served when the requests served in the buckets that overlap
  [t - 60 s, t] (up to 65 s of them), itself included, are at most the limit. The
  last served request of any 60-second span saw every earlier one of that span, so no
  span holds more than the limit. (Weighting the previous minute by how much of it is
  still inside the window, the usual estimate, lets a burst at the end of one minute
  and another at the start of the next pass: up to twice the limit.) A steady client
  gets limit x 60/65 requests a minute: 1,107 of the default 1,200.
- A refused request takes back its count, so a client that keeps calling while
  refused is served again once its old requests leave the window; Retry-After says
  when that is.
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
BUCKET_SECONDS = 5
BUCKETS_BEHIND = WINDOW_SECONDS // BUCKET_SECONDS  # [t - 60, t] starts this many back
CACHE_RETRY_SECONDS = 10
logger = logging.getLogger(__name__)
# time.monotonic() until which the rate limit leaves an unreachable cache alone.
_cache_down_until = 0.0


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request, token: str) -> ApiKey | None:
        return api_key_authenticate(token.strip())


class PerKeyRateLimit(BaseThrottle):
    """At most settings.API_RATE_LIMIT_PER_MINUTE requests per key in any 60 seconds."""

    def __init__(self):
        self._local = threading.local()  # one instance serves every request thread

    def allow_request(self, request) -> bool:
        global _cache_down_until
        api_key = getattr(request, "auth", None)
        if not isinstance(api_key, ApiKey):
            return True  # nothing to count against; authentication refuses the call
        if time.monotonic() < _cache_down_until:
            return True
        now = time.time()
        bucket = int(now // BUCKET_SECONDS)
        keys = [f"api-rate:{api_key.pk}:{b}" for b in range(bucket - BUCKETS_BEHIND, bucket + 1)]
        limit = settings.API_RATE_LIMIT_PER_MINUTE
        try:
            mine = _count(keys[-1])
            stored = cache.get_many(keys[:-1])
        except Exception as exc:  # the cache server is down: serve rather than fail
            _cache_down_until = time.monotonic() + CACHE_RETRY_SECONDS
            logger.warning(
                "API rate limit not counted for %s s: the cache is unavailable (%s: %s)",
                CACHE_RETRY_SECONDS,
                type(exc).__name__,
                exc,
            )
            return True
        counts = [int(stored.get(key) or 0) for key in keys[:-1]] + [mine - 1]
        if sum(counts) + 1 <= limit:
            return True
        _uncount(keys[-1])
        self._local.retry_after = _retry_after(counts, bucket, now, limit)
        return False

    def wait(self) -> float:
        return self._local.retry_after


def _retry_after(counts: list[int], bucket: int, now: float, limit: int) -> float:
    """Seconds until the window holds fewer than `limit` of the requests served so far:
    `counts` are the window's buckets, oldest first, the current one last; a bucket
    leaves the window when the bucket BUCKETS_BEHIND + 1 after it begins."""
    for ahead in range(1, len(counts) + 1):
        if sum(counts[ahead:]) < limit:
            break
    return (bucket + ahead) * BUCKET_SECONDS - now


def _count(key: str) -> int:
    """Add one to a bucket's counter and return it."""
    timeout = WINDOW_SECONDS + 3 * BUCKET_SECONDS  # read for 65 s, then gone
    if cache.add(key, 1, timeout=timeout):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # the key expired between add() and incr()
        cache.set(key, 1, timeout=timeout)
        return 1


def _uncount(key: str) -> None:
    """Take back the count of a refused request."""
    try:
        cache.decr(key)
    except Exception:  # expired, or the cache went away: the count lapses with the key
        logger.debug("API rate limit: could not take back a refused request's count")

"""API keys and the per-key rate limit of the JSON API."""

import logging
import random
import secrets
from types import SimpleNamespace

import pytest
from django.test import Client

from contacts.models import Contact
from tests.api_helpers import API, ApiClient, error_code
from tests.factories import ContactFactory
from workspaces import api_auth
from workspaces.models import ApiKey
from workspaces.services import api_key_create, api_key_revoke

pytest_plugins = ["tests.api_fixtures"]  # fixtures: api_key, api, other_api

# Every route of the contacts and events API, with a body that would succeed.
ROUTES = [
    ("get", "/contacts", None),
    ("post", "/contacts", {"email": "new@example.com"}),
    ("post", "/contacts/upsert", {"match_on": "email", "contacts": [{"email": "u@example.com"}]}),
    ("get", "/contacts/{id}", None),
    ("patch", "/contacts/{id}", {"first_name": "Changed"}),
    ("delete", "/contacts/{id}", None),
    ("post", "/contacts/{id}/tags", {"tags": ["vip"]}),
    ("post", "/contacts/{id}/tags/remove", {"tags": ["vip"]}),
    ("post", "/events", {"contact": {"email": "known@example.com"}, "name": "login"}),
]


def _call(client: ApiClient, method: str, path: str, body, contact_id: int):
    path = path.format(id=contact_id)
    if method in ("get", "delete"):
        return getattr(client, method)(path)
    return getattr(client, method)(path, body)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer ",
        "Bearer kith_not-a-real-key",
        "Basic dXNlcjpwYXNz",
        "Token kith_abc",
        "Bearer " + "x" * 500,
    ],
)
@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_no_valid_key_is_401_on_every_route_and_changes_nothing(
    workspace, header, method, path, body
):
    contact = ContactFactory(workspace=workspace, email="known@example.com", first_name="Ann")
    client = Client(enforce_csrf_checks=True, **({"HTTP_AUTHORIZATION": header} if header else {}))
    path = f"{API}{path.format(id=contact.id)}"
    response = getattr(client, method)(path, body, content_type="application/json")
    assert response.status_code == 401
    assert error_code(response) == "unauthenticated"
    contact.refresh_from_db()
    assert contact.first_name == "Ann"
    assert Contact.objects.count() == 1
    assert not contact.tags.exists()
    assert not contact.events.exists()


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_revoked_key_is_401_on_every_route(workspace, api_key, method, path, body):
    contact = ContactFactory(workspace=workspace, email="known@example.com", first_name="Ann")
    key, raw = api_key
    client = ApiClient(raw)
    assert client.get("/contacts").status_code == 200
    api_key_revoke(api_key=key)
    response = _call(client, method, path, body, contact.id)
    assert response.status_code == 401
    assert error_code(response) == "unauthenticated"
    contact.refresh_from_db()
    assert contact.first_name == "Ann"
    assert Contact.objects.count() == 1


def test_a_valid_key_works_without_csrf_token_and_records_its_use(workspace, api_key):
    key, raw = api_key
    assert key.last_used_at is None
    response = ApiClient(raw).post("/contacts", {"email": "new@example.com"})
    assert response.status_code == 201
    assert Contact.objects.get(workspace=workspace).email == "new@example.com"
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_a_signed_in_browser_session_is_not_an_api_key(client_in):
    response = client_in.get(f"{API}/contacts")
    assert response.status_code == 401
    assert error_code(response) == "unauthenticated"


def test_a_key_sees_only_its_own_workspace(workspace, other_workspace, api, other_api):
    mine = ContactFactory(workspace=workspace)
    theirs = ContactFactory(workspace=other_workspace)
    ids = [c["id"] for c in api.get("/contacts").json()["results"]]
    assert ids == [mine.id]
    assert api.get(f"/contacts/{theirs.id}").status_code == 404
    assert [c["id"] for c in other_api.get("/contacts").json()["results"]] == [theirs.id]


# ---------------------------------------------------------------- rate limit


class Clock:
    """time.time() of the rate limit, moved by hand."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    # A whole minute, far from any other test's: their counters may still be in a
    # Redis shared by the runs.
    clock = Clock(60.0 * (10**6 + secrets.randbelow(10**6)))
    monkeypatch.setattr(api_auth.time, "time", clock)
    return clock


def drive(clock, times, *, limit, settings, key=None) -> list[float]:
    """Ask the limiter about one request at each moment of `times` (seconds after the
    clock's start); the moments it served."""
    settings.API_RATE_LIMIT_PER_MINUTE = limit
    start = clock.now
    limiter = api_auth.PerKeyRateLimit()
    request = SimpleNamespace(auth=key or ApiKey(pk=10**9 + secrets.randbelow(10**9)))
    served = []
    for t in times:
        clock.now = start + t
        if limiter.allow_request(request):
            served.append(t)
    clock.now = start
    return served


def most_in_any_60_seconds(times: list[float]) -> int:
    """The largest number of `times` (sorted) inside one span [t - 60, t]; a span
    that holds the most can always be slid until it ends on one of them."""
    most, first = 0, 0
    for last, t in enumerate(times):
        while times[first] < t - 60:
            first += 1
        most = max(most, last - first + 1)
    return most


def test_rate_limit_answers_429_with_retry_after_per_key(workspace, api, settings, clock):
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    clock.now += 15.5
    other_key = ApiClient(api_key_create(workspace=workspace, name="Second")[1])
    for _ in range(3):
        assert api.get("/contacts").status_code == 200
    refused = api.get("/contacts")
    assert refused.status_code == 429
    assert error_code(refused) == "rate_limited"
    # The three requests leave the window when their 5-second bucket (15-20 s) is more
    # than 60 s old: at 80 s, 64.5 s from now, rounded up.
    assert refused["Retry-After"] == "65"
    # A write is refused too, and does not happen.
    assert api.post("/contacts", {"email": "late@example.com"}).status_code == 429
    assert not Contact.objects.filter(email="late@example.com").exists()
    # Another key of the same workspace has its own allowance.
    assert other_key.get("/contacts").status_code == 200


def test_rate_limit_does_not_open_at_the_next_minute_but_when_the_requests_are_60_s_old(
    api, settings, clock
):
    settings.API_RATE_LIMIT_PER_MINUTE = 2
    start = clock.now
    clock.now = start + 30  # half way through a minute
    assert api.get("/contacts").status_code == 200
    assert api.get("/contacts").status_code == 200
    refused = api.get("/contacts")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "65"
    clock.now = start + 60.5  # a fixed minute would start counting again here
    assert api.get("/contacts").status_code == 429
    clock.now = start + 94.9
    assert api.get("/contacts").status_code == 429
    clock.now = start + 95  # the 30-35 s bucket is out of [t - 60, t]
    assert api.get("/contacts").status_code == 200


def test_retry_after_is_the_first_moment_a_request_is_served(settings, clock):
    limit = 10
    times = [0.5, 3, 7, 12.25, 31, 44, 44.5, 58, 59.9, 61.2]
    served = drive(clock, times, limit=limit, settings=settings, key=ApiKey(pk=1))
    assert served == times
    limiter = api_auth.PerKeyRateLimit()
    request = SimpleNamespace(auth=ApiKey(pk=1))
    start = clock.now
    clock.now = start + 61.5
    assert not limiter.allow_request(request)
    retry = limiter.wait()
    assert retry == pytest.approx(65 - 61.5)  # the 0-5 s bucket leaves at 65 s
    clock.now = start + 61.5 + retry - 0.01
    assert not limiter.allow_request(request)
    clock.now = start + 61.5 + retry
    assert limiter.allow_request(request)


@pytest.mark.parametrize(
    "pattern",
    ["bursts at minute edges", "bursts at bucket edges", "steady and too fast", "random"],
)
def test_no_60_seconds_ever_hold_more_than_the_limit(settings, clock, pattern):
    """The sliding window's promise (api.md), checked on every span of every run: a
    fixed minute, or the usual estimate weighting the previous minute, lets twice the
    limit through around a minute's edge."""
    limit = 25
    rng = random.Random(pattern)
    if pattern == "bursts at minute edges":
        times = [t for m in range(1, 6) for t in [m * 60 - 0.01] * 30 + [m * 60.0] * 30]
    elif pattern == "bursts at bucket edges":
        times = [t for b in range(1, 80) for t in [b * 5 - 0.001] * 7 + [b * 5.0] * 7]
    elif pattern == "steady and too fast":
        times = [n * 0.7 for n in range(900)]  # 86 a minute against 25
    else:
        times = [rng.uniform(0, 600) for _ in range(3000)]  # and bursts of up to 40:
        times += [t for _ in range(40) for t in [rng.uniform(0, 600)] * rng.randrange(40)]
        times.sort()
    served = drive(clock, times, limit=limit, settings=settings)
    assert most_in_any_60_seconds(served) <= limit
    # And it is a window, not a wall: minute after minute, nearly the limit is served.
    minutes = int(times[-1] // 60)
    assert len(served) >= minutes * limit * 60 / 65 - limit


def test_a_steady_600_a_minute_are_all_served_by_default(settings, clock):
    assert settings.API_RATE_LIMIT_PER_MINUTE >= 1200
    times = [n * 0.1 for n in range(3000)]  # 600 a minute for 5 minutes
    limit = settings.API_RATE_LIMIT_PER_MINUTE
    assert drive(clock, times, limit=limit, settings=settings) == times


def test_a_client_that_keeps_calling_while_refused_is_served_again(settings, clock):
    """Refused requests are not counted: hammering does not keep a key shut out."""
    times = [0.0] * 10 + [1 + n * 0.01 for n in range(20_000)]  # 200 s of refusals
    served = drive(clock, times, limit=10, settings=settings)
    assert served[:10] == [0.0] * 10
    assert 65 <= served[10] < 65.02
    assert most_in_any_60_seconds(served) <= 10


def test_default_rate_limit_allows_600_requests_a_minute(api, settings):
    assert settings.API_RATE_LIMIT_PER_MINUTE >= 600
    statuses = {api.get("/contacts", {"limit": 1}).status_code for _ in range(600)}
    assert statuses == {200}


def test_unauthenticated_calls_are_not_counted_against_a_key(api, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 2
    anonymous = ApiClient(None)
    for _ in range(5):
        assert anonymous.get("/contacts").status_code == 401
    assert api.get("/contacts").status_code == 200


@pytest.mark.parametrize("method", ["add", "incr", "get_many"])
def test_calls_are_served_when_the_cache_that_counts_them_is_down(
    api, monkeypatch, caplog, settings, method
):
    settings.API_RATE_LIMIT_PER_MINUTE = 1
    api.get("/contacts")  # the counter exists: the next request reaches incr

    def unavailable(*args, **kwargs):
        raise ConnectionError("cache server is down")

    monkeypatch.setattr(api_auth.cache, method, unavailable)
    with caplog.at_level(logging.WARNING, logger="workspaces.api_auth"):
        for _ in range(5):
            assert api.get("/contacts").status_code == 200
    warnings = [r for r in caplog.records if r.name == "workspaces.api_auth"]
    assert len(warnings) == 1
    assert "cache is unavailable" in warnings[0].getMessage()

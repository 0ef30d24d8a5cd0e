"""API keys and the per-key rate limit of the JSON API."""

import pytest
from django.test import Client

from contacts.models import Contact
from tests.api_helpers import API, ApiClient, error_code
from tests.factories import ContactFactory
from workspaces import api_auth
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


def test_rate_limit_answers_429_with_retry_after_per_key(workspace, api, settings, monkeypatch):
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    monkeypatch.setattr(api_auth.time, "time", lambda: 1_000_000 * 60.0 + 15.5)
    other_key = ApiClient(api_key_create(workspace=workspace, name="Second")[1])
    for _ in range(3):
        assert api.get("/contacts").status_code == 200
    refused = api.get("/contacts")
    assert refused.status_code == 429
    assert error_code(refused) == "rate_limited"
    assert refused["Retry-After"] == "45"  # seconds left in this minute, rounded up
    # A write is refused too, and does not happen.
    assert api.post("/contacts", {"email": "late@example.com"}).status_code == 429
    assert not Contact.objects.filter(email="late@example.com").exists()
    # Another key of the same workspace has its own allowance.
    assert other_key.get("/contacts").status_code == 200


def test_rate_limit_opens_again_in_the_next_minute(api, settings, monkeypatch):
    settings.API_RATE_LIMIT_PER_MINUTE = 2
    now = 1_000_000 * 60.0 + 30  # half way through a minute
    monkeypatch.setattr(api_auth.time, "time", lambda: now)
    assert api.get("/contacts").status_code == 200
    assert api.get("/contacts").status_code == 200
    refused = api.get("/contacts")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "30"
    now += 30
    assert api.get("/contacts").status_code == 200


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


def test_calls_are_served_when_the_cache_that_counts_them_is_down(api, monkeypatch):
    def unavailable(*args, **kwargs):
        raise ConnectionError("cache server is down")

    monkeypatch.setattr(api_auth.cache, "add", unavailable)
    assert api.get("/contacts").status_code == 200

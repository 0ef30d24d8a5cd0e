"""Sign-in throttling on the site's and the admin's sign-in forms (workspaces/signin.py):
failures are counted per address and per user name; past the limit, the right password
is refused too, on the page, with a message saying so, until the cool-off has passed."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import authenticate
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory
from workspaces import signin

pytestmark = pytest.mark.django_db

FORMS = [pytest.param("/accounts/login/", id="site"), pytest.param("/admin/login/", id="admin")]
PAUSED = "Too many failed sign-in attempts. Signing in is paused for 15 minutes"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_ENABLED = True  # said here, so these tests never depend on the default
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", password="right-pass", is_staff=True)


def sign_in(url, username, password, address="10.0.0.1"):
    """A fresh browser at `address` posting the form at `url`."""
    return Client(REMOTE_ADDR=address).post(url, {"username": username, "password": password})


def signed_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


@pytest.mark.parametrize("url", FORMS)
def test_wrong_passwords_then_the_right_one_is_refused_with_a_message(alice, url):
    for attempt in range(4):
        response = sign_in(url, "alice", f"wrong-{attempt}")
        assert response.status_code == 200
        assert PAUSED not in response.content.decode()
    fifth = sign_in(url, "alice", "wrong-5")
    assert fifth.status_code == 429
    assert PAUSED in fifth.content.decode()

    refused = sign_in(url, "alice", "right-pass")
    html = refused.content.decode()
    assert refused.status_code == 429 and not signed_in(refused)
    assert PAUSED in html
    assert "<form" in html and 'name="username"' in html  # the sign-in page, not a bare 429
    assert "Please enter a correct username" not in html


@pytest.mark.parametrize("url", FORMS)
def test_the_lock_is_per_name_and_per_address(alice, url):
    bob = UserFactory(username="bob", password="bob-pass", is_staff=True)
    UserFactory(username="carol", password="carol-pass", is_staff=True)
    for attempt in range(5):
        sign_in(url, "alice", f"wrong-{attempt}", address="10.0.0.1")
    # Another person at another address is not affected.
    assert signed_in(sign_in(url, "bob", "bob-pass", address="10.0.0.2"))
    # The same name from elsewhere is refused: someone is guessing alice's password.
    assert sign_in(url, "alice", "right-pass", address="10.0.0.3").status_code == 429
    # Another name from the guessing address is refused: it tries name after name.
    assert sign_in(url, "carol", "carol-pass", address="10.0.0.1").status_code == 429
    assert bob.is_active


def test_one_address_guessing_many_names_is_stopped(alice):
    for n in range(5):
        sign_in("/accounts/login/", f"guess{n}", "x", address="10.0.0.9")
    assert sign_in("/accounts/login/", "alice", "right-pass", address="10.0.0.9").status_code == 429
    assert signed_in(sign_in("/accounts/login/", "alice", "right-pass", address="10.0.0.1"))


def test_one_name_guessed_from_many_addresses_is_stopped(alice):
    for n in range(5):
        sign_in("/admin/login/", "alice", "x", address=f"10.0.1.{n}")
    assert sign_in("/admin/login/", "alice", "right-pass", address="10.0.2.1").status_code == 429


@pytest.mark.parametrize("url", FORMS)
def test_success_resets_the_count(alice, url):
    for _round in range(3):  # 12 failures in all, never 5 in a row
        for attempt in range(4):
            assert sign_in(url, "alice", f"wrong-{attempt}").status_code == 200
        assert signed_in(sign_in(url, "alice", "right-pass"))
    assert not AccessAttempt.objects.exists()


def test_success_forgets_only_its_own_name_at_its_address(alice):
    """An attacker with an account of their own cannot wipe the count of the address
    they guess from by signing in."""
    UserFactory(username="mallory", password="mallory-pass")
    for attempt in range(4):
        sign_in("/accounts/login/", "alice", f"wrong-{attempt}", address="10.6.6.6")
    assert signed_in(sign_in("/accounts/login/", "mallory", "mallory-pass", address="10.6.6.6"))
    assert sign_in("/accounts/login/", "alice", "wrong-5", address="10.6.6.6").status_code == 429


def test_the_lock_ends_after_the_cool_off(alice, monkeypatch):
    for attempt in range(5):
        sign_in("/accounts/login/", "alice", f"wrong-{attempt}")
    assert sign_in("/accounts/login/", "alice", "right-pass").status_code == 429
    # Tries while locked do not make the wait longer.
    for _ in range(3):
        sign_in("/accounts/login/", "alice", "right-pass")
    later = timezone.now() + timedelta(minutes=15, seconds=1)
    monkeypatch.setattr("axes.handlers.proxy.now", lambda: later)
    assert signed_in(sign_in("/accounts/login/", "alice", "right-pass"))


def test_limits_come_from_the_settings(alice, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(hours=1)
    assert sign_in("/accounts/login/", "alice", "wrong").status_code == 200
    refused = sign_in("/accounts/login/", "alice", "wrong")
    assert refused.status_code == 429
    assert "Signing in is paused for 1 hour;" in refused.content.decode()


@pytest.mark.parametrize("url", FORMS)
def test_a_name_too_long_to_store_is_counted_not_a_server_error(alice, url):
    """Django's sign-in form does not limit the name; the attempts table does."""
    long_name = "x" * 300
    for attempt in range(4):
        assert sign_in(url, long_name, f"wrong-{attempt}").status_code == 200
    assert sign_in(url, long_name + "y", "wrong").status_code == 429  # the same 255 first
    assert AccessAttempt.objects.get().username == "x" * 255


def test_authenticate_without_a_request_is_not_throttled(alice):
    """A shell's or a test's authenticate() is not a web sign-in."""
    for attempt in range(6):
        assert authenticate(username="alice", password=f"wrong-{attempt}") is None
    assert authenticate(username="alice", password="right-pass") == alice


# ---------------------------------------------------------------- the address


def test_the_address_behind_the_proxy_is_the_one_the_proxy_added(settings):
    settings.TRUSTED_PROXY_COUNT = 1

    def address(forwarded=None, remote="172.16.0.1"):
        extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
        request = RequestFactory().get("/", REMOTE_ADDR=remote, **extra)
        return signin.client_ip_behind_proxy(request)

    assert address("203.0.113.7") == "203.0.113.7"
    # What the client wrote before the proxy's entry proves nothing.
    assert address("1.2.3.4, 203.0.113.7") == "203.0.113.7"
    assert address("2001:db8::1") == "2001:db8::1"
    assert address() == "172.16.0.1"
    assert address("not an address") == "172.16.0.1"
    settings.TRUSTED_PROXY_COUNT = 2
    assert address("1.2.3.4, 203.0.113.7, 10.0.0.5") == "203.0.113.7"
    assert address("10.0.0.5") == "172.16.0.1"


def test_behind_the_proxy_each_client_address_is_counted_apart(alice, settings):
    settings.AXES_CLIENT_IP_CALLABLE = "workspaces.signin.client_ip_behind_proxy"
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.254"}
    for attempt in range(5):
        Client(**proxy, HTTP_X_FORWARDED_FOR="203.0.113.7").post(
            "/accounts/login/", {"username": f"guess{attempt}", "password": "x"}
        )
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}
    other = Client(**proxy, HTTP_X_FORWARDED_FOR="203.0.113.8")
    response = other.post(reverse("login"), {"username": "alice", "password": "right-pass"})
    assert response.status_code == 302

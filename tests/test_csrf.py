"""CSRF on every state-changing route (issue 24, item 3): a signed-in owner's browser
that posts to any page of the site without the token, as a plain form or as an HTMX
request, is refused with 403 and nothing changes. The routes are read from the URL
resolver (tests/routes.py), so a page added tomorrow is walked too.

The API is not a cookie site: it answers only to an API key
(tests/workspaces/test_api_auth.py: a signed-in session is not a key, and a key needs
no token), so a forged request from another site has nothing to ride on there."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.test_isolation import FORM, snapshot, urls_for, victim  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db
# Pages that only answer GET (a mail program's open pixel and link redirect).
GET_ONLY = {"tracking:open", "tracking:click"}
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def owner_browser(victim):  # noqa: F811 (the fixture imported above)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(victim["owner"])
    return browser


def forged_posts(victim):  # noqa: F811
    """(name, path) of every page a forged form could be posted to: every page of a
    member, and the sign-in form (a forged sign-in would put the visitor in the
    forger's account)."""
    yield from urls_for(victim)
    yield "login", reverse("login")


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["form", "htmx"])
def test_every_post_without_the_token_is_refused_and_changes_nothing(
    owner_browser,
    victim,  # noqa: F811
    headers,
):
    before = snapshot(victim["workspace"])
    walked = 0
    for name, path in forged_posts(victim):
        if name in GET_ONLY:
            continue
        form = {**FORM, "ids": [victim["contact"].pk]}
        response = owner_browser.post(path, form, **headers)
        assert response.status_code == 403, (name, response.status_code)
        walked += 1
    assert walked > 50  # every page, not a handful
    assert snapshot(victim["workspace"]) == before


def test_the_token_htmx_sends_is_accepted(owner_browser, victim):  # noqa: F811
    """The control: the token that base.html's hx-headers gives every HTMX request,
    read from a page, lets the same client's post through (so the 403s above are the
    token's doing, not the route's)."""
    page = owner_browser.get("/contacts/").content.decode()
    token = re.search(r"hx-headers='\{\"X-CSRFToken\": \"(\w+)\"\}'", page).group(1)
    response = owner_browser.post(
        "/notifications/read/", HTTP_X_CSRFTOKEN=token, HTTP_HX_REQUEST="true"
    )
    assert response.status_code != 403

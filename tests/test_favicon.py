"""The app's icon: linked from every page of the layout, and /favicon.ico answers
(browsers ask for it on pages without the link, such as the admin's)."""

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

pytestmark = pytest.mark.django_db


ICON_LINK = '<link rel="icon" href="/static/img/kith.svg" type="image/svg+xml">'


def test_every_page_of_the_layout_links_the_icon(client, user):
    assert ICON_LINK in client.get(reverse("login")).content.decode()
    client.force_login(user)
    assert ICON_LINK in client.get(reverse("contacts:list")).content.decode()


def test_favicon_ico_leads_to_the_icon(client_in):
    response = client_in.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/img/kith.svg"
    assert finders.find("img/kith.svg")
    assert client_in.head("/favicon.ico").status_code == 302
    assert client_in.post("/favicon.ico").status_code == 405


def test_favicon_ico_for_the_admin(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="staff", is_staff=True))
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get("/favicon.ico")["Location"] == "/static/img/kith.svg"

"""The current workspace of a session: after sign-in the one the member used last, and
a link to a page of another workspace they belong to opens that workspace (never one
they do not belong to)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from segments import services as segment_services
from tests.factories import ContactFactory, MembershipFactory, UserFactory, WorkspaceFactory
from workspaces.middleware import SESSION_KEY
from workspaces.models import Membership, Role

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def zeta(user):
    """A second workspace of the owner, alphabetically after "Acme"."""
    zeta = WorkspaceFactory(name="Zeta", slug="zeta")
    MembershipFactory(workspace=zeta, user=user, role=Role.MARKETER)
    return zeta


@pytest.fixture
def outsider_workspace(db):
    return WorkspaceFactory(name="Hidden Corp", slug="hidden")


def sign_in(username="owner", password="pw") -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": password})
    assert response.status_code == 302, response.content.decode()
    return client


def current(client) -> int:
    return client.session[SESSION_KEY]


# ---------------------------------------------------------------- sign-in


def test_a_first_sign_in_opens_the_first_workspace(user, workspace, zeta):
    client = sign_in()
    assert current(client) == workspace.pk
    assert "Everyone in Acme." in client.get(reverse("contacts:list")).content.decode()


def test_sign_in_opens_the_workspace_used_last_not_the_first(user, workspace, zeta):
    client = sign_in()
    client.post(reverse("workspaces:switch"), {"workspace": zeta.pk})
    assert "Everyone in Zeta." in client.get(reverse("contacts:list")).content.decode()
    client.post(reverse("logout"))

    again = sign_in()
    assert current(again) == zeta.pk
    assert "Everyone in Zeta." in again.get(reverse("contacts:list")).content.decode()
    # And back: switching is remembered at once, however recent the last write.
    again.post(reverse("workspaces:switch"), {"workspace": workspace.pk})
    again.get(reverse("contacts:list"))
    assert current(sign_in()) == workspace.pk


def test_sign_in_to_the_admin_remembers_too(user, workspace, zeta):
    Membership.objects.filter(user=user, workspace=zeta).update(last_used_at=timezone.now())
    user.is_staff = True
    user.save()
    client = Client()
    client.post("/admin/login/", {"username": "owner", "password": "pw"})
    assert current(client) == zeta.pk


def test_another_device_moving_on_does_not_move_this_session(user, workspace, zeta):
    laptop = sign_in()
    phone = sign_in()
    phone.post(reverse("workspaces:switch"), {"workspace": zeta.pk})
    phone.get(reverse("contacts:list"))
    assert "Everyone in Acme." in laptop.get(reverse("contacts:list")).content.decode()


def test_a_workspace_the_member_left_falls_back_to_the_one_used_last(user, workspace, zeta):
    third = WorkspaceFactory(name="Midway")
    MembershipFactory(workspace=third, user=user)
    client = sign_in()
    client.post(reverse("workspaces:switch"), {"workspace": third.pk})
    client.get(reverse("contacts:list"))
    Membership.objects.filter(user=user, workspace=zeta).update(
        last_used_at=timezone.now() + timedelta(seconds=5)
    )
    Membership.objects.filter(user=user, workspace=third).delete()
    assert "Everyone in Zeta." in client.get(reverse("contacts:list")).content.decode()
    assert current(client) == zeta.pk


def test_use_is_written_at_most_once_a_minute(client_in, user, workspace):
    client_in.get(reverse("contacts:list"))
    written = Membership.objects.get(user=user, workspace=workspace).last_used_at
    assert written is not None
    with CaptureQueriesContext(connection) as ctx:
        client_in.get(reverse("contacts:list"))
    assert not [q for q in ctx.captured_queries if q["sql"].upper().startswith("UPDATE")]
    a_minute_ago = written - timedelta(seconds=61)
    Membership.objects.filter(user=user, workspace=workspace).update(last_used_at=a_minute_ago)
    # Fragments and previews a page fetches never write (they come beside other requests).
    client_in.get(reverse("contacts:list"), **HTMX)
    client_in.get(reverse("contacts:list"), HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert Membership.objects.get(user=user, workspace=workspace).last_used_at == a_minute_ago
    client_in.get(reverse("contacts:list"))
    assert Membership.objects.get(user=user, workspace=workspace).last_used_at > a_minute_ago


# ---------------------------------------------------------------- links into another workspace


def test_a_link_to_a_contact_of_another_workspace_of_the_member_opens_it(client_in, zeta):
    contact = ContactFactory(workspace=zeta, email="zoe@zeta.test")
    url = reverse("contacts:detail", args=[contact.pk])

    response = client_in.get(url)
    assert response.status_code == 302 and response["Location"] == url
    assert current(client_in) == zeta.pk
    page = client_in.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "zoe@zeta.test" in html
    assert "You are now in Zeta." in html
    # It is the workspace used last now.
    assert current(sign_in()) == zeta.pk


def test_a_segment_link_keeps_its_query_string(client_in, zeta):
    segment = segment_services.segment_create(workspace=zeta, name="Zeta VIPs", kind="manual")
    url = reverse("segments:detail", args=[segment.pk]) + "?sort=email"
    response = client_in.get(url, follow=True)
    assert response.redirect_chain == [(url, 302)]
    assert response.status_code == 200
    assert "Zeta VIPs" in response.content.decode()
    assert "No segment here" not in response.content.decode()


def test_a_viewer_of_the_other_workspace_is_taken_there_to_read(client, workspace, zeta):
    reader = UserFactory(username="reader")
    MembershipFactory(workspace=workspace, user=reader, role=Role.OWNER)
    MembershipFactory(workspace=zeta, user=reader, role=Role.VIEWER)
    client.force_login(reader)
    contact = ContactFactory(workspace=zeta, email="zoe@zeta.test")
    page = client.get(reverse("contacts:detail", args=[contact.pk]), follow=True)
    assert "zoe@zeta.test" in page.content.decode()
    assert current(client) == zeta.pk


def test_a_workspace_the_user_is_not_in_stays_a_404_that_says_nothing(
    client_in, workspace, outsider_workspace
):
    contact = ContactFactory(workspace=outsider_workspace, email="secret@hidden.test")
    segment = segment_services.segment_create(
        workspace=outsider_workspace, name="Hidden list", kind="manual"
    )
    for url in (
        reverse("contacts:detail", args=[contact.pk]),
        reverse("segments:detail", args=[segment.pk]),
        reverse("segments:history", args=[segment.pk]),
    ):
        response = client_in.get(url)
        html = response.content.decode()
        assert response.status_code == 404, url
        assert "Hidden" not in html and "secret@hidden.test" not in html
        assert "You are now in" not in html
        assert current(client_in) == workspace.pk


def test_no_switch_for_a_post_or_an_htmx_fragment(client_in, workspace, zeta):
    contact = ContactFactory(workspace=zeta, first_name="Zoe")
    url = reverse("contacts:detail", args=[contact.pk])
    assert client_in.get(url, **HTMX).status_code == 404
    edit = client_in.post(reverse("contacts:edit", args=[contact.pk]), {"first_name": "Changed"})
    assert edit.status_code == 404
    assert current(client_in) == workspace.pk
    contact.refresh_from_db()
    assert contact.first_name == "Zoe"


def test_a_page_that_names_objects_of_two_workspaces_switches_once(client_in, workspace, zeta):
    """The contact is in Acme and the segment in Zeta: one switch, then a 404, never a
    redirect back and forth."""
    contact = ContactFactory(workspace=workspace)
    segment = segment_services.segment_create(workspace=zeta, name="Zeta list", kind="manual")
    url = reverse("segments:contact_why", args=[contact.pk]) + f"?segment={segment.pk}"
    first = client_in.get(url)
    assert first.status_code == 302 and current(client_in) == zeta.pk
    second = client_in.get(url)
    assert second.status_code == 404
    assert current(client_in) == zeta.pk
    # Another page afterwards switches as usual.
    contact_page = reverse("contacts:detail", args=[contact.pk])
    assert client_in.get(contact_page).status_code == 302
    assert current(client_in) == workspace.pk


def test_an_object_that_exists_nowhere_is_a_plain_404(client_in, workspace, zeta):
    response = client_in.get(reverse("contacts:detail", args=[999_999]))
    assert response.status_code == 404
    assert current(client_in) == workspace.pk

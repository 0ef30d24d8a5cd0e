"""Workspace pages: layout, switcher, notifications, and every settings section with
who may do what."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import ContactTag
from tests.factories import (
    ContactFactory,
    CustomAttributeFactory,
    MembershipFactory,
    TagFactory,
    TopicFactory,
    UserFactory,
    WorkspaceFactory,
)
from workspaces import services
from workspaces.models import ApiKey, Membership, Notification, Role
from workspaces.services import hash_key

pytestmark = pytest.mark.django_db


def field_errors(response, field_id: str) -> str:
    match = re.search(rf'id="{field_id}_errors">(.*?)</div>', response.content.decode(), re.S)
    return match.group(1) if match else ""


# ---------------------------------------------------------------- layout


def test_layout_has_navigation_switcher_bell_and_sign_out(client_in, user, workspace):
    services.notification_create(workspace=workspace, user=user, title="Import done")
    html = client_in.get(reverse("contacts:list")).content.decode()
    assert 'aria-label="Main"' in html
    assert f'href="{reverse("contacts:list")}" class="active" aria-current="page">Contacts' in html
    assert f'action="{reverse("workspaces:switch")}"' in html
    assert "Notifications, 1 unread" in html
    assert f'action="{reverse("logout")}"' in html and "Sign out" in html
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    assert '<meta name="htmx-config"' in html
    assert "<script>" not in html and " style=" not in html


def test_navigation_skips_apps_that_are_not_installed(client_in, settings):
    from workspaces.templatetags import kith_nav

    items = [("Contacts", "contacts:list", "contacts"), ("Nowhere", "nowhere:list", "nowhere")]
    original = kith_nav.NAV_ITEMS
    kith_nav.NAV_ITEMS = items
    try:
        html = client_in.get(reverse("contacts:list")).content.decode()
    finally:
        kith_nav.NAV_ITEMS = original
    assert ">Contacts</a>" in html and "Nowhere" not in html


def test_messages_are_shown(client_in, workspace):
    contact = ContactFactory(workspace=workspace)
    response = client_in.post(reverse("contacts:delete", args=[contact.pk]), follow=True)
    assert "Deleted" in response.content.decode()
    assert 'class="message message-success"' in response.content.decode()


def test_login_page_has_labelled_fields(client):
    html = client.get(reverse("login")).content.decode()
    assert '<label for="id_username">Username</label>' in html
    assert '<label for="id_password">Password</label>' in html
    bad = client.post(reverse("login"), {"username": "x", "password": "y"})
    assert "Please enter a correct username and password" in bad.content.decode()


# ---------------------------------------------------------------- switcher


def test_switch_to_a_workspace_the_user_is_in(client_in, user):
    other = WorkspaceFactory(name="Second")
    MembershipFactory(workspace=other, user=user, role=Role.MARKETER)
    ContactFactory(workspace=other, email="second@x.com")

    response = client_in.post(reverse("workspaces:switch"), {"workspace": other.pk})
    assert response.status_code == 302
    assert client_in.session["workspace_id"] == other.pk
    html = client_in.get(reverse("contacts:list")).content.decode()
    assert "second@x.com" in html
    assert "Everyone in Second." in html


def test_switcher_refuses_a_workspace_the_user_is_not_in(client_in, other_workspace, workspace):
    response = client_in.post(reverse("workspaces:switch"), {"workspace": other_workspace.pk})
    assert response.status_code == 404
    assert client_in.session.get("workspace_id") in (None, workspace.pk)
    bad = client_in.post(reverse("workspaces:switch"), {"workspace": "nonsense"})
    assert bad.status_code == 404


def test_viewer_can_switch(member_client, workspace):
    client = member_client(Role.VIEWER)
    response = client.post(reverse("workspaces:switch"), {"workspace": workspace.pk})
    assert response.status_code == 302


def test_user_without_workspace_is_told_so(client):
    client.force_login(UserFactory())
    response = client.get(reverse("contacts:list"))
    assert response.status_code == 403
    assert "not in a workspace" in response.content.decode()


# ---------------------------------------------------------------- notifications


def test_notifications_list_and_mark_read(client_in, user, workspace, other_workspace):
    first = services.notification_create(workspace=workspace, user=user, title="First")
    second = services.notification_create(
        workspace=workspace, user=user, title="Second", url="/contacts/"
    )
    services.notification_create(workspace=other_workspace, user=user, title="Elsewhere")
    services.notification_create(workspace=workspace, user=UserFactory(), title="Not mine")

    html = client_in.get(reverse("workspaces:notifications")).content.decode()
    assert "First" in html and "Second" in html
    assert "Elsewhere" not in html and "Not mine" not in html
    assert html.index("Second") < html.index("First")  # newest first

    client_in.post(reverse("workspaces:notification_read", args=[first.pk]))
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None

    opened = client_in.post(reverse("workspaces:notification_read", args=[second.pk]), {"open": 1})
    assert opened["Location"] == "/contacts/"

    services.notification_create(workspace=workspace, user=user, title="Third")
    client_in.post(reverse("workspaces:notifications_read_all"))
    assert not Notification.objects.filter(
        workspace=workspace, user=user, read_at__isnull=True
    ).exists()
    assert Notification.objects.filter(title="Elsewhere", read_at__isnull=True).exists()


def test_someone_elses_notification_is_not_found(client_in, workspace):
    theirs = services.notification_create(workspace=workspace, user=UserFactory(), title="x")
    response = client_in.post(reverse("workspaces:notification_read", args=[theirs.pk]))
    assert response.status_code == 404


def test_notification_url_cannot_leave_the_site(client_in, user, workspace):
    note = services.notification_create(
        workspace=workspace, user=user, title="x", url="https://evil.example/"
    )
    response = client_in.post(reverse("workspaces:notification_read", args=[note.pk]), {"open": 1})
    assert response["Location"] == reverse("workspaces:notifications")


def test_viewer_can_mark_own_notifications_read(member_client, workspace):
    client = member_client(Role.VIEWER)
    viewer = Membership.objects.get(workspace=workspace, role=Role.VIEWER).user
    services.notification_create(workspace=workspace, user=viewer, title="x")
    assert client.post(reverse("workspaces:notifications_read_all")).status_code == 302
    assert not Notification.objects.filter(read_at__isnull=True).exists()


# ---------------------------------------------------------------- members


def test_settings_leads_to_members(client_in):
    response = client_in.get(reverse("workspaces:settings"))
    assert response["Location"] == reverse("workspaces:members")


def test_members_page_lists_members_with_roles(client_in, workspace):
    MembershipFactory(workspace=workspace, user=UserFactory(username="mia"), role=Role.VIEWER)
    MembershipFactory(user=UserFactory(username="outsider"))
    html = client_in.get(reverse("workspaces:members")).content.decode()
    assert 'data-member="owner"' in html and 'data-member="mia"' in html
    assert "outsider" not in html
    assert "Add a member" in html


def test_add_member(client_in, workspace):
    UserFactory(username="newbie")
    response = client_in.post(
        reverse("workspaces:member_add"), {"username": "NEWBIE", "role": Role.MARKETER}
    )
    assert response.status_code == 302
    membership = Membership.objects.get(workspace=workspace, user__username="newbie")
    assert membership.role == Role.MARKETER


def test_add_member_errors_are_beside_the_field(client_in, workspace):
    response = client_in.post(
        reverse("workspaces:member_add"), {"username": "ghost", "role": Role.MARKETER}
    )
    assert response.status_code == 400
    assert "There is no user" in field_errors(response, "id_username")
    again = client_in.post(reverse("workspaces:member_add"), {"username": "owner", "role": "admin"})
    assert "already a member" in field_errors(again, "id_username")


def test_change_role(client_in, workspace):
    member = MembershipFactory(workspace=workspace, role=Role.VIEWER)
    response = client_in.post(
        reverse("workspaces:member_role", args=[member.pk]), {"role": Role.ADMIN}
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.role == Role.ADMIN


def test_last_owner_cannot_be_demoted_or_removed(client_in, user, workspace):
    owner = Membership.objects.get(workspace=workspace, user=user)
    demote = client_in.post(
        reverse("workspaces:member_role", args=[owner.pk]), {"role": Role.MARKETER}
    )
    assert demote.status_code == 400
    assert "at least one owner" in demote.content.decode()
    remove = client_in.post(reverse("workspaces:member_remove", args=[owner.pk]))
    assert remove.status_code == 400
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_remove_member(client_in, workspace):
    member = MembershipFactory(workspace=workspace, role=Role.MARKETER)
    client_in.post(reverse("workspaces:member_remove", args=[member.pk]))
    assert not Membership.objects.filter(pk=member.pk).exists()


def test_admin_cannot_touch_owners_or_make_owners(member_client, workspace, user):
    client = member_client(Role.ADMIN)
    owner = Membership.objects.get(workspace=workspace, user=user)
    marketer = MembershipFactory(workspace=workspace, role=Role.MARKETER)
    role = reverse("workspaces:member_role", args=[owner.pk])
    assert client.post(role, {"role": Role.VIEWER}).status_code == 403
    assert client.post(reverse("workspaces:member_remove", args=[owner.pk])).status_code == 403
    promote = client.post(
        reverse("workspaces:member_role", args=[marketer.pk]), {"role": Role.OWNER}
    )
    assert promote.status_code == 400  # not a choice an admin has
    html = client.get(reverse("workspaces:members")).content.decode()
    assert '<option value="owner"' not in html
    owner.refresh_from_db()
    marketer.refresh_from_db()
    assert owner.role == Role.OWNER and marketer.role == Role.MARKETER


def test_member_of_another_workspace_is_not_found(client_in, other_workspace):
    theirs = MembershipFactory(workspace=other_workspace, role=Role.MARKETER)
    url = reverse("workspaces:member_role", args=[theirs.pk])
    assert client_in.post(url, {"role": Role.VIEWER}).status_code == 404
    assert client_in.post(reverse("workspaces:member_remove", args=[theirs.pk])).status_code == 404


@pytest.mark.parametrize("role", [Role.MARKETER, Role.VIEWER])
def test_only_owners_and_admins_manage_members_and_keys(member_client, workspace, role):
    client = member_client(role)
    other = MembershipFactory(workspace=workspace, role=Role.MARKETER)
    key, _ = services.api_key_create(workspace=workspace, name="k")
    UserFactory(username="someone")
    posts = [
        (reverse("workspaces:member_add"), {"username": "someone", "role": Role.VIEWER}),
        (reverse("workspaces:member_role", args=[other.pk]), {"role": Role.VIEWER}),
        (reverse("workspaces:member_remove", args=[other.pk]), {}),
        (reverse("workspaces:api_key_create"), {"name": "x"}),
        (reverse("workspaces:api_key_revoke", args=[key.pk]), {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert ApiKey.objects.count() == 1 and key.is_active
    other.refresh_from_db()
    assert other.role == Role.MARKETER
    html = client.get(reverse("workspaces:members")).content.decode()
    assert "Add a member" not in html and "Remove" not in html
    html = client.get(reverse("workspaces:api_keys")).content.decode()
    assert "Create key" not in html and "Revoke" not in html
    assert 'data-key="k"' in html


# ---------------------------------------------------------------- API keys


def test_api_key_is_shown_once_and_only_its_hash_is_stored(client_in, workspace):
    response = client_in.post(reverse("workspaces:api_key_create"), {"name": "Shop sync"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    raw = re.search(r'id="new-api-key" value="([^"]+)"', response.content.decode()).group(1)
    key = ApiKey.objects.get(workspace=workspace)
    assert raw.startswith(key.prefix) and len(raw) > 30
    assert key.key_hash == hash_key(raw) and raw not in key.key_hash
    assert services.api_key_authenticate(raw) == key

    listing = client_in.get(reverse("workspaces:api_keys")).content.decode()
    assert "Shop sync" in listing and key.prefix in listing
    assert raw not in listing


def test_api_key_needs_a_name(client_in):
    response = client_in.post(reverse("workspaces:api_key_create"), {"name": "  "})
    assert response.status_code == 400
    assert field_errors(response, "id_name")
    assert not ApiKey.objects.exists()


def test_revoke_api_key(client_in, workspace, other_workspace):
    key, raw = services.api_key_create(workspace=workspace, name="old")
    theirs, _ = services.api_key_create(workspace=other_workspace, name="theirs")
    response = client_in.post(reverse("workspaces:api_key_revoke", args=[key.pk]))
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert services.api_key_authenticate(raw) is None
    assert "Revoked" in client_in.get(reverse("workspaces:api_keys")).content.decode()
    other = client_in.post(reverse("workspaces:api_key_revoke", args=[theirs.pk]))
    assert other.status_code == 404


# ---------------------------------------------------------------- viewers and scoping


def test_viewer_sees_settings_read_only(member_client, workspace):
    TagFactory(workspace=workspace, name="vip")
    CustomAttributeFactory(workspace=workspace, key="plan")
    TopicFactory(workspace=workspace, name="News")
    client = member_client(Role.VIEWER)
    for name, text in [
        ("workspaces:members", "owner"),
        ("contacts:attributes", "plan"),
        ("contacts:tags", "vip"),
        ("contacts:topics", "News"),
        ("workspaces:api_keys", "API keys"),
    ]:
        response = client.get(reverse(name))
        html = response.content.decode()
        assert response.status_code == 200
        assert text in html
        assert '<form method="post" action="/workspaces/settings' not in html, name
        assert "Delete" not in html and "Rename" not in html, name


# ---------------------------------------------------------------- queries do not grow


def _grow(workspace, user, n: int) -> None:
    for _ in range(n):
        MembershipFactory(workspace=workspace, role=Role.MARKETER)
        tag = TagFactory(workspace=workspace)
        ContactTag.objects.create(contact=ContactFactory(workspace=workspace), tag=tag)
        CustomAttributeFactory(workspace=workspace)
        TopicFactory(workspace=workspace)
        services.api_key_create(workspace=workspace, name="k", created_by=user)
        services.notification_create(workspace=workspace, user=user, title="n")


@pytest.mark.parametrize(
    "name",
    [
        "workspaces:members",
        "contacts:attributes",
        "contacts:tags",
        "contacts:topics",
        "workspaces:api_keys",
        "workspaces:notifications",
    ],
)
def test_settings_pages_run_a_fixed_number_of_queries(client_in, workspace, user, name):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client_in.get(reverse(name)).status_code == 200
        return len(ctx.captured_queries)

    _grow(workspace, user, 2)
    small = count()
    _grow(workspace, user, 20)
    assert count() == small

"""Walks every page and every API route as a member of another workspace, as a viewer
and signed out, and finds no leak and no write.

Every URL pattern of the project is walked (read from the URL resolver, so a new
page is walked as soon as it exists): a pattern with an id must be mapped in
OBJECT_OF to the object of the victim's workspace it names, or this test fails and
says so. Every API route is read from the OpenAPI schema the same way."""

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns.models import Campaign, CampaignSegment
from contacts.models import Contact, ContactTag, CustomAttribute, Event, Tag, Topic
from imports import services as import_services
from imports.models import Import
from jobs.models import Job
from segments import services as segment_services
from segments.models import Segment, SegmentMember
from tests.factories import ContactFactory, MembershipFactory, UserFactory, WorkspaceFactory
from tests.routes import OBJECT_OF, PUBLIC, api_routes, url_patterns
from workspaces.models import ApiKey, Membership, Notification, Role
from workspaces.services import api_key_create, notification_create

SECRET = "acmesecret"  # in every name of the victim's data: must never show elsewhere
# Posts a viewer may make: to sign out, to change their own password, to switch
# workspace, to read their notifications.
VIEWER_MAY_POST = {
    "logout",
    "password_change",
    "workspaces:switch",
    "workspaces:notifications_read_all",
    "workspaces:notification_read",
}
FORM = {
    "name": "pwned",
    "label": "pwned",
    "key": "pwned",
    "type": "text",
    "role": "viewer",
    "username": "mallory",
    "tags": "pwned",
    "email": "pwned@evil.test",
    "first_name": "pwned",
    "action": "tag",
    "tag-name": "pwned",
    "ids": [],
    "confirm": "yes",
}

pytestmark = pytest.mark.django_db


@pytest.fixture
def victim(settings, tmp_path):
    """Workspace "acme" with one of everything, its owner and a viewer."""
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "acme.csv").write_text(f"email\nann.{SECRET}@acme.test\n")
    ws = WorkspaceFactory(name=f"Acme {SECRET}", slug="acme")
    owner, viewer = UserFactory(username="owner"), UserFactory(username="viewer")
    MembershipFactory(workspace=ws, user=owner, role=Role.OWNER)
    viewer_membership = MembershipFactory(workspace=ws, user=viewer, role=Role.VIEWER)
    contact = ContactFactory(
        workspace=ws, email=f"ann.{SECRET}@acme.test", first_name=f"Ann{SECRET}"
    )
    tag = Tag.objects.create(workspace=ws, name=f"tag{SECRET}")
    ContactTag.objects.create(contact=contact, tag=tag)
    Event.objects.create(
        workspace=ws, contact=contact, name=f"event{SECRET}", occurred_at=contact.created_at
    )
    manual = segment_services.segment_create(workspace=ws, name=f"Seg {SECRET}", kind="manual")
    segment_services.segment_members_add(segment=manual, lookup="id", values=[contact.pk])
    campaign = Campaign.objects.create(workspace=ws, name=f"Campaign {SECRET}")
    job = Job.objects.create(
        workspace=ws,
        kind="contacts_bulk",
        title=f"Job {SECRET}",
        status=Job.Status.RUNNING,
        created_by=owner,
        message=f"Tagging {SECRET}",
        result_file="exports/acme.csv",
    )
    upload = SimpleUploadedFile("acme.csv", f"email\nann.{SECRET}@acme.test\n".encode())
    imp = import_services.import_create(
        workspace=ws, user=owner, upload=upload, name=f"Import {SECRET}"
    )
    objects = {
        "workspace": ws,
        "contact": contact,
        "tag": tag,
        "attribute": CustomAttribute.objects.create(workspace=ws, key=f"attr{SECRET}"),
        "topic": Topic.objects.create(workspace=ws, name=f"Topic {SECRET}"),
        "api_key": api_key_create(workspace=ws, name=f"Key {SECRET}")[0],
        "notification": notification_create(workspace=ws, user=owner, title=f"Note {SECRET}"),
        "membership": viewer_membership,
        "segment": manual,
        "job": job,
        "campaign": campaign,
        "import": imp,
        "owner": owner,
        "viewer": viewer,
    }
    return objects


@pytest.fixture
def mallory():
    """Owner of workspace "globex", with a contact and a key of her own."""
    ws = WorkspaceFactory(name="Globex", slug="globex")
    user = UserFactory(username="mallory")
    MembershipFactory(workspace=ws, user=user, role=Role.OWNER)
    ContactFactory(workspace=ws, email="own@globex.test")
    return user, api_key_create(workspace=ws, name="Mallory")[1]


def snapshot(ws):
    """Everything of the workspace that a write could change."""
    rows = [
        Contact.objects.filter(workspace=ws).values(),
        ContactTag.objects.filter(contact__workspace=ws).values(),
        Tag.objects.filter(workspace=ws).values(),
        CustomAttribute.objects.filter(workspace=ws).values(),
        Topic.objects.filter(workspace=ws).values(),
        ApiKey.objects.filter(workspace=ws).values("id", "name", "revoked_at"),
        Notification.objects.filter(workspace=ws).values(),
        Membership.objects.filter(workspace=ws).values(),
        Segment.objects.filter(workspace=ws).values(),
        SegmentMember.objects.filter(segment__workspace=ws).values(),
        Campaign.objects.filter(workspace=ws).values(),
        CampaignSegment.objects.filter(campaign__workspace=ws).values(),
        Event.objects.filter(workspace=ws).values(),
        Job.objects.filter(workspace=ws).values(),
        Import.objects.filter(workspace=ws).values(),
    ]
    return json.dumps([sorted(map(str, list(q))) for q in rows])


def urls_for(victim):
    """(name, path) of every page, ids filled with the victim's objects."""
    for name, pattern in url_patterns():
        params = re.findall(r"<(?:\w+:)?(\w+)>", pattern)
        if name in PUBLIC:
            continue
        if params:
            assert name in OBJECT_OF, f"Map the URL '{name}' ({pattern}) in OBJECT_OF."
            pk = victim[OBJECT_OF[name]].pk
            path = re.sub(r"<(?:\w+:)?\w+>", str(pk), pattern)
        else:
            path = pattern
        yield name, "/" + path


def test_every_url_is_walked(victim):
    walked = {name for name, _ in urls_for(victim)}
    assert {"contacts:list", "contacts:detail", "workspaces:api_keys"} <= walked


def test_a_member_of_another_workspace_sees_and_changes_nothing(client, victim, mallory):
    client.force_login(mallory[0])
    before = snapshot(victim["workspace"])
    for name, path in urls_for(victim):
        response = client.get(path)
        assert response.status_code in (200, 302, 404, 405), (name, response.status_code)
        assert SECRET not in response.content.decode(), f"{name} leaks to another workspace"
        if name in OBJECT_OF:
            assert response.status_code in (404, 405), f"{name} answers another workspace"
        form = {**FORM, "ids": [victim["contact"].pk], "workspace": victim["workspace"].pk}
        response = client.post(path, form)
        assert response.status_code < 500, (name, response.status_code)
        assert SECRET not in response.content.decode(), f"POST {name} leaks"
        if name in OBJECT_OF:
            assert response.status_code in (404, 405), f"POST {name} answers another workspace"
    assert snapshot(victim["workspace"]) == before
    # The switcher refused the victim's workspace: the session still shows hers.
    page = client.get("/contacts/").content.decode()
    assert "own@globex.test" in page and SECRET not in page


def test_a_viewer_reads_but_never_writes(client, victim):
    client.force_login(victim["viewer"])
    assert SECRET in client.get(f"/contacts/{victim['contact'].pk}/").content.decode()
    before = snapshot(victim["workspace"])
    for name, path in urls_for(victim):
        if name in VIEWER_MAY_POST:
            continue
        response = client.post(path, {**FORM, "ids": [victim["contact"].pk]})
        assert response.status_code in (403, 405), (name, response.status_code)
    assert snapshot(victim["workspace"]) == before


def test_signed_out_every_page_leads_to_sign_in(client, victim):
    before = snapshot(victim["workspace"])
    for name, path in urls_for(victim):
        for method in ("get", "post"):
            response = getattr(client, method)(path, FORM)
            assert response.status_code == 302, (method, name, response.status_code)
            assert response["Location"].startswith("/accounts/login/"), (name, response["Location"])
    assert snapshot(victim["workspace"]) == before


# ---------------------------------------------------------------- the API


def fill(path, victim):
    return path.replace("{contact_id}", str(victim["contact"].pk)).replace(
        "{segment_id}", str(victim["segment"].pk)
    )


API_BODY = {
    "name": "pwned",
    "kind": "manual",
    "tags": ["pwned"],
    "first_name": "pwned",
    "ids": [],
    "emails": [],
    "conditions": {"all": [{"tag": "pwned", "op": "has"}]},
    "field": "country",
}


def test_the_api_of_another_workspace_sees_and_changes_nothing(client, victim, mallory):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {mallory[1]}"}
    before = snapshot(victim["workspace"])
    routes = list(api_routes(client))
    assert len(routes) >= 20
    for method, path in routes:
        url = fill(path, victim)
        body = {**API_BODY, "ids": [victim["contact"].pk]}
        if method == "get":
            response = client.get(url, {"segment": victim["segment"].pk}, **headers)
        else:
            send = getattr(client, method)
            response = send(url, json.dumps(body), content_type="application/json", **headers)
        assert response.status_code < 500, (method, path, response.status_code)
        assert SECRET not in response.content.decode(), f"{method} {path} leaks"
        if "{" in path:
            assert response.status_code in (400, 404), (method, path, response.status_code)
    assert snapshot(victim["workspace"]) == before


def test_the_api_without_a_key_is_401_everywhere(client, victim):
    before = snapshot(victim["workspace"])
    for method, path in api_routes(client):
        if method == "get":
            response = client.get(fill(path, victim))
        else:
            send = getattr(client, method)
            response = send(
                fill(path, victim), json.dumps(API_BODY), content_type="application/json"
            )
        assert response.status_code == 401, (method, path, response.status_code)
    assert snapshot(victim["workspace"]) == before

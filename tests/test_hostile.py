"""Hostile values at every route: no 500 anywhere (api.md, Errors).

The answers that hostile requests get."""

import pytest

from campaigns.models import Campaign, CampaignSegment
from contacts.models import ContactTag, CustomAttribute, Event, Tag, Topic
from jobs.models import Job
from segments import services as segment_services
from tests.factories import ContactFactory, MembershipFactory, UserFactory, WorkspaceFactory
from workspaces.models import Role
from workspaces.services import api_key_create, notification_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def owned(settings, tmp_path):
    """A workspace with one of everything, signed in as its owner."""
    settings.MEDIA_ROOT = tmp_path
    settings.API_RATE_LIMIT_PER_MINUTE = 10**9
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "a.csv").write_text("email\nann@acme.test\n")
    ws = WorkspaceFactory(name="Acme", slug="acme")
    owner = UserFactory(username="owner")
    MembershipFactory(workspace=ws, user=owner, role=Role.OWNER)
    viewer = MembershipFactory(workspace=ws, user=UserFactory(username="viewer"), role="viewer")
    contact = ContactFactory(workspace=ws, email="ann@acme.test")
    ContactFactory(workspace=ws, email="bob@acme.test", country="FR")
    tag = Tag.objects.create(workspace=ws, name="vip")
    ContactTag.objects.create(contact=contact, tag=tag)
    Event.objects.create(
        workspace=ws, contact=contact, name="signup", occurred_at=contact.created_at
    )
    for key, kind in (("plan", "text"), ("seats", "number"), ("renewal", "date")):
        attribute = CustomAttribute.objects.create(workspace=ws, key=key, type=kind)
    manual = segment_services.segment_create(workspace=ws, name="Manual", kind="manual")
    segment_services.segment_members_add(segment=manual, lookup="id", values=[contact.pk])
    rule = {"all": [{"segment": manual.pk, "op": "in"}, {"tag": "vip", "op": "has"}]}
    segment = segment_services.segment_create(
        workspace=ws, name="Filter", kind="filter", conditions=rule
    )
    campaign = Campaign.objects.create(workspace=ws, name="Welcome")
    CampaignSegment.objects.create(campaign=campaign, segment=manual, role="include")
    job = Job.objects.create(
        workspace=ws, kind="contacts_bulk", title="Tagging", created_by=owner,
        status=Job.Status.RUNNING, result_file="exports/a.csv",
    )  # fmt: skip
    key, raw_key = api_key_create(workspace=ws, name="Sync")
    return {
        "workspace": ws,
        "owner": owner,
        "raw_key": raw_key,
        "contact": contact,
        "tag": tag,
        "attribute": attribute,
        "topic": Topic.objects.create(workspace=ws, name="News"),
        "api_key": api_key_create(workspace=ws, name="Other")[0],
        "notification": notification_create(workspace=ws, user=owner, title="Hi", url="/"),
        "membership": viewer,
        "segment": manual,
        "filter_segment": segment,
        "job": job,
        "ids": {
            "segment": manual.pk,
            "segments": manual.pk,
            "workspace": ws.pk,
            "tag": tag.pk,
            "topics": Topic.objects.first().pk,
        },  # fmt: skip
        "key": key,
    }


# ---------------------------------------------------------------- the answers they get


@pytest.mark.parametrize(
    "body",
    [{"ids": []}, {"emails": []}, {"external_ids": []}, {"ids": [999_999_999]},
     {"ids": ["OTHER"]}, {"emails": ["nobody@acme.test"]}],
)  # fmt: skip
@pytest.mark.parametrize("route", ["members", "members/remove"])
def test_members_calls_matching_nobody_change_nothing(client, owned, other_workspace, route, body):
    """api.md: an empty list, or values none of which is a contact of the workspace,
    is a 200 that adds (removes) nothing, with not_found listing the values."""
    other = ContactFactory(workspace=other_workspace)
    body = {k: [other.pk if v == "OTHER" else v for v in vs] for k, vs in body.items()}
    segment = owned["segment"]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {owned['raw_key']}"}
    url = f"/api/v1/segments/{segment.pk}/{route}"
    response = client.post(url, body, content_type="application/json", **headers)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["not_found"] == next(iter(body.values()))
    assert answer.get("added", answer.get("removed")) == 0
    assert segment.members.count() == 1

"""segments/admin.py: the delete guard names what uses a segment, with links, and the
history says why people entered and left in words, not ids or codes."""

import pytest
from django.test import Client
from django.urls import reverse

from campaigns.models import CampaignSegment
from segments import services
from segments.models import Segment, SegmentChange, SegmentDependency, Source
from tests.factories import CampaignSegmentFactory, ContactFactory, DeliveryFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def used(workspace):
    """“VIP”, named in the rule of “VIP in Berlin” and used by the campaign “Spring”."""
    vip = services.segment_create(workspace=workspace, name="VIP", kind="manual")
    berlin = services.segment_create(
        workspace=workspace,
        name="VIP in Berlin",
        kind="filter",
        conditions={"all": [{"segment": vip.pk, "op": "in"}]},
    )
    link = CampaignSegmentFactory(
        campaign__workspace=workspace, campaign__name="Spring", segment=vip, role="trigger"
    )
    return vip, berlin, link.campaign


def _change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def _guard(vip, berlin, spring) -> str:
    """The app's delete guard sentence, with links to the admin's pages."""
    return (
        f'“VIP” is used by the segment <a href="{_change_url(berlin)}">VIP in Berlin</a>'
        f' and the campaign <a href="{_change_url(spring)}">Spring</a> (trigger).'
    )


def test_the_delete_page_names_each_user_with_a_link_and_deletes_nothing(admin_client, used):
    vip, berlin, spring = used
    url = reverse("admin:segments_segment_delete", args=[vip.pk])
    html = admin_client.get(url).content.decode()
    assert _guard(vip, berlin, spring) in html
    assert "needs" not in html and "Segment dependency:" not in html
    admin_client.post(url, {"post": "yes"})
    assert Segment.objects.filter(pk=vip.pk).exists()


def test_deleting_selected_segments_says_the_same(admin_client, used):
    vip, berlin, spring = used
    response = admin_client.post(
        reverse("admin:segments_segment_changelist"),
        {"action": "delete_selected", "_selected_action": [vip.pk]},
    )
    html = response.content.decode()
    assert _guard(vip, berlin, spring) in html
    assert Segment.objects.filter(pk=vip.pk).exists()


def test_a_segment_nothing_uses_is_deleted_as_usual(admin_client, workspace):
    alone = services.segment_create(workspace=workspace, name="Alone", kind="manual")
    url = reverse("admin:segments_segment_delete", args=[alone.pk])
    assert "Are you sure" in admin_client.get(url).content.decode()
    admin_client.post(url, {"post": "yes"})
    assert not Segment.objects.filter(pk=alone.pk).exists()


def test_rows_say_what_they_are_in_words(used):
    vip, berlin, spring = used
    dependency = SegmentDependency.objects.get(segment=berlin)
    assert str(dependency) == "“VIP in Berlin” names “VIP” in its rule"
    link = CampaignSegment.objects.get(segment=vip)
    assert str(link) == "“Spring” starts when someone enters “VIP”"
    delivery = DeliveryFactory(campaign=spring, contact__email="ann@example.com")
    assert str(delivery) == "“Spring” to ann@example.com"


@pytest.mark.parametrize(
    ("source", "action", "words"),
    [
        (Source.DATA, "entered", "Their data changed"),
        (Source.RULE, "left", "The rule changed"),
        (Source.SCHEDULE, "left", "Time passed (a time-based condition)"),
        (Source.MANUAL, "entered", "Added by hand"),
        (Source.MANUAL, "left", "Removed by hand"),
        (Source.API, "left", "Removed through the API"),
        (Source.REPAIR, "entered", "Repair: the rule holds but they were missing"),
    ],
)
def test_history_causes_are_words(workspace, source, action, words):
    segment = services.segment_create(workspace=workspace, name="Hand", kind="manual")
    contact = ContactFactory(workspace=workspace, email="ann@example.com")
    change = SegmentChange.objects.create(
        segment=segment, contact=contact, action=action, source=source, at=contact.created_at
    )
    assert change.cause == words
    assert str(change) == f"ann@example.com {action} “Hand”: {words}"


def test_the_history_tab_and_the_admin_list_say_the_cause(client_in, workspace):
    segment = services.segment_create(workspace=workspace, name="Hand", kind="manual")
    contact = ContactFactory(workspace=workspace)
    services.segment_members_add(segment=segment, lookup="id", values=[contact.pk])
    services.segment_members_remove(segment=segment, lookup="id", values=[contact.pk])
    history = client_in.get(reverse("segments:history", args=[segment.pk])).content.decode()
    assert "Added by hand" in history and "Removed by hand" in history
    admin = Client()
    admin.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    listing = admin.get(reverse("admin:segments_segmentchange_changelist"))
    assert "Removed by hand" in listing.content.decode()

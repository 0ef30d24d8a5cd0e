"""Open pixel and click redirect: signed, no sign-in, recorded on the delivery, and
read by campaign-activity segments."""

import re

import pytest
from django.core import mail, signing

from campaigns import services, tracking
from campaigns.models import Delivery
from campaigns.services import CampaignData
from segments import services as segment_services
from segments.models import SegmentMember
from tests.factories import ContactFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """A broadcast sent to ann and bob; their messages in mail.outbox."""
    ws = WorkspaceFactory()
    ann = ContactFactory(workspace=ws, email="ann@x.io")
    bob = ContactFactory(workspace=ws, email="bob@x.io")
    everyone = segment_services.segment_create(workspace=ws, name="All", kind="manual")
    segment_services.segment_members_add(segment=everyone, lookup="id", values=[ann.pk, bob.pk])
    campaign = services.campaign_create(
        workspace=ws,
        data=CampaignData(
            name="Sale", subject="Sale", body="See https://shop.example/sale.", include=[everyone]
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_send(campaign=campaign)
    return {"ws": ws, "ann": ann, "bob": bob, "campaign": campaign}


def message_to(email):
    return next(m for m in mail.outbox if m.to == [email])


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def pixel_of(message) -> str:
    return path_of(re.search(r'<img src="([^"]+)"', message.alternatives[0][0]).group(1))


def link_of(message) -> str:
    return path_of(re.search(r"(https?://\S+/t/c/\S+/)", message.body).group(1))


def test_the_pixel_records_the_first_open_without_sign_in(client, sent):
    response = client.get(pixel_of(message_to("ann@x.io")))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert response.content == tracking.PIXEL
    ann = Delivery.objects.get(contact=sent["ann"])
    first = ann.opened_at
    assert first is not None
    client.get(pixel_of(message_to("ann@x.io")))
    ann.refresh_from_db()
    assert ann.opened_at == first
    assert Delivery.objects.get(contact=sent["bob"]).opened_at is None


def test_the_click_redirects_only_where_the_message_linked_and_counts_as_an_open(client, sent):
    response = client.get(link_of(message_to("bob@x.io")))
    assert response.status_code == 302
    assert response["Location"] == "https://shop.example/sale"  # the full stop left out
    bob = Delivery.objects.get(contact=sent["bob"])
    assert bob.clicked_at is not None and bob.opened_at is not None


def test_a_token_edited_or_made_elsewhere_is_a_404(client, sent):
    path = link_of(message_to("bob@x.io"))
    token = path.rstrip("/").rsplit("/", 1)[1]
    forged = signing.dumps([Delivery.objects.first().pk, "https://evil.example/"], salt="other")
    for bad in (token[:-2] + "xx", forged, "1", "%00", "a" * 3000):
        assert client.get(f"/t/c/{bad}/").status_code == 404
        assert client.get(f"/t/o/{bad}/").status_code == 404
    assert not Delivery.objects.filter(clicked_at__isnull=False).exists()


def test_opens_and_clicks_feed_campaign_activity_segments(
    client, sent, django_capture_on_commit_callbacks
):
    ws, campaign = sent["ws"], sent["campaign"]

    def segment(name, activity, op="has", which=None):
        rule = {"all": [{"campaign": which or campaign.pk, "activity": activity, "op": op}]}
        with django_capture_on_commit_callbacks(execute=True):
            return segment_services.segment_create(
                workspace=ws, name=name, kind="filter", conditions=rule
            )

    def members(segment):
        return set(
            SegmentMember.objects.filter(segment=segment).values_list("contact__email", flat=True)
        )

    got = segment("Got it", "sent")
    opened = segment("Opened", "opened")
    not_opened = segment("Did not open", "opened", op="has_not")
    clicked_any = segment("Clicked any", "clicked", which="*")
    assert members(got) == {"ann@x.io", "bob@x.io"}
    assert members(opened) == set() and members(clicked_any) == set()

    with django_capture_on_commit_callbacks(execute=True):
        client.get(pixel_of(message_to("ann@x.io")))
    assert members(opened) == {"ann@x.io"}
    assert members(not_opened) == {"bob@x.io"}

    with django_capture_on_commit_callbacks(execute=True):
        client.get(link_of(message_to("bob@x.io")))
    assert members(opened) == {"ann@x.io", "bob@x.io"}
    assert members(clicked_any) == {"bob@x.io"}
    assert members(not_opened) == set()

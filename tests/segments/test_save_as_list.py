""" "Save as list" says how many people the list holds (the snapshot is written in
the request, so the count is known at once), as does a manual clone."""

import pytest
from django.urls import reverse

from segments import services
from segments.models import Segment
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def hand(workspace):
    segment = services.segment_create(workspace=workspace, name="Hand", kind="manual")
    people = [ContactFactory(workspace=workspace) for _ in range(3)]
    services.segment_members_add(segment=segment, lookup="id", values=[p.pk for p in people])
    return segment


def test_the_services_return_the_real_count(hand):
    snapshot = services.segment_save_as_list(segment=hand, name="Hand today")
    assert snapshot.member_count == 3
    clone = services.segment_clone(segment=hand, name="Hand 2")
    assert clone.member_count == 3


def test_the_message_gives_the_real_count(client_in, hand):
    response = client_in.post(
        reverse("segments:save_as_list", args=[hand.pk]), {"name": "Hand today"}, follow=True
    )
    page = response.content.decode()
    assert "Saved 3 people of “Hand” as “Hand today”." in page
    assert Segment.objects.get(name="Hand today").member_count == 3

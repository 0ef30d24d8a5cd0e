"""The delete confirmations say what goes and what stays: a bulk delete counts only
the deletable segments on its button and names the kept ones with what uses them;
a single delete names the members among what is gone."""

import html

import pytest
from django.urls import reverse

from campaigns.models import Campaign, CampaignSegment
from segments import services
from segments.models import Segment
from tests.factories import ContactFactory
from tests.segments.views.pages import campaign_named

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return html.unescape(response.content.decode())


def manual(workspace, name):
    return services.segment_create(workspace=workspace, name=name, kind="manual")


def uses(segment, name):
    return services.segment_create(
        workspace=segment.workspace,
        name=name,
        kind="filter",
        conditions={"all": [{"segment": segment.pk, "op": "in"}]},
    )


def confirm(client, ids):
    return text(client.post(reverse("segments:bulk"), {"action": "delete", "ids": ids}))


def test_the_button_counts_only_what_will_be_deleted(client_in, workspace):
    free = manual(workspace, "Free")
    used = manual(workspace, "Used")
    campaign = Campaign.objects.create(workspace=workspace, name="Spring launch")
    CampaignSegment.objects.create(campaign=campaign, segment=used, role="include")
    page = confirm(client_in, [free.pk, used.pk])
    assert "Delete 1 segment?" in page and ">Delete 1 segment</button>" in page
    going = page.split('id="bulk-delete-going"')[1].split("</ul>")[0]
    kept = page.split('id="bulk-delete-kept"')[1].split("</ul>")[0]
    assert "Free" in going and "Used" not in going
    assert "Used" in kept
    assert f"Used by the campaign {campaign_named(campaign)} (include)." in kept
    assert f'name="ids" value="{used.pk}"' not in page  # only the deletable ones are sent


def test_a_segment_named_by_a_selected_rule_goes_with_it_else_stays(client_in, workspace):
    named = manual(workspace, "Named")
    user = uses(named, "User")
    other = manual(workspace, "Other named")
    uses(other, "Outside user")
    page = confirm(client_in, [named.pk, user.pk, other.pk])
    assert ">Delete 2 segments</button>" in page
    kept = page.split('id="bulk-delete-kept"')[1].split("</ul>")[0]
    outside = Segment.objects.get(name="Outside user")
    assert "Other named" in kept
    assert f'Used by the segment <a href="/segments/{outside.pk}/">Outside user</a>.' in kept


def test_when_nothing_can_go_there_is_no_delete_button(client_in, workspace):
    named = manual(workspace, "Named")
    uses(named, "User")
    page = confirm(client_in, [named.pk])
    assert "This segment is in use" in page and "</button>" not in page.split("<form")[-1]


def test_the_single_delete_names_the_members(client_in, workspace):
    segment = manual(workspace, "Hand")
    contact = ContactFactory(workspace=workspace)
    services.segment_members_add(segment=segment, lookup="id", values=[contact.pk])
    page = text(client_in.get(reverse("segments:delete", args=[segment.pk])))
    assert "The segment, its members and its history are gone for good" in page
    assert "the 1 person in it stays in your contacts" in page
    empty = manual(workspace, "Empty")
    page = text(client_in.get(reverse("segments:delete", args=[empty.pk])))
    assert "The segment, its members and its history are gone for good." in page

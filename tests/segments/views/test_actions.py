"""The segment page's actions (segments/views/actions.py): clone, save as list (saying
how many people the list holds), archive, and delete, which names the members among
what is gone, or refuses with its guard."""

import pytest
from django.urls import reverse

from segments import services
from segments.models import Segment
from tests.factories import (
    ContactFactory,
)
from tests.segments.views.pages import (
    LIST,
    campaign_named,
    filtered,
    in_use_by_campaign,
    manual,
    text,
    unescaped,
)

pytestmark = pytest.mark.django_db


def test_clone_a_manual_segment_copies_members(client_in, workspace):
    people = ContactFactory.create_batch(3, workspace=workspace)
    segment = manual(workspace, "VIP", people)
    url = reverse("segments:clone", args=[segment.pk])
    assert 'value="Copy of VIP"' in text(client_in.get(url))
    response = client_in.post(url, {"name": "VIP copy"})
    clone = Segment.objects.get(name="VIP copy")
    assert response["Location"] == reverse("segments:detail", args=[clone.pk])
    assert clone.origin == "clone" and clone.member_count == 3
    duplicate = client_in.post(url, {"name": "vip COPY"})
    assert duplicate.status_code == 400 and "already exists" in text(duplicate)


def test_clone_a_filter_segment_opens_its_conditions(
    client_in, workspace, django_capture_on_commit_callbacks
):
    french = filtered(workspace, django_capture_on_commit_callbacks)
    response = client_in.post(reverse("segments:clone", args=[french.pk]), {"name": "French 2"})
    clone = Segment.objects.get(name="French 2")
    assert clone.conditions == french.conditions and clone.kind == "filter"
    assert response["Location"] == reverse("segments:conditions", args=[clone.pk])


def test_save_as_list_freezes_members(client_in, workspace, django_capture_on_commit_callbacks):
    ContactFactory.create_batch(2, workspace=workspace, country="FR")
    french = filtered(workspace, django_capture_on_commit_callbacks)
    url = reverse("segments:save_as_list", args=[french.pk])
    response = client_in.post(url, {"name": "French today"})
    saved = Segment.objects.get(name="French today")
    assert response["Location"] == reverse("segments:detail", args=[saved.pk])
    assert (saved.kind, saved.origin, saved.member_count) == ("manual", "list", 2)
    assert client_in.post(url, {"name": ""}).status_code == 400


def test_archive_and_unarchive(client_in, workspace):
    segment = manual(workspace, "VIP")
    url = reverse("segments:archive", args=[segment.pk])
    client_in.post(url, {"archived": "1"})
    segment.refresh_from_db()
    assert segment.archived
    page = text(client_in.get(reverse("segments:detail", args=[segment.pk])))
    assert "Unarchive" in page and "Archived" in page
    client_in.post(url, {"archived": "0"})
    segment.refresh_from_db()
    assert not segment.archived


def test_delete_asks_then_deletes(client_in, workspace):
    segment = manual(workspace, "VIP")
    url = reverse("segments:delete", args=[segment.pk])
    page = text(client_in.get(url))
    assert "Delete “VIP”?" in page and "Delete segment" in page
    assert Segment.objects.filter(pk=segment.pk).exists()
    response = client_in.post(url)
    assert response["Location"] == LIST and not Segment.objects.filter(pk=segment.pk).exists()


def test_delete_guard_says_what_uses_it_with_links(client_in, workspace):
    segment = manual(workspace, "VIP")
    campaign = in_use_by_campaign(segment, "Spring launch", role="exclude")
    user = services.segment_create(
        workspace=workspace,
        name="Uses VIP",
        kind="filter",
        conditions={"all": [{"segment": segment.pk, "op": "not_in"}]},
    )
    url = reverse("segments:delete", args=[segment.pk])
    guard = text(client_in.get(url))
    assert "is in use" in guard and "Delete segment" not in guard
    assert (
        f'Used by the segment <a href="/segments/{user.pk}/">Uses VIP</a>'
        f" and the campaign {campaign_named(campaign)} (exclude)."
    ) in guard
    assert "Archive instead" in guard
    refused = client_in.post(url)
    assert refused.status_code == 409 and "is in use" in text(refused)
    assert Segment.objects.filter(pk=segment.pk).exists()


def test_the_single_delete_names_the_members(client_in, workspace):
    segment = manual(workspace, "Hand")
    contact = ContactFactory(workspace=workspace)
    services.segment_members_add(segment=segment, lookup="id", values=[contact.pk])
    page = unescaped(client_in.get(reverse("segments:delete", args=[segment.pk])))
    assert "The segment, its members and its history are gone for good" in page
    assert "the 1 person in it stays in your contacts" in page
    empty = manual(workspace, "Empty")
    page = unescaped(client_in.get(reverse("segments:delete", args=[empty.pk])))
    assert "The segment, its members and its history are gone for good." in page


def test_save_as_list_says_how_many_people_the_list_holds(client_in, workspace):
    """The snapshot is written in the request, so the count is known at once."""
    hand = manual(workspace, "Hand", ContactFactory.create_batch(3, workspace=workspace))
    response = client_in.post(
        reverse("segments:save_as_list", args=[hand.pk]), {"name": "Hand today"}, follow=True
    )
    page = response.content.decode()
    assert "Saved 3 people of “Hand” as “Hand today”." in page
    assert Segment.objects.get(name="Hand today").member_count == 3

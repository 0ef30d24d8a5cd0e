"""The Members tab (segments/views/members.py): list, search, keyset pages in a fixed
number of queries, adding people by type-ahead and removing them; a filter segment's
members cannot be changed by hand."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from segments import services
from segments.models import SegmentChange, SegmentMember, Source
from tests.factories import (
    ContactFactory,
)
from tests.segments.views.pages import (
    HTMX,
    filtered,
    manual,
    next_cursor,
    text,
)

pytestmark = pytest.mark.django_db


def test_members_tab_lists_searches_and_pages(client_in, workspace):
    people = [ContactFactory(workspace=workspace, first_name=f"P{i:02}") for i in range(55)]
    ContactFactory(workspace=workspace, first_name="Outsider")
    segment = manual(workspace, "VIP", people)
    url = reverse("segments:detail", args=[segment.pk])
    page = text(client_in.get(url))
    assert "55</strong> members" in page and "Outsider" not in page
    assert page.count("data-select-row") == 50
    cursor = next_cursor(page)
    rest = text(client_in.get(url, {"cursor": cursor}))
    assert rest.count("data-select-row") == 5
    found = text(
        client_in.get(url, {"q": people[3].email}, HTTP_HX_TARGET="member-results", **HTMX)
    )
    assert '<section id="member-results"' in found and "segment-tabs" not in found
    assert people[3].email in found and people[4].email not in found
    # Each row links to its own contact's page (reversed once for the page).
    assert f'href="{reverse("contacts:detail", args=[people[3].pk])}"' in found
    assert found.count('href="/contacts/') == 1


def test_add_people_by_type_ahead(client_in, workspace, other_workspace):
    ann = ContactFactory(workspace=workspace, first_name="Annabel", email="annabel@x.test")
    member = ContactFactory(workspace=workspace, first_name="Annette", email="annette@x.test")
    ContactFactory(workspace=other_workspace, first_name="Annika", email="annika@x.test")
    segment = manual(workspace, "VIP", [member])
    url = reverse("segments:detail", args=[segment.pk])
    candidates = text(client_in.get(url, {"find": "anna"}, HTTP_HX_TARGET="candidates", **HTMX))
    assert "Annabel" in candidates and "Annette" not in candidates and "Annika" not in candidates
    add = reverse("segments:members_add", args=[segment.pk])
    response = client_in.post(add, {"ids": [ann.pk], "find": "anna"}, **HTMX)
    body = text(response)
    assert "Added 1 person." in body
    assert 'id="segment-member-count" hx-swap-oob="true"><strong>2</strong>' in body
    assert 'value="anna"' in body  # the search stays, to add more
    assert SegmentMember.objects.filter(segment=segment, source=Source.MANUAL).count() == 2
    # Without JavaScript: back to the page, with a message.
    plain = client_in.post(add, {"ids": [ann.pk]})
    assert plain.status_code == 302 and plain["Location"] == url


def test_remove_members(client_in, workspace):
    people = ContactFactory.create_batch(3, workspace=workspace)
    segment = manual(workspace, "VIP", people)
    url = reverse("segments:members_remove", args=[segment.pk])
    response = client_in.post(url, {"ids": [people[0].pk, people[1].pk]}, **HTMX)
    assert "Removed 2 people." in text(response)
    segment.refresh_from_db()
    assert segment.member_count == 1
    assert SegmentChange.objects.filter(segment=segment, action="left").count() == 2
    nothing = client_in.post(url, {}, **HTMX)
    assert "Select the people to remove first." in text(nothing)


def test_filter_segment_members_cannot_be_changed_by_hand(
    client_in, workspace, django_capture_on_commit_callbacks
):
    french = filtered(workspace, django_capture_on_commit_callbacks)
    someone = ContactFactory(workspace=workspace, country="DE")
    page = text(client_in.get(reverse("segments:detail", args=[french.pk])))
    assert "Add people" not in page and "on their own" in page
    response = client_in.post(
        reverse("segments:members_add", args=[french.pk]), {"ids": [someone.pk]}, **HTMX
    )
    assert "filter segment" in text(response)
    assert not SegmentMember.objects.filter(segment=french).exists()


def _members_queries(client, segment) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("segments:detail", args=[segment.pk]))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_members_tab_queries_do_not_grow_with_members(client_in, workspace):
    people = ContactFactory.create_batch(300, workspace=workspace)
    segment = manual(workspace, "VIP", people[:10])
    small = _members_queries(client_in, segment)
    services.segment_members_add(segment=segment, lookup="id", values=[p.pk for p in people[10:]])
    segment.refresh_from_db()
    assert segment.member_count == 300
    assert _members_queries(client_in, segment) == small

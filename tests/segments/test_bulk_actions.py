"""The contact list's segment actions (segments/bulk_actions.py): add the checked
contacts, or all that match the filters, to manual segments, and remove them."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import Contact
from segments import services
from segments.models import SegmentMember
from tests.factories import (
    ContactFactory,
)
from tests.segments.views.pages import (
    HTMX,
    filtered,
    manual,
    text,
)

pytestmark = pytest.mark.django_db


BULK = reverse("contacts:bulk")


def test_add_checked_contacts_to_two_segments(client_in, workspace):
    people = ContactFactory.create_batch(3, workspace=workspace)
    a, b = manual(workspace, "A", people[:1]), manual(workspace, "B")
    response = client_in.post(
        BULK,
        {
            "action": "add_to_segments",
            "ids": [p.pk for p in people],
            "add_to_segments-segments": [a.pk, b.pk],
        },
    )
    assert response.status_code == 302
    a.refresh_from_db(), b.refresh_from_db()
    assert (a.member_count, b.member_count) == (3, 3)
    page = text(client_in.get(reverse("contacts:list")))
    assert "Added 2 contacts to “A” and 3 contacts to “B”." in page
    assert "Add to segments" in page and "Remove from segment" in page


def test_remove_checked_contacts_from_a_segment(client_in, workspace):
    people = ContactFactory.create_batch(3, workspace=workspace)
    segment = manual(workspace, "A", people)
    client_in.post(
        BULK,
        {
            "action": "remove_from_segment",
            "ids": [people[0].pk],
            "remove_from_segment-segment": segment.pk,
        },
    )
    segment.refresh_from_db()
    assert segment.member_count == 2


def test_all_that_match_the_filter_goes_beyond_the_page(client_in, workspace):
    french = ContactFactory.create_batch(60, workspace=workspace, country="FR")
    ContactFactory.create_batch(5, workspace=workspace, country="DE")
    segment = manual(workspace, "A")
    listing = text(client_in.get(reverse("contacts:list"), {"country": "FR"}))
    assert "All 60 contacts that match" in listing and 'name="query" value="country=FR"' in listing
    client_in.post(
        BULK,
        {
            "action": "add_to_segments",
            "all_matching": "1",
            "query": "country=FR",
            "add_to_segments-segments": [segment.pk],
        },
    )
    members = set(
        SegmentMember.objects.filter(segment=segment).values_list("contact_id", flat=True)
    )
    assert members == {p.pk for p in french}
    segment.refresh_from_db()
    assert segment.member_count == 60
    client_in.post(
        BULK,
        {
            "action": "remove_from_segment",
            "all_matching": "1",
            "query": "country=FR&q=" + french[0].email,
            "remove_from_segment-segment": segment.pk,
        },
    )
    segment.refresh_from_db()
    assert segment.member_count == 59


def test_tagging_all_that_match_below_the_threshold_is_done_at_once(client_in, workspace):
    from jobs.models import Job

    french = ContactFactory.create_batch(3, workspace=workspace, country="FR")
    other = ContactFactory(workspace=workspace, country="DE")
    response = client_in.post(
        BULK,
        {"action": "tag", "all_matching": "1", "query": "country=FR", "tag-name": "x"},
        **HTMX,
    )
    assert response.status_code in (200, 204, 302)
    tagged = set(Contact.objects.filter(tags__name="x").values_list("pk", flat=True))
    assert tagged == {c.pk for c in french} and other.pk not in tagged
    assert not Job.objects.exists()


def test_bulk_add_refuses_filter_segments(client_in, workspace, django_capture_on_commit_callbacks):
    person = ContactFactory(workspace=workspace, country="DE")
    french = filtered(workspace, django_capture_on_commit_callbacks)
    response = client_in.post(
        BULK,
        {"action": "add_to_segments", "ids": [person.pk], "add_to_segments-segments": [french.pk]},
        **HTMX,
    )
    assert "filter segment" in text(response)
    assert not SegmentMember.objects.filter(segment=french).exists()


def test_set_based_add_runs_the_same_queries_for_any_number(workspace):
    from contacts.models import Contact

    segment = manual(workspace, "A")
    ContactFactory.create_batch(10, workspace=workspace, country="FR")

    def add_all():
        with CaptureQueriesContext(connection) as ctx:
            services.segment_contacts_add(
                segment=segment, contacts=Contact.objects.filter(workspace=workspace)
            )
        return len(ctx.captured_queries)

    small = add_all()
    ContactFactory.create_batch(200, workspace=workspace, country="FR")
    assert add_all() == small
    segment.refresh_from_db()
    assert segment.member_count == 210

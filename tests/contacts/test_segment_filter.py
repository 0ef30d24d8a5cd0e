"""The contact list filtered by segment: EXISTS on the members table's (segment,
contact) index, so a contact is listed once whatever else matches, and only the
workspace's segments can be picked."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from segments import services
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

LIST = reverse("contacts:list")


@pytest.fixture
def hand(workspace):
    segment = services.segment_create(workspace=workspace, name="Hand picked", kind="manual")
    people = [ContactFactory(workspace=workspace, first_name=f"In{i}") for i in range(3)]
    services.segment_members_add(segment=segment, lookup="id", values=[p.pk for p in people])
    ContactFactory(workspace=workspace, first_name="Outsider")
    return segment, people


def test_the_list_filters_by_segment_once_per_contact(client_in, workspace, hand):
    segment, people = hand
    other = services.segment_create(workspace=workspace, name="Other", kind="manual")
    services.segment_members_add(segment=other, lookup="id", values=[people[0].pk])
    with CaptureQueriesContext(connection) as queries:
        response = client_in.get(LIST, {"segment": segment.pk})
    page = response.content.decode()
    assert response.status_code == 200
    assert all(f"In{i}" in page for i in range(3)) and "Outsider" not in page
    assert page.count(f'href="/contacts/{people[0].pk}/"') == 1
    listing = [q["sql"] for q in queries.captured_queries if "segmentmember" in q["sql"].lower()]
    assert listing and all("EXISTS" in sql.upper() for sql in listing)
    before_exists = [sql.lower().split("exists")[0] for sql in listing]
    assert not any("join" in sql and "segmentmember" in sql for sql in before_exists)


def test_the_filter_is_a_searchable_picker_of_the_workspaces_segments(
    client_in, workspace, other_workspace, hand
):
    segment, _ = hand
    theirs = services.segment_create(workspace=other_workspace, name="Theirs", kind="manual")
    page = client_in.get(LIST).content.decode()
    assert "data-picker-search hidden" in page and f'value="{segment.pk}"' in page
    assert "Theirs" not in page
    refused = client_in.get(LIST, {"segment": theirs.pk})
    assert "Outsider" not in refused.content.decode()  # an invalid filter lists nobody
    for bad in ("abc", "²", "99999999999999999999999"):
        assert client_in.get(LIST, {"segment": bad}).status_code in (200, 400)


def test_the_pickers_escape_names_and_mark_the_chosen_one(client_in, workspace, hand):
    segment, _ = hand
    odd = services.segment_create(workspace=workspace, name='<b>"Odd" & co</b>', kind="manual")
    page = client_in.get(LIST, {"segment": odd.pk}).content.decode()
    assert f'<option value="{odd.pk}" selected>&lt;b&gt;&quot;Odd&quot; &amp; co&lt;/b&gt;' in page
    assert f'<option value="{segment.pk}">Hand picked</option>' in page
    assert "<b>" not in page


def test_the_bulk_bar_and_contact_page_pickers_escape_names(client_in, workspace, hand):
    segment, people = hand
    odd = services.segment_create(workspace=workspace, name='<i>"Odd" & co</i>', kind="manual")
    escaped = "&lt;i&gt;&quot;Odd&quot; &amp; co&lt;/i&gt;"
    page = client_in.get(LIST).content.decode()
    add = f'name="add_to_segments-segments" value="{odd.pk}"> {escaped}</label>'
    assert add in page
    assert f'<option value="{odd.pk}">{escaped}</option>' in page  # remove from segment
    # The contact page offers the manual segments the contact is not in yet.
    detail = client_in.get(reverse("contacts:detail", args=[people[0].pk]))
    detail = detail.content.decode()
    assert f'name="segments" value="{odd.pk}"> {escaped}</label>' in detail
    assert f'name="segments" value="{segment.pk}"' not in detail
    assert "<i>" not in page + detail


def test_the_remove_picker_keeps_the_chosen_segment_after_an_error(client_in, workspace, hand):
    segment, _ = hand
    other = services.segment_create(workspace=workspace, name="Other", kind="manual")
    bar = client_in.post(
        reverse("contacts:bulk"),
        {"action": "remove_from_segment", "remove_from_segment-segment": other.pk},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "Select at least one contact first." in bar
    assert f'<option value="{other.pk}" selected>Other</option>' in bar
    assert f'<option value="{segment.pk}">Hand picked</option>' in bar

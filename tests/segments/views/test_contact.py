"""The contact page's side (segments/views/contact.py): its Segments section in a fixed
number of queries, why it is in a filter segment, adding and removing it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

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


def test_contact_page_lists_segments_with_why_and_actions(
    client_in, workspace, django_capture_on_commit_callbacks
):
    contact = ContactFactory(workspace=workspace, country="FR")
    vip = manual(workspace, "VIP", [contact])
    manual(workspace, "Beta")
    french = filtered(workspace, django_capture_on_commit_callbacks)
    page = text(client_in.get(reverse("contacts:detail", args=[contact.pk])))
    section = page[page.index('id="segments"') :]
    assert f'href="/segments/{vip.pk}/" class="segment-link">VIP</a>' in section
    assert f'href="/segments/{french.pk}/" class="segment-link">French</a>' in section
    why = reverse("segments:contact_why", args=[contact.pk])
    assert f"{why}?segment={french.pk}" in section and f"{why}?segment={vip.pk}" not in section
    assert f'name="segment" value="{vip.pk}"' in section  # remove from the manual one
    picker = section[section.index("segment-picker") :].split("</fieldset>")[0]
    assert "Beta" in picker and "VIP" not in picker and "French" not in picker
    assert "Entries and exits" in section and "rule change" in section


def test_why_explains_each_condition_with_the_contacts_value(
    client_in, workspace, django_capture_on_commit_callbacks
):
    contact = ContactFactory(workspace=workspace, country="FR", language="de")
    rule = {
        "all": [
            {"field": "country", "op": "eq", "value": "FR"},
            {
                "any": [
                    {"field": "language", "op": "eq", "value": "fr"},
                    {"tag": "vip", "op": "has_not"},
                ]
            },
        ]
    }
    segment = filtered(workspace, django_capture_on_commit_callbacks, "French", rule)
    url = reverse("segments:contact_why", args=[contact.pk])
    fragment = text(client_in.get(url, {"segment": segment.pk}, **HTMX))
    assert "<html" not in fragment and "In this segment" in fragment
    assert fragment.count("✓") == 4 and fragment.count("✗") == 1
    assert "Language is fr" in fragment and "the contact&#x27;s value: &#x27;de&#x27;" in fragment
    page = text(client_in.get(url, {"segment": segment.pk}))
    assert "<html" in page and "Back to" in page


def test_add_contact_to_several_segments_and_remove(client_in, workspace):
    contact = ContactFactory(workspace=workspace)
    a, b = manual(workspace, "A"), manual(workspace, "B")
    add = reverse("segments:contact_add", args=[contact.pk])
    response = client_in.post(add, {"segments": [a.pk, b.pk]}, **HTMX)
    assert "Added to “A”, “B”." in text(response) and "<html" not in text(response)
    assert set(
        SegmentMember.objects.filter(contact=contact).values_list("segment__name", flat=True)
    ) == {"A", "B"}
    remove = reverse("segments:contact_remove", args=[contact.pk])
    plain = client_in.post(remove, {"segment": a.pk})
    assert plain["Location"] == reverse("contacts:detail", args=[contact.pk]) + "#segments"
    assert list(
        SegmentMember.objects.filter(contact=contact).values_list("segment__name", flat=True)
    ) == ["B"]
    assert "Pick at least one segment." in text(client_in.post(add, {}, **HTMX))


def test_contact_cannot_be_added_to_a_filter_segment(
    client_in, workspace, django_capture_on_commit_callbacks
):
    contact = ContactFactory(workspace=workspace, country="DE")
    french = filtered(workspace, django_capture_on_commit_callbacks)
    add = reverse("segments:contact_add", args=[contact.pk])
    assert "filter segment" in text(client_in.post(add, {"segments": [french.pk]}, **HTMX))
    assert not SegmentMember.objects.filter(segment=french).exists()


def test_contact_page_queries_do_not_grow_with_segments(client_in, workspace):
    contact = ContactFactory(workspace=workspace)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client_in.get(reverse("contacts:detail", args=[contact.pk])).status_code == 200
        return len(ctx.captured_queries)

    manual(workspace, "S0", [contact])
    small = queries()
    for i in range(1, 30):
        manual(workspace, f"S{i}", [contact])
    assert queries() == small

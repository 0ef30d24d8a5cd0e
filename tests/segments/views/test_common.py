"""What the segment pages share (segments/views/common.py): each tab a page and an HTMX
fragment, and a segment or contact of another workspace a 404."""

import re

import pytest
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


def test_tabs_are_pages_and_htmx_fragments(
    client_in, workspace, django_capture_on_commit_callbacks
):
    segment = manual(workspace, "VIP")
    french = filtered(workspace, django_capture_on_commit_callbacks)
    for name in ("detail", "usage", "history", "settings"):
        url = reverse(f"segments:{name}", args=[segment.pk])
        page = text(client_in.get(url))
        assert "<html" in page and 'id="segment-tabs"' in page and "<h1>VIP</h1>" in page
        fragment = client_in.get(url, **HTMX)
        body = text(fragment)
        assert "<html" not in body and "<h1>" not in body
        assert (
            'id="segment-tabs" class="tabs segment-tabs"' in body and 'hx-swap-oob="true"' in body
        )
        assert re.search(rf'href="{url}"[^>]*class="active"', body)
        assert "HX-Request" in fragment["Vary"]
    # Conditions: for filter segments only, the builder's page.
    assert "Conditions</a>" not in text(
        client_in.get(reverse("segments:detail", args=[segment.pk]))
    )
    page = text(client_in.get(reverse("segments:detail", args=[french.pk])))
    conditions = reverse("segments:conditions", args=[french.pk])
    assert f'href="{conditions}"' in page


def test_pages_of_another_workspace_are_404(client, workspace, other_workspace, user):
    theirs = manual(other_workspace, "Theirs")
    contact = ContactFactory(workspace=other_workspace)
    client.force_login(user)
    for name in ("detail", "usage", "history", "settings", "clone", "delete"):
        assert client.get(reverse(f"segments:{name}", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("segments:contact_segments", args=[contact.pk])).status_code == 404
    mine = ContactFactory(workspace=workspace)
    why = reverse("segments:contact_why", args=[mine.pk])
    assert client.get(why, {"segment": theirs.pk}).status_code == 404
    assert client.get(why, {"segment": "x"}).status_code == 404
    add = reverse("segments:contact_add", args=[mine.pk])
    response = client.post(add, {"segments": [theirs.pk]}, **HTMX)
    assert "no longer exist" in text(response)
    assert not SegmentMember.objects.filter(segment=theirs).exists()

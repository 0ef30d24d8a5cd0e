"""Making manual and bulk segments from the dashboard (segments/views/create.py)."""

import re

import pytest
from django.urls import reverse

from segments.models import Segment
from tests.factories import (
    ContactFactory,
    CustomAttributeFactory,
)
from tests.segments.views.pages import (
    HTMX,
    manual,
    text,
)

pytestmark = pytest.mark.django_db


def test_create_manual_segment(client_in, workspace):
    url = reverse("segments:create_manual")
    response = client_in.post(url, {"name": "  Beta testers ", "description": "Signed up"})
    segment = Segment.objects.get(workspace=workspace, name="Beta testers")
    assert response["Location"] == reverse("segments:detail", args=[segment.pk])
    assert segment.kind == "manual" and segment.description == "Signed up"
    duplicate = client_in.post(url, {"name": "beta TESTERS"})
    assert duplicate.status_code == 400
    assert re.search(r'id_name_errors"><p class="field-error">A segment named', text(duplicate))
    blank = client_in.post(url, {"name": ""})
    assert blank.status_code == 400 and "id_name_errors" in text(blank)


def test_bulk_segment_counts_then_creates(client_in, workspace):
    for country in ("FR", "fr", "DE", "ES", ""):
        ContactFactory(workspace=workspace, country=country)
    url = reverse("segments:bulk_create")
    preview = client_in.get(url, {"field": "country"})
    assert "3 segments" in text(preview) and "Country: FR" in text(preview)
    fragment = client_in.get(url, {"field": "country", "name_prefix": "Land "}, **HTMX)
    assert 'id="bulk-preview"' in text(fragment) and "<html" not in text(fragment)
    assert "Land DE" in text(fragment)
    response = client_in.post(url, {"field": "country"})
    assert response.status_code == 302
    made = Segment.objects.filter(workspace=workspace, origin="bulk").order_by("name")
    assert [s.name for s in made] == ["Country: DE", "Country: ES", "Country: FR"]
    assert all(s.kind == "filter" for s in made)


def test_bulk_segment_refuses_beyond_the_limit(client_in, workspace, settings):
    settings.SEGMENT_LIMIT = 4
    manual(workspace, "Existing")
    for country in ("FR", "DE", "ES", "IT"):
        ContactFactory(workspace=workspace, country=country)
    url = reverse("segments:bulk_create")
    preview = text(client_in.get(url, {"field": "country"}))
    assert "This would make 4 segments" in preview and "room for 3 more" in preview
    response = client_in.post(url, {"field": "country"})
    assert response.status_code == 400 and "room for 3 more" in text(response)
    assert Segment.objects.filter(workspace=workspace).count() == 1


def test_bulk_segment_on_a_text_attribute_and_bad_fields(client_in, workspace):
    CustomAttributeFactory(workspace=workspace, key="plan", label="Plan")
    CustomAttributeFactory(workspace=workspace, key="seats", type="number")
    ContactFactory(workspace=workspace, attributes={"plan": "pro"})
    url = reverse("segments:bulk_create")
    page = text(client_in.get(url))
    assert 'value="attributes.plan"' in page and "attributes.seats" not in page
    assert "1 segment" in text(client_in.get(url, {"field": "attributes.plan"}))
    wrong = client_in.post(url, {"field": "attributes.seats"})
    assert wrong.status_code == 400 and "id_field_errors" in text(wrong)

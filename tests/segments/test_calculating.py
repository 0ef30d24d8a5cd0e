"""While a whole refresh of a filter segment is pending (a PendingRefresh row: new,
cloned, bulk-made, rule changed), its pages say "Calculating…" instead of a count
that is not one yet, and poll the count fragment, which answers 286 (htmx: stop
polling) once the count is known."""

import pytest
from django.urls import reverse
from django.utils import timezone

from segments import pending, services
from segments.models import PendingRefresh, Segment
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

HEADER = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "segment-member-count"}


def cell(segment):
    return {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": f"segment-count-{segment.pk}"}


GERMANS = {"all": [{"field": "country", "op": "eq", "value": "DE"}]}


@pytest.fixture
def germans(workspace):
    for country in ("DE", "DE", "FR"):
        ContactFactory(workspace=workspace, country=country)
    segment = Segment.objects.create(
        workspace=workspace, name="Germans", kind="filter", conditions=GERMANS
    )
    PendingRefresh.objects.create(
        workspace=workspace, segment=segment, source="rule", requested_at=timezone.now()
    )
    return segment


def page(client, url, **extra) -> str:
    return client.get(url, **extra).content.decode()


def test_the_dashboard_and_the_header_say_calculating_then_the_count(client_in, germans):
    dashboard = page(client_in, reverse("segments:list"))
    assert "Calculating…" in dashboard
    assert f'id="segment-count-{germans.pk}" hx-get="/segments/{germans.pk}/"' in dashboard
    header = page(client_in, reverse("segments:detail", args=[germans.pk]))
    assert "Calculating…" in header and "0 members" not in header
    count_url = reverse("segments:detail", args=[germans.pk])
    polled = client_in.get(count_url, **HEADER)
    assert polled.status_code == 200 and 'hx-trigger="every 2s"' in polled.content.decode()

    pending.work_through(germans.workspace_id)

    done = client_in.get(count_url, **HEADER)
    assert done.status_code == 286  # htmx stops polling and swaps in the count
    assert "<strong>2</strong> members" in done.content.decode()
    assert "hx-get" not in done.content.decode()
    polled_cell = client_in.get(count_url, **cell(germans))
    assert polled_cell.status_code == 286 and polled_cell.content.decode().strip() == "2"
    assert "Calculating…" not in page(client_in, reverse("segments:list"))


def test_a_manual_segment_is_never_calculating(client_in, workspace):
    hand = services.segment_create(workspace=workspace, name="Hand", kind="manual")
    response = client_in.get(reverse("segments:detail", args=[hand.pk]), **HEADER)
    assert response.status_code == 286 and "<strong>0</strong> members" in response.content.decode()


def test_a_clone_being_calculated_previews_what_it_will_hold(client_in, germans):
    conditions = page(client_in, reverse("segments:conditions", args=[germans.pk]))
    assert "Calculating…" in conditions and "0 members today" not in conditions
    preview = client_in.post(
        reverse("segments:preview"),
        {
            "conditions": '{"all": [{"field": "country", "op": "eq", "value": "DE"}]}',
            "segment": germans.pk,
        },
    ).content.decode()
    assert "is being calculated: with this rule it will hold these 2." in preview
    assert "would enter" not in preview
    pending.work_through(germans.workspace_id)
    germans.refresh_from_db()
    assert germans.member_count == 2  # what the preview said

"""Bulk segments: the prefix is kept as typed, and a second run skips what exists
(same name, or a rule that is exactly `field eq value`) instead of making
"Country: BR (2)"; the page's preview says which will be skipped, the API lists them."""

import pytest
from django.urls import reverse

from segments import services
from segments.models import Segment
from tests.api_helpers import ApiClient
from tests.factories import ContactFactory

pytest_plugins = ["tests.api_fixtures"]  # fixtures: api_key, api, other_api
pytestmark = pytest.mark.django_db

URL = reverse("segments:bulk_create")


@pytest.fixture
def countries(workspace):
    for country in ("BR", "br", "DE", "FR", ""):
        ContactFactory(workspace=workspace, country=country)


def names(workspace) -> list[str]:
    return sorted(Segment.objects.filter(workspace=workspace).values_list("name", flat=True))


def test_the_prefix_is_kept_as_typed(workspace, countries):
    result = services.segments_bulk_create(
        workspace=workspace, field_name="country", name_prefix="Country: "
    )
    assert sorted(s.name for s in result.created) == ["Country: BR", "Country: DE", "Country: FR"]
    assert result.skipped == []


@pytest.mark.parametrize("prefix", [None, "", "   "])
def test_a_blank_prefix_gives_the_default(workspace, countries, prefix):
    result = services.segments_bulk_create(
        workspace=workspace, field_name="country", name_prefix=prefix
    )
    assert sorted(s.name for s in result.created)[0] == "country: BR"


def test_a_second_run_skips_what_exists(workspace, countries):
    services.segments_bulk_create(workspace=workspace, field_name="country", name_prefix="C ")
    again = services.segments_bulk_create(
        workspace=workspace, field_name="country", name_prefix="C "
    )
    assert again.created == []
    assert [(i.value, i.reason) for i in again.skipped] == [
        ("BR", "name"),
        ("DE", "name"),
        ("FR", "name"),
    ]
    assert names(workspace) == ["C BR", "C DE", "C FR"]


def test_a_segment_with_the_same_rule_under_another_name_is_skipped(workspace, countries):
    brazil = services.segment_create(
        workspace=workspace,
        name="Brazilians",
        kind="filter",
        conditions={"any": [{"field": "country", "op": "eq", "value": "br"}]},
    )
    # Not exactly `field eq value`: these do not count.
    services.segment_create(
        workspace=workspace,
        name="Germans and more",
        kind="filter",
        conditions={
            "all": [
                {"field": "country", "op": "eq", "value": "DE"},
                {"field": "score", "op": "gt", "value": 1},
            ]
        },
    )
    services.segment_create(workspace=workspace, name="Country: FR", kind="manual")
    plan = services.segments_bulk_plan(
        workspace=workspace, field_name="country", name_prefix="Country: "
    )
    assert [(i.name, i.existing and i.existing.name, i.reason) for i in plan.items] == [
        ("Country: BR", "Brazilians", "rule"),
        ("Country: DE", None, None),
        ("Country: FR", "Country: FR", "name"),
    ]
    result = services.segments_bulk_create(
        workspace=workspace, field_name="country", name_prefix="Country: "
    )
    assert [s.name for s in result.created] == ["Country: DE"]
    assert {i.existing.pk for i in result.skipped} >= {brazil.pk}


def test_the_limit_counts_only_the_segments_to_make(workspace, countries, settings):
    services.segments_bulk_create(workspace=workspace, field_name="country", name_prefix="C ")
    settings.SEGMENT_LIMIT = 4
    ContactFactory(workspace=workspace, country="ES")
    result = services.segments_bulk_create(
        workspace=workspace, field_name="country", name_prefix="C "
    )
    assert [s.name for s in result.created] == ["C ES"]


def test_the_page_keeps_the_space_previews_the_skips_and_says_so(client_in, workspace, countries):
    services.segment_create(
        workspace=workspace,
        name="Country: BR",
        kind="filter",
        conditions={"all": [{"field": "country", "op": "eq", "value": "BR"}]},
    )
    preview = client_in.get(URL, {"field": "country", "name_prefix": "Country: "})
    page = preview.content.decode()
    assert "2 segments</strong> will be made" in page
    assert "<strong>1</strong> already exists and will be skipped" in page
    assert 'Country: BR <span class="muted">— already exists, skipped' in page
    response = client_in.post(URL, {"field": "country", "name_prefix": "Country: "}, follow=True)
    assert "Made 2 segments; skipped 1 that already exists." in response.content.decode()
    assert names(workspace) == ["Country: BR", "Country: DE", "Country: FR"]
    again = client_in.post(URL, {"field": "country", "name_prefix": "Country: "}, follow=True)
    assert "Made 0 segments; skipped 3 that already exist." in again.content.decode()
    assert names(workspace) == ["Country: BR", "Country: DE", "Country: FR"]


def test_the_page_default_prefix_is_the_field_label(client_in, workspace, countries):
    client_in.post(URL, {"field": "country", "name_prefix": "  "})
    assert names(workspace) == ["Country: BR", "Country: DE", "Country: FR"]


@pytest.mark.django_db(transaction=True)
def test_the_api_lists_what_it_skipped(api: ApiClient, workspace, countries):
    first = api.post("/segments/bulk", {"field": "country", "name_prefix": "Country: "})
    assert first.status_code == 201
    assert sorted(s["name"] for s in first.json()["segments"]) == [
        "Country: BR",
        "Country: DE",
        "Country: FR",
    ]
    assert first.json()["skipped"] == []
    second = api.post("/segments/bulk", {"field": "country", "name_prefix": "Country: "})
    assert second.status_code == 201
    body = second.json()
    assert body["segments"] == []
    assert [(s["value"], s["name"], s["reason"]) for s in body["skipped"]] == [
        ("BR", "Country: BR", "name"),
        ("DE", "Country: DE", "name"),
        ("FR", "Country: FR", "name"),
    ]
    made = {s["name"]: s["id"] for s in first.json()["segments"]}
    assert [s["existing_id"] for s in body["skipped"]] == [
        made["Country: BR"],
        made["Country: DE"],
        made["Country: FR"],
    ]

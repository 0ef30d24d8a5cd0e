"""contacts/filters.py: one FilterSet for the contact list, the API's list and "all that
match"; other apps add their filters to it (segments: `segment`)."""

import re

import pytest
from django.http import Http404, QueryDict

from contacts import filters
from contacts.api_selectors import contacts_for_api
from contacts.models import Contact, ContactTag, Tag
from segments import services as segment_services
from tests.factories import ContactFactory, TagFactory

pytestmark = pytest.mark.django_db


def filterset(workspace, **params):
    data = QueryDict(mutable=True)
    data.update(params)
    queryset = Contact.objects.filter(workspace=workspace)
    return filters.ContactFilter(data, queryset=queryset, workspace=workspace)


def test_segments_adds_its_filter_and_contacts_knows_only_the_registry(workspace):
    assert "segment" in filters._registered  # registered from SegmentsConfig.ready
    hand = segment_services.segment_create(workspace=workspace, name="Hand", kind="manual")
    ann, _ = ContactFactory(workspace=workspace), ContactFactory(workspace=workspace)
    segment_services.segment_members_add(segment=hand, lookup="id", values=[ann.pk])
    found = filterset(workspace, segment=str(hand.pk))
    assert found.is_valid() and list(found.qs) == [ann]
    assert found.panel_extras[0]["template"] == "segments/_contact_list_filter.html"


def test_the_search_and_the_apis_filters_are_filters_off_the_panel(workspace):
    vip = TagFactory(workspace=workspace, name="VIP")
    # Every searched field given: a random last name or company ("Mann", "Hanna Ltd")
    # would match "ann" too.
    plain = {"last_name": "Smith", "company": "Acme"}
    ann = ContactFactory(workspace=workspace, email="Ann@Example.com", first_name="Ann", **plain)
    ann.tags.add(vip)
    ContactFactory(workspace=workspace, email="bob@example.com", first_name="Bob", **plain)
    for params in ({"q": "ann"}, {"email": " ann@example.COM "}, {"tag_name": "vip"}):
        found = filterset(workspace, **params)
        assert list(found.qs) == [ann], params
        assert found.active_count == 0  # the "Filters (n)" badge counts the panel's only
    panel = filterset(workspace).panel_names()
    assert "segment" in panel and "country" in panel
    assert not {"q", "email", "external_id", "tag_name"} & set(panel)


def test_the_api_list_answers_with_the_same_filterset(workspace, other_workspace):
    ann = ContactFactory(workspace=workspace, country="FR")
    ContactFactory(workspace=workspace, country="DE")
    assert list(contacts_for_api(workspace, {"country": "fr"})) == [ann]
    theirs = segment_services.segment_create(workspace=other_workspace, name="X", kind="manual")
    with pytest.raises(Http404):  # another workspace's object does not exist here
        list(contacts_for_api(workspace, {"segment": theirs.pk}))


def test_the_attribute_list_is_read_only_when_it_is_needed(workspace, django_assert_num_queries):
    ContactFactory(workspace=workspace)
    with django_assert_num_queries(1):  # the contacts; not the workspace's attributes
        list(contacts_for_api(workspace, {"q": "a"}).prefetch_related(None))


@pytest.mark.parametrize("field", ["country", "city", "language"])
def test_country_city_and_language_match_whatever_the_case(workspace, field):
    fr = ContactFactory(workspace=workspace, **{field: "Fr"})
    ContactFactory(workspace=workspace, **{field: "de"})
    ContactFactory(workspace=workspace, **{field: ""})
    for typed in ("fr", "FR", " fR "):
        found = filterset(workspace, **{field: typed})
        assert found.is_valid() and list(found.qs) == [fr], typed


@pytest.mark.parametrize("field", ["country", "city", "language"])
def test_country_city_and_language_are_read_from_their_index_on_postgresql(workspace, field):
    """The filter compares on LOWER(), the form migration 0006's indexes hold: the
    plan reads the index instead of every contact of the workspace."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("expression indexes are planned on PostgreSQL")
    found = filterset(workspace, **{field: "DE"})
    assert found.is_valid()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a few test rows: as at 1M rows
        plan = found.qs.explain()
    assert f"contact_ws_{field}_ci" in plan, plan


def _tag_options(page: str) -> list[str]:
    select = re.search(r'<select[^>]* name="tag"[^>]*>(.*?)</select>', page, re.S)
    assert select, "the tag picker"
    return re.findall(r'<option value="([^"]*)"( selected)?>', select.group(1))


def test_the_tag_picker_lists_the_first_tags_and_finds_any_other_by_name(client_in, workspace):
    tags = Tag.objects.bulk_create(
        Tag(workspace=workspace, name=f"tag {n:03d}") for n in range(filters.TAG_PICKER_LIMIT + 3)
    )
    last = tags[-1]
    tagged, _ = ContactFactory(workspace=workspace), ContactFactory(workspace=workspace)
    ContactTag.objects.create(contact=tagged, tag=last)
    page = client_in.get("/contacts/").content.decode()
    options = _tag_options(page)
    assert len(options) == filters.TAG_PICKER_LIMIT + 1  # "Any tag" and the first tags
    assert options[0] == ("", " selected") and str(last.pk) not in dict(options)
    assert "Or a tag by its name" in page and 'name="tag_name"' in page
    # Chosen past the limit: still shown, selected; and by its name, in any case.
    chosen = client_in.get("/contacts/", {"tag": last.pk}).content.decode()
    assert (str(last.pk), " selected") in _tag_options(chosen)
    assert f'data-contact-id="{tagged.pk}"' in chosen or f"/contacts/{tagged.pk}/" in chosen
    by_name = filterset(workspace, tag_name="TAG 202")
    assert by_name.is_valid() and list(by_name.qs) == [tagged]


def test_a_few_tags_are_all_listed_without_the_name_box(client_in, workspace):
    vip = TagFactory(workspace=workspace, name="vip")
    ContactFactory(workspace=workspace)  # a list without contacts draws no filters
    page = client_in.get("/contacts/").content.decode()
    assert [value for value, _ in _tag_options(page)] == ["", str(vip.pk)]
    assert "Or a tag by its name" not in page


def test_the_segment_and_tag_pickers_cost_the_same_queries_for_many(client_in, workspace):
    """500 segments and 300 tags draw in as many queries as 2 and 2."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from segments.models import Segment

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client_in.get("/contacts/").status_code == 200
        return len(ctx.captured_queries)

    Segment.objects.bulk_create(
        Segment(workspace=workspace, name=f"s{n}", kind="manual") for n in range(2)
    )
    TagFactory(workspace=workspace, name="a"), TagFactory(workspace=workspace, name="b")
    ContactFactory(workspace=workspace)
    few = queries()
    Segment.objects.bulk_create(
        Segment(workspace=workspace, name=f"more {n}", kind="manual") for n in range(500)
    )
    Tag.objects.bulk_create(Tag(workspace=workspace, name=f"more {n}") for n in range(300))
    assert queries() == few
    page = client_in.get("/contacts/").content.decode()
    segment_select = re.search(r'<select[^>]* name="segment"[^>]*>(.*?)</select>', page, re.S)
    assert segment_select.group(1).count("<option") == 1 + 502

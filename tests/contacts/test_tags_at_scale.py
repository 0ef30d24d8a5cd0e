"""Tags at a million contacts (issue 23): the tags page counts the links of the tags
it shows, not of every tag, each up to a cap; renaming or deleting a tag on more contacts than
MEMBERSHIP_FULL_REFRESH_AFTER reads one id past it, and the segments still follow
(the engine refreshes them whole)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts import selectors
from contacts.models import ContactTag, Tag
from contacts.services import tags as tag_services
from segments import services as segment_services
from tests.factories import ContactFactory, TagFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def test_the_tag_list_counts_each_tags_contacts_on_a_page(workspace):
    vip, lead = (
        TagFactory(workspace=workspace, name="vip"),
        TagFactory(workspace=workspace, name="lead"),
    )
    TagFactory(workspace=workspace, name="unused")
    people = ContactFactory.create_batch(3, workspace=workspace)
    ContactTag.objects.bulk_create([ContactTag(contact=c, tag=vip) for c in people])
    ContactTag.objects.create(contact=people[0], tag=lead)
    other = WorkspaceFactory()
    theirs = TagFactory(workspace=other, name="vip")
    ContactTag.objects.create(contact=ContactFactory(workspace=other), tag=theirs)
    counts = {t.name: t.contact_count for t in selectors.tag_list(workspace)}
    assert counts == {"lead": 1, "unused": 0, "vip": 3}
    with CaptureQueriesContext(connection) as ctx:
        page = list(selectors.tag_list(workspace)[:2])
    assert [t.name for t in page] == ["lead", "unused"]
    outer = ctx.captured_queries[0]["sql"].rsplit(")", 1)[1]  # past the subquery and WHERE
    assert "GROUP BY" not in outer and "LIMIT 2" in outer


def test_the_tag_list_stops_counting_a_tag_one_past_the_cap(workspace, monkeypatch):
    monkeypatch.setattr(selectors, "TAG_COUNT_CAP", 2)
    vip, lead = TagFactory(workspace=workspace, name="vip"), TagFactory(workspace=workspace)
    people = ContactFactory.create_batch(5, workspace=workspace)
    ContactTag.objects.bulk_create([ContactTag(contact=c, tag=vip) for c in people])
    ContactTag.objects.create(contact=people[0], tag=lead)
    with CaptureQueriesContext(connection) as ctx:
        tags = list(selectors.tag_list(workspace))
    assert len(ctx.captured_queries) == 1 and "LIMIT 3" in ctx.captured_queries[0]["sql"]
    assert {t.name: t.contact_count for t in tags} == {"vip": 3, lead.name: 1}
    selectors.cap_tag_counts(tags)
    assert {t.name: (t.contact_count, t.count_more) for t in tags} == {
        "vip": (2, True),
        lead.name: (1, False),
    }


@pytest.fixture
def tagged(workspace, settings, django_capture_on_commit_callbacks):
    """5 contacts tagged vip, a segment of the vip tag and one of the gold tag, with
    MEMBERSHIP_FULL_REFRESH_AFTER at 3."""
    settings.MEMBERSHIP_FULL_REFRESH_AFTER = 3
    vip = TagFactory(workspace=workspace, name="vip")
    people = ContactFactory.create_batch(5, workspace=workspace)
    ContactTag.objects.bulk_create([ContactTag(contact=c, tag=vip) for c in people])
    with django_capture_on_commit_callbacks(execute=True):
        by_vip = segment_services.segment_create(
            workspace=workspace,
            name="VIPs",
            kind="filter",
            conditions={"all": [{"tag": "vip", "op": "has"}]},
        )
        by_gold = segment_services.segment_create(
            workspace=workspace,
            name="Gold",
            kind="filter",
            conditions={"all": [{"tag": "gold", "op": "has"}]},
        )
    assert by_vip.members.count() == 5 and by_gold.members.count() == 0
    return vip, people, by_vip, by_gold


def _tag_id_reads(ctx) -> list[str]:
    return [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].startswith('SELECT "contacts_contacttag"."contact_id"')
    ]


def test_renaming_a_tag_on_many_contacts_reads_one_id_past_the_threshold(
    tagged, django_capture_on_commit_callbacks
):
    vip, people, by_vip, by_gold = tagged
    with CaptureQueriesContext(connection) as ctx, django_capture_on_commit_callbacks(execute=True):
        tag_services.tag_rename(tag=vip, name="gold")
    reads = _tag_id_reads(ctx)
    assert len(reads) == 1 and "LIMIT 4" in reads[0]
    assert by_vip.members.count() == 0
    assert set(by_gold.members.values_list("contact_id", flat=True)) == {c.pk for c in people}


def test_deleting_a_tag_on_many_contacts_still_records_how_many(
    tagged, django_capture_on_commit_callbacks, monkeypatch
):
    recorded = []
    monkeypatch.setattr(
        tag_services.audit, "record_on", lambda *args, **details: recorded.append(details)
    )
    vip, people, by_vip, by_gold = tagged
    with django_capture_on_commit_callbacks(execute=True):
        tag_services.tag_delete(tag=vip)
    assert not Tag.objects.filter(pk=vip.pk).exists()
    assert by_vip.members.count() == 0
    assert recorded == [{"contacts": 5}]  # counted, past the 4 ids read

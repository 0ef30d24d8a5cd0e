"""Adding people to a manual segment by ids, emails or external ids: the INSERT looks
the values up itself, and what the call answers (added, already members, not found),
the history, the count and the rules that name the segment stay as they were."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from segments import services
from segments.models import Segment, SegmentChange, SegmentMember, Source
from tests.factories import ContactFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ws():
    return WorkspaceFactory()


@pytest.fixture
def manual(ws):
    return services.segment_create(workspace=ws, name="Picked", kind="manual")


def emails(segment) -> set[str]:
    rows = SegmentMember.objects.filter(segment=segment)
    return set(rows.values_list("contact__email", flat=True))


def history(segment) -> list[tuple]:
    rows = SegmentChange.objects.filter(segment=segment).order_by("id")
    return list(rows.values_list("contact__email", "action", "source", "triggers"))


def test_emails_that_all_name_new_people_are_added_in_one_statement(ws, manual):
    for name in ("ann", "bob", "cid"):
        ContactFactory(workspace=ws, email=f"{name}@x.io")
    ContactFactory(workspace=WorkspaceFactory(), email="dan@x.io")  # another workspace's
    with CaptureQueriesContext(connection) as ctx:
        result = services.segment_members_add(
            segment=manual, lookup="email", values=[" ANN@x.io", "bob@X.io", "cid@x.io"]
        )
    assert (result.changed, result.unchanged, result.not_found) == (3, 0, [])
    assert emails(manual) == {"ann@x.io", "bob@x.io", "cid@x.io"}
    assert history(manual) == [
        (email, "entered", Source.MANUAL, True) for email in ("ann@x.io", "bob@x.io", "cid@x.io")
    ]
    manual.refresh_from_db()
    assert manual.member_count == 3 and manual.refreshed_at is not None
    # The contacts are read once, by the statement that adds them: no lookup before.
    reads = [q["sql"] for q in ctx.captured_queries if '"contacts_contact"' in q["sql"]]
    assert len(reads) == 1 and "INSERT" in reads[0].upper()


def test_a_mixed_call_tells_added_already_members_and_not_found_apart(ws, manual):
    ann = ContactFactory(workspace=ws, email="ann@x.io")
    ContactFactory(workspace=ws, email="bob@x.io")
    ContactFactory(workspace=ws, email="cid@x.io")
    services.segment_members_add(segment=manual, lookup="id", values=[ann.pk])
    values = ["ann@x.io", "BOB@x.io", "bob@x.io ", "nobody@x.io", "  ", "cid@x.io"]
    result = services.segment_members_add(segment=manual, lookup="email", values=values)
    assert (result.changed, result.unchanged) == (2, 1)
    assert result.not_found == ["nobody@x.io", "  "]  # as given, in their order
    assert emails(manual) == {"ann@x.io", "bob@x.io", "cid@x.io"}
    assert [row[0] for row in history(manual)] == ["ann@x.io", "bob@x.io", "cid@x.io"]
    manual.refresh_from_db()
    assert manual.member_count == 3


def test_ids_out_of_range_or_of_another_workspace_are_not_found(ws, manual):
    ann = ContactFactory(workspace=ws, email="ann@x.io")
    theirs = ContactFactory(workspace=WorkspaceFactory(), email="ann@x.io")
    values = [ann.pk, ann.pk, theirs.pk, 0, 2**70]
    result = services.segment_members_add(segment=manual, lookup="id", values=values)
    assert (result.changed, result.unchanged) == (1, 0)
    assert result.not_found == [theirs.pk, 0, 2**70]
    assert emails(manual) == {"ann@x.io"}


def test_a_call_that_names_nobody_writes_nothing(ws, manual):
    ContactFactory(workspace=ws, email="ann@x.io")
    before = Segment.objects.values_list("member_count", "refreshed_at").get(pk=manual.pk)
    result = services.segment_members_add(
        segment=manual, lookup="email", values=["nobody@x.io", ""]
    )
    assert (result.changed, result.unchanged, result.not_found) == (0, 0, ["nobody@x.io", ""])
    after = Segment.objects.values_list("member_count", "refreshed_at").get(pk=manual.pk)
    assert after == before
    assert history(manual) == []


def test_people_all_found_still_reach_rules_that_name_the_segment(
    ws, manual, django_capture_on_commit_callbacks
):
    ContactFactory(workspace=ws, email="ann@x.io")
    ContactFactory(workspace=ws, email="bob@x.io")
    with django_capture_on_commit_callbacks(execute=True):
        follower = services.segment_create(
            workspace=ws,
            name="Picked too",
            kind="filter",
            conditions={"all": [{"segment": manual.pk, "op": "in"}]},
        )
    with django_capture_on_commit_callbacks(execute=True):
        result = services.segment_members_add(
            segment=manual, lookup="email", values=["ann@x.io", "bob@x.io"]
        )
    assert (result.changed, result.unchanged, result.not_found) == (2, 0, [])
    assert emails(follower) == {"ann@x.io", "bob@x.io"}


def test_a_call_of_the_largest_size_works_on_either_database(ws, manual, settings):
    """The values travel inside the INSERT (an array on PostgreSQL, placeholders on
    SQLite): as many as one call may send."""
    ann = ContactFactory(workspace=ws, email="ann@x.io")
    many = [f"nobody{n}@x.io" for n in range(settings.SEGMENT_MEMBERS_MAX_BATCH - 1)]
    result = services.segment_members_add(
        segment=manual, lookup="email", values=[*many, "ANN@x.io"]
    )
    assert (result.changed, result.unchanged, result.not_found) == (1, 0, many)
    assert emails(manual) == {ann.email}

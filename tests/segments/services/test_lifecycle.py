"""A segment's life (segments/services/lifecycle.py): the guard against deleting what
is in use holds even when the check is raced, and names what uses it in words; names
are unique per workspace, letter case ignored, archived ones included; copies (save
as list, a manual clone) know their count at once."""

import pytest

from segments import selectors, services
from segments.models import Segment
from tests.factories import CampaignSegmentFactory, ContactFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def test_the_database_refuses_a_delete_that_raced_a_new_usage(monkeypatch):
    ws = WorkspaceFactory()
    base = services.segment_create(workspace=ws, name="Base", kind="manual")
    CampaignSegmentFactory(campaign__workspace=ws, segment=base, role="include")
    # The guard looked before the campaign was linked: it saw nothing.
    monkeypatch.setattr(selectors, "segment_usage", lambda s: {"campaigns": [], "segments": []})
    with pytest.raises(services.SegmentInUse):
        services.segment_delete(segment=base)
    assert Segment.objects.filter(pk=base.pk).exists()


def test_a_rule_naming_a_segment_blocks_its_delete():
    ws = WorkspaceFactory()
    base = services.segment_create(workspace=ws, name="Base", kind="manual")
    services.segment_create(
        workspace=ws,
        name="User",
        kind="filter",
        conditions={"all": [{"segment": base.pk, "op": "in"}]},
    )
    with pytest.raises(services.SegmentInUse) as caught:
        services.segment_delete(segment=base)
    assert caught.value.extra["usage"]["segments"][0]["name"] == "User"
    assert caught.value.message == (
        "“Base” is used by the segment “User”; remove it from them first."
    )


def test_names_are_unique_case_insensitively_archived_included():
    ws = WorkspaceFactory()
    old = services.segment_create(workspace=ws, name="Newsletter", kind="manual")
    services.segment_update(segment=old, archived=True)
    with pytest.raises(services.DuplicateName):
        services.segment_create(workspace=ws, name="NEWSLETTER ", kind="manual")
    other = WorkspaceFactory()
    services.segment_create(workspace=other, name="Newsletter", kind="manual")


def test_save_as_list_and_a_manual_clone_return_the_real_count():
    """The copies are written at once: their count is known when the service returns."""
    ws = WorkspaceFactory()
    hand = services.segment_create(workspace=ws, name="Hand", kind="manual")
    people = ContactFactory.create_batch(3, workspace=ws)
    services.segment_members_add(segment=hand, lookup="id", values=[p.pk for p in people])
    snapshot = services.segment_save_as_list(segment=hand, name="Hand today")
    assert snapshot.member_count == 3
    clone = services.segment_clone(segment=hand, name="Hand 2")
    assert clone.member_count == 3

"""Segment services: the guard against deleting what is in use holds even when the
check is raced, and the refresh command reports who moved."""

import pytest
from django.core.management import call_command

from segments import services
from segments.models import Segment
from tests.factories import CampaignSegmentFactory, ContactFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def test_the_database_refuses_a_delete_that_raced_a_new_usage(monkeypatch):
    ws = WorkspaceFactory()
    base = services.segment_create(workspace=ws, name="Base", kind="manual")
    CampaignSegmentFactory(campaign__workspace=ws, segment=base, role="include")
    # The guard looked before the campaign was linked: it saw nothing.
    monkeypatch.setattr(services, "segment_usage", lambda s: {"campaigns": [], "segments": []})
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
    assert "segment 'User'" in caught.value.message


def test_names_are_unique_case_insensitively_archived_included():
    ws = WorkspaceFactory()
    old = services.segment_create(workspace=ws, name="Newsletter", kind="manual")
    services.segment_update(segment=old, archived=True)
    with pytest.raises(services.DuplicateName):
        services.segment_create(workspace=ws, name="NEWSLETTER ", kind="manual")
    other = WorkspaceFactory()
    services.segment_create(workspace=other, name="Newsletter", kind="manual")


def test_bulk_values_fold_case_and_skip_empty():
    ws = WorkspaceFactory()
    for country in ["DE", "de", "FR", "", "  "]:
        ContactFactory(workspace=ws, country=country)
    field, values = services.bulk_values(workspace=ws, field_name="country")
    assert (field, values) == ("country", ["DE", "FR"])


def test_refresh_segments_prints_who_entered_and_left(capsys):
    ws = WorkspaceFactory(slug="acme")
    ContactFactory(workspace=ws, country="DE")
    segment = Segment.objects.create(
        workspace=ws,
        name="Germans",
        kind="filter",
        conditions={"all": [{"field": "country", "op": "eq", "value": "DE"}]},
    )
    call_command("refresh_segments", "--workspace", "acme")
    out = capsys.readouterr().out
    assert f"Germans (#{segment.pk}): 1 entered, 0 left" in out
    call_command("refresh_segments", "--segment", str(segment.pk))
    assert "1 entered" not in capsys.readouterr().out
    segment.refresh_from_db()
    assert segment.member_count == 1

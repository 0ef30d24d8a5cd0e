"""check_segments: stored members against the rule, per segment; --repair fixes them
with history saying "repair" (commands.md)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from segments import pending, services
from segments.models import SegmentChange, SegmentMember, Source
from tests.factories import ContactFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("check_segments", *args, stdout=out)
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return 0, out.getvalue()


@pytest.fixture
def drifted():
    """A workspace whose segment lost one member row and holds one it should not."""
    ws = WorkspaceFactory(slug="acme")
    germans = [ContactFactory(workspace=ws, country="DE") for _ in range(3)]
    french = ContactFactory(workspace=ws, country="FR")
    segment = services.segment_create(
        workspace=ws,
        name="Germans",
        kind="filter",
        conditions={"all": [{"field": "country", "op": "eq", "value": "DE"}]},
    )
    pending.work_through(ws.pk)
    SegmentMember.objects.filter(segment=segment, contact=germans[0]).delete()
    SegmentMember.objects.create(
        segment=segment, contact=french, joined_at=germans[1].created_at, source=Source.DATA
    )
    return ws, segment, germans, french


def test_it_counts_what_is_missing_and_extra_and_exits_1(drifted):
    ws, segment, germans, french = drifted
    code, out = run("--workspace", "acme")
    assert code == 1
    assert f"Germans (#{segment.pk}): 1 missing, 1 extra, count says 3 for 3 members" not in out
    assert f"Germans (#{segment.pk}): 1 missing, 1 extra" in out
    assert "1 segment(s) differ" in out


def test_repair_fixes_them_with_history_saying_repair(drifted):
    ws, segment, germans, french = drifted
    code, out = run("--workspace", "acme", "--repair")
    assert code == 0 and "repaired" in out
    assert set(SegmentMember.objects.filter(segment=segment).values_list("contact", flat=True)) == {
        c.pk for c in germans
    }
    repairs = SegmentChange.objects.filter(segment=segment, source=Source.REPAIR)
    assert set(repairs.values_list("contact", "action")) == {
        (germans[0].pk, "entered"),
        (french.pk, "left"),
    }
    code, out = run("--segment", str(segment.pk))
    assert code == 0 and "All 1 segment(s) agree." in out
    segment.refresh_from_db()
    assert segment.member_count == 3


def test_a_count_out_of_step_is_reported_and_repaired(drifted):
    ws, segment, germans, french = drifted
    call_command("check_segments", "--repair", stdout=StringIO())
    type(segment).objects.filter(pk=segment.pk).update(member_count=7)
    code, out = run()
    assert code == 1 and "count says 7 for 3 members" in out
    assert run("--repair")[0] == 0
    segment.refresh_from_db()
    assert segment.member_count == 3


def test_unknown_workspace_or_segment_is_a_clear_error(drifted):
    with pytest.raises(CommandError, match="No workspace"):
        call_command("check_segments", "--workspace", "nope")
    with pytest.raises(CommandError, match="No filter segment"):
        call_command("check_segments", "--segment", "999999")


def test_the_daily_task_repairs(drifted, settings):
    from segments.tasks import repair_drift

    assert "repair-segment-drift" in settings.CELERY_BEAT_SCHEDULE
    assert repair_drift() == 2
    assert run("--workspace", "acme")[0] == 0

"""Pending membership work kept in the database (commands.md, "Background work"):
recorded with the change, coalesced, worked through under a lease, swept."""

from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone

from contacts import services as contact_services
from segments import membership, membership_many, pending, services
from segments.models import (
    PendingChange,
    PendingRefresh,
    RefreshLease,
    Segment,
    SegmentChange,
    SegmentMember,
    Source,
)
from tests.factories import ContactFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db
GERMANS = {"all": [{"field": "country", "op": "eq", "value": "DE"}]}
PRO = {"all": [{"field": "company", "op": "eq", "value": "Pro"}]}


@pytest.fixture
def ws():
    return WorkspaceFactory()


@pytest.fixture
def sent():
    """The wake messages sent to workers, recorded instead of run."""
    with mock.patch.object(pending, "send_now", return_value=True) as send:
        yield send


def members(segment) -> set[int]:
    return set(SegmentMember.objects.filter(segment=segment).values_list("contact_id", flat=True))


def make_segment(ws, name, rule):
    segment = services.segment_create(workspace=ws, name=name, kind="filter", conditions=rule)
    pending.work_through(ws.pk)
    return segment


def test_a_change_is_recorded_in_its_own_transaction(ws, sent):
    contact = ContactFactory(workspace=ws, country="FR")
    with pytest.raises(RuntimeError), transaction.atomic():
        contact_services.contact_update(contact=contact, data={"country": "DE"})
        assert PendingChange.objects.filter(workspace=ws).count() == 1
        raise RuntimeError("rolled back")
    assert not PendingChange.objects.exists()
    contact.refresh_from_db()
    contact_services.contact_update(contact=contact, data={"country": "DE"})
    row = PendingChange.objects.get()
    assert row.contact_ids == [contact.pk] and "country" in row.change["fields"]


def test_a_burst_of_single_changes_is_one_wake_and_one_pass(
    ws, sent, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    contacts = [ContactFactory(workspace=ws, country="FR") for _ in range(300)]
    germans = make_segment(ws, "Germans", GERMANS)
    make_segment(ws, "Pro", PRO)
    PendingChange.objects.all().delete()
    sent.reset_mock()
    for contact in contacts:  # one transaction each, as 300 API calls would be
        with django_capture_on_commit_callbacks(execute=True):
            contact_services.contact_update(contact=contact, data={"country": "DE"})
    assert sent.call_count == 1  # one worker woken for the whole burst
    assert PendingChange.objects.count() == 300
    assert not PendingRefresh.objects.exists()  # no segment queued a refresh of its own

    with mock.patch.object(
        membership, "refresh_filter_segment", wraps=membership.refresh_filter_segment
    ) as refresh:
        pending.work_through(ws.pk)
    # One engine call for the segment the change can affect; none for "Pro".
    assert [c.args[0].pk for c in refresh.call_args_list] == [germans.pk]
    assert members(germans) == {c.pk for c in contacts}
    assert not PendingChange.objects.exists() and not RefreshLease.objects.exists()


def test_a_segment_has_at_most_one_pending_refresh_and_a_rule_change_stays_one(ws, sent):
    segment = services.segment_create(workspace=ws, name="G", kind="filter", conditions=GERMANS)
    first = PendingRefresh.objects.get(segment=segment)
    assert first.source == Source.RULE
    pending.request_refresh(segment, Source.SCHEDULE)
    pending.request_refresh(segment, Source.DATA)
    again = PendingRefresh.objects.get(segment=segment)
    assert again.source == Source.RULE and again.token != first.token


def test_a_refresh_asked_for_again_during_a_pass_stays_pending(ws, sent):
    ContactFactory(workspace=ws, country="DE")
    segment = services.segment_create(workspace=ws, name="G", kind="filter", conditions=GERMANS)
    real = membership.refresh_filter_segment

    def meanwhile(*args, **kwargs):
        diff = real(*args, **kwargs)
        pending.request_refresh(segment, Source.DATA)  # committed during the pass
        return diff

    assert pending._take_lease(ws.pk, "me")
    with mock.patch.object(membership, "refresh_filter_segment", side_effect=meanwhile):
        pending._one_pass(ws.pk, "me", membership.PassResult())
    assert PendingRefresh.objects.filter(segment=segment).count() == 1
    assert len(members(segment)) == 1


def test_a_live_lease_keeps_a_second_worker_out_and_a_dead_ones_runs_out(ws, sent):
    contact = ContactFactory(workspace=ws, country="DE")
    segment = services.segment_create(workspace=ws, name="G", kind="filter", conditions=GERMANS)
    lease = RefreshLease.objects.create(
        workspace=ws, holder="live worker", expires_at=timezone.now() + timedelta(minutes=1)
    )
    pending.work_through(ws.pk)
    assert members(segment) == set() and PendingRefresh.objects.exists()
    assert pending.sweep() == 0  # covered by a live lease: not sent again

    lease.expires_at = timezone.now() - timedelta(seconds=1)  # that worker died
    lease.save()
    assert pending.sweep() == 1
    pending.work_through(ws.pk)
    assert members(segment) == {contact.pk}
    assert not RefreshLease.objects.exists()


@contextmanager
def killed_midway(path: str, second_id: int):
    """The worker dies half way through a pass's writes: segment by segment, when the
    second segment is refreshed; a level at once (membership_many), after the member
    rows and history are written, before the counts."""
    if path == "levels at once":
        with mock.patch.object(membership_many, "_counts", side_effect=SystemExit("killed")):
            yield
        return
    real = membership.refresh_filter_segment

    def dies_at_the_second(segment, **kwargs):
        if segment.pk == second_id:
            raise SystemExit("worker killed")
        return real(segment, **kwargs)

    with (
        mock.patch.object(membership, "MANY_RULES_UP_TO", 0),
        mock.patch.object(membership, "refresh_filter_segment", side_effect=dies_at_the_second),
    ):
        yield


PATHS = ["segment by segment", "levels at once"]


def germans_turned_pro(ws, n: int):
    """`n` French contacts become German pros (recorded, not yet worked through),
    and the two segments that follow them."""
    contacts = [ContactFactory(workspace=ws, country="FR") for _ in range(n)]
    germans = make_segment(ws, "Germans", GERMANS)
    pro = make_segment(ws, "Pro", PRO)
    for contact in contacts:
        contact_services.contact_update(contact=contact, data={"country": "DE", "company": "Pro"})
    return contacts, germans, pro


@pytest.mark.parametrize("path", PATHS)
def test_a_pass_cut_short_is_done_again_without_doubling_history(ws, sent, path):
    contacts, germans, pro = germans_turned_pro(ws, 5)
    with killed_midway(path, pro.pk), pytest.raises(SystemExit):
        pending.work_through(ws.pk)
    assert PendingChange.objects.exists()  # nothing taken for done
    pending.work_through(ws.pk)
    ids = {c.pk for c in contacts}
    assert members(germans) == ids and members(pro) == ids
    for segment in (germans, pro):
        entered = SegmentChange.objects.filter(segment=segment, action="entered")
        assert entered.count() == 5
        segment.refresh_from_db()
        assert segment.member_count == 5


def test_past_the_threshold_a_change_refreshes_affected_segments_whole(ws, sent, settings):
    settings.MEMBERSHIP_FULL_REFRESH_AFTER = 3
    contacts = [ContactFactory(workspace=ws, country="FR") for _ in range(5)]
    germans = make_segment(ws, "Germans", GERMANS)
    pro = make_segment(ws, "Pro", PRO)
    ids = [c.pk for c in contacts]
    from contacts.models import Contact

    Contact.objects.filter(pk__in=ids).update(country="DE")
    from contacts.changes import Change, contacts_changed

    contacts_changed(ws.pk, ids, Change(fields={"country"}))
    assert PendingChange.objects.get().contact_ids is None
    with mock.patch.object(
        membership, "refresh_filter_segment", wraps=membership.refresh_filter_segment
    ) as refresh:
        pending.work_through(ws.pk)
    assert [(c.args[0].pk, c.kwargs.get("contact_ids")) for c in refresh.call_args_list] == [
        (germans.pk, None)
    ]
    assert members(germans) == set(ids) and members(pro) == set()


def test_a_segment_naming_a_refreshed_one_follows_in_the_same_pass(ws, sent):
    contact = ContactFactory(workspace=ws, country="DE", company="Pro")
    germans = services.segment_create(
        workspace=ws, name="Germans", kind="filter", conditions=GERMANS
    )
    both = services.segment_create(
        workspace=ws,
        name="Pro Germans",
        kind="filter",
        conditions={"all": [{"segment": germans.pk, "op": "in"}, *PRO["all"]]},
    )
    PendingRefresh.objects.filter(segment=both).delete()  # only the named one is pending
    pending.work_through(ws.pk)
    assert members(germans) == {contact.pk} and members(both) == {contact.pk}


def test_the_sweep_wakes_every_workspace_with_pending_work(ws, sent):
    other = WorkspaceFactory()
    services.segment_create(workspace=ws, name="G", kind="filter", conditions=GERMANS)
    contact_services.contact_create(workspace=other, data={"email": "a@x.io"})
    sent.reset_mock()
    assert pending.sweep() == 2
    assert sorted(c.args[1] for c in sent.call_args_list) == sorted([ws.pk, other.pk])


def test_time_based_rules_are_asked_for_by_the_clock(ws, sent):
    recent = {"all": [{"field": "created_at", "op": "within_last_days", "value": 7}]}
    timed = services.segment_create(workspace=ws, name="New", kind="filter", conditions=recent)
    plain = services.segment_create(workspace=ws, name="G", kind="filter", conditions=GERMANS)
    PendingRefresh.objects.all().delete()
    assert pending.request_time_based_refreshes() == 1
    assert list(PendingRefresh.objects.values_list("segment", "source")) == [
        (timed.pk, Source.SCHEDULE)
    ]
    assert plain.pk not in PendingRefresh.objects.values_list("segment", flat=True)


def test_ten_thousand_changes_one_by_one_wake_one_worker_and_queue_no_refreshes(
    ws, sent, django_capture_on_commit_callbacks
):
    from contacts.changes import Change, contacts_changed
    from contacts.models import Contact

    make_segment(ws, "Germans", GERMANS)
    make_segment(ws, "Pro", PRO)
    Contact.objects.bulk_create(
        Contact(workspace=ws, email=f"c{i}@x.io", country="DE") for i in range(10_000)
    )
    ids = list(Contact.objects.filter(workspace=ws).values_list("pk", flat=True))
    sent.reset_mock()
    with django_capture_on_commit_callbacks(execute=True):
        for contact_id in ids:  # as 10,000 separate writes would announce them
            with transaction.atomic():
                contacts_changed(ws.pk, [contact_id], Change(fields={"country"}))
    assert sent.call_count == 1
    assert PendingChange.objects.count() == 10_000
    assert not PendingRefresh.objects.exists()
    result = pending.work_through(ws.pk)
    assert {k: (d.entered, d.left) for k, d in result.diffs.items()} == {
        Segment.objects.get(name="Germans").pk: (10_000, 0)
    }
    assert not pending.has_pending(ws.pk)


@pytest.mark.parametrize("path", PATHS)
def test_a_pass_writes_its_changed_contacts_segments_in_one_transaction(ws, sent, path):
    """The segments a pass re-evaluates for changed contacts commit together: a pass
    cut short at the second leaves the first as it was, and the pending rows stay."""
    contacts, germans, pro = germans_turned_pro(ws, 3)
    with killed_midway(path, pro.pk), pytest.raises(SystemExit):
        pending.work_through(ws.pk)
    assert members(germans) == set()  # rolled back with the batch
    assert not SegmentChange.objects.filter(segment=germans).exists()
    assert PendingChange.objects.count() == 3
    pending.work_through(ws.pk)
    ids = {c.pk for c in contacts}
    assert members(germans) == members(pro) == ids
    germans.refresh_from_db()
    assert germans.member_count == 3

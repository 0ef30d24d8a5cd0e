"""A new filter segment shows its members before its history is written (api.md: a
segment just created shows its members within 5 seconds), and the history follows
whatever happens: at once from the same worker, before any other change of the
members if that worker died, or from the sweep. Member and history rows carry no
foreign-key constraints; a contact deleted while a refresh adds it is removed again.
"""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from contacts import services as contact_services
from segments import owed_history, pending, services
from segments.models import Segment, SegmentChange, SegmentMember
from tests.factories import ContactFactory, WorkspaceFactory

GERMANS = {"all": [{"field": "country", "op": "eq", "value": "DE"}]}


@pytest.fixture
def sent():
    with mock.patch.object(pending, "send_now", return_value=True) as send:
        yield send


def germans(ws, n=5) -> set[int]:
    for _ in range(3):
        ContactFactory(workspace=ws, country="FR")
    return {ContactFactory(workspace=ws, country="DE").pk for _ in range(n)}


def history(segment) -> list[tuple[int, str]]:
    rows = SegmentChange.objects.filter(segment=segment).order_by("id")
    return list(rows.values_list("contact_id", "action"))


def members(segment) -> set[int]:
    return set(SegmentMember.objects.filter(segment=segment).values_list("contact_id", flat=True))


def new_segment(ws):
    segment = services.segment_create(
        workspace=ws, name="Germans", kind="filter", conditions=GERMANS
    )
    pending.work_through(ws.pk)
    segment.refresh_from_db()
    return segment


@pytest.mark.django_db(transaction=True)
def test_the_members_commit_first_then_their_history(postgres, sent):
    ws = WorkspaceFactory()
    expected = germans(ws)
    seen = {}
    real_settle = owed_history.settle

    def settle(segment_id):
        # What another page sees between the two commits: every member and the count,
        # no history yet, and the debt written down.
        segment = Segment.objects.get(pk=segment_id)
        seen.update(
            committed=not connection.in_atomic_block,
            members=members(segment),
            count=segment.member_count,
            history=history(segment),
            owed=segment.history_owed_at is not None,
        )
        real_settle(segment_id)

    with mock.patch.object(owed_history, "settle", settle):
        segment = new_segment(ws)
    assert seen == {
        "committed": True,
        "members": expected,
        "count": len(expected),
        "history": [],
        "owed": True,
    }
    assert segment.history_owed_at is None
    assert sorted(history(segment)) == sorted((pk, "entered") for pk in expected)
    changes = SegmentChange.objects.filter(segment=segment)
    # A rule's entries start no campaign; each is dated when its member joined.
    assert not changes.filter(triggers=True).exists()
    joined = dict(
        SegmentMember.objects.filter(segment=segment).values_list("contact_id", "joined_at")
    )
    assert all(change.at == joined[change.contact_id] for change in changes)


@pytest.mark.django_db(transaction=True)
def test_a_worker_that_died_before_the_history_is_paid_before_the_next_change(postgres, sent):
    ws = WorkspaceFactory()
    expected = germans(ws)
    with mock.patch.object(owed_history, "settle", lambda segment_id: None):  # died there
        segment = new_segment(ws)
    assert members(segment) == expected and segment.member_count == len(expected)
    assert history(segment) == [] and segment.history_owed_at is not None

    leaving = min(expected)
    contact = ContactFactory._meta.model.objects.get(pk=leaving)
    contact_services.contact_update(contact=contact, data={"country": "FR"})
    pending.work_through(ws.pk)

    rows = history(segment)
    # Every entry first, then the one who left: the history keeps its order.
    assert rows[:-1] == sorted((pk, "entered") for pk in expected)
    assert rows[-1] == (leaving, "left")
    segment.refresh_from_db()
    assert segment.history_owed_at is None and segment.member_count == len(expected) - 1


@pytest.mark.django_db(transaction=True)
def test_the_sweep_sends_a_worker_for_a_debt_left_behind(postgres, sent):
    ws = WorkspaceFactory()
    expected = germans(ws)
    with mock.patch.object(owed_history, "settle", lambda segment_id: None):
        segment = new_segment(ws)
    sent.reset_mock()
    assert pending.sweep() == 0  # its worker may still be paying it
    Segment.objects.filter(pk=segment.pk).update(
        history_owed_at=timezone.now() - timedelta(seconds=pending.OWED_GRACE_SECONDS + 1)
    )
    SegmentMember.objects.filter(segment=segment).update(
        joined_at=Segment.objects.get(pk=segment.pk).history_owed_at
    )
    assert pending.sweep() == 1
    assert sent.call_args.args[1] == ws.pk
    pending.work_through(ws.pk)
    assert sorted(history(segment)) == sorted((pk, "entered") for pk in expected)
    assert Segment.objects.get(pk=segment.pk).history_owed_at is None


@pytest.mark.django_db
def test_a_contact_deleted_while_a_refresh_adds_it_is_removed_again(sent):
    """The refresh read the contact before the delete committed and added it after:
    the member row has no contact (no foreign key stops it); the deletion's own pass
    takes it out again, and the count with it."""
    ws = WorkspaceFactory()
    expected = germans(ws)
    segment = new_segment(ws)
    gone = max(expected)
    contact_services.contact_delete(contact=ContactFactory._meta.model.objects.get(pk=gone))
    # The late refresh's row and count, as it wrote them.
    SegmentMember.objects.create(
        segment=segment, contact_id=gone, joined_at=timezone.now(), source="data"
    )
    Segment.objects.filter(pk=segment.pk).update(member_count=len(expected))

    pending.work_through(ws.pk)

    assert members(segment) == expected - {gone}
    assert Segment.objects.get(pk=segment.pk).member_count == len(expected) - 1
    # Not a person who left: no history row for a contact that is gone.
    assert not SegmentChange.objects.filter(contact_id=gone).exists()


@pytest.mark.django_db(transaction=True)
def test_a_large_manual_add_leaves_its_history_to_a_worker(postgres, sent):
    """At WRITE_BEHIND_AFTER people or more the call returns once members and count are
    committed; the worker it wakes writes their history (entries that trigger)."""
    from contacts.models import Contact
    from segments import membership

    ws = WorkspaceFactory()
    many = membership.WRITE_BEHIND_AFTER
    Contact.objects.bulk_create(ContactFactory.build(workspace=ws) for _ in range(many))
    big = services.segment_create(workspace=ws, name="Big", kind="manual")
    small = services.segment_create(workspace=ws, name="Small", kind="manual")
    everyone = Contact.objects.filter(workspace=ws)
    sent.reset_mock()

    assert (
        services.segment_contacts_add(
            segment=small,
            contacts=everyone.filter(pk__in=list(everyone.values_list("pk", flat=True)[:5])),
        )
        == 5
    )
    assert len(history(small)) == 5 and not sent.called  # a small add: at once, as ever

    assert services.segment_contacts_add(segment=big, contacts=everyone) == many
    big.refresh_from_db()
    assert big.member_count == many and len(members(big)) == many
    assert history(big) == [] and big.history_owed_at is not None
    assert sent.call_args.args[1] == ws.pk  # a worker is sent for it

    pending.work_through(ws.pk)
    assert sorted(history(big)) == sorted((pk, "entered") for pk in members(big))
    assert SegmentChange.objects.filter(segment=big, triggers=True).count() == many
    assert Segment.objects.get(pk=big.pk).history_owed_at is None


@pytest.mark.django_db
def test_a_manual_segment_loses_a_deleted_contact_added_at_the_same_moment(sent):
    """A manual add that read the contact before its deletion committed: the member
    row outlives the contact; the deletion's pass takes it out, count included."""
    ws = WorkspaceFactory()
    keep, gone = ContactFactory(workspace=ws), ContactFactory(workspace=ws)
    manual = services.segment_create(workspace=ws, name="Hand-picked", kind="manual")
    services.segment_members_add(segment=manual, lookup="id", values=[keep.pk])
    gone_id = gone.pk
    contact_services.contact_delete(contact=gone)
    # The late add's row and count, as it wrote them.
    SegmentMember.objects.create(
        segment=manual, contact_id=gone_id, joined_at=timezone.now(), source="manual"
    )
    Segment.objects.filter(pk=manual.pk).update(member_count=2)

    pending.work_through(ws.pk)

    assert members(manual) == {keep.pk}
    assert Segment.objects.get(pk=manual.pk).member_count == 1


@pytest.mark.django_db(transaction=True)
def test_a_new_segment_that_matches_nobody_owes_nothing(postgres, sent):
    ws = WorkspaceFactory()
    ContactFactory(workspace=ws, country="FR")
    segment = new_segment(ws)
    assert segment.member_count == 0 and segment.history_owed_at is None
    assert pending.sweep() == 0


@pytest.mark.django_db(transaction=True)
def test_a_large_add_while_a_worker_holds_the_workspace_is_paid_by_that_worker(
    postgres, sent, monkeypatch
):
    """The add's own wake finds the workspace taken; the worker that holds it pays the
    history before it lets go, not a minute later through the sweep."""
    from segments import membership

    ws = WorkspaceFactory()
    germans(ws)
    monkeypatch.setattr(membership, "WRITE_BEHIND_AFTER", 2)
    manual = services.segment_create(workspace=ws, name="Hand-picked", kind="manual")
    everyone = ContactFactory._meta.model.objects.filter(workspace=ws)
    real_apply = pending._apply

    def apply_then_an_add(*args):
        real_apply(*args)
        if not SegmentMember.objects.filter(segment=manual).exists():
            services.segment_contacts_add(segment=manual, contacts=everyone)

    monkeypatch.setattr(pending, "_apply", apply_then_an_add)
    new_segment(ws)  # the pass during which the add commits

    assert Segment.objects.get(pk=manual.pk).history_owed_at is None
    assert sorted(history(manual)) == sorted((pk, "entered") for pk in members(manual))

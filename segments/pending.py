"""Membership work still to do, kept in the database (commands.md, "Background work").

Writing (inside the transaction of the change, so the work commits or rolls back with
it):
- `record_change`: contacts changed (the contacts.changes listener). One row per
  announcement, however many contacts; past MEMBERSHIP_FULL_REFRESH_AFTER contacts it
  says "all", and the segments the change can affect are refreshed whole.
- `request_refresh`: a segment must be refreshed whole (new, rule changed, time
  passed). At most one pending refresh per segment.
After the commit a worker is woken, at most once per workspace until it starts.

Working through (`work_through`, in a worker): one worker per workspace at a time,
under a lease that a dead worker loses. Each pass takes every pending row of the
workspace, merges the changed contacts into one set and the changes into one, and
walks the filter segments in dependency order once: a whole refresh where one is
pending, else the merged contacts for the segments the merged change can affect.
Rows are deleted only after their work is committed; a pass cut short is done again,
which is safe because a refresh only brings membership in line (no row applied
twice, no history doubled).
"""

import logging
import os
import socket
import time
import uuid
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from contacts.changes import Change
from jobs.dispatch import broker_away, send_now
from segments import membership, owed_history, rules
from segments.models import PendingChange, PendingRefresh, RefreshLease, Segment, Source
from segments.query import load_catalog

logger = logging.getLogger(__name__)

# The task a wake sends (segments.tasks.work_through), by name: see jobs.dispatch.
WORK_THROUGH = "segments.tasks.work_through"
WAKE_KEY = "segments:wake:{}"
# A wake whose worker never started (the message was lost) stops holding back others.
WAKE_SECONDS = 30
MAX_ROWS_PER_PASS = 5000
DELETE_BATCH = 1000
# How often a pass renews its lease (JOB_LEASE_SECONDS is minutes).
RENEW_EVERY_SECONDS = 5
# A segment's owed history (segments.owed_history) is the sweep's after this long:
# its worker pays it the moment its members commit.
OWED_GRACE_SECONDS = 60


# ---------------------------------------------------------------- recording


def _payload(change: Change, segments=()) -> dict:
    return {
        "fields": sorted(change.fields),
        "tags": change.tags,
        "event_names": sorted(change.event_names),
        "devices": change.devices,
        "created": change.created,
        "deleted": change.deleted,
        "segments": sorted(segments),
    }


def record_change(workspace_id: int, contact_ids: list[int], change: Change) -> None:
    """contacts.changes listener: these contacts changed in the current transaction."""
    _record(workspace_id, contact_ids, _payload(change))


def record_members_changed(segment: Segment, contact_ids: list[int] | None) -> None:
    """A manual segment's members changed (these, or None: too many to list): the
    rules that name it must look at those contacts again."""
    if contact_ids is not None and not contact_ids:
        return
    _record(segment.workspace_id, contact_ids, _payload(Change(), segments=[segment.pk]))


def _record(workspace_id: int, contact_ids: list[int] | None, payload: dict) -> None:
    if contact_ids is not None:
        contact_ids = sorted(set(contact_ids))
        if not contact_ids:
            return
        if len(contact_ids) > settings.MEMBERSHIP_FULL_REFRESH_AFTER:
            contact_ids = None
    PendingChange.objects.create(workspace_id=workspace_id, contact_ids=contact_ids, change=payload)
    wake_after_commit(workspace_id)


def request_refresh(segment: Segment, source: str = Source.RULE) -> None:
    """Refresh `segment` whole, then what names it. A refresh already pending is kept
    (a rule change stays a rule change: its entries do not start campaigns) and given
    a new token, so a worker in the middle of the old one does not delete it."""
    table = PendingRefresh._meta.db_table
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    token = PendingRefresh._meta.get_field("token").get_db_prep_value(uuid.uuid4(), connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (workspace_id, segment_id, source, token, requested_at) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (segment_id) DO UPDATE SET "
            "token = EXCLUDED.token, requested_at = EXCLUDED.requested_at, "
            f"source = CASE WHEN {table}.source = %s THEN {table}.source ELSE EXCLUDED.source END",
            [segment.workspace_id, segment.pk, source, token, now, Source.RULE],
        )
    wake_after_commit(segment.workspace_id)


def wake_after_commit(workspace_id: int) -> None:
    transaction.on_commit(lambda: wake(workspace_id))


def wake(workspace_id: int) -> bool:
    """Send a worker to the workspace, unless one was sent and has not started yet,
    or the broker was found away moments ago (the sweep sends one later: the work is
    recorded). Returns whether a message was sent."""
    if broker_away():
        return False
    try:
        first = cache.add(WAKE_KEY.format(workspace_id), 1, WAKE_SECONDS)
    except Exception:  # the cache is down too (Redis): send, the lease dedupes
        first = True
    return bool(first) and send_now(WORK_THROUGH, workspace_id)


def _woken(workspace_id: int) -> None:
    """A worker starts a pass: changes committed from now on need a new wake."""
    try:
        cache.delete(WAKE_KEY.format(workspace_id))
    except Exception:
        logger.warning("Cache unreachable; a wake may be sent twice.")


# ---------------------------------------------------------------- the lease


class LeaseLost(Exception):
    """The lease ran out and another worker took the workspace over."""


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _lease_until():
    return timezone.now() + timedelta(seconds=settings.JOB_LEASE_SECONDS)


def _take_lease(workspace_id: int, holder: str) -> bool:
    expired = RefreshLease.objects.filter(workspace_id=workspace_id, expires_at__lt=timezone.now())
    if expired.update(holder=holder, expires_at=_lease_until()):
        return True
    try:
        with transaction.atomic():
            RefreshLease.objects.create(
                workspace_id=workspace_id, holder=holder, expires_at=_lease_until()
            )
    except IntegrityError:
        return False  # someone holds a live lease: they work through what is pending
    return True


def _renew_lease(workspace_id: int, holder: str) -> None:
    mine = RefreshLease.objects.filter(workspace_id=workspace_id, holder=holder)
    if not mine.update(expires_at=_lease_until()):
        raise LeaseLost()


def _release_lease(workspace_id: int, holder: str) -> None:
    RefreshLease.objects.filter(workspace_id=workspace_id, holder=holder).delete()


def has_pending(workspace_id: int) -> bool:
    return (
        PendingChange.objects.filter(workspace_id=workspace_id).exists()
        or PendingRefresh.objects.filter(workspace_id=workspace_id).exists()
    )


# ---------------------------------------------------------------- working through


def work_through(workspace_id: int) -> membership.PassResult:
    """Bring the workspace's membership in line with everything pending, until
    nothing is. Does nothing when another worker holds the workspace's lease."""
    holder, result = _worker_name(), membership.PassResult()
    while _take_lease(workspace_id, holder):
        try:
            while _one_pass(workspace_id, holder, result):
                pass
        except LeaseLost:
            logger.warning("Workspace %s was taken over by another worker.", workspace_id)
            return result
        finally:
            _release_lease(workspace_id, holder)
        # A change committed while the lease was being given up found it held and
        # sent no worker of its own: look once more.
        if not has_pending(workspace_id):
            break
    return result


@dataclass
class Plan:
    """One pass's work: merged from the pending rows it took."""

    whole: dict[int, tuple[str, uuid.UUID]] = field(default_factory=dict)  # id: (source, token)
    contact_ids: set[int] = field(default_factory=set)
    all_contacts: bool = False
    change: Change = field(default_factory=Change)
    changed_segments: set[int] = field(default_factory=set)


def _plan(refreshes: list[PendingRefresh], changes: list[PendingChange]) -> Plan:
    plan = Plan(whole={r.segment_id: (r.source, r.token) for r in refreshes})
    for row in changes:
        payload = row.change
        if row.contact_ids is None:
            plan.all_contacts = True
        else:
            plan.contact_ids.update(row.contact_ids)
        plan.change.fields.update(payload.get("fields", ()))
        plan.change.tags |= bool(payload.get("tags"))
        plan.change.event_names.update(payload.get("event_names", ()))
        plan.change.devices |= bool(payload.get("devices"))
        plan.change.created |= bool(payload.get("created"))
        plan.change.deleted |= bool(payload.get("deleted"))
        plan.changed_segments.update(payload.get("segments", ()))
    if len(plan.contact_ids) > settings.MEMBERSHIP_FULL_REFRESH_AFTER:
        plan.all_contacts = True
    if plan.all_contacts:
        plan.contact_ids = set()
    return plan


def _one_pass(workspace_id: int, holder: str, result: membership.PassResult) -> bool:
    """Take what is pending now and do it; False when there was nothing. History
    left owed first (segments.owed_history): a worker that died before paying it, or
    a large manual add committed while this worker held the workspace."""
    _woken(workspace_id)
    owed_history.settle_workspace(workspace_id)
    refreshes = list(PendingRefresh.objects.filter(workspace_id=workspace_id))
    changes = list(
        PendingChange.objects.filter(workspace_id=workspace_id).order_by("id")[:MAX_ROWS_PER_PASS]
    )
    if not refreshes and not changes:
        return False
    plan = _plan(refreshes, changes)
    # Changed contacts only (no whole refresh, which commits on its own): the work
    # and the deletion of its rows commit together, one commit for the pass.
    together = membership.one_transaction() if not plan.whole and not plan.all_contacts else None
    with together or nullcontext():
        if plan.change.deleted and plan.contact_ids:
            # Before the rules: rows whose contact is gone leave without a history row
            # (the contact's history went with it), not as people who left.
            membership.forget_missing(sorted(plan.contact_ids))
        _apply(workspace_id, holder, plan, result)
        # Every refresh the plan took is done (or its segment is no longer a filter
        # segment); one asked for again meanwhile has a new token and stays.
        for row in refreshes:
            PendingRefresh.objects.filter(segment_id=row.segment_id, token=row.token).delete()
        taken = [row.pk for row in changes]
        for start in range(0, len(taken), DELETE_BATCH):
            PendingChange.objects.filter(pk__in=taken[start : start + DELETE_BATCH]).delete()
    return True


def _apply(workspace_id: int, holder: str, plan: Plan, result: membership.PassResult) -> None:
    """Walk the filter segments once. The segments re-evaluated for the changed
    contacts go in one transaction together (membership.one_transaction: no commit
    per segment); a whole refresh, which can move a million rows, commits on its own
    and ends the batch before it."""
    catalog = load_catalog(workspace_id)
    ids = sorted(plan.contact_ids)
    if not plan.whole and not plan.all_contacts:  # changed contacts only: levels at once
        _apply_to_contacts(workspace_id, holder, plan, ids, catalog, result)
        return
    moved_whole: dict[int, str] = {}  # refreshed whole and someone moved: id -> source
    moved_some = set(plan.changed_segments)  # members changed among `ids`
    renewed = time.monotonic()
    with ExitStack() as batch:
        in_batch = False
        for segment in membership.filter_segments(workspace_id):
            reads = rules.reads(segment.conditions)
            source = _whole_source(segment, reads, plan, moved_whole)
            if source is not None:
                batch.close()  # commit the batch so far
                in_batch = False
                diff = _refresh_whole(segment, source, plan, catalog)
                if diff.entered or diff.left:
                    moved_whole[segment.pk] = source
            elif ids and membership.affected(reads, plan.change, moved_some):
                if not in_batch:
                    batch.enter_context(membership.one_transaction())
                    in_batch = True
                diff = membership.refresh_filter_segment_in_batches(
                    segment, source=Source.DATA, contact_ids=ids, catalog=catalog
                )
                if diff.entered or diff.left:
                    moved_some.add(segment.pk)
            else:
                continue
            membership.merge_diff(result, segment.pk, diff)
            if time.monotonic() - renewed > RENEW_EVERY_SECONDS:  # not a write per segment
                _renew_lease(workspace_id, holder)
                renewed = time.monotonic()


def _apply_to_contacts(workspace_id, holder, plan: Plan, ids, catalog, result) -> None:
    """No whole refresh in the plan: membership.refresh_contacts, which takes the
    rules of a dependency level together for a few contacts."""
    renewed = [time.monotonic()]

    def tick() -> None:
        if time.monotonic() - renewed[0] > RENEW_EVERY_SECONDS:
            _renew_lease(workspace_id, holder)
            renewed[0] = time.monotonic()

    if not ids:
        return
    passed = membership.refresh_contacts(
        workspace_id,
        ids,
        plan.change,
        changed_segments=plan.changed_segments,
        source=Source.DATA,
        catalog=catalog,
        tick=tick,
    )
    for segment_id, diff in passed.diffs.items():
        membership.merge_diff(result, segment_id, diff)


def _whole_source(segment: Segment, reads, plan: Plan, moved_whole: dict) -> str | None:
    """Why `segment` is refreshed whole in this pass, or None when it is not."""
    if segment.pk in plan.whole:
        return plan.whole[segment.pk][0]
    named = rules.segment_refs(segment.conditions) & set(moved_whole)
    if named:
        return moved_whole[min(named)]
    if plan.all_contacts and membership.affected(reads, plan.change, plan.changed_segments):
        return Source.DATA
    return None


def _refresh_whole(segment: Segment, source: str, plan: Plan, catalog) -> membership.Diff:
    diff = membership.refresh_filter_segment(segment, source=source, catalog=catalog)
    if segment.pk in plan.whole:  # done: not again in this pass's clean-up
        _source, token = plan.whole.pop(segment.pk)
        PendingRefresh.objects.filter(segment_id=segment.pk, token=token).delete()
    return diff


# ---------------------------------------------------------------- the sweep


def sweep() -> int:
    """jobs.sweep sweeper: wake a worker for every workspace with pending membership
    work that no live lease covers (its worker died, or its message was lost)."""
    live = RefreshLease.objects.filter(expires_at__gte=timezone.now()).values("workspace_id")
    waiting = set()
    for model in (PendingChange, PendingRefresh):
        rows = model.objects.exclude(workspace_id__in=live).order_by()
        waiting.update(rows.values_list("workspace_id", flat=True).distinct())
    # History a fill from empty left owed, past the moment its worker pays it.
    owing = Segment.objects.filter(
        history_owed_at__lt=timezone.now() - timedelta(seconds=OWED_GRACE_SECONDS)
    ).exclude(workspace_id__in=live)
    waiting.update(owing.order_by().values_list("workspace_id", flat=True).distinct())
    return sum(
        send_now(WORK_THROUGH, workspace_id, even_if_away=True) for workspace_id in sorted(waiting)
    )


def request_time_based_refreshes() -> int:
    """Beat: the rules whose truth moves with the clock ("within the last 7 days")."""
    segments = Segment.objects.filter(~Q(conditions=None), kind=Segment.Kind.FILTER).only(
        "pk", "workspace_id", "conditions"
    )
    count = 0
    with transaction.atomic():
        for segment in segments.iterator(chunk_size=500):
            if rules.reads(segment.conditions).time_based:
                request_refresh(segment, Source.SCHEDULE)
                count += 1
    return count

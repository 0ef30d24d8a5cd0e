"""History a fill from empty left owed (Segment.history_owed_at).

A whole refresh of an empty filter segment on PostgreSQL commits its members and
count first (what a new segment must show within 5 seconds, api.md) and writes their
"entered" history right after, in a transaction of its own (segments.membership); a
large manual add leaves it to a worker (membership.WRITE_BEHIND_AFTER).
Until then the segment's row says so; whoever takes the segment's lock next pays the
history first (`lock`), so it keeps its order, and a worker that died in between
leaves the debt to the sweep (pending.sweep wakes the workspace, each pass pays).
"""

from django.db import connection, transaction

from contacts.models import Contact
from segments import entries
from segments.models import Segment, SegmentChange, SegmentMember, Source

MEMBER_TABLE = SegmentMember._meta.db_table
CHANGE_TABLE = SegmentChange._meta.db_table
CONTACT_TABLE = Contact._meta.db_table
SEGMENT_TABLE = Segment._meta.db_table


def lock(segment_id: int) -> Segment:
    """Take the segment's row lock (every writer of its members does, first) and pay
    the history a fill from empty left owed, so that it comes before any other
    change of the members; the segment as locked."""
    segment = Segment.objects.select_for_update().get(pk=segment_id)
    settle_history(segment)
    return segment


def settle(segment_id: int) -> None:
    """Pay the segment's owed history in a transaction of its own (after a fill from
    empty committed, or for a worker that died before it did)."""
    with transaction.atomic():
        try:
            lock(segment_id)
        except Segment.DoesNotExist:
            return


def settle_workspace(workspace_id: int) -> int:
    """Pay the owed history of every segment of the workspace (each pass of
    pending.work_through, to which the sweep sends a worker when one died between
    the members and their history); how many segments owed."""
    owing = list(
        Segment.objects.filter(workspace_id=workspace_id, history_owed_at__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for segment_id in owing:
        settle(segment_id)
    return len(owing)


def settle_history(segment: Segment) -> None:
    """Write the "entered" history of the members who joined at the segment's
    `history_owed_at` (one statement, in contact order) and clear it. The caller
    holds the segment's lock, so they are exactly the members the fill added. Whether
    an entry triggers campaigns is worked out as the fill would have
    (membership._triggers_sql): not for a rule's entry, unless the contact's data
    changed after the rule did."""
    if segment.history_owed_at is None:
        return
    moment = connection.ops.adapt_datetimefield_value
    if segment.rule_changed_at is None:
        triggers, join, params = "m.source <> %s", "", [Source.RULE]
    else:
        triggers = "(m.source <> %s OR c.updated_at > %s)"
        join = f" JOIN {CONTACT_TABLE} c ON c.id = m.contact_id"
        params = [Source.RULE, moment(segment.rule_changed_at)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {CHANGE_TABLE} (segment_id, contact_id, action, source, triggers, at) "
            f"SELECT m.segment_id, m.contact_id, 'entered', m.source, {triggers}, m.joined_at "
            f"FROM {MEMBER_TABLE} m{join} WHERE m.segment_id = %s AND m.joined_at = %s "
            "ORDER BY m.contact_id",
            (*params, segment.pk, moment(segment.history_owed_at)),
        )
        written = cursor.rowcount
        cursor.execute(
            f"UPDATE {SEGMENT_TABLE} SET history_owed_at = NULL WHERE id = %s", (segment.pk,)
        )
    segment.history_owed_at = None
    if written:  # some entries may trigger campaigns: wake who listens
        entries.entered(segment.workspace_id, segment.pk)

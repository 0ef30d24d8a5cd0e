"""Stored membership of segments, and how it follows the data.

- A filter segment's rule change refreshes it whole: who enters and who leaves is
  computed by the database (INSERT ... SELECT / DELETE ... anti-join), never row by
  row in Python. On PostgreSQL the member rows and their history rows are written by
  one statement (a data-modifying CTE), so they cannot disagree.
- A data change (contact fields, tags, events, devices) re-evaluates only the changed
  contacts, and only against the rules that read what changed (rules.reads); then
  the segments whose rules name a segment that changed, in dependency order. The ids
  travel as ONE parameter (query.ids_in); on PostgreSQL who leaves, who enters, their
  history and the count are one statement per segment (_move), and the segments of a
  batch share one transaction (one_transaction), with JIT off. For a few contacts
  (MANY_RULES_UP_TO) the rules of one dependency level go together instead
  (segments.membership_many: a fixed number of statements however many rules).
- A rule is compiled to SQL once and kept while nothing it depends on changed
  (segments.compiled); rules that move with the clock compile every time.
- Entries caused by a rule change are stored with triggers=False, so campaigns
  triggered by the segment ignore them (api.md).

Every write to a segment's members takes the segment's row lock first, so refreshes
of one segment never interleave.
"""

from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef
from django.utils import timezone

from contacts.changes import Change
from contacts.models import Contact
from segments import compiled, entries, membership_many, owed_history, rules
from segments.models import Segment, SegmentChange, SegmentMember, Source
from segments.query import Catalog, ids_in, ids_sql, load_catalog

MEMBER_TABLE = SegmentMember._meta.db_table
CHANGE_TABLE = SegmentChange._meta.db_table
CONTACT_TABLE = Contact._meta.db_table
SEGMENT_TABLE = Segment._meta.db_table
# Contacts re-evaluated per statement (one array parameter, however many): the
# default MEMBERSHIP_FULL_REFRESH_AFTER, so a pass's ids usually go in one.
REFRESH_BATCH = 20_000
# After a refresh that moved this many rows, PostgreSQL's
# statistics of the members table are stale until autovacuum comes round; the next
# anti-join planned on them picks a nested loop that takes minutes instead of a
# second (seen at 100,000).
ANALYZE_AFTER = 10_000
# Or after small refreshes that together moved this share of the table (and at
# least ANALYZE_MIN_ROWS rows): statistics counted on a much smaller table.
STALE_SHARE = 0.2
ANALYZE_MIN_ROWS = 1_000
# Up to this many contacts, the rules of a dependency level are evaluated together
# (segments.membership_many: a fixed number of statements, however many rules);
# past it, segment by segment (one statement each over the ids, nearer raw SQL).
MANY_RULES_UP_TO = 100
# A manual add of this many contacts or more (PostgreSQL) commits its members and
# count and leaves their history to a worker (add_members' `write_behind`): the
# history rows cost as much as the member rows (each lands on a page of its own of
# the history's by-contact index; at 1M contacts 10,000 emails took 1.42x a bare
# INSERT of the members with them). Fewer are written with their history, as ever.
WRITE_BEHIND_AFTER = 1_000


@dataclass
class Diff:
    entered: int = 0
    left: int = 0


@dataclass
class PassResult:
    """What one refresh pass did, per segment id."""

    diffs: dict[int, Diff] = field(default_factory=dict)

    def add(self, segment_id: int, diff: Diff) -> None:
        if diff.entered or diff.left:
            self.diffs[segment_id] = diff


def attribute_types(workspace_id: int) -> dict:
    from contacts.models import CustomAttribute

    return {
        a.key.lower(): (a.key, a.type)
        for a in CustomAttribute.objects.filter(workspace_id=workspace_id)
    }


def _sql(queryset) -> tuple[str, tuple]:
    return queryset.query.sql_with_params()


def _execute(sql: str, params) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _db_moment(now: datetime):
    """`now` as the ORM would store it. Raw SQL skips the ORM's adaptation, and on
    SQLite the driver would write "...+00:00", which never equals (and sorts after)
    the ORM's own "YYYY-MM-DD HH:MM:SS.ffffff" text, so keyset pages and equality
    lookups on joined_at / at would miss rows."""
    return connection.ops.adapt_datetimefield_value(now)


HISTORY = f"INSERT INTO {CHANGE_TABLE} (segment_id, contact_id, action, source, triggers, at) "


def _entering_sql(entering) -> tuple[str, tuple] | None:
    """The SELECT of `entering` (a values('id') queryset), or None when it selects
    nobody for sure (e.g. an empty id list: no SQL for it)."""
    try:
        return _sql(entering)
    except EmptyResultSet:
        return None


def _where(queryset) -> tuple[str, tuple] | None:
    """The WHERE clause of a queryset on the members table, with the table named as
    itself, to DELETE from it directly (None: it selects nobody). (A `contact_id IN
    (SELECT ... FROM members)` self-join is planned as a nested loop when the table's
    statistics are stale, as they are right after a big insert: minutes instead of
    milliseconds at 100,000.)"""
    query = queryset.query
    try:
        sql, params = query.get_compiler(connection=connection).compile(query.where)
    except EmptyResultSet:
        return None
    return sql, tuple(params)


def _triggers_sql(triggers: bool, data_changed_after: datetime | None) -> tuple[str, tuple]:
    """With triggers=False and `data_changed_after`, an entry still triggers when the
    contact's data changed after that moment: it entered because of that change, not
    because of the rule's. (Only then does the history read the contact, `c`.)"""
    if triggers or data_changed_after is None:
        return "%s", (triggers,)
    return "(c.updated_at > %s)", (_db_moment(data_changed_after),)


def _contact_join(trig_sql: str) -> str:
    """The join the history's triggers flag needs: none when the flag is a constant
    (a manual add, a data change), which spares a pass over the contacts table (a
    sequential scan of it at 100,000 contacts, for 10,000 emails added by hand)."""
    return f" JOIN {CONTACT_TABLE} c ON c.id = m.contact_id" if "c." in trig_sql else ""


def _move(
    segment: Segment,
    *,
    select: tuple[str, tuple] | None = None,
    where: tuple[str, tuple] | None = None,
    source: str,
    triggers: bool,
    now: datetime,
    data_changed_after: datetime | None = None,
    owe_history: bool = False,
) -> Diff:
    """Add the contacts `select` selects (SQL of a SELECT of their ids, non-members)
    and remove the member rows `where` matches (SQL of a WHERE on the members table,
    this segment's rows), with their history rows and the segment's count; None: no
    one. The caller holds the segment's lock. On PostgreSQL this is ONE statement
    (data-modifying CTEs); SQLite runs its parts. History rows are written in contact
    order, whatever order the plan found them in (readers of the history page by id);
    so are the members: their index on the contact alone spans every membership of
    the workspace, and entries in contact order touch each of its pages once (a new
    segment of 510,000 members: 3.6 s, against 6.1 s in the order of the rule's
    index, which read and wrote 400,000 of its pages in and out of the cache).
    With `owe_history` (PostgreSQL, a fill from empty) the entries' history is left
    owed on the segment's row instead (settle_history)."""
    now = _db_moment(now)
    trig_sql, trig_params = _triggers_sql(triggers, data_changed_after)
    if connection.vendor != "postgresql":
        diff = Diff(
            left=_leave_sqlite(segment, where, source=source, now=now),
            entered=_enter_sqlite(segment, select, source, (trig_sql, trig_params), now),
        )
        _bump_count(segment, diff, now)
        return diff
    nobody = "SELECT NULL::bigint AS contact_id WHERE false"
    parts, params = [], []
    if where is None:
        parts.append(f"gone AS ({nobody})")
    else:
        parts += [
            f"gone AS (DELETE FROM {MEMBER_TABLE} WHERE {where[0]} RETURNING contact_id)",
            f"gone_h AS ({HISTORY} SELECT %s, contact_id, 'left', %s, true, %s FROM gone "
            "ORDER BY contact_id)",
        ]
        params += [*where[1], segment.pk, source, now]
    if select is None:
        parts.append(f"added AS ({nobody})")
    else:
        parts.append(
            f"added AS (INSERT INTO {MEMBER_TABLE} (segment_id, contact_id, joined_at, source) "
            f"SELECT %s, e.id, %s, %s FROM ({select[0]}) e ORDER BY e.id RETURNING contact_id)"
        )
        params += [segment.pk, now, source, *select[1]]
        if not owe_history:
            parts.append(
                f"added_h AS ({HISTORY} SELECT %s, m.contact_id, 'entered', %s, {trig_sql}, %s "
                f"FROM added m{_contact_join(trig_sql)} ORDER BY m.contact_id)"
            )
            params += [segment.pk, source, *trig_params, now]
    parts.append(
        "n AS (SELECT (SELECT count(*) FROM added) AS e, (SELECT count(*) FROM gone) AS l)"
    )
    owed = ", history_owed_at = %s" if owe_history else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH {', '.join(parts)} UPDATE {SEGMENT_TABLE} s "
            f"SET member_count = s.member_count + n.e - n.l, refreshed_at = %s{owed} "
            "FROM n WHERE s.id = %s RETURNING n.e, n.l",
            (*params, now, *([now] if owe_history else []), segment.pk),
        )
        entered, left = cursor.fetchone()
    return Diff(entered=entered, left=left)


def _enter_sqlite(segment: Segment, select, source: str, trig, now) -> int:
    if select is None:
        return 0
    added = _execute(
        f"INSERT INTO {MEMBER_TABLE} (segment_id, contact_id, joined_at, source) "
        f"SELECT %s, e.id, %s, %s FROM ({select[0]}) e ORDER BY e.id",
        (segment.pk, now, source, *select[1]),
    )
    # SQLite writes one transaction at a time, so the rows that joined at `now`
    # under this segment's lock are exactly the ones just inserted; their history in
    # the order they were (an index in another order may drive the join).
    _execute(
        f"{HISTORY} SELECT %s, m.contact_id, 'entered', %s, {trig[0]}, %s "
        f"FROM {MEMBER_TABLE} m{_contact_join(trig[0])} "
        "WHERE m.segment_id = %s AND m.joined_at = %s ORDER BY m.id",
        (segment.pk, source, *trig[1], now, segment.pk, now),
    )
    return added


def _leave_sqlite(segment: Segment, where, *, source: str, now) -> int:
    if where is None:
        return 0
    where_sql, where_params = where
    _execute(
        f"{HISTORY} SELECT %s, contact_id, 'left', %s, 1, %s FROM {MEMBER_TABLE} WHERE {where_sql}",
        (segment.pk, source, now, *where_params),
    )
    return _execute(f"DELETE FROM {MEMBER_TABLE} WHERE {where_sql}", where_params)


def _bump_count(segment: Segment, diff: Diff, now) -> None:
    _execute(
        f"UPDATE {SEGMENT_TABLE} SET member_count = member_count + %s, refreshed_at = %s "
        "WHERE id = %s",
        (diff.entered - diff.left, now, segment.pk),
    )


def rule_session() -> None:
    """For the rest of the current transaction, no JIT compilation on PostgreSQL: the
    engine's rule queries are short, and compiling them cost more than it saved
    (250 ms of a 1.2 s preview at a million contacts)."""
    if connection.vendor == "postgresql":
        _execute("SET LOCAL jit = off", ())


@contextmanager
def one_transaction():
    """All the segments of a batch in one transaction: no commit per segment (each
    still takes its segment's lock first, kept to the end), and no JIT."""
    with transaction.atomic():
        rule_session()
        yield


def add_members(
    segment: Segment, entering, *, source: str, triggers: bool = True, write_behind: bool = False
) -> int:
    """Make the contacts of `entering` (a values("id") queryset, not yet members)
    members of `segment`, with history and count, under the segment's lock.

    With `write_behind` (PostgreSQL; a caller that wakes a worker after the commit
    when WRITE_BEHIND_AFTER or more joined), a large add commits its members and
    count and leaves their history owed (segments.owed_history) to that worker."""
    now = timezone.now()
    owe = write_behind and triggers and connection.vendor == "postgresql"
    with transaction.atomic():
        locked = owed_history.lock(segment.pk)
        diff = _move(
            segment,
            select=_entering_sql(entering),
            source=source,
            triggers=triggers,
            now=now,
            owe_history=owe,
        )
        if owe and diff.entered < WRITE_BEHIND_AFTER:  # a small add: its history now
            locked.history_owed_at = now
            owed_history.settle_history(locked)
        elif diff.entered and triggers and not owe:
            entries.entered(segment.workspace_id, segment.pk)
    return diff.entered


def remove_members(segment: Segment, leaving, *, source: str) -> int:
    """Remove the member rows of `leaving` (a queryset of this segment's members),
    with history and count, under the segment's lock."""
    with transaction.atomic():
        owed_history.lock(segment.pk)
        diff = _move(
            segment, where=_where(leaving), source=source, triggers=True, now=timezone.now()
        )
    return diff.left


def refresh_filter_segment(
    segment: Segment,
    *,
    source: str,
    contact_ids: list[int] | None = None,
    catalog: Catalog | None = None,
    now: datetime | None = None,
) -> Diff:
    """Bring a filter segment's members in line with its rule, for all contacts or
    only `contact_ids`. Entries from a rule change do not trigger campaigns.

    A whole refresh of an empty segment (a new one, a rule that matched nobody) on
    PostgreSQL, in a transaction of its own, commits its members and count first and
    their history right after (settle_history): the members are what a new segment
    must show within 5 seconds (api.md), and their history rows cost as much again."""
    now = now or timezone.now()
    outermost = not connection.in_atomic_block
    owe_history = False
    # Inside a batch's transaction (one_transaction) no savepoint: a failure fails
    # the batch, which is done again whole.
    with transaction.atomic(savepoint=False):
        if outermost:
            rule_session()
        segment = owed_history.lock(segment.pk)
        if not segment.is_filter or not segment.conditions:
            return Diff()
        if catalog is None:
            catalog = load_catalog(segment.workspace_id)
        rule = compiled.rule_sql(segment.conditions, vocabulary=catalog, now=now)
        owe_history = (
            outermost
            and contact_ids is None
            and segment.member_count == 0
            and connection.vendor == "postgresql"
        )
        diff = _move(
            segment,
            select=_rule_entering(segment, rule, contact_ids),
            where=_rule_leaving(segment, rule, contact_ids),
            source=source,
            triggers=source != Source.RULE,
            now=now,
            data_changed_after=segment.rule_changed_at,
            owe_history=owe_history,
        )
        if diff.entered and not owe_history:  # some may trigger campaigns: wake who listens
            entries.entered(segment.workspace_id, segment.pk)
    if owe_history:  # (nobody entered: the mark is cleared all the same)
        owed_history.settle(segment.pk)
    _moved(diff.entered + diff.left)
    return diff


def _rule_entering(segment: Segment, rule, contact_ids) -> tuple[str, tuple]:
    """The SELECT of the contacts (of `contact_ids`, or all) the rule selects that
    are not members yet. Written out, not built with the ORM: the rule's SQL comes
    compiled (segments.compiled), and the ORM would spend as long again around it."""
    parts = [f'"{CONTACT_TABLE}"."workspace_id" = %s', rule.sql]
    params = [segment.workspace_id, *rule.params]
    if contact_ids is not None:
        sql, ids_params = ids_sql(f'"{CONTACT_TABLE}"."id"', contact_ids, connection.vendor)
        parts.insert(1, sql)
        params[1:1] = ids_params
    parts.append(
        f"NOT EXISTS (SELECT 1 FROM {MEMBER_TABLE} kith_m WHERE kith_m.segment_id = %s "
        f'AND kith_m.contact_id = "{CONTACT_TABLE}"."id")'
    )
    params.append(segment.pk)
    return f'SELECT "{CONTACT_TABLE}"."id" FROM "{CONTACT_TABLE}" WHERE {" AND ".join(parts)}', (
        tuple(params)
    )


def _rule_leaving(segment: Segment, rule, contact_ids) -> tuple[str, tuple]:
    """The WHERE, on the members table named as itself, of this segment's members (of
    `contact_ids`, or all) the rule no longer selects (see _where for why not a
    self-join)."""
    member = f'"{MEMBER_TABLE}"'
    parts, params = [f'{member}."segment_id" = %s'], [segment.pk]
    if contact_ids is not None:
        sql, ids_params = ids_sql(f'{member}."contact_id"', contact_ids, connection.vendor)
        parts.append(sql)
        params += ids_params
    parts.append(
        f'NOT EXISTS (SELECT 1 FROM "{CONTACT_TABLE}" WHERE "{CONTACT_TABLE}"."id" = '
        f'{member}."contact_id" AND {rule.sql})'
    )
    params += rule.params
    return " AND ".join(parts), tuple(params)


_moved_since_analyze = 0  # rows this process moved since its last ANALYZE
_stale_at = ANALYZE_MIN_ROWS  # ... that make the statistics stale (from the table's size)


def _moved(rows: int) -> None:
    """Count rows moved. One refresh that moved ANALYZE_AFTER rows, or small ones
    (an import of a few thousand, a day of single changes) that together moved
    STALE_SHARE of the table as its statistics last counted it, make them stale:
    ANALYZE the members table. (Small moves on a big table leave its statistics
    true: no ANALYZE then, which would cost every pass.) After the commit (at once
    outside a transaction): inside a batch's transaction it would hold its lock on
    the table until the end."""
    global _moved_since_analyze, _stale_at
    if connection.vendor != "postgresql" or not rows:
        return
    _moved_since_analyze += rows
    if rows < ANALYZE_AFTER and _moved_since_analyze < _stale_at:
        return
    # The table's size is read only when the count passes the last bar set from it.
    _stale_at = max(ANALYZE_MIN_ROWS, STALE_SHARE * _members_counted())
    if rows >= ANALYZE_AFTER or _moved_since_analyze >= _stale_at:
        _moved_since_analyze = 0
        transaction.on_commit(_analyze_members)


def _members_counted() -> float:
    """The members table's row count as its statistics have it (0: never counted)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [MEMBER_TABLE])
        row = cursor.fetchone()
    return max(row[0], 0) if row else 0


def _analyze_members() -> None:
    _execute(f"ANALYZE {MEMBER_TABLE}", ())


# ---------------------------------------------------------------- dependency order


def dependency_order(segments: list[Segment]) -> list[Segment]:
    """Segments sorted so that each comes after the segments its rule names."""
    by_id = {s.pk: s for s in segments}
    ordered, done, visiting = [], set(), set()

    def visit(segment: Segment) -> None:
        if segment.pk in done or segment.pk in visiting:
            return
        visiting.add(segment.pk)
        for ref in rules.segment_refs(segment.conditions):
            if ref in by_id:
                visit(by_id[ref])
        visiting.discard(segment.pk)
        done.add(segment.pk)
        ordered.append(segment)

    for segment in segments:
        visit(segment)
    return ordered


def filter_segments(workspace_id: int) -> list[Segment]:
    return dependency_order(
        list(
            Segment.objects.filter(
                workspace_id=workspace_id, kind=Segment.Kind.FILTER, conditions__isnull=False
            ).order_by("pk")
        )
    )


def affected(reads: rules.Reads, change: Change, changed_segments: set[int]) -> bool:
    if change.created or change.deleted:
        return True
    return bool(
        reads.fields & {name.lower() for name in change.fields}
        or (change.tags and reads.tags)
        or reads.event_names & change.event_names
        or (change.devices and reads.devices)
        or reads.segments & changed_segments
    )


def refresh_contacts(
    workspace_id: int,
    contact_ids: list[int],
    change: Change,
    *,
    changed_segments: set[int] | None = None,
    source: str = Source.DATA,
    catalog: Catalog | None = None,
    tick=None,
) -> PassResult:
    """Re-evaluate these contacts against the filter segments that can be affected by
    `change` (or that name a segment in `changed_segments`), dependencies first, in
    one transaction. `tick()`, when given, is called between steps (the worker renews
    its lease)."""
    result = PassResult()
    changed_segments = set(changed_segments or ())
    catalog = catalog or load_catalog(workspace_id)
    together = len(contact_ids) <= MANY_RULES_UP_TO and source != Source.RULE
    with one_transaction():
        for level in dependency_levels(filter_segments(workspace_id)):
            chosen = [
                s for s in level if affected(rules.reads(s.conditions), change, changed_segments)
            ]
            if together and len(chosen) > 1:
                diffs = _refresh_level(chosen, contact_ids, source=source, catalog=catalog)
            else:
                diffs = {
                    s.pk: refresh_filter_segment_in_batches(
                        s, source=source, contact_ids=contact_ids, catalog=catalog
                    )
                    for s in chosen
                }
            for segment_id, diff in diffs.items():
                merge_diff(result, segment_id, diff)
                if diff.entered or diff.left:
                    changed_segments.add(segment_id)
            if tick is not None:
                tick()
    return result


def _refresh_level(segments, contact_ids, *, source: str, catalog: Catalog) -> dict[int, Diff]:
    """The segments of one dependency level for a few contacts, all rules at once
    (segments.membership_many): what refresh_filter_segment does for each."""
    now = timezone.now()
    moved = membership_many.refresh_level(
        [s.pk for s in segments],
        contact_ids,
        workspace_id=segments[0].workspace_id,
        vocabulary=catalog,
        source=source,
        now=now,
        db_now=_db_moment(now),
    )
    _moved(sum(m.entered + m.left for m in moved.values()))
    return {pk: Diff(m.entered, m.left) for pk, m in moved.items()}


def dependency_levels(ordered: list[Segment]) -> list[list[Segment]]:
    """`ordered` (dependency order) in levels: a segment's level is one past the
    highest of the segments its rule names (0 when it names none of them), so no
    segment names another of its level, and each level follows those it names."""
    level_of: dict[int, int] = {}
    levels: list[list[Segment]] = []
    for segment in ordered:
        named = [level_of[ref] for ref in rules.segment_refs(segment.conditions) if ref in level_of]
        level = 1 + max(named) if named else 0
        level_of[segment.pk] = level
        if level == len(levels):
            levels.append([])
        levels[level].append(segment)
    return levels


def refresh_filter_segment_in_batches(
    segment: Segment, *, source: str, contact_ids: list[int], catalog: Catalog
) -> Diff:
    """refresh_filter_segment over many contacts, REFRESH_BATCH at a time."""
    total = Diff()
    for start in range(0, len(contact_ids), REFRESH_BATCH):
        diff = refresh_filter_segment(
            segment,
            source=source,
            contact_ids=contact_ids[start : start + REFRESH_BATCH],
            catalog=catalog,
        )
        total = Diff(total.entered + diff.entered, total.left + diff.left)
    return total


def merge_diff(result: PassResult, segment_id: int, diff: Diff) -> None:
    total = result.diffs.get(segment_id, Diff())
    result.add(segment_id, Diff(total.entered + diff.entered, total.left + diff.left))


def refresh_segment_and_dependents(segment: Segment, *, source: str) -> PassResult:
    """A whole refresh of `segment` (its rule changed, or time passed), then of the
    segments whose rules name it, directly or through others, in dependency order."""
    result = PassResult()
    result.add(segment.pk, refresh_filter_segment(segment, source=source))
    changed = {segment.pk}
    for other in filter_segments(segment.workspace_id):
        if other.pk != segment.pk and rules.segment_refs(other.conditions) & changed:
            diff = refresh_filter_segment(other, source=source)
            result.add(other.pk, diff)
            changed.add(other.pk)
    return result


def refresh_time_based(workspace_id: int | None = None) -> PassResult:
    """Refresh the rules whose truth moves with the clock (relative dates)."""
    result = PassResult()
    segments = Segment.objects.filter(kind=Segment.Kind.FILTER, conditions__isnull=False)
    if workspace_id is not None:
        segments = segments.filter(workspace_id=workspace_id)
    by_workspace = defaultdict(list)
    for segment in segments:
        by_workspace[segment.workspace_id].append(segment)
    for segments_of_workspace in by_workspace.values():
        for segment in dependency_order(segments_of_workspace):
            if rules.reads(segment.conditions).time_based:
                result.diffs.update(
                    refresh_segment_and_dependents(segment, source=Source.SCHEDULE).diffs
                )
    return result


def forget_contacts(workspace_id: int, contact_ids: list[int]) -> None:
    """Contacts are about to be deleted: their member rows go with them (CASCADE), so
    take them off the stored counts now, in the same transaction."""
    gone = (
        SegmentMember.objects.filter(ids_in("contact_id", contact_ids))
        .values("segment_id")
        .annotate(n=Count("id"))
        .order_by("segment_id")
    )
    for row in gone:
        Segment.objects.filter(pk=row["segment_id"]).update(
            member_count=F("member_count") - row["n"]
        )


def forget_missing(contact_ids: list[int]) -> int:
    """Member rows of deleted contacts that are still there: a write that read the
    contact before its deletion committed added them after it (no foreign key stops
    it; SegmentMember's DERIVED). The deletion's pass takes them out of every segment,
    filter and manual, with their count, under each segment's lock, and without a
    history row (the contact's history went with it). How many rows went."""
    stray = SegmentMember.objects.filter(ids_in("contact_id", contact_ids)).exclude(
        Exists(Contact.objects.filter(pk=OuterRef("contact_id")))
    )
    segment_ids = sorted(set(stray.values_list("segment_id", flat=True)))
    removed = 0
    for segment_id in segment_ids:
        with transaction.atomic():
            try:
                owed_history.lock(segment_id)
            except Segment.DoesNotExist:
                continue
            gone, _ = stray.filter(segment_id=segment_id).delete()
            Segment.objects.filter(pk=segment_id).update(member_count=F("member_count") - gone)
            removed += gone
    return removed

"""A few changed contacts against many rules at once (one dependency level).

One contact's score changed under 200 rules took 200 x (the segment's lock + one
statement). Here the segments of one level (none names another of the level) go
together, whatever their number, in a fixed number of statements:
1. their row locks, one SELECT ... FOR UPDATE (in id order), which also reads their
   rules as they are now;
2. every rule evaluated for the contacts in one SELECT (id, (rule 1), (rule 2)...),
   a chunk of rules at a time;
3. the current membership of those contacts in those segments, one SELECT;
4. the differences written: one DELETE, one INSERT, one INSERT of their history
   (left first, then entered, each in contact order), and one UPDATE of the counts
   and refreshed_at of every segment evaluated.
What it writes is exactly what membership.refresh_filter_segment would, segment by
segment (tests/segments/test_membership_many.py compares them on random rules), for
data changes, whose entries trigger campaigns: a rule change's entries (triggers
false unless the contact's data changed since) go segment by segment.
"""

import json
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from contacts.models import Contact
from segments import compiled, entries
from segments.conditions import Vocabulary
from segments.models import Segment, SegmentChange, SegmentMember
from segments.owed_history import settle_history
from segments.query import ids_sql

MEMBER_TABLE = SegmentMember._meta.db_table
CHANGE_TABLE = SegmentChange._meta.db_table
CONTACT_TABLE = Contact._meta.db_table
SEGMENT_TABLE = Segment._meta.db_table
# Rules per evaluating SELECT: SQLite allows 2,000 result columns, and a statement of
# a few hundred subqueries still plans in milliseconds on PostgreSQL.
RULES_PER_STATEMENT = 100


@dataclass
class Moved:
    entered: int = 0
    left: int = 0


def refresh_level(
    segment_ids: list[int],
    contact_ids: list[int],
    *,
    workspace_id: int,
    vocabulary: Vocabulary,
    source: str,
    now: datetime,
    db_now,
) -> dict[int, Moved]:
    """Bring the membership of `contact_ids` in the segments `segment_ids` (filter
    segments of one dependency level) in line with their rules; what moved, per
    segment. `db_now` is `now` as stored (membership._db_moment). The caller's
    transaction holds the locks to its end."""
    segments = _lock(segment_ids)
    segments = [s for s in segments if s.is_filter and s.conditions]
    if not segments or not contact_ids:
        return {}
    wanted = _evaluate(segments, contact_ids, workspace_id, vocabulary, now)
    have = _current(segments, contact_ids)
    leaving = sorted(have - wanted)  # (segment id, contact id)
    entering = sorted(wanted - have)
    _write(segments, leaving, entering, source=source, db_now=db_now)
    moved = {s.pk: Moved() for s in segments}
    for segment_id, _contact in entering:
        moved[segment_id].entered += 1
    for segment_id, _contact in leaving:
        moved[segment_id].left += 1
    for segment_id, diff in moved.items():
        if diff.entered:
            entries.entered(workspace_id, segment_id)
    return moved


def _lock(segment_ids: list[int]) -> list[Segment]:
    """The segments' row locks in one statement, in id order (as every writer of
    several takes them), and their rows as they are under the lock."""
    segments = list(Segment.objects.select_for_update().filter(pk__in=segment_ids).order_by("pk"))
    for segment in segments:  # history a fill from empty left owed comes first
        settle_history(segment)
    return segments


def _ids(column: str, ids) -> tuple[str, list]:
    return ids_sql(column, sorted(ids), connection.vendor)


def _evaluate(segments, contact_ids, workspace_id, vocabulary, now) -> set[tuple[int, int]]:
    """(segment id, contact id) of every contact of the workspace each rule selects."""
    contact = f'"{CONTACT_TABLE}"'
    ids, ids_params = _ids(f"{contact}.id", contact_ids)
    selected = set()
    for start in range(0, len(segments), RULES_PER_STATEMENT):
        chunk = segments[start : start + RULES_PER_STATEMENT]
        columns, params = [], []
        for segment in chunk:
            rule = compiled.rule_sql(segment.conditions, vocabulary=vocabulary, now=now)
            columns.append(f"CASE WHEN {rule.sql} THEN 1 ELSE 0 END")
            params += rule.params
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {contact}.id, {', '.join(columns)} FROM {contact} "
                f"WHERE {contact}.workspace_id = %s AND {ids}",
                [*params, workspace_id, *ids_params],
            )
            for row in cursor.fetchall():
                selected.update(
                    (segment.pk, row[0]) for segment, hit in zip(chunk, row[1:], strict=True) if hit
                )
    return selected


def _current(segments, contact_ids) -> set[tuple[int, int]]:
    segment_in, segment_params = _ids("segment_id", [s.pk for s in segments])
    contact_in, contact_params = _ids("contact_id", contact_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT segment_id, contact_id FROM {MEMBER_TABLE} "
            f"WHERE {segment_in} AND {contact_in}",
            [*segment_params, *contact_params],
        )
        return set(cursor.fetchall())


def _rows(columns: dict[str, str], rows: list[tuple]) -> tuple[str, list]:
    """A FROM item of `rows` (tuples in the order of `columns`, name: SQL type) passed
    as ONE parameter, a JSON list."""
    payload = json.dumps(rows)
    if connection.vendor == "postgresql":
        names = ", ".join(columns)
        picked = ", ".join(f"(r ->> {i})::{kind}" for i, kind in enumerate(columns.values()))
        return (
            f"(SELECT {picked} FROM jsonb_array_elements(%s::jsonb) AS e(r)) AS x({names})",
            [payload],
        )
    picked = ", ".join(f"json_extract(value, '$[{i}]') AS {n}" for i, n in enumerate(columns))
    return f"(SELECT {picked} FROM json_each(%s)) AS x", [payload]


def _write(segments, leaving, entering, *, source: str, db_now) -> None:
    """The differences: member rows, their history, and every segment's count and
    refreshed_at (evaluated now, moved or not, as a refresh of each would)."""
    with connection.cursor() as cursor:
        if leaving:
            pairs, params = _rows({"s": "bigint", "c": "bigint"}, leaving)
            cursor.execute(
                f"DELETE FROM {MEMBER_TABLE} WHERE id IN (SELECT m.id FROM {MEMBER_TABLE} m "
                f"JOIN {pairs} ON m.segment_id = x.s AND m.contact_id = x.c)",
                params,
            )
        if entering:
            pairs, params = _rows({"s": "bigint", "c": "bigint"}, entering)
            cursor.execute(
                f"INSERT INTO {MEMBER_TABLE} (segment_id, contact_id, joined_at, source) "
                f"SELECT x.s, x.c, %s, %s FROM {pairs} ORDER BY x.s, x.c",
                [db_now, source, *params],
            )
        history = [(s, c, "left", i) for i, (s, c) in enumerate(leaving)]
        history += [(s, c, "entered", len(leaving) + i) for i, (s, c) in enumerate(entering)]
        if history:
            rows, params = _rows({"s": "bigint", "c": "bigint", "a": "text", "o": "int"}, history)
            cursor.execute(
                f"INSERT INTO {CHANGE_TABLE} "
                "(segment_id, contact_id, action, source, triggers, at) "
                f"SELECT x.s, x.c, x.a, %s, %s, %s FROM {rows} ORDER BY x.s, x.o",
                [source, True, db_now, *params],
            )
        _counts(cursor, segments, leaving, entering, db_now)


def _counts(cursor, segments, leaving, entering, db_now) -> None:
    delta = {s.pk: 0 for s in segments}
    for segment_id, _contact in entering:
        delta[segment_id] += 1
    for segment_id, _contact in leaving:
        delta[segment_id] -= 1
    rows, params = _rows({"s": "bigint", "d": "int"}, sorted(delta.items()))
    cursor.execute(
        f"UPDATE {SEGMENT_TABLE} SET refreshed_at = %s, member_count = member_count + "
        f"(SELECT x.d FROM {rows} WHERE x.s = {SEGMENT_TABLE}.id) "
        f"WHERE id IN (SELECT x.s FROM {rows})",
        [db_now, *params, *params],
    )

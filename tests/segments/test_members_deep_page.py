"""A deep page of a segment's members, where thousands share one joined_at (a filter
segment's members all join in one refresh): the keyset condition is an index range
on (segment, joined_at desc, id desc), not a walk through every member that joined
at that moment (PostgreSQL's plan)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from segments.models import SegmentMember
from segments.selectors.members import MEMBER_ORDER, segment_members_page
from tests.factories import ContactFactory, SegmentFactory, WorkspaceFactory
from workspaces.keyset import cursor_after

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan"),
]


def test_the_next_page_is_an_index_range_when_members_share_joined_at():
    workspace = WorkspaceFactory()
    segment = SegmentFactory(workspace=workspace)
    now = timezone.now()
    people = [ContactFactory(workspace=workspace) for _ in range(5)]
    SegmentMember.objects.bulk_create(
        SegmentMember(segment=segment, contact=c, joined_at=now, source="rule") for c in people
    )
    rows = list(SegmentMember.objects.filter(segment=segment).order_by(*MEMBER_ORDER))
    with CaptureQueriesContext(connection) as queries:
        page = segment_members_page(segment, cursor=cursor_after(rows[1], MEMBER_ORDER), limit=2)
    assert page.items == rows[2:4]
    (sql,) = [q["sql"] for q in queries]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    index_cond = [line for line in plan.splitlines() if "Index Cond" in line]
    assert index_cond and "ROW(joined_at, id)" in index_cond[0].replace('"', ""), plan

"""The Members tab's order (selectors.MEMBER_ORDER) is read from migration 0005's
index on PostgreSQL: a page of 51 rows without sorting every member (issue 23: 432 ms
at 478,000 members, 32 ms with the index)."""

import pytest
from django.db import connection
from django.utils import timezone

from segments import selectors, services
from segments.models import SegmentMember
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_the_members_tab_reads_its_order_from_the_index(workspace):
    hand = services.segment_create(workspace=workspace, name="Hand", kind="manual")
    people = ContactFactory.create_batch(3, workspace=workspace)
    now = timezone.now()
    SegmentMember.objects.bulk_create(
        SegmentMember(segment=hand, contact=c, joined_at=now, source="manual") for c in people
    )
    rows = selectors.segment_member_rows(hand).order_by(*selectors.MEMBER_ORDER)
    assert [m.contact_id for m in rows] == [c.pk for c in reversed(people)]  # same time: by id
    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    with connection.cursor() as cursor:
        # Three rows: planned as at a million (a sort is then only what no index serves).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        plan = selectors.segment_member_rows(hand).order_by(*selectors.MEMBER_ORDER)[:51].explain()
    assert "segment_member_recent" in plan and "Sort" not in plan, plan

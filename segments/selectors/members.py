"""Who is in a segment and how they came and went: member rows (searched like the
contact list), candidates to add, entries and exits, the member counts of the last
days (worked back from today's count, in one query), and a contact's side of it: its
segments and the contact page's Segments section, in a fixed number of queries."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from contacts.models import Contact
from segments.models import Segment, SegmentChange, SegmentMember
from segments.selectors.listing import manual_segment_choices
from workspaces.keyset import Page, paginate
from workspaces.models import Workspace


def segment_members(segment: Segment) -> QuerySet:
    return SegmentMember.objects.filter(segment=segment).select_related("contact")


def contact_segments(contact) -> QuerySet:
    """A contact's segments with the time it joined each, newest first."""
    return (
        SegmentMember.objects.filter(contact=contact)
        .select_related("segment")
        .order_by("-joined_at", "-id")
    )


MEMBER_ORDER = ("-joined_at", "-id")  # the index segment_member_recent's order


def segment_members_page(segment: Segment, *, cursor: str | None, limit: int) -> Page:
    """One keyset page of the API's members (api.md), newest first as on the Members
    tab: read from the index on (segment, joined_at desc, id desc) and stopped after
    `limit` rows, one query however many members, at any depth; no count. Only the
    contact fields the API shows are loaded (not its attributes)."""
    members = segment_members(segment).only(
        "id", "joined_at", "contact_id", "contact__email", "contact__external_id"
    )
    return paginate(members, order=MEMBER_ORDER, cursor=cursor, limit=limit)


def segment_member_rows(segment: Segment, q: str = "") -> QuerySet:
    """The segment's member rows with their contacts, newest first, searched like the
    contact list."""
    from contacts.selectors import contact_search

    members = SegmentMember.objects.filter(segment=segment).select_related("contact")
    q = (q or "").strip()
    if q:
        found = contact_search(Contact.objects.filter(workspace_id=segment.workspace_id), q)
        members = members.filter(contact__in=found.values("pk"))
    return members


def contact_candidates(segment: Segment, q: str, limit: int = 8) -> list[Contact]:
    """Contacts of the workspace matching `q` who are not in the segment yet, for the
    type-ahead of a manual segment's "Add people"."""
    from contacts.selectors import contact_search

    q = (q or "").strip()
    if not q:
        return []
    outside = Contact.objects.filter(workspace_id=segment.workspace_id).exclude(
        Exists(SegmentMember.objects.filter(segment=segment, contact=OuterRef("pk")))
    )
    return list(contact_search(outside, q).order_by("-id")[:limit])


CHANGE_ORDER = ("-at", "-id")


def segment_changes(segment: Segment) -> QuerySet:
    """Entries and exits of the segment, newest first, with the contact."""
    return SegmentChange.objects.filter(segment=segment).select_related("contact")


def contact_changes(contact) -> QuerySet:
    """A contact's entries into and exits from segments, newest first."""
    return SegmentChange.objects.filter(contact=contact).select_related("segment")


@dataclass
class Day:
    day: date
    members: int  # at the end of the day
    entered: int = 0
    left: int = 0


def member_history(segment: Segment, days: int, now: datetime | None = None) -> list[Day]:
    """Member counts at the end of each of the last `days` days (today included),
    worked back from today's count through the entered/left history in one query.
    Days are those of the current time zone."""
    now = timezone.localtime(now or timezone.now())
    today = now.date()
    first = today - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(first, time.min))
    per_day = (
        SegmentChange.objects.filter(segment=segment, at__gte=start)
        .annotate(day=TruncDate("at", tzinfo=timezone.get_current_timezone()))
        .values("day", "action")
        .annotate(n=Count("id"))
        .order_by()
    )
    moves: dict[date, Day] = {}
    for row in per_day:
        entry = moves.setdefault(row["day"], Day(row["day"], 0))
        if row["action"] == SegmentChange.Action.ENTERED:
            entry.entered += row["n"]
        else:
            entry.left += row["n"]
    series, count = [], segment.member_count
    for offset in range(days):
        day = today - timedelta(days=offset)
        moved = moves.get(day, Day(day, 0))
        series.append(Day(day, max(count, 0), moved.entered, moved.left))
        count -= moved.entered - moved.left  # the count at the end of the day before
    series.reverse()
    return series


def is_member(segment: Segment, contact) -> bool:
    return SegmentMember.objects.filter(segment=segment, contact=contact).exists()


CONTACT_CHANGES = 20


def contact_section(workspace: Workspace, contact) -> dict:
    """What the contact page's Segments section shows: the contact's segments, the
    manual ones it can still be added to (id and name), and its latest entries and
    exits (three queries, whatever their number)."""
    memberships = list(contact_segments(contact))
    member_of = {m.segment_id for m in memberships}
    # (id, name) pairs: all a picker of up to 500 draws (segment_tags.segment_checkboxes).
    manual = manual_segment_choices(workspace).values_list("id", "name")
    choices = [(pk, name) for pk, name in manual if pk not in member_of]
    changes = list(contact_changes(contact).order_by(*CHANGE_ORDER)[:CONTACT_CHANGES])
    return {
        "contact": contact,
        "memberships": memberships,
        "choices": choices,
        "changes": changes,
        "more_changes": len(changes) == CONTACT_CHANGES,
    }

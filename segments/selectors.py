"""Reads of segments, for the API and the pages."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, OuterRef, Prefetch, QuerySet
from django.db.models.functions import TruncDate
from django.http import Http404, QueryDict
from django.utils import timezone

from contacts.models import Contact, Topic
from segments.filters import SegmentFilter
from segments.models import Segment, SegmentChange, SegmentMember
from workspaces.errors import KithError
from workspaces.keyset import Page, page_or_first
from workspaces.models import Workspace
from workspaces.params import MAX_ID
from workspaces.scoping import get_scoped_or_404, scoped


def segments_for_api(
    workspace: Workspace, *, kind: str | None = None, archived: bool = False, q: str | None = None
) -> QuerySet:
    """The API's list (api.md): the dashboard's FilterSet on the API's parameters
    (archived ones only with archived=true; `q`, part of the name)."""
    params = QueryDict(mutable=True)
    params.update({"kind": kind or "", "status": "archived" if archived else "", "name": q or ""})
    queryset = scoped(Segment, workspace).prefetch_related("topics")
    filterset = SegmentFilter(params, queryset=queryset, workspace=workspace)
    if not filterset.is_valid():
        raise KithError(fields={name: list(msgs) for name, msgs in filterset.form.errors.items()})
    return filterset.qs


def segment_get(workspace: Workspace, segment_id: int) -> Segment:
    if not 0 < segment_id <= MAX_ID:
        raise Http404("No segment here.")
    return get_scoped_or_404(Segment.objects.prefetch_related("topics"), workspace, pk=segment_id)


def segment_members(segment: Segment) -> QuerySet:
    return SegmentMember.objects.filter(segment=segment).select_related("contact")


def contact_segments(contact) -> QuerySet:
    """A contact's segments with the time it joined each, newest first."""
    return (
        SegmentMember.objects.filter(contact=contact)
        .select_related("segment")
        .order_by("-joined_at", "-id")
    )


# ---------------------------------------------------------------- for the pages

# Keyset orders of the dashboard; the last field is unique, as workspaces.keyset needs.
DASHBOARD_SORTS = {
    "name": ("Name, A to Z", ("name", "id")),
    "-name": ("Name, Z to A", ("-name", "-id")),
    "-created": ("Newest first", ("-created_at", "-id")),
    "created": ("Oldest first", ("created_at", "id")),
    "-members": ("Most members", ("-member_count", "-id")),
    "members": ("Fewest members", ("member_count", "id")),
}
DEFAULT_DASHBOARD_SORT = "-created"


@dataclass
class SegmentListing:
    filterset: object
    queryset: QuerySet
    sort: str
    order: tuple[str, ...]

    @property
    def valid(self) -> bool:
        return self.filterset.form.is_valid()


def segment_dashboard(workspace: Workspace, params) -> SegmentListing:
    """The dashboard's segments, filtered, searched and sorted by `params`
    (request.GET), in a fixed number of queries (topics prefetched)."""
    sort = params.get("sort") if params.get("sort") in DASHBOARD_SORTS else DEFAULT_DASHBOARD_SORT
    order = DASHBOARD_SORTS[sort][1]
    queryset = scoped(Segment, workspace).prefetch_related(
        Prefetch("topics", queryset=Topic.objects.order_by("name"))
    )
    filterset = SegmentFilter(params, queryset=queryset, workspace=workspace)
    queryset = filterset.qs.distinct() if filterset.is_valid() else queryset.none()
    return SegmentListing(filterset=filterset, queryset=queryset, sort=sort, order=order)


def keyset_page(queryset: QuerySet, order: tuple, cursor, limit: int) -> tuple[Page, bool]:
    """One keyset page, and whether the cursor was bad (then the first page)."""
    return page_or_first(queryset, order=order, cursor=cursor, limit=limit)


MEMBER_ORDER = ("-joined_at", "-id")


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


def manual_segment_choices(workspace: Workspace) -> QuerySet:
    """Active manual segments, for "Add to segment" pickers."""
    return (
        scoped(Segment, workspace)
        .filter(kind=Segment.Kind.MANUAL, archived=False)
        .order_by("name", "id")
    )


def segments_with_usage(workspace: Workspace, ids) -> QuerySet:
    """The workspace's segments with these ids and what uses each (campaign links with
    their campaign, rules that name it), in three queries. Campaign links are reached
    through the reverse relation: segments imports nothing of campaigns."""
    from segments.models import SegmentDependency

    links = Segment._meta.get_field("campaign_links").related_model

    return (
        scoped(Segment, workspace)
        .filter(pk__in=ids)
        .prefetch_related(
            Prefetch(
                "campaign_links",
                queryset=links.objects.select_related("campaign").order_by("campaign_id"),
            ),
            Prefetch(
                "dependents",
                queryset=SegmentDependency.objects.select_related("segment").order_by("segment_id"),
            ),
        )
        .order_by("name", "pk")
    )


def is_member(segment: Segment, contact) -> bool:
    return SegmentMember.objects.filter(segment=segment, contact=contact).exists()


def segments_reading_attribute(attribute) -> list[str]:
    """The names of the segments whose rules read a custom attribute."""
    from segments import rules

    field = f"attributes.{attribute.key}".lower()
    segments = scoped(Segment, attribute.workspace).filter(conditions__isnull=False)
    return [
        f"segment '{s.name}'"
        for s in segments.only("name", "conditions").order_by("name")
        if field in rules.reads(s.conditions).fields
    ]

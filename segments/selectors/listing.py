"""The workspace's segments: the dashboard's list (its FilterSet, sorts and keyset
pages), the API's, one segment by id, the pickers of manual segments, and whether a
segment's count is still being calculated."""

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.http import Http404, QueryDict

from contacts.models import Topic
from segments.filters import SegmentFilter
from segments.models import PendingRefresh, Segment
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


def manual_segment_choices(workspace: Workspace) -> QuerySet:
    """Active manual segments, for "Add to segment" pickers: up to 500 drawn on the
    contact list and a contact's page, so only what a picker and the services that
    take the chosen one read (a whole row made each model take twice as long)."""
    return (
        scoped(Segment, workspace)
        .filter(kind=Segment.Kind.MANUAL, archived=False)
        .only("id", "workspace_id", "name", "kind", "archived")
        .order_by("name", "id")
    )


def mark_calculating(segments) -> None:
    """Set `calculating` on each segment: a whole refresh of it is pending (new,
    cloned, bulk-made, rule changed), so its member_count is not its count yet. The
    pages show "Calculating…" and poll segments:count until it is done."""
    segments = list(segments)
    filters = [s.pk for s in segments if s.is_filter]
    pending = set(
        PendingRefresh.objects.filter(segment_id__in=filters).values_list("segment_id", flat=True)
        if filters
        else ()
    )
    for segment in segments:
        segment.calculating = segment.pk in pending

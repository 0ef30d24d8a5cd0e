"""Reads of segments, for the API and the pages."""

from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404

from segments.models import Segment, SegmentMember
from workspaces.models import Workspace
from workspaces.scoping import get_scoped_or_404, scoped

MAX_ID = 2**63 - 1


def segment_list(
    workspace: Workspace, *, kind: str | None = None, archived: bool = False, q: str | None = None
) -> QuerySet:
    segments = scoped(Segment, workspace).filter(archived=archived).prefetch_related("topics")
    if kind:
        segments = segments.filter(kind=kind)
    if q and q.strip():
        segments = segments.filter(name__icontains=q.strip())
    return segments


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


def members_filter(workspace: Workspace, segment_id: int):
    """An EXISTS condition selecting the contacts of a segment of the workspace, for the
    contact lists' `segment=` filter; Http404 when the workspace has no such segment."""
    segment = segment_get(workspace, segment_id)
    return Exists(SegmentMember.objects.filter(segment=segment, contact=OuterRef("pk")))

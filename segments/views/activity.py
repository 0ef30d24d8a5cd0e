"""The Activity tab: the segment's audit trail (workspaces.audit), newest first: who
created, renamed, changed, archived it, which actions they ran on its members and how
each ended. Every member may read it, as they may read the segment."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from segments.views.common import render_tab, segment_or_404
from workspaces import audit
from workspaces.keyset import page_or_first
from workspaces.rendering import wants_fragment

PAGE_SIZE = 25


@require_GET
def segment_activity(request, pk):
    segment = segment_or_404(request, pk)
    page, bad_cursor = page_or_first(
        audit.subject_entries(request.workspace, audit.Subject.SEGMENT, segment.pk),
        order=audit.ORDER,
        cursor=request.GET.get("cursor"),
        limit=PAGE_SIZE,
    )
    for entry in page.items:
        entry.words = audit.words(entry, on_subject=True)
    context = {"segment": segment, "entries": page, "bad_cursor": bad_cursor}
    if wants_fragment(request) and getattr(request.htmx, "target", None) == "activity":
        return render(request, "segments/segment_activity.html#activity", context)
    return render_tab(request, "segments/segment_activity.html", context, active_tab="activity")

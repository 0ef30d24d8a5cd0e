"""The Usage tab: what uses the segment (campaigns with their role, the rules of
other segments), each with a link; while anything does, it cannot be deleted."""

from django.views.decorators.http import require_GET

from segments import selectors
from segments.views.common import render_tab, segment_or_404, url_or_none


@require_GET
def segment_usage(request, pk):
    segment = segment_or_404(request, pk)
    usage = selectors.segment_usage(segment)
    for campaign in usage["campaigns"]:
        campaign["url"] = url_or_none("campaigns:detail", campaign["id"])
    context = {"segment": segment, "usage": usage, "in_use": selectors.is_in_use(usage)}
    return render_tab(request, "segments/segment_usage.html", context, active_tab="usage")

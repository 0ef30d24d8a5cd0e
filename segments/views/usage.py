"""The Usage tab: what uses the segment (campaigns with their role, the rules of
other segments), each with a link; while anything does, it cannot be deleted."""

from django.views.decorators.http import require_GET

from segments import selectors
from segments.views.common import app_link, render_tab, segment_or_404


@require_GET
def segment_usage(request, pk):
    segment = segment_or_404(request, pk)
    users = selectors.segment_users(selectors.segment_usage(segment), link=app_link)
    context = {
        "segment": segment,
        "in_use": bool(users),
        "campaigns": [user for user in users if user.kind == "campaign"],
        "segments": [user for user in users if user.kind == "segment"],
    }
    return render_tab(request, "segments/segment_usage.html", context, active_tab="usage")

"""The History tab: members over the last 30 or 90 days as a chart, and the entries
and exits, newest first, with why each happened."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from segments import charts, selectors
from segments.views.common import render_tab, segment_or_404
from workspaces.rendering import wants_fragment

CHANGES_PAGE_SIZE = 25
HISTORY_DAYS = (30, 90)


@require_GET
def segment_history(request, pk):
    segment = segment_or_404(request, pk)
    days = int(request.GET["days"]) if request.GET.get("days") in ("30", "90") else HISTORY_DAYS[0]
    series = selectors.member_history(segment, days)
    changes, bad_cursor = selectors.keyset_page(
        selectors.segment_changes(segment),
        selectors.CHANGE_ORDER,
        request.GET.get("cursor"),
        CHANGES_PAGE_SIZE,
    )
    context = {
        "segment": segment,
        "days": days,
        "day_choices": HISTORY_DAYS,
        "series": series,
        "chart": charts.member_chart(series),
        "changes": changes,
        "bad_cursor": bad_cursor,
    }
    target = getattr(request.htmx, "target", None) if wants_fragment(request) else None
    if target == "changes":
        return render(request, "segments/segment_history.html#changes", context)
    return render_tab(request, "segments/segment_history.html", context, active_tab="history")

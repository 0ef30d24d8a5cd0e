"""The segments dashboard: the list (filters, search, sorts, keyset pages, counts
being calculated) and the bulk actions on the checked segments: archive, restore,
delete. A bulk delete asks first, on a page that says which segments go and which
stay and what uses each (the delete guard's words), then skips those in use and says
so on the list."""

from django.contrib import messages
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from segments import selectors, services
from segments.views.common import (
    add_segment_links,
    app_link,
    done,
    posted_ids,
    segments_count,
    url_or_none,
)
from workspaces.access import writer_required
from workspaces.rendering import render_page_or_fragment, safe_next

PAGE_SIZE = 50
BULK_REPORT = "segments_bulk_report"  # session key: what a bulk delete skipped, and why


@require_GET
def segment_list(request):
    listing = selectors.segment_dashboard(request.workspace, request.GET)
    page, bad_cursor = selectors.keyset_page(
        listing.queryset, listing.order, request.GET.get("cursor"), PAGE_SIZE
    )
    selectors.mark_calculating(page.items)
    add_segment_links(page.items)
    context = {
        "listing": listing,
        "filter_form": listing.filterset.form,
        "page": page,
        "bad_cursor": bad_cursor,
        # At most SEGMENT_LIMIT rows: counting them is cheap.
        "total": listing.queryset.count() if listing.valid else 0,
        "sorts": [(key, label) for key, (label, _) in selectors.DASHBOARD_SORTS.items()],
        "create_url": url_or_none("segments:create"),
        "calculating": any(segment.calculating for segment in page.items),
        "report": _bulk_report(request),
    }
    return render_page_or_fragment(request, "segments/segment_list.html", "results", context)


def _bulk_report(request) -> dict | None:
    """What the last bulk delete skipped, once: each segment with what uses it."""
    report = request.session.pop(BULK_REPORT, None) if BULK_REPORT in request.session else None
    for item in (report or {}).get("skipped", []):
        item["users"] = selectors.segment_users(item["usage"], link=app_link)
    return report


@writer_required
@require_POST
def segment_bulk(request):
    """Archive, unarchive or delete the checked segments. Deleting asks first (a
    page listing them), then skips the ones in use and says what uses them."""
    back = safe_next(request, reverse("segments:list"))
    action = request.POST.get("action")
    if action not in ("archive", "unarchive", "delete"):
        return HttpResponseBadRequest("Unknown bulk action.")
    ids = posted_ids(request)
    if not ids:
        messages.error(request, "Select at least one segment first.")
        return done(request, back)
    if action == "delete" and request.POST.get("confirm") != "yes":
        return _confirm_bulk_delete(request, ids, back)
    if action == "delete":
        result = services.segments_delete(workspace=request.workspace, ids=ids)
        if result.deleted:
            messages.success(request, f"Deleted {segments_count(len(result.deleted))}.")
        if result.skipped:
            request.session[BULK_REPORT] = {"action": "delete", "skipped": result.skipped}
        return done(request, back)
    archived = action == "archive"
    count = services.segments_set_archived(workspace=request.workspace, ids=ids, archived=archived)
    verb = "Archived" if archived else "Restored"
    messages.success(request, f"{verb} {segments_count(count)}.")
    return done(request, back)


def _confirm_bulk_delete(request, ids, back):
    """The page that asks before deleting, and says which segments will be kept."""
    chosen = selectors.segments_with_usage(request.workspace, ids)
    if not chosen:
        messages.error(request, "Those segments no longer exist.")
        return redirect(back)
    deleting, keeping = selectors.segments_delete_plan(chosen)
    for segment in keeping:
        segment.users = selectors.segment_users(segment.usage, link=app_link)
    context = {"chosen": chosen, "deleting": deleting, "keeping": keeping, "next": back}
    return render(request, "segments/segment_bulk_delete.html", context)

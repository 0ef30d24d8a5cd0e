"""The Members tab: the members (searched, keyset pages), the count alone for a poll
while it is being calculated, and for a manual segment adding people (a type-ahead of
the workspace's contacts) and removing them."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HTMX_STOP_POLLING

from contacts.views.links import add_links
from segments import selectors, services
from segments.views.common import people, posted_ids, render_tab, segment_or_404
from workspaces.access import writer_required
from workspaces.rendering import wants_fragment

MEMBERS_PAGE_SIZE = 50
CONTACT_LINK = {"contact": "contacts:detail"}  # member.links.contact
CANDIDATES = 8


COUNT_TARGETS = ("segment-member-count", "segment-count-")


def _count_fragment(request, segment):
    """The segment's member count alone, for a poll while it is being calculated:
    the header's (HX-Target segment-member-count) or the dashboard cell's
    (segment-count-<id>); 286 (htmx: stop polling) once the count is known."""
    target = request.htmx.target or ""
    template = (
        "segments/_member_count.html"
        if target == COUNT_TARGETS[0]
        else "segments/_member_count_cell.html"
    )
    response = render(request, template, {"segment": segment})
    if not segment.calculating:
        response.status_code = HTMX_STOP_POLLING
    return response


@require_GET
def segment_members(request, pk):
    segment = segment_or_404(request, pk)
    target = getattr(request.htmx, "target", None) if wants_fragment(request) else None
    if target and target.startswith(COUNT_TARGETS):
        return _count_fragment(request, segment)
    q = request.GET.get("q", "").strip()
    rows = selectors.segment_member_rows(segment, q)
    page, bad_cursor = selectors.keyset_page(
        rows, selectors.MEMBER_ORDER, request.GET.get("cursor"), MEMBERS_PAGE_SIZE
    )
    add_links(page.items, CONTACT_LINK, of=lambda member: member.contact)
    find = request.GET.get("find", "").strip()
    context = {
        "segment": segment,
        "q": q,
        "page": page,
        "bad_cursor": bad_cursor,
        "find": find,
        "candidates": selectors.contact_candidates(segment, find, CANDIDATES)
        if find and not segment.is_filter
        else [],
    }
    if target in ("member-results", "candidates"):
        part = "member_results" if target == "member-results" else "candidates"
        return render(request, f"segments/segment_members.html#{part}", context)
    return render_tab(request, "segments/segment_members.html", context, active_tab="members")


@writer_required
@require_POST
def segment_members_add(request, pk):
    segment = segment_or_404(request, pk)
    ids = posted_ids(request, limit=settings.SEGMENT_MEMBERS_MAX_BATCH)
    try:
        result = services.segment_members_add(segment=segment, lookup="id", values=ids)
    except services.SegmentError as exc:
        return _members_changed(request, segment, error=exc.message)
    notice = f"Added {people(result.changed)}." if result.changed else "Already in it."
    return _members_changed(request, segment, notice=notice)


@writer_required
@require_POST
def segment_members_remove(request, pk):
    segment = segment_or_404(request, pk)
    ids = posted_ids(request, limit=settings.SEGMENT_MEMBERS_MAX_BATCH)
    if not ids:
        return _members_changed(request, segment, error="Select the people to remove first.")
    try:
        result = services.segment_members_remove(segment=segment, lookup="id", values=ids)
    except services.SegmentError as exc:
        return _members_changed(request, segment, error=exc.message)
    return _members_changed(request, segment, notice=f"Removed {people(result.changed)}.")


def _members_changed(request, segment, *, notice=None, error=None):
    """The Members tab again (keeping the type-ahead's search, to add more), with
    what happened; without JavaScript, the page."""
    find = request.POST.get("find", "").strip()
    if not wants_fragment(request):
        if error:
            messages.error(request, error)
        else:
            messages.success(request, notice)
        url = reverse("segments:detail", args=[segment.pk])
        # The search, kept for the next person to add (a search is short: 200 at most).
        return redirect(f"{url}?{urlencode({'find': find[:200]})}" if find else url)
    segment = segment_or_404(request, segment.pk)  # the fresh member count
    rows = selectors.segment_member_rows(segment)
    page, _ = selectors.keyset_page(rows, selectors.MEMBER_ORDER, None, MEMBERS_PAGE_SIZE)
    add_links(page.items, CONTACT_LINK, of=lambda member: member.contact)
    context = {
        "segment": segment,
        "q": "",
        "page": page,
        "find": find,
        "candidates": selectors.contact_candidates(segment, find, CANDIDATES) if find else [],
        "notice": notice,
        "error": error,
    }
    return render_tab(
        request, "segments/segment_members.html", context, active_tab="members", oob_count=True
    )

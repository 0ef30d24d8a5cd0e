"""The contact page's side of segments: its Segments section (current segments,
entries and exits, "Add to segment"), adding the contact to manual segments and
removing it, and why it is (or is not) in a filter segment, condition by condition
in a marketer's words with the contact's own values."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from contacts import selectors as contact_selectors
from segments import rules, selectors, services
from segments.evaluator import Evaluator, snapshot
from segments.views.common import posted_ids
from workspaces.access import writer_required
from workspaces.params import parse_id
from workspaces.rendering import wants_fragment


def _section(request, contact, *, notice=None, error=None) -> dict:
    """The Segments section's context (rendered with the request: its member's role
    and CSRF token come from the context processors)."""
    section = selectors.contact_section(request.workspace, contact)
    return {**section, "notice": notice, "error": error}


@require_GET
def contact_segments(request, pk):
    contact = contact_selectors.contact_detail(request.workspace, pk)
    context = _section(request, contact)
    if wants_fragment(request):
        return render(request, "segments/contact_segments.html#section", context)
    return render(request, "segments/contact_segments.html", context)


@writer_required
@require_POST
def contact_segments_add(request, pk):
    contact = contact_selectors.contact_detail(request.workspace, pk)
    ids = posted_ids(request, "segments")
    if not ids:
        return _contact_changed(request, contact, error="Pick at least one segment.")
    try:
        chosen = services.manual_segments_for(request.workspace, ids)
        for segment in chosen:
            services.segment_members_add(segment=segment, lookup="id", values=[contact.pk])
    except services.SegmentError as exc:
        return _contact_changed(request, contact, error=exc.message)
    names = ", ".join(f"“{s.name}”" for s in chosen)
    return _contact_changed(request, contact, notice=f"Added to {names}.")


@writer_required
@require_POST
def contact_segments_remove(request, pk):
    contact = contact_selectors.contact_detail(request.workspace, pk)
    ids = posted_ids(request, "segment", limit=1)
    try:
        (segment,) = services.manual_segments_for(request.workspace, ids) if ids else [None]
        if segment is None:
            raise services.SegmentError("Pick the segment to remove them from.")
        services.segment_members_remove(segment=segment, lookup="id", values=[contact.pk])
    except services.SegmentError as exc:
        return _contact_changed(request, contact, error=exc.message)
    return _contact_changed(request, contact, notice=f"Removed from “{segment.name}”.")


def _contact_changed(request, contact, *, notice=None, error=None):
    if wants_fragment(request):
        context = _section(request, contact, notice=notice, error=error)
        return render(request, "segments/contact_segments.html#section", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect(reverse("contacts:detail", args=[contact.pk]) + "#segments")


@require_GET
def contact_why(request, pk):
    """Why the contact is (or is not) in a filter segment: its rule, condition by
    condition, with the contact's own values."""
    contact = contact_selectors.contact_detail(request.workspace, pk)
    segment_id = parse_id(request.GET.get("segment"))
    if segment_id is None:
        raise Http404("No segment here.")
    segment = selectors.segment_get(request.workspace, segment_id)
    explanation = None
    if segment.is_filter and segment.conditions:
        evaluator = Evaluator(vocabulary=rules.Vocabulary(request.workspace.pk), now=timezone.now())
        snap = snapshot(contact, reads=rules.reads(segment.conditions))
        explanation = evaluator.explain(segment.conditions, snap)
    context = {
        "contact": contact,
        "segment": segment,
        "explanation": explanation,
        "is_member": selectors.is_member(segment, contact),
    }
    if wants_fragment(request):
        return render(request, "segments/contact_why.html#why", context)
    return render(request, "segments/contact_why.html", context)

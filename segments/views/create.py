"""Making segments from the dashboard other than with the rule builder: a manual
segment (a name and a description, then people are added), and bulk segments (pick a
text field, see how many segments it would make and which already exist, to be
skipped, then make them)."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from contacts import selectors as contact_selectors
from segments import services
from segments.forms import BulkSegmentForm, ManualSegmentForm
from segments.models import Segment
from segments.views.common import done, segments_count
from workspaces.access import writer_required
from workspaces.rendering import wants_fragment
from workspaces.scoping import scoped


@writer_required
@require_http_methods(["GET", "POST"])
def segment_create_manual(request):
    form = ManualSegmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            segment = services.segment_create(
                workspace=request.workspace,
                name=form.cleaned_data["name"],
                kind=Segment.Kind.MANUAL,
                description=form.cleaned_data["description"],
                created_by=request.user,
            )
        except services.SegmentError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Created “{segment.name}”. Now add people to it.")
            return redirect("segments:detail", pk=segment.pk)
    status = 400 if form.errors else 200
    return render(request, "segments/segment_create_manual.html", {"form": form}, status=status)


@writer_required
@require_http_methods(["GET", "POST"])
def segment_bulk_create(request):
    """Pick a text field, see how many segments it would make (and which already
    exist, to be skipped), then make them."""
    attributes = contact_selectors.attribute_list(request.workspace)
    data = request.POST if request.method == "POST" else (request.GET or None)
    form = BulkSegmentForm(data, attributes=attributes)
    preview = None
    if form.is_bound and form.is_valid():
        preview = _bulk_preview(request, form)
        if request.method == "POST" and preview and not preview["error"]:
            try:
                result = services.segments_bulk_create(
                    workspace=request.workspace,
                    field_name=form.cleaned_data["field"],
                    name_prefix=_prefix(form),
                    created_by=request.user,
                )
            except services.SegmentError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _bulk_made(len(result.created), len(result.skipped)))
                return done(request, reverse("segments:list") + "?origin=bulk&sort=name")
    context = {"form": form, "preview": preview}
    if wants_fragment(request) and request.method == "GET":
        return render(request, "segments/segment_bulk_create.html#preview", context)
    status = 400 if request.method == "POST" and (form.errors or preview) else 200
    return render(request, "segments/segment_bulk_create.html", context, status=status)


def _bulk_made(made: int, skipped: int) -> str:
    """ "Made 3 segments; skipped 11 that already exist"."""
    text = f"Made {segments_count(made)}"
    if skipped:
        text += f"; skipped {skipped:,} that already exist{'s' if skipped == 1 else ''}"
    return text + "."


def _prefix(form) -> str:
    """The prefix as typed, spaces kept; blank gives the field's label and ": "."""
    label = dict(choice for _, group in form.fields["field"].choices[1:] for choice in group).get(
        form.cleaned_data["field"], form.cleaned_data["field"]
    )
    return services.bulk_prefix(form.cleaned_data.get("name_prefix"), f"{label}: ")


PREVIEW_NAMES = 12


def _bulk_preview(request, form) -> dict | None:
    """How many segments the field would make, some of their names, which already
    exist (and are skipped), and whether the workspace has room for the rest."""
    try:
        plan = services.segments_bulk_plan(
            workspace=request.workspace,
            field_name=form.cleaned_data["field"],
            name_prefix=_prefix(form),
        )
    except services.SegmentError as exc:
        form.add_service_errors(exc)
        return None
    existing = scoped(Segment, request.workspace).count()
    limit = settings.SEGMENT_LIMIT
    making, skipped = len(plan.to_make), len(plan.skipped)
    error = None
    if not plan.items:
        error = "No contact has a value in this field yet, so there is nothing to split."
    elif existing + making > limit:
        error = (
            f"This would make {making:,} segments, but the workspace has "
            f"{existing:,} of its {limit:,}: room for {max(limit - existing, 0):,} more. "
            "Delete some segments (archived ones count too) or pick a field with fewer values."
        )
    # The ones to make first, then those skipped, so the list shows what is new.
    shown = (plan.to_make + plan.skipped)[:PREVIEW_NAMES]
    return {
        "count": making,
        "skipped": skipped,
        "total": len(plan.items),
        "items": shown,
        "more": max(len(plan.items) - PREVIEW_NAMES, 0),
        "existing": existing,
        "limit": limit,
        "error": error,
    }

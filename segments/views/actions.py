"""The segment page's actions: Clone and Save as list (a name, then a new segment),
Archive (and back), and Delete, which asks first and refuses a segment in use with
the delete guard: what uses it, each named with a link
(templates/segments/_used_by.html)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from segments import selectors, services
from segments.forms import NameForm
from segments.models import Segment
from segments.views.common import app_link, done, people, segment_or_404, url_or_none
from workspaces.access import writer_required
from workspaces.rendering import safe_next


def _name_action(request, segment, *, title, button, run, help_text, initial):
    """Clone and Save as list: a name, then a new segment."""
    form = NameForm(request.POST or None, initial={"name": initial[:200]})
    if request.method == "POST" and form.is_valid():
        try:
            created = run(form.cleaned_data["name"])
        except services.SegmentError as exc:
            form.add_service_errors(exc)
        else:
            return created
    context = {
        "segment": segment,
        "form": form,
        "title": title,
        "button": button,
        "help_text": help_text,
    }
    status = 400 if form.errors else 200
    return render(request, "segments/segment_name_form.html", context, status=status)


@writer_required
@require_http_methods(["GET", "POST"])
def segment_clone(request, pk):
    segment = segment_or_404(request, pk)
    result = _name_action(
        request,
        segment,
        title=f"Clone “{segment.name}”",
        button="Clone",
        initial=f"Copy of {segment.name}",
        help_text=(
            "The copy gets the same conditions; you can change them next."
            if segment.is_filter
            else "The copy starts with the same members."
        ),
        run=lambda name: services.segment_clone(
            segment=segment, name=name, created_by=request.user
        ),
    )
    if not isinstance(result, Segment):
        return result
    messages.success(request, f"Created “{result.name}”, a copy of “{segment.name}”.")
    # A filter clone is made to be changed: straight to its conditions.
    conditions = url_or_none("segments:conditions", result.pk) if result.is_filter else None
    return redirect(conditions or reverse("segments:detail", args=[result.pk]))


def _today() -> str:
    today = timezone.localdate()
    return f"{today:%b} {today.day}, {today.year}"


@writer_required
@require_http_methods(["GET", "POST"])
def segment_save_as_list(request, pk):
    segment = segment_or_404(request, pk)
    result = _name_action(
        request,
        segment,
        title=f"Save “{segment.name}” as a list",
        button="Save as list",
        initial=f"{segment.name} ({_today()})",
        help_text=(
            f"A manual segment holding today's {segment.member_count:,} members; "
            "it will not follow later changes."
        ),
        run=lambda name: services.segment_save_as_list(
            segment=segment, name=name, created_by=request.user
        ),
    )
    if not isinstance(result, Segment):
        return result
    messages.success(
        request, f"Saved {people(result.member_count)} of “{segment.name}” as “{result.name}”."
    )
    return redirect("segments:detail", pk=result.pk)


@writer_required
@require_POST
def segment_archive(request, pk):
    segment = segment_or_404(request, pk)
    archived = request.POST.get("archived") != "0"
    services.segments_set_archived(workspace=request.workspace, ids=[segment.pk], archived=archived)
    if archived:
        messages.success(request, f"Archived “{segment.name}”: it keeps its members.")
    else:
        messages.success(request, f"“{segment.name}” is active again.")
    return done(request, safe_next(request, reverse("segments:detail", args=[segment.pk])))


@writer_required
@require_http_methods(["GET", "POST"])
def segment_delete(request, pk):
    """Asks first; refuses (and says what uses it, with links) a segment in use."""
    segment = segment_or_404(request, pk)
    if request.method == "POST":
        try:
            services.segment_delete(segment=segment)
        except services.SegmentInUse as exc:
            return _delete_page(request, segment, exc.extra["usage"], status=409)
        messages.success(request, f"Deleted “{segment.name}”.")
        return done(request, reverse("segments:list"))
    return _delete_page(request, segment, selectors.segment_usage(segment))


def _delete_page(request, segment, usage, status=200):
    context = {
        "segment": segment,
        "in_use": selectors.is_in_use(usage),
        "users": selectors.segment_users(usage, link=app_link),
    }
    return render(request, "segments/segment_delete.html", context, status=status)

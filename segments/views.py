"""The segment pages (not the rule builder: segments/builder_views.py).

- the dashboard: list, filters, bulk archive/unarchive/delete, "Create manual
  segment", "Bulk segment";
- the segment page: tabs Members, Usage, History, Settings (the Conditions tab is
  the builder's) and the actions Clone, Save as list, Archive, Delete;
- the contact side: a contact's segments, why they are in a filter segment, adding
  them to manual segments and removing them.

Views check access, call a selector or a service, and render; HTMX requests get the
fragment they swap. Every form also works as a plain POST with JavaScript off."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HTMX_STOP_POLLING, HttpResponseClientRedirect

from contacts import selectors as contact_selectors
from segments import charts, rules, selectors, services
from segments.evaluator import Evaluator, snapshot
from segments.forms import BulkSegmentForm, ManualSegmentForm, NameForm, SettingsForm
from segments.models import PendingRefresh, Segment
from workspaces.access import writer_required
from workspaces.params import parse_id, parse_ids
from workspaces.rendering import render_page_or_fragment, safe_next, wants_fragment
from workspaces.scoping import scoped

PAGE_SIZE = 50
MEMBERS_PAGE_SIZE = 50
CHANGES_PAGE_SIZE = 25
CANDIDATES = 8
CONTACT_CHANGES = 20
HISTORY_DAYS = (30, 90)
MAX_SELECTED = 500  # a workspace holds at most 500 segments (SEGMENT_LIMIT)
BULK_REPORT = "segments_bulk_report"  # session key: what a bulk delete skipped, and why


def url_or_none(name: str, *args) -> str | None:
    """The URL of a page that may not exist yet (the builder, campaign pages)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _ids(request, name="ids", limit=MAX_SELECTED) -> list[int]:
    return parse_ids(request.POST.getlist(name), limit=limit)


def _done(request, url: str):
    """After a successful POST: back to `url` (the whole page, also for HTMX)."""
    return HttpResponseClientRedirect(url) if wants_fragment(request) else redirect(url)


# ---------------------------------------------------------------- the segment page's tabs


def render_tab(
    request, template: str, context: dict, *, active_tab: str, status: int = 200, oob_count=False
):
    """A tab of the segment page: the whole page, or for an HTMX tab switch only
    `template#tab` plus the tab bar sent out of band (to move the highlight), and the
    header's member count when it may have changed.

    A tab template extends "segments/segment_base.html" and puts its content in
    {% block tab %}{% partialdef tab inline %}...{% endpartialdef %}{% endblock %};
    `context` must hold `segment`."""
    context = {**context, "active_tab": active_tab}
    response = render_page_or_fragment(request, template, "tab", context, status=status)
    if wants_fragment(request):
        extra = render_to_string("segments/_tab_bar.html", {**context, "oob": True}, request)
        if oob_count:
            extra += render_to_string("segments/_member_count.html", {**context, "oob": True})
        response.content = response.content + extra.encode()
    return response


def mark_calculating(segments) -> None:
    """Set `calculating` on each segment: a whole refresh of it is pending (new,
    cloned, bulk-made, rule changed), so its member_count is not its count yet. The
    pages show "Calculating…" and poll segments:count until it is done."""
    segments = list(segments)
    filters = [s.pk for s in segments if s.is_filter]
    pending = set(
        PendingRefresh.objects.filter(segment_id__in=filters).values_list("segment_id", flat=True)
        if filters
        else ()
    )
    for segment in segments:
        segment.calculating = segment.pk in pending


def _segment(request, pk) -> Segment:
    segment = selectors.segment_get(request.workspace, pk)
    mark_calculating([segment])
    return segment


# ---------------------------------------------------------------- dashboard


@require_GET
def segment_list(request):
    listing = selectors.segment_dashboard(request.workspace, request.GET)
    page, bad_cursor = selectors.keyset_page(
        listing.queryset, listing.order, request.GET.get("cursor"), PAGE_SIZE
    )
    context = {
        "listing": listing,
        "filter_form": listing.filterset.form,
        "page": page,
        "bad_cursor": bad_cursor,
        # At most SEGMENT_LIMIT rows: counting them is cheap.
        "total": listing.queryset.count() if listing.valid else 0,
        "sorts": [(key, label) for key, (label, _) in selectors.DASHBOARD_SORTS.items()],
        "create_url": url_or_none("segments:create"),
        "calculating": _calculating_page(page.items),
        "report": request.session.pop(BULK_REPORT, None)
        if BULK_REPORT in request.session
        else None,
    }
    return render_page_or_fragment(request, "segments/segment_list.html", "results", context)


def _calculating_page(items) -> bool:
    mark_calculating(items)
    return any(segment.calculating for segment in items)


@writer_required
@require_POST
def segment_bulk(request):
    """Archive, unarchive or delete the checked segments. Deleting asks first (a
    page listing them), then skips the ones in use and says what uses them."""
    back = safe_next(request, reverse("segments:list"))
    action = request.POST.get("action")
    if action not in ("archive", "unarchive", "delete"):
        return HttpResponseBadRequest("Unknown bulk action.")
    ids = _ids(request)
    if not ids:
        messages.error(request, "Select at least one segment first.")
        return _done(request, back)
    if action == "delete" and request.POST.get("confirm") != "yes":
        return _confirm_bulk_delete(request, ids, back)
    if action == "delete":
        result = services.segments_delete(workspace=request.workspace, ids=ids)
        if result.deleted:
            messages.success(request, f"Deleted {_segments(len(result.deleted))}.")
        if result.skipped:
            request.session[BULK_REPORT] = {"action": "delete", "skipped": result.skipped}
        return _done(request, back)
    archived = action == "archive"
    count = services.segments_set_archived(workspace=request.workspace, ids=ids, archived=archived)
    verb = "Archived" if archived else "Restored"
    messages.success(request, f"{verb} {_segments(count)}.")
    return _done(request, back)


def _segments(n: int) -> str:
    return f"{n} segment" if n == 1 else f"{n:,} segments"


def _confirm_bulk_delete(request, ids, back):
    """The page that asks before deleting, and says which segments will be kept."""
    chosen = list(selectors.segments_with_usage(request.workspace, ids))
    if not chosen:
        messages.error(request, "Those segments no longer exist.")
        return redirect(back)
    deleting, keeping = services.segments_delete_plan(chosen)
    context = {"chosen": chosen, "deleting": deleting, "keeping": keeping, "next": back}
    return render(request, "segments/segment_bulk_delete.html", context)


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
                return _done(request, reverse("segments:list") + "?origin=bulk&sort=name")
    context = {"form": form, "preview": preview}
    if wants_fragment(request) and request.method == "GET":
        return render(request, "segments/segment_bulk_create.html#preview", context)
    status = 400 if request.method == "POST" and (form.errors or preview) else 200
    return render(request, "segments/segment_bulk_create.html", context, status=status)


def _bulk_made(made: int, skipped: int) -> str:
    """ "Made 3 segments; skipped 11 that already exist"."""
    text = f"Made {_segments(made)}"
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


# ---------------------------------------------------------------- Members tab


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
    segment = _segment(request, pk)
    target = getattr(request.htmx, "target", None) if wants_fragment(request) else None
    if target and target.startswith(COUNT_TARGETS):
        return _count_fragment(request, segment)
    q = request.GET.get("q", "").strip()
    rows = selectors.segment_member_rows(segment, q)
    page, bad_cursor = selectors.keyset_page(
        rows, selectors.MEMBER_ORDER, request.GET.get("cursor"), MEMBERS_PAGE_SIZE
    )
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
    segment = _segment(request, pk)
    ids = _ids(request, limit=settings.SEGMENT_MEMBERS_MAX_BATCH)
    try:
        result = services.segment_members_add(segment=segment, lookup="id", values=ids)
    except services.SegmentError as exc:
        return _members_changed(request, segment, error=exc.message)
    notice = f"Added {_people(result.changed)}." if result.changed else "Already in it."
    return _members_changed(request, segment, notice=notice)


@writer_required
@require_POST
def segment_members_remove(request, pk):
    segment = _segment(request, pk)
    ids = _ids(request, limit=settings.SEGMENT_MEMBERS_MAX_BATCH)
    if not ids:
        return _members_changed(request, segment, error="Select the people to remove first.")
    try:
        result = services.segment_members_remove(segment=segment, lookup="id", values=ids)
    except services.SegmentError as exc:
        return _members_changed(request, segment, error=exc.message)
    return _members_changed(request, segment, notice=f"Removed {_people(result.changed)}.")


def _people(n: int) -> str:
    return "1 person" if n == 1 else f"{n:,} people"


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
    segment = _segment(request, segment.pk)  # the fresh member count
    rows = selectors.segment_member_rows(segment)
    page, _ = selectors.keyset_page(rows, selectors.MEMBER_ORDER, None, MEMBERS_PAGE_SIZE)
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


# ---------------------------------------------------------------- Usage, History, Settings


@require_GET
def segment_usage(request, pk):
    segment = _segment(request, pk)
    usage = services.segment_usage(segment)
    for campaign in usage["campaigns"]:
        campaign["url"] = url_or_none("campaigns:detail", campaign["id"])
    context = {"segment": segment, "usage": usage, "in_use": services.is_in_use(usage)}
    return render_tab(request, "segments/segment_usage.html", context, active_tab="usage")


@require_GET
def segment_history(request, pk):
    segment = _segment(request, pk)
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


@require_http_methods(["GET", "POST"])
def segment_settings(request, pk):
    segment = _segment(request, pk)
    initial = {
        "name": segment.name,
        "description": segment.description,
        "topics": list(segment.topics.all()),
    }
    form = SettingsForm(request.POST or None, initial=initial, workspace=request.workspace)
    if request.method == "POST" and form.is_valid():
        try:
            services.segment_update(
                segment=segment,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                topics=form.topic_names(),
            )
        except services.SegmentError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Saved the segment's settings.")
            return _done(request, reverse("segments:settings", args=[segment.pk]))
    # HTMX only swaps 2xx answers: a form with errors is still the tab to show.
    status = 400 if form.errors and not wants_fragment(request) else 200
    context = {"segment": segment, "form": form}
    return render_tab(
        request, "segments/segment_settings.html", context, active_tab="settings", status=status
    )


# ---------------------------------------------------------------- actions


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
    segment = _segment(request, pk)
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
    segment = _segment(request, pk)
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
        request, f"Saved {_people(result.member_count)} of “{segment.name}” as “{result.name}”."
    )
    return redirect("segments:detail", pk=result.pk)


@writer_required
@require_POST
def segment_archive(request, pk):
    segment = _segment(request, pk)
    archived = request.POST.get("archived") != "0"
    services.segments_set_archived(workspace=request.workspace, ids=[segment.pk], archived=archived)
    if archived:
        messages.success(request, f"Archived “{segment.name}”: it keeps its members.")
    else:
        messages.success(request, f"“{segment.name}” is active again.")
    return _done(request, safe_next(request, reverse("segments:detail", args=[segment.pk])))


@writer_required
@require_http_methods(["GET", "POST"])
def segment_delete(request, pk):
    """Asks first; refuses (and says what uses it, with links) a segment in use."""
    segment = _segment(request, pk)
    if request.method == "POST":
        try:
            services.segment_delete(segment=segment)
        except services.SegmentInUse as exc:
            return _delete_page(request, segment, exc.extra["usage"], status=409)
        messages.success(request, f"Deleted “{segment.name}”.")
        return _done(request, reverse("segments:list"))
    return _delete_page(request, segment, services.segment_usage(segment))


def _delete_page(request, segment, usage, status=200):
    for campaign in usage["campaigns"]:
        campaign["url"] = url_or_none("campaigns:detail", campaign["id"])
    context = {"segment": segment, "usage": usage, "in_use": services.is_in_use(usage)}
    return render(request, "segments/segment_delete.html", context, status=status)


# ---------------------------------------------------------------- the contact side


def contact_section_context(request, contact, *, notice=None, error=None) -> dict:
    """What the contact page's Segments section shows."""
    memberships = list(selectors.contact_segments(contact))
    member_of = {m.segment_id for m in memberships}
    choices = [
        s for s in selectors.manual_segment_choices(request.workspace) if s.pk not in member_of
    ]
    changes = list(
        selectors.contact_changes(contact).order_by(*selectors.CHANGE_ORDER)[:CONTACT_CHANGES]
    )
    return {
        "contact": contact,
        "memberships": memberships,
        "choices": choices,
        "changes": changes,
        "more_changes": len(changes) == CONTACT_CHANGES,
        "notice": notice,
        "error": error,
        "request": request,
        "membership": request.membership,
        "csrf_token": _csrf(request),
    }


def _csrf(request):
    from django.middleware.csrf import get_token

    return get_token(request)


@require_GET
def contact_segments(request, pk):
    contact = contact_selectors.contact_detail(request.workspace, pk)
    context = contact_section_context(request, contact)
    if wants_fragment(request):
        return render(request, "segments/contact_segments.html#section", context)
    return render(request, "segments/contact_segments.html", context)


@writer_required
@require_POST
def contact_segments_add(request, pk):
    contact = contact_selectors.contact_detail(request.workspace, pk)
    ids = _ids(request, "segments")
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
    ids = _ids(request, "segment", limit=1)
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
        context = contact_section_context(request, contact, notice=notice, error=error)
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

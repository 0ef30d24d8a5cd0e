"""The contact pages: list (the home page), bulk actions, one contact, create, edit,
delete, and the contact's tags. Views check access, call a selector or a service,
and render; HTMX requests get the fragment they swap."""

from contextlib import suppress

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from contacts import bulk, selectors, services
from contacts import jobs as contact_jobs
from contacts.forms import ContactForm, TagAddForm
from contacts.models import Contact
from contacts.selectors import SORTS
from workspaces.access import writer_required
from workspaces.rendering import render_page_or_fragment, safe_next, wants_fragment
from workspaces.scoping import scoped

PAGE_SIZE = 50
EVENTS_PAGE_SIZE = 50


# ---------------------------------------------------------------- list and bulk actions


@require_GET
def contact_list(request):
    listing = selectors.contact_list(request.workspace, request.GET)
    page, bad_cursor = selectors.contact_page(listing, request.GET.get("cursor"), PAGE_SIZE)
    count, more = selectors.capped_count(listing.queryset) if listing.valid else (0, False)
    context = {
        "listing": listing,
        "filter_form": listing.filterset.form,
        "page": page,
        "bad_cursor": bad_cursor,
        "count": count,
        "count_more": more,
        "sorts": [(key, label) for key, (label, _) in SORTS.items()],
        "bulk_forms": _bulk_forms(),
        "bulk_threshold": settings.BULK_JOB_THRESHOLD,
    }
    return render_page_or_fragment(request, "contacts/contact_list.html", "results", context)


def _bulk_forms(bound_action=None, bound_form=None) -> list[tuple]:
    """(action, form) for each bulk action; the one just submitted keeps its errors."""
    return [
        (action, bound_form if action is bound_action else action.form_class(prefix=action.name))
        for action in bulk.all_actions()
    ]


@require_POST
def contact_bulk(request):
    back = safe_next(request, reverse("contacts:list"))
    action = bulk.get(request.POST.get("action"))
    if action is None:
        return HttpResponseBadRequest("Unknown bulk action.")
    form = action.form_class(request.POST, prefix=action.name)
    # "All that match": the list's query, posted along, selects the contacts again here.
    every = request.POST.get("all_matching") == "1"
    matching = _matching(request) if every else None
    ids = [] if every else _selected_ids(request)
    error = None
    if every and not matching.valid:
        error = "The list's filters need fixing first."
    elif not every and not ids:
        error = "Select at least one contact first."
    elif form.is_valid():
        try:
            return _bulk_run(request, action, form.cleaned_data, matching, ids, back)
        except ValidationError as exc:
            error = services.error_message(exc)
    if wants_fragment(request):
        matching = matching or _matching(request)
        count, more = selectors.capped_count(matching.queryset) if matching.valid else (0, False)
        context = {
            "bulk_forms": _bulk_forms(action, form),
            "bulk_error": error,
            "next": back,
            "query": request.POST.get("query", ""),
            "all_matching": every,
            "count": count,
            "count_more": more,
            "bulk_threshold": settings.BULK_JOB_THRESHOLD,
        }
        return render(request, "contacts/_bulk_bar.html", context)
    messages.error(request, error or _first_error(form))
    return redirect(back)


def _bulk_run(request, action, data, matching, ids, back):
    """Do the action now, or, on more than BULK_JOB_THRESHOLD contacts, start it as a
    job and open the job's page. "How many" is a count that stops at the threshold."""
    threshold = settings.BULK_JOB_THRESHOLD
    kwargs = {"workspace": request.workspace, "data": data, "user": request.user}
    if matching is not None:
        many = selectors.capped_count(matching.queryset, cap=threshold)[1]
        source = {"query": request.POST.get("query", ""), "listing": matching}
    else:
        many, source = len(ids) > threshold, {"ids": ids}
    if many:
        job = contact_jobs.bulk_job_start(action=action, **source, **kwargs)
        messages.info(
            request,
            f"Started in the background: {job.title}. Its progress is below, and you will "
            "get a notification when it is done.",
        )
        return _go(request, job.get_absolute_url())
    if matching is None:
        message = action.run(contact_ids=ids, **kwargs)
    elif action.run_queryset is not None:
        message = action.run_queryset(contacts=matching.queryset, **kwargs)
    else:  # at most `threshold` of them
        people = matching.queryset.order_by("pk").values_list("pk", flat=True)
        message = action.run(contact_ids=list(dict.fromkeys(people)), **kwargs)
    messages.success(request, message)
    return _go(request, back)


def _go(request, url: str):
    return HttpResponseClientRedirect(url) if wants_fragment(request) else redirect(url)


def _matching(request):
    """The contact list as its posted query (filters, search) selects it."""
    return selectors.contact_list(request.workspace, QueryDict(request.POST.get("query", "")))


def _selected_ids(request) -> list[int]:
    """The checked contacts that belong to this workspace."""
    raw = [v for v in request.POST.getlist("ids")[: bulk.MAX_SELECTED] if v.isdigit()]
    return list(scoped(Contact, request.workspace).filter(pk__in=raw).values_list("pk", flat=True))


def _first_error(form) -> str:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        return f"{label}: {errors[0]}" if label else errors[0]
    return "Check the bulk action's fields."


# ---------------------------------------------------------------- one contact


@require_GET
def contact_detail(request, pk):
    contact = selectors.contact_detail(request.workspace, pk)
    events_cursor = request.GET.get("events")
    events = selectors.contact_events(contact, events_cursor, EVENTS_PAGE_SIZE)
    if wants_fragment(request) and events_cursor is not None:
        context = {"contact": contact, "events": events}
        response = render(request, "contacts/contact_detail.html#event_page", context)
    else:
        context = _detail_context(request, contact, events)
        response = render(request, "contacts/contact_detail.html", context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _detail_context(request, contact, events, tag_form=None) -> dict:
    definitions = {a.key: a for a in selectors.attribute_list(request.workspace)}
    attributes = [
        {"key": key, "definition": definitions.get(key), "value": value}
        for key, value in sorted(contact.attributes.items())
    ]
    return {
        "contact": contact,
        "attributes": attributes,
        "events": events,
        "tag_form": tag_form or TagAddForm(),
    }


@writer_required
@require_http_methods(["GET", "POST"])
def contact_create(request):
    definitions = selectors.attribute_list(request.workspace)
    form = ContactForm(request.POST or None, definitions=definitions)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_create(
                workspace=request.workspace, data=form.service_data(), tags=form.tag_names()
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Created {contact}.")
            return redirect("contacts:detail", pk=contact.pk)
    status = 400 if form.errors else 200
    return render(request, "contacts/contact_form.html", {"form": form}, status=status)


@writer_required
@require_http_methods(["GET", "POST"])
def contact_edit(request, pk):
    contact = selectors.contact_detail(request.workspace, pk)
    definitions = selectors.attribute_list(request.workspace)
    form = ContactForm(request.POST or None, definitions=definitions, contact=contact)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_update(contact=contact, data=form.service_data())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Saved your changes.")
            return redirect("contacts:detail", pk=contact.pk)
    status = 400 if form.errors else 200
    context = {"form": form, "contact": contact}
    return render(request, "contacts/contact_form.html", context, status=status)


@writer_required
@require_http_methods(["GET", "POST"])
def contact_delete(request, pk):
    contact = selectors.contact_detail(request.workspace, pk)
    if request.method == "POST":
        name = str(contact)
        services.contact_delete(contact=contact)
        messages.success(request, f"Deleted {name}.")
        return redirect("contacts:list")
    return render(request, "contacts/contact_confirm_delete.html", {"contact": contact})


# ---------------------------------------------------------------- the contact's tags


@require_POST
def contact_tags_add(request, pk):
    contact = selectors.contact_detail(request.workspace, pk)
    form = TagAddForm(request.POST)
    if form.is_valid():
        try:
            services.contact_tags_add(contact=contact, names=form.tag_names())
        except ValidationError as exc:
            form.add_error("names", " ".join(exc.messages))
        else:
            return _tags_changed(request, contact)
    return _tags_changed(request, contact, form)


@require_POST
def contact_tags_remove(request, pk):
    contact = selectors.contact_detail(request.workspace, pk)
    name = request.POST.get("name", "")
    # A name that cannot be a tag is not on the contact either: nothing to remove.
    with suppress(ValidationError):
        services.contact_tags_remove(contact=contact, names=[name])
    return _tags_changed(request, contact)


def _tags_changed(request, contact, form=None):
    """The re-drawn tag list for HTMX; without JavaScript, the contact page."""
    contact = selectors.contact_detail(request.workspace, contact.pk)  # fresh tags
    if wants_fragment(request):
        context = {"contact": contact, "tag_form": form or TagAddForm()}
        return render(request, "contacts/contact_detail.html#tags", context)
    if form is not None and form.errors:
        events = selectors.contact_events(contact, None, EVENTS_PAGE_SIZE)
        context = _detail_context(request, contact, events, tag_form=form)
        return render(request, "contacts/contact_detail.html", context, status=400)
    return redirect("contacts:detail", pk=contact.pk)

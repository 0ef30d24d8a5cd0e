"""The contact list (the home page) and its bulk actions. Views check access, call a
selector or a service, and render; HTMX requests get the fragment they swap."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from contacts import bulk, selectors
from contacts import jobs as contact_jobs
from contacts.selectors import SORTS
from contacts.sets import ContactSet
from contacts.views.links import add_links
from workspaces.errors import KithError, sentences
from workspaces.rendering import render_page_or_fragment, safe_next, wants_fragment

PAGE_SIZE = 50


# ---------------------------------------------------------------- list and bulk actions


@require_GET
def contact_list(request):
    listing = selectors.contact_list(request.workspace, request.GET)
    counted = selectors.listing_count(listing)
    page, bad_cursor = selectors.contact_page(
        listing, request.GET.get("cursor"), PAGE_SIZE, within=counted.ids
    )
    add_links(page.items, {"detail": "contacts:detail"})
    context = {
        "listing": listing,
        "filter_form": listing.filterset.form,
        "page": page,
        "bad_cursor": bad_cursor,
        "count": counted.count,
        "count_more": counted.more,
        "sorts": [(key, label) for key, (label, _) in SORTS.items()],
        "bulk_forms": _bulk_forms(request.workspace),
        "bulk_threshold": settings.BULK_JOB_THRESHOLD,
    }
    return render_page_or_fragment(request, "contacts/contact_list.html", "results", context)


def _bulk_forms(workspace, bound_action=None, bound_form=None) -> list[tuple]:
    """(action, form) for each bulk action; the one just submitted keeps its errors."""
    return [
        (action, bound_form if action is bound_action else action.form(workspace))
        for action in bulk.all_actions()
    ]


@require_POST
def contact_bulk(request):
    back = safe_next(request, reverse("contacts:list"))
    action = bulk.get(request.POST.get("action"))
    if action is None:
        return HttpResponseBadRequest("Unknown bulk action.")
    form = action.form(request.workspace, request.POST)
    # The checked contacts, or "all that match": the list's query, posted along,
    # selects the contacts again here.
    contacts = ContactSet.from_post(request.workspace, request.POST)
    error = preview = None
    if not contacts.valid:
        error = "The list's filters need fixing first."
    elif contacts.empty:
        error = "Select at least one contact first."
    elif form.is_valid():
        try:
            if action.preview is not None:
                preview = action.preview(
                    workspace=request.workspace, contacts=contacts, data=form.cleaned_data
                )
            if preview is None:
                return _bulk_run(request, action, form.cleaned_data, contacts, back)
        except (ValidationError, KithError) as exc:
            error = sentences(exc) if isinstance(exc, ValidationError) else exc.message
    if wants_fragment(request):
        counted = selectors.listing_count(contacts.listing)  # the bar's "select all N"
        context = {
            "bulk_forms": _bulk_forms(request.workspace, action, form),
            "bulk_error": error,
            "bulk_preview": preview,
            "next": back,
            "query": request.POST.get("query", ""),
            "all_matching": contacts.is_matching,
            "count": counted.count,
            "count_more": counted.more,
            "bulk_threshold": settings.BULK_JOB_THRESHOLD,
        }
        return render(request, "contacts/_bulk_bar.html", context)
    if preview:
        messages.info(request, preview)
    else:
        messages.error(request, error or _first_error(form))
    return redirect(back)


def _bulk_run(request, action, data, contacts: ContactSet, back):
    """Do the action now, or, on more than BULK_JOB_THRESHOLD contacts, start it as a
    job and open the job's page. "How many" is a count that stops at the threshold."""
    threshold = settings.BULK_JOB_THRESHOLD
    kwargs = {"workspace": request.workspace, "data": data, "user": request.user}
    if contacts.more_than(threshold):
        job = contact_jobs.bulk_job_start(action=action, contacts=contacts, **kwargs)
        messages.info(
            request,
            f"Started in the background: {job.title}. Its progress is below, and you will "
            "get a notification when it is done.",
        )
        return _go(request, job.get_absolute_url())
    if not contacts.is_matching:
        message = action.run(contact_ids=contacts.ids, **kwargs)
    elif action.run_queryset is not None:
        message = action.run_queryset(contacts=contacts.contacts(), **kwargs)
    else:  # at most `threshold` of them
        people = contacts.contacts().order_by("pk").values_list("pk", flat=True)
        message = action.run(contact_ids=list(dict.fromkeys(people)), **kwargs)
    messages.success(request, message)
    return _go(request, back)


def _go(request, url: str):
    return HttpResponseClientRedirect(url) if wants_fragment(request) else redirect(url)


def _first_error(form) -> str:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        return f"{label}: {errors[0]}" if label else errors[0]
    return "Check the bulk action's fields."

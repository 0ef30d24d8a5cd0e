"""One contact's pages: the contact page, create, edit, delete, and the contact's
tags. Views check access, call a selector or a service, and render; HTMX requests get
the fragment they swap."""

from contextlib import suppress

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contacts import selectors, services
from contacts.forms import ContactForm, TagAddForm
from workspaces.access import writer_required
from workspaces.errors import KithError
from workspaces.rendering import wants_fragment

EVENTS_PAGE_SIZE = 50

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
        except KithError as exc:
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
        except KithError as exc:
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
        except KithError as exc:
            form.add_error("names", " ".join(exc.messages))
        else:
            return _tags_changed(request, contact)
    return _tags_changed(request, contact, form)


@require_POST
def contact_tags_remove(request, pk):
    contact = selectors.contact_detail(request.workspace, pk)
    name = request.POST.get("name", "")
    # A name that cannot be a tag is not on the contact either: nothing to remove.
    with suppress(KithError):
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

"""The export pages: the form (which contacts, fields grouped as built-in, custom
attributes and tags, format, date ranges, file name) and the Exports page (the
workspace's exports: who, when, which contacts in words, rows, status, download).

The form is reached from a segment's page (?segment=<id>), from the contact list's
bulk bar (the checked contacts, or all that match: posted to export_selection, kept
in the session, and opened as ?selection=<token>, since a thousand ids do not fit a
URL), or from the Exports page (all contacts). The file is written by a job
(contacts.exports); its page shows the progress and the download, the jobs app sends
the file to members of its workspace only."""

import secrets

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from contacts import exports, selectors
from contacts.sets import ContactSet
from jobs.models import Job
from workspaces.access import writer_required
from workspaces.errors import KithError
from workspaces.forms import add_service_error
from workspaces.keyset import page_or_first
from workspaces.params import parse_id
from workspaces.rendering import render_page_or_fragment, wants_fragment
from workspaces.scoping import scoped

PAGE_SIZE = 30
SESSION_KEY = "export_selections"
KEPT_SELECTIONS = 5  # the latest selections a member opened the form with
DATE_INPUT = forms.DateInput(attrs={"type": "date"})
GROUPS = [("builtin", "Built-in fields"), ("attribute", "Custom attributes"), ("tags", "Tags")]


class ExportForm(forms.Form):
    columns = forms.MultipleChoiceField(
        label="Fields",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one field to export."},
    )
    format = forms.ChoiceField(
        label="Format",
        choices=list(exports.FORMATS.items()),
        initial="csv",
        widget=forms.RadioSelect,
    )
    created_from = forms.DateField(label="Created from", required=False, widget=DATE_INPUT)
    created_to = forms.DateField(label="Created to", required=False, widget=DATE_INPUT)
    updated_from = forms.DateField(label="Updated from", required=False, widget=DATE_INPUT)
    updated_to = forms.DateField(label="Updated to", required=False, widget=DATE_INPUT)
    name = forms.CharField(
        label="File name",
        max_length=exports.MAX_FILE_NAME,
        required=False,
        help_text="Without an extension; the format adds it.",
    )

    def __init__(self, *args, catalog: list[exports.ExportField], **kwargs):
        super().__init__(*args, **kwargs)
        self.catalog = catalog
        self.fields["columns"].choices = [(f.name, f.label) for f in catalog]
        self.fields["columns"].initial = [f.name for f in catalog]

    def groups(self) -> list[tuple[str, list]]:
        """The field checkboxes grouped: built-in, custom attributes, tags."""
        boxes = {box.data["value"]: box for box in self["columns"]}
        found = []
        for group, label in GROUPS:
            members = [boxes[f.name] for f in self.catalog if f.group == group]
            if members:
                found.append((label, members))
        return found


# ---------------------------------------------------------------- the form


def _set_from_request(request) -> ContactSet | None:
    """The contacts the form was opened for: ?segment=<id>, ?selection=<token> (from
    the bulk bar), ?query=<a list's query string>, or all contacts; None when a
    selection is no longer in the session."""
    workspace = request.workspace
    if "segment" in request.GET:
        segment = parse_id(request.GET.get("segment"))
        if segment is None:
            raise Http404("No such segment.")
        return ContactSet.matching(workspace, urlencode({"segment": segment}))
    if "selection" in request.GET:
        kept = request.session.get(SESSION_KEY, {}).get(request.GET.get("selection", ""))
        if not isinstance(kept, dict) or kept.get("workspace") != workspace.pk:
            return None
        return ContactSet.from_params(workspace, kept["contacts"])
    return ContactSet.matching(workspace, request.GET.get("query", ""))


@writer_required
@require_http_methods(["GET", "POST"])
def export_new(request):
    if request.method == "POST":
        contacts = ContactSet.from_post(request.workspace, request.POST)
    else:
        contacts = _set_from_request(request)
        if contacts is None:
            messages.info(request, "That selection is gone: select the contacts again.")
            return redirect("contacts:list")
    if not contacts.valid:
        raise Http404("Those contacts cannot be found (was a segment or a tag deleted?).")
    catalog = exports.field_catalog(request.workspace)
    form = ExportForm(request.POST if request.method == "POST" else None, catalog=catalog)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = exports.export_start(
                workspace=request.workspace,
                user=request.user,
                contact_set=contacts,
                format=data["format"],
                fields=data["columns"],
                created_from=data["created_from"],
                created_to=data["created_to"],
                updated_from=data["updated_from"],
                updated_to=data["updated_to"],
                name=data["name"],
            )
        except KithError as exc:
            add_service_error(form, exc, aliases={"fields": "columns"})
        else:
            messages.info(
                request,
                f"Exporting: {job.title}. Its progress is below; you will get a "
                "notification with the file when it is done.",
            )
            return redirect(job.get_absolute_url())
    if contacts.is_matching:
        count, more = selectors.capped_count(contacts.contacts())
    else:
        count, more = len(contacts.ids), False
    context = {
        "form": form,
        "contacts": contacts,
        "described": contacts.describe(),
        "count": count,
        "count_more": more,
    }
    status = 400 if form.is_bound else 200
    return render(request, "contacts/exports/export_form.html", context, status=status)


@writer_required
@require_POST
def export_selection(request):
    """The bulk bar's Export: the checked contacts (or all that match) kept in the
    session under a token, and the form opened for them."""
    contacts = ContactSet.from_post(request.workspace, request.POST)
    if contacts.empty:
        messages.error(request, "Select at least one contact first.")
        url = reverse("contacts:list")
    else:
        kept = request.session.get(SESSION_KEY, {})
        token = secrets.token_urlsafe(8)
        kept[token] = {"workspace": request.workspace.pk, "contacts": contacts.params()}
        request.session[SESSION_KEY] = dict(list(kept.items())[-KEPT_SELECTIONS:])
        url = f"{reverse('contacts:export_new')}?{urlencode({'selection': token})}"
    # The bar posts with HTMX into itself: the form is a page of its own.
    return HttpResponseClientRedirect(url) if wants_fragment(request) else redirect(url)


# ---------------------------------------------------------------- the Exports page


@require_GET
def export_list(request):
    jobs = scoped(Job, request.workspace).filter(kind=exports.KIND).select_related("created_by")
    page, bad_cursor = page_or_first(
        jobs, order=("-created_at", "-id"), cursor=request.GET.get("cursor"), limit=PAGE_SIZE
    )
    context = {
        "page": page,
        "bad_cursor": bad_cursor,
        "any_open": any(job.is_open for job in page.items),
    }
    return render_page_or_fragment(request, "contacts/exports/export_list.html", "results", context)

"""The imports pages: the workspace's imports, and the wizard, one URL per step.

- setup (imports:create): the file, the mode, a name, a manual segment (existing or
  made here); ?segment=<id>&mode=add_to_segment preselects, for the entry points;
- map (imports:map): how to read the file and each column's target, with a preview
  of the first rows as they will be stored, redrawn by HTMX as the answers change
  (nothing is saved until "Next"; then the dry run starts);
- review (imports:review): the dry run's progress, then what it would do; "Back to
  mapping" or "Start import" (imports:run, which shows the same outcome until the
  run starts);
- result (imports:detail): the run's progress, Cancel, then counts, duration, the
  error file (the jobs app's download), the segment, "Import another file".

A step's state is polled by HTMX while its job is open (the `state` partial of
each page, the jobs app's progress bar inside) and the poll stops (286) with the
final state, so the page never reloads. Views check access, call a selector or a
service, and render; a service's KithError is shown beside its field. Every step
is the workspace's: another workspace's import is a 404."""

import copy
import hashlib

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from contacts.services import attribute_definitions
from imports import mapping as mappings
from imports import selectors, services
from imports.forms import MapForm, SetupForm, setup_initial
from imports.models import Import
from imports.reading import FileRefused
from segments import selectors as segment_selectors
from workspaces.access import writer_required
from workspaces.errors import KithError, sentences
from workspaces.keyset import page_or_first
from workspaces.rendering import render_page_or_fragment, wants_fragment

PAGE_SIZE = 30
ORDER = ("-created_at", "-id")
PREVIEW_ROWS = 5
OPEN = ("reviewing", "running")
COUNTS = ("rows", "create", "update", "unchanged", "reject")
STATUS_WORDS = {
    "draft": "To map",
    "mapped": "Mapped",
    "reviewing": "Checking the file",
    "reviewed": "Ready to start",
    "running": "Importing",
    "done": "Done",
    "failed": "Failed",
    "cancelled": "Cancelled",
}


def _import(request, pk) -> Import:
    return selectors.import_get(workspace=request.workspace, pk=pk)


def describe(imp: Import) -> Import:
    """Set what the pages show of an import, read once: shown_status, status_word,
    shown_counts (the run's counts; while it runs, the job's so far)."""
    imp.shown_status = status = imp.status
    if status == "running" and imp.run_job.cancel_requested_at:
        imp.status_word = "Cancelling"
    else:
        imp.status_word = STATUS_WORDS.get(status, status)
    counts = imp.counts
    if counts is None and imp.run_job is not None:
        counts = imp.run_job.counters
    counts = counts if isinstance(counts, dict) else {}
    imp.shown_counts = {key: counts.get(key) for key in COUNTS}
    return imp


# ---------------------------------------------------------------- the list


@require_GET
def import_list(request):
    page, bad_cursor = page_or_first(
        selectors.import_list(workspace=request.workspace),
        order=ORDER,
        cursor=request.GET.get("cursor"),
        limit=PAGE_SIZE,
    )
    for imp in page.items:
        describe(imp)
    context = {
        "page": page,
        "bad_cursor": bad_cursor,
        # The list redraws itself every few seconds while an import on it runs.
        "any_open": any(imp.shown_status in OPEN for imp in page.items),
    }
    return render_page_or_fragment(request, "imports/import_list.html", "results", context)


# ---------------------------------------------------------------- setup


@writer_required
@require_http_methods(["GET", "POST"])
def import_create(request):
    segments = list(segment_selectors.manual_segment_choices(request.workspace))
    posted = request.method == "POST"  # a post of a file alone has an empty POST
    form = SetupForm(
        request.POST if posted else None,
        request.FILES if posted else None,
        segments=segments,
        initial=setup_initial(request.GET, segments),
    )
    if posted and form.is_valid():
        try:
            imp = services.import_create(
                workspace=request.workspace, user=request.user, **form.service_arguments()
            )
        except KithError as exc:
            form.add_service_errors(exc)
        else:
            return redirect("imports:map", pk=imp.pk)
    status = 400 if form.errors else 200
    return render(request, "imports/import_create.html", {"form": form}, status=status)


# ---------------------------------------------------------------- map


def _map_form(imp, data=None):
    return MapForm(
        data,
        imp=imp,
        columns=imp.columns,
        choices=selectors.mapping_choices(imp=imp),
        types=selectors.new_attribute_types(),
    )


def _draft(imp: Import, reading: dict) -> Import:
    """A copy of the import read with other answers, never saved: its columns read
    again when the reading answers change them, each with its suggested target."""
    draft = copy.copy(imp)
    for name, value in reading.items():
        setattr(draft, name, value)
    if reading != {k: getattr(imp, k) for k in reading}:
        try:
            with imp.file.open("rb") as file:
                columns = services.table_of(draft).columns(file.file)
        except (FileRefused, OSError):
            columns = imp.columns  # the preview says why the file cannot be read so
        if columns != imp.columns:
            draft.columns = columns
            draft.mapping = mappings.suggest(
                columns,
                attribute_definitions(imp.workspace),
                only=services.allowed_targets(imp),
            )
    return draft


def columns_key(columns) -> str:
    """A short fingerprint of the columns a page shows (posted back with its answers)."""
    return hashlib.sha256("\x1f".join(columns).encode()).hexdigest()[:16]


def _answered(imp: Import, data) -> tuple[MapForm, bool]:
    """The map form for the columns that `data`'s reading answers give, bound to
    `data` when those are the columns the page showed; else unbound (each column
    with its suggested target), and False."""
    reading = MapForm(data, imp=imp, columns=[], choices=[], types=[])
    draft = _draft(imp, reading.reading()) if reading.is_valid() else imp
    same = data.get("columns_shown") == columns_key(draft.columns)
    return _map_form(draft, data if same else None), same


def _map_context(imp: Import, form: MapForm, **extra) -> dict:
    """The page's context; the preview of the first rows as the form's answers would
    store them (on a copy of the import, never saved), when they are valid."""
    preview = None
    if not form.is_bound or form.is_valid():
        draft = copy.copy(form.imp)
        draft.mapping = form.mapping()
        for name, value in form.reading().items():
            setattr(draft, name, value)
        preview = selectors.import_preview(imp=draft, limit=PREVIEW_ROWS)
    return {
        "imp": imp,
        "form": form,
        "preview": preview,
        "columns_key": columns_key(form.columns),
        **extra,
    }


@writer_required
@require_http_methods(["GET", "POST"])
def import_map(request, pk):
    imp = _import(request, pk)
    if imp.step not in ("map", "review", "run"):
        return redirect(imp.get_absolute_url())  # started: the mapping is final
    refresh = request.GET.get("refresh") if wants_fragment(request) else None
    if refresh in ("mapping", "preview"):
        # The answers changed (nothing is saved): a column's target, the preview
        # again; how the file is read, the whole mapping (the columns may be others).
        form, _ = _answered(imp, request.GET)
        return render(request, f"imports/import_map.html#{refresh}", _map_context(imp, form))
    if request.method != "POST":
        return render(request, "imports/import_map.html", _map_context(imp, _map_form(imp)))
    form, same = _answered(imp, request.POST)
    if same and form.is_valid():
        try:
            with transaction.atomic():  # mapped and its check started, or neither
                imp = services.import_map(
                    imp=imp, user=request.user, mapping=form.mapping(), **form.reading()
                )
                services.import_review_start(imp=imp, user=request.user)
        except KithError as exc:
            form.add_service_errors(exc)
        else:
            return redirect("imports:review", pk=imp.pk)
    context = _map_context(imp, form, columns_changed=not same)
    return render(request, "imports/import_map.html", context, status=400)


# ---------------------------------------------------------------- review and run


def _state_response(request, template: str, context: dict, imp):
    """The step's `state` partial for the page's poll: 200 while its job is open,
    286 (stop polling) with the final state once it has ended."""
    if imp.status in OPEN:
        return render(request, f"{template}#state", context)
    return HttpResponseStopPolling(render_to_string(f"{template}#state", context, request=request))


def _review_context(request, imp) -> dict:
    review = imp.review or {}
    return {
        "imp": imp,
        "job": imp.review_job,
        "review": review,
        "can_write": request.membership.can_write,
    }


@require_http_methods(["GET", "POST"])
def import_review(request, pk):
    """GET: the dry run's progress, then its outcome. POST: start it again (after a
    failed or missing dry run)."""
    imp = _import(request, pk)
    if request.method == "POST":
        return _start_review(request, imp)
    if imp.step == "map":
        return redirect("imports:map", pk=imp.pk)
    if imp.step == "result":
        return redirect("imports:detail", pk=imp.pk)
    context = _review_context(request, imp)
    if wants_fragment(request) and request.htmx.target == "import-state":
        return _state_response(request, "imports/import_review.html", context, imp)
    return render(request, "imports/import_review.html", context)


@writer_required
def _start_review(request, imp):
    if imp.step not in ("review", "run"):
        return redirect(imp.get_absolute_url())
    try:
        services.import_review_start(imp=imp, user=request.user)
    except KithError as exc:
        messages.error(request, sentences(exc))
    return redirect("imports:review", pk=imp.pk)


@require_http_methods(["GET", "POST"])
def import_run(request, pk):
    """GET: the dry run's outcome until the import starts (the step where one starts
    it). POST: start the import."""
    imp = _import(request, pk)
    if request.method == "POST":
        return _start_run(request, imp)
    if imp.step != "run":
        return redirect(imp.get_absolute_url())
    return render(request, "imports/import_review.html", _review_context(request, imp))


@writer_required
def _start_run(request, imp):
    if imp.step != "run":
        messages.error(request, _not_ready(imp))
        return redirect(imp.get_absolute_url())
    try:
        services.import_run_start(imp=imp, user=request.user)
    except KithError as exc:
        messages.error(request, sentences(exc))
        return redirect(imp.get_absolute_url())
    return redirect("imports:detail", pk=imp.pk)


def _not_ready(imp) -> str:
    if imp.step == "result":
        return "This import has already started."
    return "Check the file first: the review shows what the import would do."


@require_GET
def import_detail(request, pk):
    """The run's progress while it runs (Cancel), then the result."""
    imp = describe(_import(request, pk))
    if imp.step != "result":
        return redirect(imp.get_absolute_url())
    running = imp.shown_status == "running"
    context = {
        "imp": imp,
        "job": imp.run_job,
        "step": "run" if running else "result",
        "can_cancel": running
        and request.membership.can_write
        and imp.run_job.cancel_requested_at is None,
    }
    if wants_fragment(request) and request.htmx.target == "import-state":
        return _state_response(request, "imports/import_detail.html", context, imp)
    return render(request, "imports/import_detail.html", context)


@writer_required
@require_POST
def import_cancel(request, pk):
    imp = _import(request, pk)
    try:
        services.import_cancel(imp=imp, user=request.user)
    except KithError as exc:
        messages.error(request, sentences(exc))
    else:
        messages.info(
            request,
            "Cancelling: the import stops after the rows it is writing now; "
            "those already imported stay.",
        )
    return redirect(reverse("imports:detail", args=[imp.pk]))

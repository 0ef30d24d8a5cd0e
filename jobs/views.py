"""The Activity pages: the workspace's jobs (imports, exports, bulk actions...), a
job's page with its counters, errors and result, the progress fragment HTMX polls
every second while the job is open (it answers 286, "stop polling", with the final
state once the job ends), cancel, and the download of a job's result file.

Everything is read through workspaces.scoping. A result file is sent by the view
that checked its workspace, never from a public media URL. The list is keyset-paged
and its queries do not grow with the number of jobs."""

from pathlib import PurePath

import django_filters
from django.contrib import messages
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from jobs import registry, services
from jobs.models import MAX_ERRORS, Job
from workspaces.access import writer_required
from workspaces.errors import KithError, sentences
from workspaces.keyset import InvalidCursor, paginate
from workspaces.rendering import render_page_or_fragment
from workspaces.scoping import get_scoped_or_404, scoped

PAGE_SIZE = 30
ORDER = ("-created_at", "-id")
STATUSES = {
    "open": Job.OPEN,
    "done": (Job.Status.DONE,),
    "failed": (Job.Status.FAILED,),
    "cancelled": (Job.Status.CANCELLED,),
}


class JobFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        label="Status",
        method="filter_status",
        empty_label="Any status",
        choices=[
            ("open", "In progress"),
            ("done", "Done"),
            ("failed", "Failed"),
            ("cancelled", "Cancelled"),
        ],
    )
    kind = django_filters.ChoiceFilter(label="Kind", empty_label="Any kind")
    started = django_filters.ChoiceFilter(
        label="Started by", method="filter_started", empty_label="Anyone", choices=[("me", "Me")]
    )

    class Meta:
        model = Job
        fields: list[str] = []

    def __init__(self, data, queryset, *, request, kinds: list[str]):
        super().__init__(data, queryset, request=request)
        self.filters["kind"].extra["choices"] = [(k, registry.label(k)) for k in kinds]

    def filter_status(self, queryset, name, value):
        return queryset.filter(status__in=STATUSES[value])

    def filter_started(self, queryset, name, value):
        return queryset.filter(created_by=self.request.user)


def _kinds(workspace) -> list[str]:
    """The kinds of job this workspace has had (one query), for the Kind filter."""
    kinds = scoped(Job, workspace).order_by().values_list("kind", flat=True).distinct()
    return sorted(kinds, key=registry.label)


@require_GET
def job_list(request):
    jobs = scoped(Job, request.workspace).select_related("created_by")
    filterset = JobFilter(request.GET, jobs, request=request, kinds=_kinds(request.workspace))
    valid = filterset.is_valid()
    queryset = filterset.qs if valid else jobs.none()
    cursor, bad_cursor = request.GET.get("cursor") or None, False
    try:
        page = paginate(queryset, order=ORDER, cursor=cursor, limit=PAGE_SIZE)
    except InvalidCursor:
        page, bad_cursor = paginate(queryset, order=ORDER, cursor=None, limit=PAGE_SIZE), True
    context = {
        "filterset": filterset,
        "filter_form": filterset.form,
        "filtered": valid and any(filterset.form.cleaned_data.values()),
        "valid": valid,
        "page": page,
        "bad_cursor": bad_cursor,
        # The list redraws itself every few seconds while a job on it is still open.
        "any_open": any(job.is_open for job in page.items),
    }
    return render_page_or_fragment(request, "jobs/job_list.html", "results", context)


def _job(request, pk) -> Job:
    return get_scoped_or_404(Job.objects.select_related("created_by"), request.workspace, pk=pk)


def _context(request, job: Job) -> dict:
    kind = registry.get(job.kind)
    return {
        "job": job,
        "max_errors": MAX_ERRORS,
        "can_cancel": job.is_open
        and job.cancel_requested_at is None
        and (kind is None or kind.cancellable)
        and request.membership.can_write,
    }


@require_GET
def job_detail(request, pk):
    return render(request, "jobs/job_detail.html", _context(request, _job(request, pk)))


@require_GET
def job_progress(request, pk):
    """The job's state for the page's poll: 200 while open, 286 with the final state
    (and the page's actions, out of band) once it has ended."""
    job = _job(request, pk)
    context = {**_context(request, job), "polled": True}
    if job.is_open:
        return render(request, "jobs/job_detail.html#state", context)
    html = render_to_string("jobs/job_detail.html#state", context, request=request)
    return HttpResponseStopPolling(html)


@writer_required
@require_POST
def job_cancel(request, pk):
    job = _job(request, pk)
    try:
        job = services.job_cancel(job=job)
    except KithError as exc:
        messages.error(request, sentences(exc))
    else:
        if job.status == Job.Status.CANCELLED:
            messages.info(request, "Cancelled before it started.")
        else:
            messages.info(
                request,
                "Cancelling: it stops after the part it is working on now, "
                "and what is done stays done.",
            )
    return redirect(job.get_absolute_url())


@require_GET
def job_download(request, pk):
    """The job's result file, to members of its workspace only."""
    job = _job(request, pk)
    if not job.result_file:
        raise Http404("This job has no file.")
    try:
        handle = default_storage.open(job.result_file, "rb")
    except (OSError, SuspiciousFileOperation) as exc:
        raise Http404("The file is no longer there.") from exc
    return FileResponse(handle, as_attachment=True, filename=PurePath(job.result_file).name)

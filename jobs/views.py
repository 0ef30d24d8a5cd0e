"""The Activity pages: every job of the workspace, one job's page, its progress
fragment (polled by HTMX until the job ends) and cancel. (First version: the pages
are finished by the jobs UI work.)"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from jobs import services
from jobs.models import Job
from workspaces.scoping import get_scoped_or_404, scoped


@require_GET
def job_list(request):
    jobs = scoped(Job, request.workspace).select_related("created_by")[:100]
    return render(request, "jobs/job_list.html", {"jobs": jobs})


@require_GET
def job_detail(request, pk):
    job = get_scoped_or_404(Job, request.workspace, pk=pk)
    return render(request, "jobs/job_detail.html", {"job": job})


@require_GET
def job_progress(request, pk):
    job = get_scoped_or_404(Job, request.workspace, pk=pk)
    response = render(request, "jobs/progress.html", {"job": job})
    if not job.is_open:
        response.status_code = HttpResponseStopPolling.status_code
    return response


@require_POST
def job_cancel(request, pk):
    job = get_scoped_or_404(Job, request.workspace, pk=pk)
    try:
        services.job_cancel(job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.info(request, "Cancelling: the work done so far stays done.")
    return redirect(job.get_absolute_url())

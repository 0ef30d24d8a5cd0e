"""Jobs in Django admin, for support: read-only (the runner and the services write
them), newest first by id (the primary key's index, whatever the workspace), a count
that stops at COUNT_CAP instead of COUNT(*) over the whole history, and an action
that cancels the selected jobs."""

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.utils.functional import cached_property

from jobs import registry, services
from jobs.models import Job
from workspaces.errors import KithError

COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    @cached_property
    def count(self):
        return self.object_list[: COUNT_CAP + 1].count()


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "title",
        "kind_label",
        "workspace",
        "status",
        "progress",
        "created_by",
        "created_at",
        "finished_at",
    )
    list_display_links = ("id", "title")
    list_filter = ("status", "kind")
    search_fields = ("=id", "title")
    list_select_related = ("workspace", "created_by")
    ordering = ("-id",)
    sortable_by = ("id",)
    list_per_page = 50
    show_full_result_count = False
    paginator = CappedPaginator
    actions = ["cancel"]
    fields = (
        ("workspace", "kind", "status"),
        "title",
        ("created_by", "created_at"),
        ("started_at", "finished_at", "cancel_requested_at"),
        ("done", "total"),
        "counters",
        "errors",
        "message",
        ("result_url", "result_file"),
        "params",
        "checkpoint",
        ("leased_by", "lease_expires_at", "attempts", "dispatched_at"),
    )

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Job._meta.fields if field.name != "id"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Kind")
    def kind_label(self, job):
        return registry.label(job.kind)

    @admin.display(description="Progress")
    def progress(self, job):
        if job.total:
            return f"{job.done:,} of {job.total:,} ({job.percent}%)"
        return f"{job.done:,}"

    @admin.action(description="Cancel the selected jobs")
    def cancel(self, request, queryset):
        cancelled, refused = 0, 0
        for job in queryset.filter(status__in=Job.OPEN):
            try:
                services.job_cancel(job=job)
            except KithError:
                refused += 1
            else:
                cancelled += 1
        if cancelled:
            self.message_user(request, f"Asked {cancelled} job(s) to stop.")
        if refused or not cancelled:
            self.message_user(
                request, "Only open, cancellable jobs can be cancelled.", messages.WARNING
            )

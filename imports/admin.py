"""Imports in Django admin, for support: read-only (the wizard, the command and the
jobs write them; an import's file, mapping and outcome are a record of what
happened), newest first by id, a count that stops at COUNT_CAP, searchable by id and
name, with links to its jobs. Deleting one is allowed: its contacts stay."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from imports.models import Import
from jobs.admin import CappedPaginator


@admin.register(Import)
class ImportAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "name",
        "workspace",
        "mode",
        "status_label",
        "rows",
        "created_by",
        "created_at",
    )
    list_display_links = ("id", "name")
    list_filter = ("mode", "format")
    search_fields = ("=id", "name", "original_name")
    list_select_related = ("workspace", "created_by", "run_job", "review_job")
    ordering = ("-id",)
    sortable_by = ("id",)
    list_per_page = 50
    show_full_result_count = False
    paginator = CappedPaginator
    fields = (
        ("workspace", "name", "status_label"),
        ("created_by", "created_at", "updated_at"),
        ("mode", "lookup", "segment"),
        ("original_name", "size", "format", "file"),
        ("encoding", "delimiter", "sheet", "has_header", "detected"),
        "columns",
        "mapping",
        ("review_job_link", "review"),
        ("run_job_link", "counts"),
    )

    computed = ("status_label", "review_job_link", "run_job_link")

    def get_readonly_fields(self, request, obj=None):
        return [*(f.name for f in Import._meta.fields if f.name != "id"), *self.computed]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Status")
    def status_label(self, imp):
        return imp.status.capitalize()

    @admin.display(description="Rows")
    def rows(self, imp):
        counts = imp.counts or imp.review or {}
        return f"{counts['rows']:,}" if "rows" in counts else "—"

    def _job_link(self, job):
        if job is None:
            return "—"
        url = reverse("admin:jobs_job_change", args=[job.pk])
        return format_html('<a href="{}">{}</a> ({})', url, job, job.get_status_display())

    @admin.display(description="Review job")
    def review_job_link(self, imp):
        return self._job_link(imp.review_job)

    @admin.display(description="Run job")
    def run_job_link(self, imp):
        return self._job_link(imp.run_job)

from django.contrib import admin

from jobs.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "workspace", "status", "done", "total", "created_at")
    list_filter = ("status", "kind")
    search_fields = ("title",)
    list_select_related = ("workspace",)
    raw_id_fields = ("workspace", "created_by")
    readonly_fields = (
        "created_at",
        "started_at",
        "finished_at",
        "leased_by",
        "lease_expires_at",
        "attempts",
        "dispatched_at",
    )
    show_full_result_count = False

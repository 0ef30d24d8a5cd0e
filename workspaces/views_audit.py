"""The workspace's audit log (Settings → Audit log): who changed what, newest first,
filtered by who, what kind of change and segment, a keyset page at a time. Owners and
admins only: it names every member's doings, which is theirs to oversee."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from workspaces import audit
from workspaces.access import manager_required
from workspaces.keyset import page_or_first

PAGE_SIZE = 50


@manager_required
@require_GET
def audit_log(request):
    filterset = audit.AuditFilter(request.GET, workspace=request.workspace)
    valid = filterset.is_valid()
    entries = filterset.qs if valid else filterset.queryset.none()
    page, bad_cursor = page_or_first(
        entries, order=audit.ORDER, cursor=request.GET.get("cursor"), limit=PAGE_SIZE
    )
    for entry in page.items:
        entry.words = audit.words(entry)
    segment = valid and filterset.form.cleaned_data.get("segment")
    context = {
        "section": "audit",
        "filter_form": filterset.form,
        "valid": valid,
        "page": page,
        "bad_cursor": bad_cursor,
        # The segment filtered on, named by its latest entry on this page (if any).
        "segment_name": next(
            (e.subject_name for e in page.items if segment and e.subject_type == "segment"), ""
        ),
        "segment_filter": segment,
    }
    return render(request, "workspaces/audit_log.html", context)

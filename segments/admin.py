import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html

from contacts import exports
from segments import actions as segment_actions
from segments import jobs as segment_jobs
from segments import selectors, services
from segments.models import Segment, SegmentChange, SegmentDependency, SegmentMember
from segments.services.lifecycle import check_name_free, clean_name
from workspaces.admin_ids import IdSafeAdminMixin
from workspaces.errors import KithError
from workspaces.middleware import SESSION_KEY


def _admin_url(kind: str, pk: int) -> str:
    """Where the admin's delete guard links a user of a segment: its admin page."""
    model = Segment if kind == "segment" else _campaign_model()
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[pk])


def _campaign_model():
    """Campaigns, reached through the reverse relation: segments imports nothing of
    campaigns."""
    links = Segment._meta.get_field("campaign_links").related_model
    return links._meta.get_field("campaign").related_model


def used_by(segment: Segment) -> str | None:
    """What uses a segment, each named with a link to its admin page, in the words of
    the app's delete guard (templates/segments/_used_by.html), instead of Django's
    protected rows ("Segment dependency: 8 needs 6"); None when nothing does."""
    usage = selectors.segment_usage(segment)
    if not selectors.is_in_use(usage):
        return None
    users = selectors.segment_users(usage, link=_admin_url)
    return render_to_string("segments/_used_by.html", {"subject": segment.name, "users": users})


# What the admin's change form edits through segments.services.segment_update (its
# topics are set by the form itself, after).
EDITED_BY_SERVICE = ("name", "description", "archived")


class SegmentAdminForm(forms.ModelForm):
    def clean_name(self):
        """The app's rule for names (trimmed, unique in the workspace whatever the
        case), said next to the field instead of failing on save."""
        name = self.cleaned_data["name"]
        if self.instance.pk is None:
            return name
        try:
            name = clean_name(name)
            check_name_free(self.instance.workspace, name, exclude_id=self.instance.pk)
        except KithError as exc:
            raise ValidationError(str(exc)) from None
        return name


@admin.register(Segment)
class SegmentAdmin(IdSafeAdminMixin, admin.ModelAdmin):
    list_display = ["name", "workspace", "kind", "origin", "member_count", "archived", "created_at"]
    list_filter = ["kind", "origin", "archived", "workspace"]
    search_fields = ["name", "description"]
    list_select_related = ["workspace"]
    # What the app works out (origin, counts, when the rule changed, who made it) is
    # shown, not edited.
    readonly_fields = [
        "workspace",
        "kind",
        "origin",
        "member_count",
        "refreshed_at",
        "rule_changed_at",
        "rule",
        "created_by",
        "created_at",
        "updated_at",
    ]
    exclude = ["conditions"]
    filter_horizontal = ["topics"]
    actions = [
        "refresh",
        "export_csv",
        "mass_update",
        "reset_score",
        "remove_all",
        "delete_all",
    ]

    def get_deleted_objects(self, objs, request):
        """A segment in use is not deleted (the database refuses too): the page names
        what uses it, with links, instead of listing rows by id."""
        segments = list(objs)
        protected = [line for line in map(used_by, segments) if line]
        if protected:
            return [], {}, set(), protected
        return super().get_deleted_objects(segments, request)

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = SegmentAdminForm
        return super().get_form(request, obj, change, **kwargs)

    def save_model(self, request, obj, form, change):
        """A change goes through the service, as the app's Settings tab: the name
        checked, only what changed written (never member_count read when the form
        opened: refreshes move it), each change in the audit trail by this admin."""
        if not change:
            return super().save_model(request, obj, form, change)
        edited = {f: form.cleaned_data[f] for f in EDITED_BY_SERVICE if f in form.changed_data}
        services.segment_update(segment=Segment.objects.get(pk=obj.pk), **edited)

    def delete_model(self, request, obj):
        services.segment_delete(segment=obj)  # the guard and the audit trail, as the app

    def delete_queryset(self, request, queryset):
        for segment in queryset:
            services.segment_delete(segment=segment)

    @admin.display(description="Rule")
    def rule(self, segment):
        if not segment.conditions:
            return "—"
        return format_html("<pre>{}</pre>", json.dumps(segment.conditions, indent=2))

    @admin.action(description="Refresh membership of the selected filter segments now")
    def refresh(self, request, queryset):
        """In the background: one job per workspace, on the Activity page and here
        under Jobs, with the numbers who entered and left when it ends."""
        started = segment_jobs.refresh_start(
            segments=queryset.select_related("workspace"), user=request.user
        )
        if not started:
            self.message_user(request, "No filter segment selected.", messages.WARNING)
        for job in started:
            link = reverse("admin:jobs_job_change", args=[job.pk])
            self.message_user(
                request,
                format_html(
                    '{} ({}): started in the background; <a href="{}">follow job #{}</a>.',
                    job.title,
                    job.workspace.name,
                    link,
                    job.pk,
                ),
            )

    @admin.action(description="Export contacts (CSV) of the selected segments")
    def export_csv(self, request, queryset):
        """One export job per segment (every field, to CSV), in the segments'
        workspaces the admin is a member of; then the Exports page of that workspace
        (one workspace) or the job's page (one segment), where the file is downloaded
        when done. Segments of other workspaces are named and left alone."""
        mine = set(request.user.memberships.values_list("workspace_id", flat=True))
        started = []
        for segment in queryset.select_related("workspace").order_by("workspace_id", "pk"):
            if segment.workspace_id not in mine:
                self.message_user(
                    request,
                    f"“{segment.name}” not exported: you are not a member of "
                    f"{segment.workspace.name}.",
                    messages.ERROR,
                )
                continue
            started.append(
                exports.export_start(
                    workspace=segment.workspace,
                    user=request.user,
                    contact_set=segment_actions.members(segment),
                    format="csv",
                    name=segment.name,
                )
            )
        for job in started:
            self.message_user(request, f"{job.title} ({job.workspace.name}): started.")
        workspaces = {job.workspace_id for job in started}
        if len(workspaces) != 1:
            return None
        request.session[SESSION_KEY] = workspaces.pop()
        if len(started) == 1:
            return redirect(started[0].get_absolute_url())
        return redirect(reverse("contacts:exports"))


def _open_page(name: str, description: str):
    """An admin action that opens the segment page's action of that name (it asks
    first, then starts the job), in the segment's workspace when the admin is a member
    of it; one segment at a time."""

    @admin.action(description=description)
    def action(modeladmin, request, queryset):
        segments = list(queryset[:2])
        if len(segments) != 1:
            modeladmin.message_user(request, "Select exactly one segment.", messages.WARNING)
            return None
        segment = segments[0]
        if not request.user.memberships.filter(workspace_id=segment.workspace_id).exists():
            modeladmin.message_user(
                request, f"You are not a member of {segment.workspace.name}.", messages.ERROR
            )
            return None
        request.session[SESSION_KEY] = segment.workspace_id
        return redirect(reverse(f"segments:{name}", args=[segment.pk]))

    action.__name__ = name
    return action


SegmentAdmin.mass_update = _open_page("mass_update", "Mass update the members of…")
SegmentAdmin.reset_score = _open_page("reset_score", "Reset the contact score of…")
SegmentAdmin.remove_all = _open_page("remove_all", "Remove all members of… (manual segment)")
SegmentAdmin.delete_all = _open_page("delete_all", "Delete all contacts of…")


@admin.register(SegmentMember)
class SegmentMemberAdmin(admin.ModelAdmin):
    list_display = ["segment", "contact", "joined_at", "cause"]
    list_filter = ["source"]
    search_fields = ["^contact__email", "segment__name"]
    raw_id_fields = ["segment", "contact"]
    list_select_related = ["segment", "contact"]
    show_full_result_count = False
    # Membership of filter segments follows their rules: edit the rule, not the rows.
    readonly_fields = ["segment", "contact", "joined_at", "source"]

    def has_add_permission(self, request):
        return False


@admin.register(SegmentChange)
class SegmentChangeAdmin(admin.ModelAdmin):
    list_display = ["segment", "contact", "action", "cause", "triggers", "at"]
    list_filter = ["action", "source", "triggers"]
    search_fields = ["^contact__email", "segment__name"]
    list_select_related = ["segment", "contact"]
    show_full_result_count = False
    readonly_fields = ["segment", "contact", "action", "source", "triggers", "at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SegmentDependency)
class SegmentDependencyAdmin(admin.ModelAdmin):
    list_display = ["segment", "depends_on"]
    list_select_related = ["segment", "depends_on"]
    readonly_fields = ["segment", "depends_on"]

    def has_add_permission(self, request):
        return False

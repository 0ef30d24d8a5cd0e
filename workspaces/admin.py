"""Django admin for workspaces, members, API keys and notifications.

Writes that have rules go through workspaces.services: a new workspace gets its
default content (workspace_create), a workspace keeps an owner, and keys are made
where their text can be shown once (settings page, create_api_key), so the admin
can only look at them and revoke them.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from workspaces.admin_ids import IdSafeAdminMixin
from workspaces.models import ApiKey, AuditEntry, Membership, Notification, Role, Workspace
from workspaces.services import api_key_revoke, workspace_create


class MembershipInline(admin.TabularInline):
    """Who is in the workspace; roles are changed on the membership page, where the
    last-owner rule is checked."""

    model = Membership
    fields = ("user", "role", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "member_count", "created_at")
    search_fields = ("name", "^slug")
    readonly_fields = ("created_at", "contacts_link")
    inlines = (MembershipInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_members=Count("memberships"))

    @admin.display(description="Members", ordering="_members")
    def member_count(self, obj):
        return obj._members

    @admin.display(description="Contacts")
    def contacts_link(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        url = reverse("admin:contacts_contact_changelist") + f"?workspace__id__exact={obj.pk}"
        return format_html('<a href="{}">Contacts of this workspace</a>', url)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # A new workspace starts with its default segments, like one made anywhere else.
        created = workspace_create(name=obj.name, slug=obj.slug)
        obj.pk, obj.slug, obj.created_at = created.pk, created.slug, created.created_at
        obj._state.adding = False


class MembershipForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ("workspace", "user", "role")

    def clean_role(self):
        role = self.cleaned_data["role"]
        instance = self.instance
        demoted = instance.pk and instance.role == Role.OWNER and role != Role.OWNER
        if demoted and not _other_owners(instance).exists():
            raise forms.ValidationError("A workspace keeps at least one owner.")
        return role


def _other_owners(membership: Membership):
    return Membership.objects.filter(workspace_id=membership.workspace_id, role=Role.OWNER).exclude(
        pk=membership.pk
    )


@admin.register(Membership)
class MembershipAdmin(IdSafeAdminMixin, admin.ModelAdmin):
    form = MembershipForm
    list_display = ("user", "workspace", "role", "created_at", "last_used_at")
    list_filter = ("role", "workspace")
    list_select_related = ("user", "workspace")
    search_fields = ("^user__username", "^user__email", "workspace__name")
    autocomplete_fields = ("user", "workspace")
    readonly_fields = ("created_at", "last_used_at")

    def get_readonly_fields(self, request, obj=None):
        # A membership is one user in one workspace; to move someone, add and remove.
        if obj is not None:
            return ("workspace", "user", "created_at", "last_used_at")
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.role == Role.OWNER and not _other_owners(obj).exists():
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        # Bulk delete could remove the last owner of a workspace.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "workspace", "active", "created_by", "last_used_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "workspace")
    list_select_related = ("workspace", "created_by")
    search_fields = ("name", "^prefix", "workspace__name")
    fields = (
        "name",
        "workspace",
        "prefix",
        "key_hash",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = (
        "workspace",
        "prefix",
        "key_hash",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    actions = ("revoke_keys",)

    def has_add_permission(self, request):
        # The key's text is shown once when it is made: on the workspace settings page
        # or with `manage.py create_api_key`. The admin never sees it.
        return False

    @admin.display(description="Active", boolean=True)
    def active(self, obj):
        return obj.is_active

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke_keys(self, request, queryset):
        keys = list(queryset.filter(revoked_at__isnull=True))
        for key in keys:
            api_key_revoke(api_key=key)
        self.message_user(request, f"Revoked {len(keys)} key(s).", messages.SUCCESS)


@admin.register(Notification)
class NotificationAdmin(IdSafeAdminMixin, admin.ModelAdmin):
    list_display = ("title", "level", "user", "workspace", "created_at", "read_at")
    list_filter = ("level", ("read_at", admin.EmptyFieldListFilter), "workspace")
    list_select_related = ("user", "workspace")
    search_fields = ("title", "^user__username")
    autocomplete_fields = ("user", "workspace")
    readonly_fields = ("created_at",)
    ordering = ("-id",)
    show_full_result_count = False


# Django's own group admin, with its permissions read as ids (workspaces.admin_ids).
admin.site.unregister(Group)


@admin.register(Group)
class KithGroupAdmin(IdSafeAdminMixin, GroupAdmin):
    pass


@admin.register(AuditEntry)
class AuditEntryAdmin(IdSafeAdminMixin, admin.ModelAdmin):
    """The audit trail, to read: entries are written by the services, never here."""

    list_display = ("created_at", "workspace", "actor_name", "verb", "subject_type", "subject_name")
    list_filter = ("verb", "subject_type")
    list_select_related = ("workspace",)
    search_fields = ("actor_name", "subject_name")
    ordering = ("-created_at", "-id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

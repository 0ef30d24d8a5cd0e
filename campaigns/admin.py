"""Campaigns and deliveries in Django's admin, for support: look at any campaign and
what it sent, fix a name or a message. Sending, the trigger's cursor and the
deliveries' record of what happened are read-only here: they are written by sending
and tracking (campaigns.services), never by hand."""

from django.contrib import admin

from campaigns.models import Campaign, CampaignSegment, Delivery
from workspaces.admin_ids import IdSafeAdminMixin


class CampaignSegmentInline(IdSafeAdminMixin, admin.TabularInline):
    model = CampaignSegment
    extra = 0
    raw_id_fields = ["segment"]


@admin.register(Campaign)
class CampaignAdmin(IdSafeAdminMixin, admin.ModelAdmin):
    list_display = ["name", "workspace", "channel", "kind", "status", "scheduled_at", "created_at"]
    list_filter = ["kind", "status", "channel", "workspace"]
    search_fields = ["name", "subject"]
    list_select_related = ["workspace"]
    raw_id_fields = ["workspace", "topic", "created_by"]
    readonly_fields = ["send_job", "activated_at", "trigger_cursor", "created_at", "updated_at"]
    inlines = [CampaignSegmentInline]
    show_full_result_count = False


@admin.register(Delivery)
class DeliveryAdmin(IdSafeAdminMixin, admin.ModelAdmin):
    list_display = ["campaign", "contact", "status", "sent_at", "opened_at", "clicked_at"]
    list_filter = ["status"]
    search_fields = ["^contact__email", "campaign__name"]
    raw_id_fields = ["campaign", "contact"]
    list_select_related = ["campaign", "contact"]
    readonly_fields = ["queued_at", "claimed_until"]
    show_full_result_count = False

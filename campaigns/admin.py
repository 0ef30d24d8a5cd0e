from django.contrib import admin

from campaigns.models import Campaign, CampaignSegment, Delivery


class CampaignSegmentInline(admin.TabularInline):
    model = CampaignSegment
    extra = 0
    raw_id_fields = ["segment"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "kind", "status", "created_at"]
    list_filter = ["kind", "status", "workspace"]
    search_fields = ["name", "subject"]
    list_select_related = ["workspace"]
    inlines = [CampaignSegmentInline]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["campaign", "contact", "sent_at", "opened_at", "clicked_at"]
    search_fields = ["^contact__email", "campaign__name"]
    raw_id_fields = ["campaign", "contact"]
    list_select_related = ["campaign", "contact"]
    show_full_result_count = False

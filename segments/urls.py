"""The segment pages under /segments/: the dashboard, making segments, the segment
page's tabs (Members, Conditions, Usage, History, Activity, Settings) and actions, the rule
builder's live preview, and the contact page's side."""

from django.urls import path

from segments.views import (
    actions,
    actions_bulk,
    activity,
    builder,
    contact,
    create,
    dashboard,
    history,
    members,
    usage,
)
from segments.views import settings as settings_tab

app_name = "segments"

urlpatterns = [
    path("", dashboard.segment_list, name="list"),
    path("bulk/", dashboard.segment_bulk, name="bulk"),
    path("new/", builder.segment_create, name="create"),
    path("new/manual/", create.segment_create_manual, name="create_manual"),
    path("new/bulk/", create.segment_bulk_create, name="bulk_create"),
    path("preview/", builder.segment_preview, name="preview"),
    path("<int:pk>/", members.segment_members, name="detail"),
    path("<int:pk>/members/add/", members.segment_members_add, name="members_add"),
    path("<int:pk>/members/remove/", members.segment_members_remove, name="members_remove"),
    path("<int:pk>/conditions/", builder.segment_conditions, name="conditions"),
    path("<int:pk>/usage/", usage.segment_usage, name="usage"),
    path("<int:pk>/history/", history.segment_history, name="history"),
    path("<int:pk>/activity/", activity.segment_activity, name="activity"),
    path("<int:pk>/settings/", settings_tab.segment_settings, name="settings"),
    path("<int:pk>/clone/", actions.segment_clone, name="clone"),
    path("<int:pk>/save-as-list/", actions.segment_save_as_list, name="save_as_list"),
    path("<int:pk>/archive/", actions.segment_archive, name="archive"),
    path("<int:pk>/delete/", actions.segment_delete, name="delete"),
    path("<int:pk>/mass-update/", actions_bulk.segment_mass_update, name="mass_update"),
    path("<int:pk>/reset-score/", actions_bulk.segment_reset_score, name="reset_score"),
    path("<int:pk>/remove-all/", actions_bulk.segment_remove_all, name="remove_all"),
    path("<int:pk>/delete-all/", actions_bulk.segment_delete_all, name="delete_all"),
    path("contacts/<int:pk>/", contact.contact_segments, name="contact_segments"),
    path("contacts/<int:pk>/add/", contact.contact_segments_add, name="contact_add"),
    path("contacts/<int:pk>/remove/", contact.contact_segments_remove, name="contact_remove"),
    path("contacts/<int:pk>/why/", contact.contact_why, name="contact_why"),
]

"""The segment pages other than the rule builder: the dashboard, the segment page's
tabs (Members, Usage, History, Settings) and actions, and the contact side (a
contact's segments, adding contacts to manual segments)."""

from django.urls import path

from segments import views

urlpatterns = [
    path("", views.segment_list, name="list"),
    path("bulk/", views.segment_bulk, name="bulk"),
    path("new/manual/", views.segment_create_manual, name="create_manual"),
    path("new/bulk/", views.segment_bulk_create, name="bulk_create"),
    path("<int:pk>/", views.segment_members, name="detail"),
    path("<int:pk>/members/add/", views.segment_members_add, name="members_add"),
    path("<int:pk>/members/remove/", views.segment_members_remove, name="members_remove"),
    path("<int:pk>/usage/", views.segment_usage, name="usage"),
    path("<int:pk>/history/", views.segment_history, name="history"),
    path("<int:pk>/settings/", views.segment_settings, name="settings"),
    path("<int:pk>/clone/", views.segment_clone, name="clone"),
    path("<int:pk>/save-as-list/", views.segment_save_as_list, name="save_as_list"),
    path("<int:pk>/archive/", views.segment_archive, name="archive"),
    path("<int:pk>/delete/", views.segment_delete, name="delete"),
    path("contacts/<int:pk>/", views.contact_segments, name="contact_segments"),
    path("contacts/<int:pk>/add/", views.contact_segments_add, name="contact_add"),
    path("contacts/<int:pk>/remove/", views.contact_segments_remove, name="contact_remove"),
    path("contacts/<int:pk>/why/", views.contact_why, name="contact_why"),
]

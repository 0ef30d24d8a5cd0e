"""The contact pages under /contacts/, the exports under /exports/, and the settings
sections that define what contacts hold under /workspaces/settings/ (beside the
workspace's own sections, where people look for them)."""

from django.urls import include, path

from contacts.views import contact, exports, listing, settings

app_name = "contacts"

contact_pages = [
    path("", listing.contact_list, name="list"),
    path("bulk/", listing.contact_bulk, name="bulk"),
    path("new/", contact.contact_create, name="create"),
    path("<int:pk>/", contact.contact_detail, name="detail"),
    path("<int:pk>/edit/", contact.contact_edit, name="edit"),
    path("<int:pk>/delete/", contact.contact_delete, name="delete"),
    path("<int:pk>/tags/add/", contact.contact_tags_add, name="tags_add"),
    path("<int:pk>/tags/remove/", contact.contact_tags_remove, name="tags_remove"),
]

export_pages = [
    path("", exports.export_list, name="exports"),
    path("new/", exports.export_new, name="export_new"),
    path("selection/", exports.export_selection, name="export_selection"),
]

settings_pages = [
    path("attributes/", settings.settings_attributes, name="attributes"),
    path("attributes/new/", settings.attribute_create, name="attribute_create"),
    path("attributes/<int:pk>/", settings.attribute_edit, name="attribute_edit"),
    path("attributes/<int:pk>/delete/", settings.attribute_delete, name="attribute_delete"),
    path("tags/", settings.settings_tags, name="tags"),
    path("tags/<int:pk>/rename/", settings.tag_rename, name="tag_rename"),
    path("tags/<int:pk>/delete/", settings.tag_delete, name="tag_delete"),
    path("topics/", settings.settings_topics, name="topics"),
    path("topics/new/", settings.topic_create, name="topic_create"),
    path("topics/<int:pk>/delete/", settings.topic_delete, name="topic_delete"),
]

urlpatterns = [
    path("contacts/", include(contact_pages)),
    path("exports/", include(export_pages)),
    path("workspaces/settings/", include(settings_pages)),
]

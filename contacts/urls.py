from django.urls import path

from contacts import views

app_name = "contacts"
urlpatterns = [
    path("", views.contact_list, name="list"),
    path("bulk/", views.contact_bulk, name="bulk"),
    path("new/", views.contact_create, name="create"),
    path("<int:pk>/", views.contact_detail, name="detail"),
    path("<int:pk>/edit/", views.contact_edit, name="edit"),
    path("<int:pk>/delete/", views.contact_delete, name="delete"),
    path("<int:pk>/tags/add/", views.contact_tags_add, name="tags_add"),
    path("<int:pk>/tags/remove/", views.contact_tags_remove, name="tags_remove"),
]

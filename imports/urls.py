from django.urls import path

from imports import views

app_name = "imports"
urlpatterns = [
    path("", views.import_list, name="list"),
    path("new/", views.import_create, name="create"),
    path("<int:pk>/", views.import_detail, name="detail"),
    path("<int:pk>/map/", views.import_map, name="map"),
    path("<int:pk>/review/", views.import_review, name="review"),
    path("<int:pk>/run/", views.import_run, name="run"),
    path("<int:pk>/cancel/", views.import_cancel, name="cancel"),
]

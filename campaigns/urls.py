from django.urls import path

from campaigns import views

app_name = "campaigns"
urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_create, name="create"),
    path("preview/", views.campaign_preview, name="preview"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/edit/", views.campaign_edit, name="edit"),
    path("<int:pk>/send/", views.campaign_send, name="send"),
    path("<int:pk>/schedule/", views.campaign_schedule, name="schedule"),
    path("<int:pk>/activate/", views.campaign_activate, name="activate"),
    path("<int:pk>/pause/", views.campaign_pause, name="pause"),
    path("<int:pk>/delete/", views.campaign_delete, name="delete"),
]

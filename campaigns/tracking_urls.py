"""The tracking URLs of campaign messages, opened from mail programs: no sign-in."""

from django.urls import path

from campaigns import tracking_views

app_name = "tracking"
urlpatterns = [
    path("o/<str:token>/", tracking_views.opened, name="open"),
    path("c/<str:token>/", tracking_views.clicked, name="click"),
]

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from config.api import api

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="contacts:list"), name="home"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("activity/", include("jobs.urls")),
    # /contacts/..., and the contact settings sections under /workspaces/settings/
    path("", include("contacts.urls")),
    path("segments/", include("segments.urls")),
    path("workspaces/", include("workspaces.urls")),
]

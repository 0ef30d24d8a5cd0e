from django.contrib import admin
from django.urls import include, path

from config.api import api
from workspaces import views as workspace_views

urlpatterns = [
    path("", workspace_views.home, name="home"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("activity/", include("jobs.urls")),
    path("contacts/", include("contacts.urls")),
    path("segments/", include("segments.urls")),
    path("workspaces/", include("workspaces.urls")),
]

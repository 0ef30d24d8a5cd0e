from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from config.api import api

# The database away is a 503 that says so, not the generic 500 (workspaces.middleware).
handler500 = "workspaces.middleware.server_error"


class FaviconView(RedirectView):
    """/favicon.ico, which browsers ask for on pages without an icon link (the admin's):
    the app's icon (the static file, by its hashed name in production)."""

    http_method_names = ["get", "head"]

    def get_redirect_url(self, *args, **kwargs):
        return static("img/kith.svg")


urlpatterns = [
    path("", RedirectView.as_view(pattern_name="contacts:list"), name="home"),
    path("favicon.ico", FaviconView.as_view(), name="favicon"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("activity/", include("jobs.urls")),
    # /contacts/..., and the contact settings sections under /workspaces/settings/
    path("", include("contacts.urls")),
    path("segments/", include("segments.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("t/", include("campaigns.tracking_urls")),  # open pixel, click redirect: no sign-in
    path("imports/", include("imports.urls")),
    path("workspaces/", include("workspaces.urls")),
]

"""Sign-in everywhere, and the current workspace of each request.

LoginRequiredMiddleware: every page needs a signed-in user, except the API (it
authenticates with keys) and the views Django marks login_not_required (login).

CurrentWorkspaceMiddleware sets request.membership, request.workspace and
request.memberships (for the switcher) from the session, and refuses any write from a
viewer in one place, so no view has to remember to."""

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.http import HttpResponseForbidden
from django.shortcuts import render

SESSION_KEY = "workspace_id"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
# Paths where a viewer may still POST: signing out, switching workspace, and marking
# their own notifications read (none of these change the workspace's data).
VIEWER_POST_ALLOWED = ("/accounts/", "/workspaces/switch/", "/workspaces/notifications/")
# Paths that do not belong to a workspace at all.
UNSCOPED_PREFIXES = ("/api/", "/admin/", "/accounts/", "/static/")


class LoginRequiredMiddleware(DjangoLoginRequired):
    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith(("/api/", "/static/")):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class CurrentWorkspaceMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.workspace = None
        request.membership = None
        request.memberships = []
        if request.user.is_authenticated and not request.path.startswith(UNSCOPED_PREFIXES):
            denied = self._attach(request)
            if denied is not None:
                return denied
        return self.get_response(request)

    def _attach(self, request):
        memberships = list(request.user.memberships.select_related("workspace"))
        request.memberships = memberships
        if not memberships:
            return render(request, "workspaces/no_workspace.html", status=403)
        wanted = request.session.get(SESSION_KEY)
        current = next((m for m in memberships if m.workspace_id == wanted), memberships[0])
        request.membership = current
        request.workspace = current.workspace
        if (
            request.method not in SAFE_METHODS
            and not current.can_write
            and not request.path.startswith(VIEWER_POST_ALLOWED)
        ):
            return HttpResponseForbidden("Viewers can only read in this workspace.")
        return None

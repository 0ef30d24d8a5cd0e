"""Sign-in everywhere, and the current workspace of each request.

LoginRequiredMiddleware: every page needs a signed-in user, except the API (it
authenticates with keys) and the views Django marks login_not_required (login).

CurrentWorkspaceMiddleware sets request.membership, request.workspace and
request.memberships (for the switcher) from the session, and refuses any write from a
viewer in one place, so no view has to remember to.
- A session starts in the workspace the member used last (Membership.last_used_at,
  written as they open pages: at most once a minute, and whenever they switch; never
  by the fragments and previews a page fetches beside it, so two requests of one page
  do not write at once), not the alphabetically first; it is kept in the session from
  then on, so working in another workspace on another device does not move this one.
- A page that asks for an object of another workspace of the member (a link copied
  there, a notification) opens that workspace: the 404 of get_scoped_or_404 becomes a
  switch ("You are now in X") and the same address again. Only for a page opened
  (GET, not an HTMX fragment, which would move the workspace under a page in another
  tab), once per address, and never for a workspace the user is not a member of: that
  stays a 404 that says nothing.

database_unreachable is the site's handler500 (config/urls.py) and the API's answer
to the same errors (config/api.py): a request that lost its database connection, or
never got one, is a 503 that says so (templates/503.html; JSON under /api/), never
the generic 500. What the request was writing is not half-written: every write of a
service is one transaction, which PostgreSQL rolls back with the lost connection."""

import sys

from django.contrib import messages
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.http import HttpResponseForbidden, HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string

from workspaces.errors import database_lost
from workspaces.models import Membership
from workspaces.scoping import NotInThisWorkspace
from workspaces.services import membership_mark_used

SESSION_KEY = "workspace_id"
# The address a switch was made for: a second 404 there is a 404 (no switching back).
SWITCHED_FOR_KEY = "workspace_switched_for"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
# Paths where a viewer may still POST: signing out, switching workspace, and marking
# their own notifications read (none of these change the workspace's data).
VIEWER_POST_ALLOWED = ("/accounts/", "/workspaces/switch/", "/workspaces/notifications/")
# Paths that do not belong to a workspace at all.
UNSCOPED_PREFIXES = ("/api/", "/admin/", "/accounts/", "/static/", "/favicon.ico")


class LoginRequiredMiddleware(DjangoLoginRequired):
    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith(("/api/", "/static/")):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


def last_used(memberships: list[Membership]) -> Membership:
    """The membership used last; the first (by workspace name) if none was used."""
    used = [m for m in memberships if m.last_used_at is not None]
    return max(used, key=lambda m: m.last_used_at) if used else memberships[0]


def start_in_last_used(request, user) -> None:
    """At sign-in (user_logged_in): the session starts in the workspace used last."""
    memberships = list(user.memberships.select_related("workspace"))
    if memberships:
        current = last_used(memberships)
        request.session[SESSION_KEY] = current.workspace_id
        membership_mark_used(membership=current)


def _fetched_by_a_page(request) -> bool:
    """An HTMX fragment or a script's fetch, not a page opened."""
    return bool(getattr(request, "htmx", False)) or (
        request.headers.get("X-Requested-With") == "XMLHttpRequest"
    )


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
        current = next((m for m in memberships if m.workspace_id == wanted), None)
        if current is None:
            current = last_used(memberships)
            request.session[SESSION_KEY] = current.workspace_id
        if not _fetched_by_a_page(request):
            membership_mark_used(membership=current, others=memberships)
        request.membership = current
        request.workspace = current.workspace
        request.workspace_switched_for = request.session.pop(SWITCHED_FOR_KEY, None)
        if (
            request.method not in SAFE_METHODS
            and not current.can_write
            and not request.path.startswith(VIEWER_POST_ALLOWED)
        ):
            return HttpResponseForbidden("Viewers can only read in this workspace.")
        return None

    def process_exception(self, request, exception):
        """An object of another workspace of the member: open that workspace."""
        if not isinstance(exception, NotInThisWorkspace) or request.membership is None:
            return None
        if request.method not in ("GET", "HEAD") or _fetched_by_a_page(request):
            return None
        address = request.get_full_path()
        if request.workspace_switched_for == address:
            return None
        others = {m.workspace_id: m for m in request.memberships if m != request.membership}
        found = exception.workspace_among(list(others))
        if found is None:
            return None
        request.session[SESSION_KEY] = found
        request.session[SWITCHED_FOR_KEY] = address
        messages.info(request, f"You are now in {others[found].workspace.name}.")
        return redirect(address)


# ---------------------------------------------------------------- the database away

DATABASE_AWAY = "Kith could not reach its database; nothing was saved. Try again in a moment."
DATABASE_AWAY_RETRY_SECONDS = 5


def database_unreachable(request):
    """The 503 of a request whose database went away: JSON under /api/, else a page
    rendered without the request (its context processors would query the database)."""
    if request.path.startswith("/api/"):
        body = {"error": {"code": "database_unavailable", "message": DATABASE_AWAY}}
        response = JsonResponse(body, status=503)
    else:
        html = render_to_string("503.html", {"message": DATABASE_AWAY}, request=None)
        response = HttpResponseServerError(html, status=503)
    response["Retry-After"] = str(DATABASE_AWAY_RETRY_SECONDS)
    return response


def server_error(request):
    """handler500: the database away is a 503 that says so; any other error, 500.html."""
    if database_lost(sys.exc_info()[1]):
        return database_unreachable(request)
    return HttpResponseServerError(render_to_string("500.html", request=None))

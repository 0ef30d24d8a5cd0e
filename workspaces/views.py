"""Workspace pages: the switcher, notifications, and the workspace's own settings
sections (members, API keys). The sections of other apps (contacts: custom
attributes, tags, topics) register their tab in workspaces.sections.

Reading settings is open to every member; members and API keys are changed only by
owners and admins. A form that fails is drawn again on its section with the errors
beside its fields."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from workspaces import services
from workspaces.access import manager_required
from workspaces.errors import KithError
from workspaces.forms import ApiKeyForm, MemberAddForm, MemberRoleForm, submit
from workspaces.keyset import page_or_first
from workspaces.middleware import SESSION_KEY
from workspaces.models import ApiKey, Membership, Notification, Role
from workspaces.rendering import safe_url
from workspaces.scoping import get_scoped_or_404, scoped

NOTIFICATIONS_PAGE_SIZE = 30


# ---------------------------------------------------------------- switcher


@require_POST
def workspace_switch(request):
    wanted = request.POST.get("workspace", "")
    membership = next((m for m in request.memberships if str(m.workspace_id) == wanted), None)
    if membership is None:
        raise Http404("You are not a member of that workspace.")
    request.session[SESSION_KEY] = membership.workspace_id
    messages.info(request, f"You are now in {membership.workspace.name}.")
    # Back to the home page: the page you were on belongs to the other workspace.
    return redirect("home")


# ---------------------------------------------------------------- notifications


@require_GET
def notification_list(request):
    inbox = scoped(Notification, request.workspace).filter(user=request.user)
    page, _ = page_or_first(
        inbox,
        order=("-created_at", "-id"),
        cursor=request.GET.get("cursor"),
        limit=NOTIFICATIONS_PAGE_SIZE,
    )
    return render(request, "workspaces/notifications.html", {"page": page})


@require_POST
def notifications_read_all(request):
    count = services.notifications_mark_read(workspace=request.workspace, user=request.user)
    if count:
        messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} read.")
    return redirect("workspaces:notifications")


@require_POST
def notification_read(request, pk):
    notification = get_scoped_or_404(Notification, request.workspace, pk=pk, user=request.user)
    services.notifications_mark_read(
        workspace=request.workspace, user=request.user, ids=[notification.pk]
    )
    if request.POST.get("open") and notification.url:
        return redirect(safe_url(request, notification.url, reverse("workspaces:notifications")))
    return redirect("workspaces:notifications")


# ---------------------------------------------------------------- settings: members


@require_GET
def settings_index(request):
    return redirect("workspaces:members")


def _assignable_roles(actor: Membership) -> list[tuple[str, str]]:
    """Only an owner may make someone an owner."""
    return [
        (value, label)
        for value, label in Role.choices
        if actor.role == Role.OWNER or value != Role.OWNER
    ]


def _check_may_change(actor: Membership, target: Membership, role: str | None = None) -> None:
    if actor.role != Role.OWNER and (target.role == Role.OWNER or role == Role.OWNER):
        raise PermissionDenied("Only an owner can change an owner or make someone owner.")


@require_GET
def settings_members(request):
    return _members_page(request)


def _members_page(request, *, add_form=None, row_errors=None, status=200):
    actor = request.membership
    roles = _assignable_roles(actor)
    members = list(
        scoped(Membership, request.workspace).select_related("user").order_by("user__username")
    )
    for member in members:
        member.role_form = MemberRoleForm(initial={"role": member.role}, roles=roles)
        member.role_form.auto_id = f"id_member{member.pk}_%s"
        member.error = (row_errors or {}).get(member.pk)
        member.editable = actor.can_manage and (
            actor.role == Role.OWNER or member.role != Role.OWNER
        )
    context = {
        "section": "members",
        "members": members,
        "add_form": add_form or MemberAddForm(roles=roles),
    }
    return render(request, "workspaces/settings/members.html", context, status=status)


@manager_required
@require_POST
def member_add(request):
    form = MemberAddForm(request.POST, roles=_assignable_roles(request.membership))
    if membership := submit(form, services.membership_add, workspace=request.workspace):
        messages.success(
            request, f"Added {membership.user.get_username()} as {membership.get_role_display()}."
        )
        return redirect("workspaces:members")
    return _members_page(request, add_form=form, status=400)


@manager_required
@require_POST
def member_role(request, pk):
    member = get_scoped_or_404(Membership.objects.select_related("user"), request.workspace, pk=pk)
    form = MemberRoleForm(request.POST, roles=_assignable_roles(request.membership))
    if not form.is_valid():
        return _members_page(request, row_errors={pk: form.errors["role"][0]}, status=400)
    role = form.cleaned_data["role"]
    _check_may_change(request.membership, member, role)
    try:
        services.membership_set_role(membership=member, role=role)
    except KithError as exc:
        return _members_page(request, row_errors={pk: exc.message}, status=400)
    messages.success(request, f"{member.user.get_username()} is now {member.get_role_display()}.")
    return redirect("workspaces:members")


@manager_required
@require_POST
def member_remove(request, pk):
    member = get_scoped_or_404(Membership.objects.select_related("user"), request.workspace, pk=pk)
    _check_may_change(request.membership, member)
    try:
        services.membership_remove(membership=member)
    except KithError as exc:
        return _members_page(request, row_errors={pk: exc.message}, status=400)
    messages.success(request, f"Removed {member.user.get_username()} from {request.workspace}.")
    return redirect("workspaces:members")


# ---------------------------------------------------------------- settings: API keys


@require_GET
def settings_api_keys(request):
    return _api_keys_page(request)


def _api_keys_page(request, *, form=None, status=200):
    keys = scoped(ApiKey, request.workspace).select_related("created_by").order_by("-created_at")
    context = {"section": "api_keys", "keys": keys, "form": form or ApiKeyForm()}
    return render(request, "workspaces/settings/api_keys.html", context, status=status)


@manager_required
@require_POST
def api_key_create(request):
    form = ApiKeyForm(request.POST)
    created = submit(
        form, services.api_key_create, workspace=request.workspace, created_by=request.user
    )
    if created:
        key, raw = created
        # The full key exists only in this response: it is not stored, and the page
        # is not cached, so it cannot be shown again.
        response = render(
            request,
            "workspaces/settings/api_key_created.html",
            {"section": "api_keys", "key": key, "raw_key": raw},
        )
        response["Cache-Control"] = "no-store"
        return response
    return _api_keys_page(request, form=form, status=400)


@manager_required
@require_POST
def api_key_revoke(request, pk):
    key = get_scoped_or_404(ApiKey, request.workspace, pk=pk)
    services.api_key_revoke(api_key=key)
    messages.success(request, f"Revoked the key “{key.name}”. Requests using it now fail.")
    return redirect("workspaces:api_keys")

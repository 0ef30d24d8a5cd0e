"""Workspace pages: the switcher, notifications, and the settings sections (members,
custom attributes, tags, topics, API keys).

Reading settings is open to every member; attributes, tags and topics are changed by
members who can write; members and API keys only by owners and admins. A form that
fails is drawn again on its section with the errors beside its fields."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from contacts import selectors as contact_selectors
from contacts import services as contact_services
from contacts.models import CustomAttribute, Tag, Topic
from workspaces import services
from workspaces.access import manager_required, writer_required
from workspaces.forms import (
    ApiKeyForm,
    AttributeForm,
    AttributeLabelForm,
    MemberAddForm,
    MemberRoleForm,
    TagRenameForm,
    TopicForm,
)
from workspaces.keyset import InvalidCursor, paginate
from workspaces.middleware import SESSION_KEY
from workspaces.models import ApiKey, Membership, Notification, Role
from workspaces.rendering import safe_url
from workspaces.scoping import get_scoped_or_404, scoped

NOTIFICATIONS_PAGE_SIZE = 30
TAGS_PAGE_SIZE = 100


def home(request):
    return redirect("contacts:list")


def _page(queryset, order, cursor, limit):
    try:
        return paginate(queryset, order=order, cursor=cursor or None, limit=limit)
    except InvalidCursor:
        return paginate(queryset, order=order, cursor=None, limit=limit)


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
    page = _page(inbox, ("-created_at", "-id"), request.GET.get("cursor"), NOTIFICATIONS_PAGE_SIZE)
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
    if form.is_valid():
        try:
            membership = services.membership_add(
                workspace=request.workspace,
                username=form.cleaned_data["username"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(
                request,
                f"Added {membership.user.get_username()} as {membership.get_role_display()}.",
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
    except ValidationError as exc:
        return _members_page(request, row_errors={pk: " ".join(exc.messages)}, status=400)
    messages.success(request, f"{member.user.get_username()} is now {member.get_role_display()}.")
    return redirect("workspaces:members")


@manager_required
@require_POST
def member_remove(request, pk):
    member = get_scoped_or_404(Membership.objects.select_related("user"), request.workspace, pk=pk)
    _check_may_change(request.membership, member)
    try:
        services.membership_remove(membership=member)
    except ValidationError as exc:
        return _members_page(request, row_errors={pk: " ".join(exc.messages)}, status=400)
    messages.success(request, f"Removed {member.user.get_username()} from {request.workspace}.")
    return redirect("workspaces:members")


# ---------------------------------------------------------------- settings: attributes


@require_GET
def settings_attributes(request):
    return _attributes_page(request)


def _attributes_page(request, *, create_form=None, row_form=None, row_pk=None, status=200):
    attributes = contact_selectors.attribute_list(request.workspace)
    for attribute in attributes:
        if attribute.pk == row_pk:
            attribute.label_form = row_form
        else:
            attribute.label_form = AttributeLabelForm(initial={"label": attribute.label})
        attribute.label_form.auto_id = f"id_attribute{attribute.pk}_%s"
    context = {
        "section": "attributes",
        "attributes": attributes,
        "create_form": create_form or AttributeForm(),
    }
    return render(request, "workspaces/settings/attributes.html", context, status=status)


@writer_required
@require_POST
def attribute_create(request):
    form = AttributeForm(request.POST)
    if form.is_valid():
        try:
            attribute = contact_services.attribute_define(
                workspace=request.workspace,
                key=form.cleaned_data["key"],
                type=form.cleaned_data["type"],
                label=form.cleaned_data["label"],
            )
        except ValidationError as exc:
            form.add_service_errors(_on_key(exc))
        else:
            messages.success(request, f"Added the attribute “{attribute.key}”.")
            return redirect("workspaces:attributes")
    return _attributes_page(request, create_form=form, status=400)


def _on_key(exc: ValidationError) -> ValidationError:
    """attrs.validate_key raises a plain error about the key: file it under key."""
    return exc if hasattr(exc, "error_dict") else ValidationError({"key": exc.messages})


@writer_required
@require_POST
def attribute_edit(request, pk):
    attribute = get_scoped_or_404(CustomAttribute, request.workspace, pk=pk)
    form = AttributeLabelForm(request.POST)
    if form.is_valid():
        try:
            contact_services.attribute_update(attribute=attribute, label=form.cleaned_data["label"])
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Saved the label of “{attribute.key}”.")
            return redirect("workspaces:attributes")
    return _attributes_page(request, row_form=form, row_pk=attribute.pk, status=400)


@writer_required
@require_POST
def attribute_delete(request, pk):
    attribute = get_scoped_or_404(CustomAttribute, request.workspace, pk=pk)
    try:
        count = contact_services.attribute_delete(attribute=attribute)
    except ValidationError as exc:
        messages.error(request, contact_services.error_message(exc))
        return redirect("workspaces:attributes")
    messages.success(
        request,
        f"Deleted “{attribute.key}” and its value on {count:,} contact{'s' * (count != 1)}.",
    )
    return redirect("workspaces:attributes")


# ---------------------------------------------------------------- settings: tags


@require_GET
def settings_tags(request):
    return _tags_page(request)


def _tags_page(request, *, row_form=None, row_pk=None, status=200):
    tags = contact_selectors.tag_list(request.workspace)
    page = _page(tags, ("name", "id"), request.GET.get("cursor"), TAGS_PAGE_SIZE)
    for tag in page.items:
        tag.rename_form = (
            row_form if tag.pk == row_pk else TagRenameForm(initial={"name": tag.name})
        )
        tag.rename_form.auto_id = f"id_tag{tag.pk}_%s"
    context = {"section": "tags", "page": page, "row_pk": row_pk}
    return render(request, "workspaces/settings/tags.html", context, status=status)


@writer_required
@require_POST
def tag_rename(request, pk):
    tag = get_scoped_or_404(Tag, request.workspace, pk=pk)
    old_name = tag.name
    form = TagRenameForm(request.POST)
    if form.is_valid():
        try:
            contact_services.tag_rename(tag=tag, name=form.cleaned_data["name"])
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Renamed “{old_name}” to “{tag.name}”.")
            return redirect("workspaces:tags")
    return _tags_page(request, row_form=form, row_pk=tag.pk, status=400)


@writer_required
@require_POST
def tag_delete(request, pk):
    tag = get_scoped_or_404(Tag, request.workspace, pk=pk)
    contact_services.tag_delete(tag=tag)
    messages.success(request, f"Deleted the tag “{tag.name}”.")
    return redirect("workspaces:tags")


# ---------------------------------------------------------------- settings: topics


@require_GET
def settings_topics(request):
    return _topics_page(request)


def _topics_page(request, *, form=None, status=200):
    context = {
        "section": "topics",
        "topics": contact_selectors.topic_list(request.workspace),
        "form": form or TopicForm(),
    }
    return render(request, "workspaces/settings/topics.html", context, status=status)


@writer_required
@require_POST
def topic_create(request):
    form = TopicForm(request.POST)
    if form.is_valid():
        try:
            topic = contact_services.topic_create(workspace=request.workspace, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Added the topic “{topic.name}”.")
            return redirect("workspaces:topics")
    return _topics_page(request, form=form, status=400)


@writer_required
@require_POST
def topic_delete(request, pk):
    topic = get_scoped_or_404(Topic, request.workspace, pk=pk)
    contact_services.topic_delete(topic=topic)
    messages.success(request, f"Deleted the topic “{topic.name}”.")
    return redirect("workspaces:topics")


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
    if form.is_valid():
        try:
            key, raw = services.api_key_create(
                workspace=request.workspace, name=form.cleaned_data["name"], created_by=request.user
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            # The full key exists only in this response: it is not stored, and the
            # page is not cached, so it cannot be shown again.
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

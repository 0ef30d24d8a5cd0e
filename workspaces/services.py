"""Writes for workspaces, members, API keys and notifications."""

import hashlib
import secrets
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from workspaces import audit
from workspaces.errors import KithError
from workspaces.models import ApiKey, Membership, Notification, Role, Workspace

KEY_PREFIX = "kith_"

# Other apps add what every new workspace starts with (the segment engine adds the
# five default segments) by registering a function here in their AppConfig.ready.
_workspace_initializers: list[Callable[[Workspace], None]] = []


def register_workspace_initializer(initializer: Callable[[Workspace], None]) -> None:
    if initializer not in _workspace_initializers:
        _workspace_initializers.append(initializer)


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "workspace"
    slug, n = base, 1
    while Workspace.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def workspace_create(*, name: str, slug: str | None = None, owner=None) -> Workspace:
    """A workspace with its default content. A name that another workspace has already
    (in any case) is refused, unless a slug is given for the new one: two workspaces of
    one name are then made on purpose, told apart by their slugs."""
    name = (name or "").strip()
    if not name:
        raise KithError("Give the workspace a name.", field="name")
    same_name = Workspace.objects.filter(name__iexact=name).order_by("pk").first()
    if same_name is not None and not slug:
        raise KithError(
            f"There is a workspace named '{same_name.name}' already (slug {same_name.slug}).",
            field="name",
            code="duplicate_name",
            status=409,
        )
    if slug:
        slug = slugify(slug)
        if not slug:
            raise KithError("Use letters, digits, - or _ in the slug.", field="slug")
        if Workspace.objects.filter(slug=slug).exists():
            raise KithError(f"The slug '{slug}' is taken.", field="slug")
    workspace = Workspace.objects.create(name=name, slug=slug or _unique_slug(name))
    if owner is not None:
        Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    for initializer in _workspace_initializers:
        initializer(workspace)
    return workspace


@transaction.atomic
def membership_add(*, workspace: Workspace, username: str, role: str) -> Membership:
    if role not in Role.values:
        raise KithError(f"Unknown role '{role}'.", field="role")
    user = get_user_model().objects.filter(username__iexact=(username or "").strip()).first()
    if user is None:
        raise KithError(f"There is no user '{username}'.", field="username")
    if Membership.objects.filter(workspace=workspace, user=user).exists():
        raise KithError(f"{user.username} is already a member.", field="username")
    membership = Membership.objects.create(workspace=workspace, user=user, role=role)
    _audit_member(membership, audit.Verb.MEMBER_ADDED, role=membership.get_role_display())
    return membership


def _audit_member(membership: Membership, verb: str, **details) -> None:
    audit.record(
        workspace=membership.workspace_id,
        verb=verb,
        subject_type=audit.Subject.MEMBER,
        subject_id=membership.user_id,
        subject_name=membership.user.get_username(),
        details=details,
    )


# A member's use of a workspace is written at most this often (one UPDATE a minute).
USE_RECORDED_EVERY_SECONDS = 60


def membership_mark_used(*, membership: Membership, others: list[Membership] = ()) -> None:
    """Remember that the member works in this workspace now, so they sign in to it next
    time. Written when it is not the last one they used among `others` (they switched),
    or when the last write is more than a minute old."""
    now = timezone.now()
    last = membership.last_used_at
    switched = any(
        other.last_used_at and (last is None or other.last_used_at > last)
        for other in others
        if other.pk != membership.pk
    )
    if last is None or switched or (now - last).total_seconds() > USE_RECORDED_EVERY_SECONDS:
        Membership.objects.filter(pk=membership.pk).update(last_used_at=now)
        membership.last_used_at = now


def _owners_left(membership: Membership) -> int:
    return (
        Membership.objects.filter(workspace=membership.workspace, role=Role.OWNER)
        .exclude(pk=membership.pk)
        .count()
    )


@transaction.atomic
def membership_set_role(*, membership: Membership, role: str) -> Membership:
    if role not in Role.values:
        raise KithError(f"Unknown role '{role}'.", field="role")
    if membership.role == Role.OWNER and role != Role.OWNER and not _owners_left(membership):
        raise KithError("A workspace keeps at least one owner.", field="role")
    old = membership.get_role_display()
    membership.role = role
    membership.save(update_fields=["role"])
    if membership.get_role_display() != old:
        _audit_member(
            membership, audit.Verb.ROLE_CHANGED, old=old, new=membership.get_role_display()
        )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    if membership.role == Role.OWNER and not _owners_left(membership):
        raise KithError("A workspace keeps at least one owner.")
    _audit_member(membership, audit.Verb.MEMBER_REMOVED, role=membership.get_role_display())
    membership.delete()


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _audit_key(api_key: ApiKey, verb: str) -> None:
    audit.record_on(api_key, verb, audit.Subject.API_KEY, api_key.name, prefix=api_key.prefix)


@transaction.atomic
def api_key_create(*, workspace: Workspace, name: str, created_by=None) -> tuple[ApiKey, str]:
    """A new key and its full text, which is shown once and never stored."""
    name = (name or "").strip()
    if not name:
        raise KithError("Give the key a name.", field="name")
    if len(name) > 100:
        raise KithError("At most 100 characters.", field="name")
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        workspace=workspace,
        name=name,
        prefix=raw[: len(KEY_PREFIX) + 6],
        key_hash=hash_key(raw),
        created_by=created_by,
    )
    _audit_key(key, audit.Verb.KEY_CREATED)
    return key, raw


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        _audit_key(api_key, audit.Verb.KEY_REVOKED)
    return api_key


def api_key_authenticate(raw_key: str) -> ApiKey | None:
    """The active key with this text, or None. Lookup is by hash, so timing reveals
    nothing about the key."""
    if not raw_key or len(raw_key) > 200:
        return None
    key = (
        ApiKey.objects.select_related("workspace")
        .filter(key_hash=hash_key(raw_key), revoked_at__isnull=True)
        .first()
    )
    if key is not None:
        now = timezone.now()
        # Write at most once a minute per key, not on every request.
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def notification_create(
    *, workspace: Workspace, user, title: str, body: str = "", url: str = "", level="info"
) -> Notification:
    return Notification.objects.create(
        workspace=workspace, user=user, title=title[:200], body=body, url=url, level=level
    )


def notifications_mark_read(*, workspace: Workspace, user, ids: list[int] | None = None) -> int:
    unread = Notification.objects.filter(workspace=workspace, user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(id__in=ids)
    return unread.update(read_at=timezone.now())

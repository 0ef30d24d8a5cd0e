"""A segment's life: create, change (name, description, topics, archived, rule),
archive many, delete (one, or many at once past what uses them), clone and save as a
list. Every write of the pages, the API, the commands and the admin comes through
here (or through the members and bulk services beside it).

- A workspace's segments are counted and their names checked under a lock of the
  workspace row, so two creates at once cannot pass the limit or share a name; the
  unique index on the lower-cased name is the last word (DuplicateName, not a 500).
- A delete looks at what uses the segment under a lock of it, and the database
  refuses too (PROTECT foreign keys): a usage added at the same moment cannot slip
  through. The refusal names each user (selectors.segment_usage)."""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, ProtectedError
from django.db.models.functions import Lower
from django.utils import timezone

from contacts.models import Contact, Topic
from segments import membership, selectors
from segments.errors import (
    DuplicateName,
    InvalidConditions,
    SegmentError,
    SegmentInUse,
    SegmentLimit,
    conditions_validate,
)
from segments.models import Segment, SegmentMember, Source
from segments.services.rules import (
    UNSET,
    lock_with_named,
    rule_change_details,
    rule_saved,
    rule_set,
    segment_audit,
)
from workspaces import audit
from workspaces.models import Workspace

Verb = audit.Verb


def clean_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise SegmentError("A segment needs a name.", field="name")
    if len(name.strip()) > 200:
        raise SegmentError("A segment name has at most 200 characters.", field="name")
    if "\x00" in name:
        raise SegmentError("The name contains a NUL character.", field="name")
    return name.strip()


def check_name_free(workspace: Workspace, name: str, exclude_id: int | None = None) -> None:
    taken = Segment.objects.annotate(_key=Lower("name")).filter(
        workspace=workspace, _key=name.lower()
    )
    if exclude_id:
        taken = taken.exclude(pk=exclude_id)
    if taken.exists():
        raise DuplicateName(
            f"A segment named '{name}' already exists (archived ones count).", field="name"
        )


def lock_workspace(workspace: Workspace) -> None:
    """Segment creations in one workspace, one at a time (its limit, its names). FOR
    NO KEY UPDATE, not FOR UPDATE: the key-share lock that every foreign-key insert
    takes on the workspace row (an audit entry of a delete holding its segment's row)
    must not wait on it, or the two deadlock."""
    Workspace.objects.select_for_update(no_key=True).filter(pk=workspace.pk).first()


def check_limit(workspace: Workspace, adding: int = 1) -> None:
    limit = settings.SEGMENT_LIMIT
    if Segment.objects.filter(workspace=workspace).count() + adding > limit:
        raise SegmentLimit(
            f"A workspace holds at most {limit} segments; archive is not enough, "
            "delete some to make room."
        )


def _topics(workspace: Workspace, names) -> list[Topic]:
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        raise SegmentError("Topics must be a list of topic names.", field="topics")
    found = []
    for name in dict.fromkeys(n.strip() for n in names):
        topic = Topic.objects.filter(workspace=workspace, name__iexact=name).first()
        found.append(topic or Topic.objects.create(workspace=workspace, name=name[:100]))
    return found


@transaction.atomic
def segment_create(
    *,
    workspace: Workspace,
    name: str,
    kind: str,
    conditions=None,
    description: str = "",
    origin: str = Segment.Origin.CREATED,
    topics=None,
    created_by=None,
) -> Segment:
    name = clean_name(name)
    if kind not in Segment.Kind.values:
        raise SegmentError("'kind' is 'manual' or 'filter'.", field="kind")
    if kind == Segment.Kind.MANUAL and conditions is not None:
        raise SegmentError("A manual segment has no conditions.", field="conditions")
    if kind == Segment.Kind.FILTER:
        if conditions is None:
            raise InvalidConditions("A filter segment needs conditions.", path="")
        conditions_validate(workspace=workspace, conditions=conditions)
    lock_workspace(workspace)
    check_name_free(workspace, name)
    check_limit(workspace)
    try:
        with transaction.atomic():
            segment = Segment.objects.create(
                workspace=workspace,
                name=name,
                kind=kind,
                conditions=conditions,
                rule_changed_at=timezone.now() if kind == Segment.Kind.FILTER else None,
                description=(description or "").strip(),
                origin=origin,
                created_by=created_by,
            )
    except IntegrityError:
        raise DuplicateName(f"A segment named '{name}' already exists.", field="name") from None
    if topics:
        segment.topics.set(_topics(workspace, topics))
    if segment.is_filter:
        rule_saved(segment)
    if origin not in (Segment.Origin.CLONE, Segment.Origin.LIST):  # those say what they copied
        segment_audit(segment, Verb.CREATED, kind=kind, origin=origin)
    return segment


@transaction.atomic
def segment_update(
    *,
    segment: Segment,
    name=UNSET,
    description=UNSET,
    conditions=UNSET,
    archived=UNSET,
    topics=UNSET,
) -> Segment:
    segment = lock_with_named(segment, conditions)
    before = {"name": segment.name, "description": segment.description}
    before.update(archived=segment.archived, conditions=segment.conditions)
    changed = ["updated_at"]
    if name is not UNSET:
        segment.name = clean_name(name)
        check_name_free(segment.workspace, segment.name, exclude_id=segment.pk)
        changed.append("name")
    if description is not UNSET:
        if not isinstance(description, str):
            raise SegmentError("The description must be text.", field="description")
        segment.description = description.strip()
        changed.append("description")
    if archived is not UNSET:
        if not isinstance(archived, bool):
            raise SegmentError("'archived' is true or false.", field="archived")
        segment.archived = archived
        changed.append("archived")
    rule_changed = False
    if conditions is not UNSET:
        rule_fields = rule_set(segment, conditions)
        rule_changed = "rule_changed_at" in rule_fields
        changed += rule_fields
    try:
        with transaction.atomic():
            # Only what changed: member_count moves with every refresh, never here.
            segment.save(update_fields=changed)
    except IntegrityError:
        raise DuplicateName(
            f"A segment named '{segment.name}' already exists.", field="name"
        ) from None
    if topics is not UNSET:
        old_topics = sorted(segment.topics.values_list("name", flat=True))
        segment.topics.set(_topics(segment.workspace, topics))
        new_topics = sorted(segment.topics.values_list("name", flat=True))
        if new_topics != old_topics:
            segment_audit(segment, Verb.TOPICS, old=old_topics, new=new_topics)
    if rule_changed:
        rule_saved(segment)
        segment_audit(
            segment, Verb.RULE_CHANGED, **rule_change_details(segment, before["conditions"])
        )
    _audit_update(segment, before)
    return segment


def _audit_update(segment: Segment, before: dict) -> None:
    """One entry per kind of change that changed something."""
    if segment.name != before["name"]:
        segment_audit(segment, Verb.RENAMED, old=before["name"], new=segment.name)
    if segment.description != before["description"]:
        segment_audit(
            segment, Verb.DESCRIBED, old=before["description"][:500], new=segment.description[:500]
        )
    if segment.archived != before["archived"]:
        segment_audit(segment, Verb.ARCHIVED if segment.archived else Verb.UNARCHIVED)


@transaction.atomic
def segments_set_archived(*, workspace: Workspace, ids: list[int], archived: bool) -> int:
    chosen = Segment.objects.filter(workspace=workspace, pk__in=ids)
    changing = list(chosen.exclude(archived=archived).only("pk", "name", "workspace_id"))
    count = chosen.update(archived=archived, updated_at=timezone.now())
    for segment in changing:
        segment_audit(segment, Verb.ARCHIVED if archived else Verb.UNARCHIVED)
    return count


def segment_delete(*, segment: Segment) -> None:
    """Delete, unless anything uses the segment. The database refuses too (PROTECT
    foreign keys), so a usage added at the same moment cannot slip through."""
    try:
        with transaction.atomic():
            locked = Segment.objects.select_for_update().get(pk=segment.pk)
            usage = selectors.segment_usage(locked)
            if selectors.is_in_use(usage):
                raise SegmentInUse(_in_use_message(locked, usage), usage=usage)
            segment_audit(locked, Verb.DELETED, kind=locked.kind, members=locked.member_count)
            locked.delete()
    except (ProtectedError, IntegrityError):
        usage = selectors.segment_usage(segment)
        raise SegmentInUse(_in_use_message(segment, usage), usage=usage) from None


def _in_use_message(segment: Segment, usage: dict) -> str:
    """The API's words for the refusal: "“VIP” is used by the segment “VIP buyers” and
    the campaign “Spring sale” (trigger); remove it from them first."."""
    return f"{selectors.used_by_words(segment.name, usage)}; remove it from them first."


# ---------------------------------------------------------------- copies


def _copy_members(source: Segment, target: Segment, *, source_tag: str) -> None:
    entering = Contact.objects.filter(
        Exists(SegmentMember.objects.filter(segment=source, contact=OuterRef("pk")))
    ).values("id")
    membership.add_members(target, entering, source=source_tag)


@transaction.atomic
def segment_clone(*, segment: Segment, name: str, conditions=UNSET, created_by=None) -> Segment:
    """A manual clone copies the members; a filter clone copies (or replaces) the rule."""
    clone = segment_create(
        workspace=segment.workspace,
        name=name,
        kind=segment.kind,
        conditions=(segment.conditions if conditions is UNSET else conditions)
        if segment.is_filter
        else None,
        description=segment.description,
        origin=Segment.Origin.CLONE,
        topics=list(segment.topics.values_list("name", flat=True)),
        created_by=created_by,
    )
    if not segment.is_filter:
        _copy_members(segment, clone, source_tag=Source.MANUAL)
        clone.refresh_from_db(fields=["member_count", "refreshed_at"])
    segment_audit(clone, Verb.CLONED, source_id=segment.pk, source_name=segment.name)
    return clone


@transaction.atomic
def segment_save_as_list(*, segment: Segment, name: str, created_by=None) -> Segment:
    """A manual segment holding today's members of `segment`."""
    snapshot = segment_create(
        workspace=segment.workspace,
        name=name,
        kind=Segment.Kind.MANUAL,
        description=segment.description,
        origin=Segment.Origin.LIST,
        created_by=created_by,
    )
    _copy_members(segment, snapshot, source_tag=Source.MANUAL)
    # The count moved in the database (an UPDATE ... + n), not on this object.
    snapshot.refresh_from_db(fields=["member_count", "refreshed_at"])
    segment_audit(
        snapshot,
        Verb.SAVED_AS_LIST,
        source_id=segment.pk,
        source_name=segment.name,
        members=snapshot.member_count,
    )
    return snapshot


# ---------------------------------------------------------------- for the pages: many at once


@dataclass
class DeleteResult:
    deleted: list[str] = field(default_factory=list)  # names
    # Segments left alone because something uses them: {"id", "name", "usage", "message"}.
    skipped: list[dict] = field(default_factory=list)


def segments_delete(*, workspace: Workspace, ids: list[int]) -> DeleteResult:
    """Delete the given segments of the workspace, skipping each one in use (and
    saying by what). A segment used only by another selected segment goes too: the
    user is deleted first, so passes repeat while they make progress."""
    result = DeleteResult()
    pending = list(Segment.objects.filter(workspace=workspace, pk__in=ids).order_by("name", "pk"))
    blocked: list[tuple[Segment, SegmentInUse]] = []
    while pending:
        blocked = []
        for segment in pending:
            try:
                segment_delete(segment=segment)
            except SegmentInUse as exc:
                blocked.append((segment, exc))
            else:
                result.deleted.append(segment.name)
        if len(blocked) == len(pending):  # no progress: these stay
            break
        pending = [segment for segment, _ in blocked]
    for segment, exc in blocked:
        usage = exc.extra["usage"]
        result.skipped.append(
            {"id": segment.pk, "name": segment.name, "usage": usage, "message": exc.message}
        )
    return result

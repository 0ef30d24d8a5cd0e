"""Every write to segments: web pages, the API, commands and tasks call these."""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, Min, OuterRef, ProtectedError
from django.db.models.functions import Lower
from django.utils import timezone

from contacts.models import Contact, Topic
from contacts.services import clean_lookup, contacts_find
from segments import membership, pending, rules
from segments.jsonsql import JsonText
from segments.models import Segment, SegmentDependency, SegmentMember, Source
from segments.query import compile_rule
from workspaces.errors import KithError
from workspaces.models import Workspace
from workspaces.params import parse_id

UNSET = object()


class SegmentError(KithError):
    """A segment rule refused (workspaces.errors.KithError: a page shows it beside its
    field, the API answers it with its code)."""


class InvalidConditions(SegmentError):
    """A rule that does not hold, at `path`; `words` says it in the builder's words
    (rules.RuleError.words), `message` in the JSON's."""

    code = "invalid_conditions"

    def __init__(self, message: str, *, path: str = "", words: str | None = None):
        super().__init__(message, path=path)
        self.words = words or message


class DuplicateName(SegmentError):
    code, status = "duplicate_name", 409


class SegmentLimit(SegmentError):
    code, status = "segment_limit", 409


class SegmentInUse(SegmentError):
    code, status = "segment_in_use", 409


class NotManual(SegmentError):
    code, status = "segment_not_manual", 409


# ---------------------------------------------------------------- rules


def conditions_validate(
    *,
    workspace: Workspace,
    conditions,
    segment: Segment | None = None,
    vocabulary: rules.Vocabulary | None = None,
) -> rules.Vocabulary:
    """Check a rule against the workspace's names; the vocabulary read, to use again."""
    try:
        return rules.validate(
            conditions,
            workspace.pk,
            segment_id=segment.pk if segment else None,
            vocabulary=vocabulary,
        )
    except rules.RuleError as exc:
        raise InvalidConditions(exc.message, path=exc.path, words=exc.words) from None


def _save_dependencies(segment: Segment) -> None:
    refs = rules.segment_refs(segment.conditions)
    # Lock what the rule names, so a concurrent delete of it waits for this commit.
    named = Segment.objects.select_for_update().filter(pk__in=refs, workspace=segment.workspace)
    if set(named.values_list("pk", flat=True)) != set(refs):
        # A delete committed between the rule's check and this lock: the rule names a
        # segment that no longer exists. Checked again, it says which, at its path;
        # inserting the dependency would fail at commit (its foreign key), a 500.
        conditions_validate(
            workspace=segment.workspace, conditions=segment.conditions, segment=segment
        )
        raise InvalidConditions("The rule names a segment that no longer exists.")
    SegmentDependency.objects.filter(segment=segment).exclude(depends_on_id__in=refs).delete()
    SegmentDependency.objects.bulk_create(
        [SegmentDependency(segment=segment, depends_on_id=ref) for ref in refs],
        ignore_conflicts=True,
    )


# ---------------------------------------------------------------- create and change


def _clean_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise SegmentError("A segment needs a name.", field="name")
    if len(name.strip()) > 200:
        raise SegmentError("A segment name has at most 200 characters.", field="name")
    if "\x00" in name:
        raise SegmentError("The name contains a NUL character.", field="name")
    return name.strip()


def _check_name_free(workspace: Workspace, name: str, exclude_id: int | None = None) -> None:
    taken = Segment.objects.annotate(_key=Lower("name")).filter(
        workspace=workspace, _key=name.lower()
    )
    if exclude_id:
        taken = taken.exclude(pk=exclude_id)
    if taken.exists():
        raise DuplicateName(
            f"A segment named '{name}' already exists (archived ones count).", field="name"
        )


def _lock_workspace(workspace: Workspace) -> None:
    Workspace.objects.select_for_update().filter(pk=workspace.pk).first()


def _check_limit(workspace: Workspace, adding: int = 1) -> None:
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


def _queue_full_refresh(segment: Segment, source: str = Source.RULE) -> None:
    pending.request_refresh(segment, source)


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
    name = _clean_name(name)
    if kind not in Segment.Kind.values:
        raise SegmentError("'kind' is 'manual' or 'filter'.", field="kind")
    if kind == Segment.Kind.MANUAL and conditions is not None:
        raise SegmentError("A manual segment has no conditions.", field="conditions")
    if kind == Segment.Kind.FILTER:
        if conditions is None:
            raise InvalidConditions("A filter segment needs conditions.", path="")
        conditions_validate(workspace=workspace, conditions=conditions)
    _lock_workspace(workspace)
    _check_name_free(workspace, name)
    _check_limit(workspace)
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
        _save_dependencies(segment)
        _queue_full_refresh(segment)
    return segment


def _lock_with_named(segment: Segment, conditions) -> Segment:
    """Lock the segment, and the segments a new rule of it names, in id order. Two
    rules saved at once to name each other then wait for each other instead of
    deadlocking (a 500), and the second is checked knowing the first: the loop it
    would close is an invalid_conditions."""
    ids = {segment.pk}
    if conditions is not UNSET:
        try:
            refs = rules.segment_refs(conditions)
        except Exception:  # a rule that cannot be read names nothing; its check says why
            refs = set()
        ids |= {ref for ref in refs if parse_id(ref) is not None}
    locked = Segment.objects.select_for_update().filter(
        pk__in=ids, workspace_id=segment.workspace_id
    )
    by_id = {s.pk: s for s in locked.order_by("pk")}
    if segment.pk not in by_id:
        raise Segment.DoesNotExist("The segment was deleted meanwhile.")
    return by_id[segment.pk]


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
    segment = _lock_with_named(segment, conditions)
    changed = ["updated_at"]
    if name is not UNSET:
        segment.name = _clean_name(name)
        _check_name_free(segment.workspace, segment.name, exclude_id=segment.pk)
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
        if not segment.is_filter:
            raise SegmentError("A manual segment has no conditions.", field="conditions")
        conditions_validate(workspace=segment.workspace, conditions=conditions, segment=segment)
        rule_changed = conditions != segment.conditions
        segment.conditions = conditions
        changed.append("conditions")
        if rule_changed:
            segment.rule_changed_at = timezone.now()
            changed.append("rule_changed_at")
    try:
        with transaction.atomic():
            # Only what changed: member_count moves with every refresh, never here.
            segment.save(update_fields=changed)
    except IntegrityError:
        raise DuplicateName(
            f"A segment named '{segment.name}' already exists.", field="name"
        ) from None
    if topics is not UNSET:
        segment.topics.set(_topics(segment.workspace, topics))
    if rule_changed:
        _save_dependencies(segment)
        _queue_full_refresh(segment)
    return segment


def segments_set_archived(*, workspace: Workspace, ids: list[int], archived: bool) -> int:
    return Segment.objects.filter(workspace=workspace, pk__in=ids).update(
        archived=archived, updated_at=timezone.now()
    )


# ---------------------------------------------------------------- usage and delete


def segment_usage(segment: Segment) -> dict:
    campaigns = [
        {"id": link.campaign_id, "name": link.campaign.name, "role": link.role}
        for link in segment.campaign_links.select_related("campaign").order_by("campaign_id")
    ]
    dependents = [
        {"id": dep.segment_id, "name": dep.segment.name}
        for dep in segment.dependents.select_related("segment").order_by("segment_id")
    ]
    return {"campaigns": campaigns, "segments": dependents}


def is_in_use(usage: dict) -> bool:
    return bool(usage["campaigns"] or usage["segments"])


def segment_delete(*, segment: Segment) -> None:
    """Delete, unless anything uses the segment. The database refuses too (PROTECT
    foreign keys), so a usage added at the same moment cannot slip through."""
    try:
        with transaction.atomic():
            locked = Segment.objects.select_for_update().get(pk=segment.pk)
            usage = segment_usage(locked)
            if is_in_use(usage):
                raise SegmentInUse(_in_use_message(locked, usage), usage=usage)
            locked.delete()
    except (ProtectedError, IntegrityError):
        usage = segment_usage(segment)
        raise SegmentInUse(_in_use_message(segment, usage), usage=usage) from None


def _in_use_message(segment: Segment, usage: dict) -> str:
    users = [f"campaign '{c['name']}'" for c in usage["campaigns"]]
    users += [f"segment '{s['name']}'" for s in usage["segments"]]
    return f"'{segment.name}' is used by {', '.join(users)}; remove it from them first."


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
    return snapshot


# ---------------------------------------------------------------- bulk segments


def _field_expression(workspace: Workspace, field_name: str):
    vocabulary = rules.Vocabulary(workspace.pk)
    found = rules.field_type(field_name, vocabulary) if isinstance(field_name, str) else None
    if found is None:
        raise SegmentError(f"Unknown field '{field_name}'.", field="field")
    canonical, kind = found
    if kind != "text":
        raise SegmentError(
            f"Bulk segments split a text field; '{field_name}' is a {kind} field.", field="field"
        )
    if canonical.startswith("attributes."):
        return canonical, JsonText("attributes", canonical.split(".", 1)[1])
    from django.db.models import F

    return canonical, F(canonical)


def bulk_values(*, workspace: Workspace, field_name: str) -> tuple[str, list[str]]:
    """The distinct non-empty values of a text field, compared case-insensitively;
    one spelling of each (the first in sort order)."""
    canonical, expression = _field_expression(workspace, field_name)
    values = (
        Contact.objects.filter(workspace=workspace)
        .annotate(_value=expression)
        .exclude(_value__isnull=True)
        .exclude(_value="")
        .annotate(_key=Lower("_value"))
        .values("_key")
        .annotate(spelling=Min("_value"))
        .order_by("_key")
    )
    return canonical, [row["spelling"].strip() for row in values if row["spelling"].strip()]


@dataclass
class BulkItem:
    """One value of a bulk split: the segment it would make, or the one already there."""

    value: str
    name: str
    existing: Segment | None = None  # a segment of that name, or with the rule `field eq value`

    @property
    def reason(self) -> str | None:
        if self.existing is None:
            return None
        return "name" if self.existing.name.lower() == self.name.lower() else "rule"


@dataclass
class BulkPlan:
    field: str
    prefix: str
    items: list[BulkItem]

    @property
    def to_make(self) -> list[BulkItem]:
        return [item for item in self.items if item.existing is None]

    @property
    def skipped(self) -> list[BulkItem]:
        return [item for item in self.items if item.existing is not None]


@dataclass
class BulkResult:
    created: list[Segment]
    skipped: list[BulkItem]


def bulk_prefix(name_prefix, default: str) -> str:
    """The prefix exactly as typed (spaces included); a blank one gives `default`."""
    if isinstance(name_prefix, str) and name_prefix.strip():
        return name_prefix
    return default


def _single_eq(conditions) -> tuple[str, str] | None:
    """(field, value) when a rule is exactly one `field eq value` condition."""
    if not isinstance(conditions, dict) or len(conditions) != 1:
        return None
    (group,) = conditions.values()
    if next(iter(conditions)) not in ("all", "any") or not isinstance(group, list):
        return None
    if len(group) != 1 or not isinstance(group[0], dict):
        return None
    condition = group[0]
    if condition.get("op") != "eq" or not isinstance(condition.get("value"), str):
        return None
    if not isinstance(condition.get("field"), str):
        return None
    return condition["field"], condition["value"]


def segments_bulk_plan(
    *, workspace: Workspace, field_name: str, name_prefix: str | None = None
) -> BulkPlan:
    """What a bulk split of `field_name` would make: one item per distinct value,
    each marked with the segment that already covers it (same name, letter case
    ignored, or a rule that is exactly `field eq value`, text compared as the rule
    language does: case-insensitively). Running a bulk split twice makes nothing new."""
    canonical, values = bulk_values(workspace=workspace, field_name=field_name)
    prefix = bulk_prefix(name_prefix, f"{canonical}: ")
    vocabulary = rules.Vocabulary(workspace.pk)
    by_name: dict[str, Segment] = {}
    by_value: dict[str, Segment] = {}
    for segment in Segment.objects.filter(workspace=workspace).order_by("pk"):
        by_name.setdefault(segment.name.lower(), segment)
        found = _single_eq(segment.conditions) if segment.is_filter else None
        if found and (rules.field_type(found[0], vocabulary) or (None,))[0] == canonical:
            by_value.setdefault(found[1].strip().lower(), segment)
    items = []
    for value in values:
        name = _clean_name(f"{prefix}{value}"[:200])
        existing = by_name.get(name.lower()) or by_value.get(value.lower())
        items.append(BulkItem(value=value, name=name, existing=existing))
    return BulkPlan(field=canonical, prefix=prefix, items=items)


@transaction.atomic
def segments_bulk_create(
    *, workspace: Workspace, field_name: str, name_prefix: str | None = None, created_by=None
) -> BulkResult:
    """One filter segment per value of a text field, skipping the values a segment
    already covers (segments_bulk_plan). The workspace is locked first, so two runs
    at once cannot both make the same segment."""
    _lock_workspace(workspace)
    plan = segments_bulk_plan(workspace=workspace, field_name=field_name, name_prefix=name_prefix)
    _check_limit(workspace, adding=len(plan.to_make))
    created = [
        segment_create(
            workspace=workspace,
            name=item.name,
            kind=Segment.Kind.FILTER,
            conditions={"all": [{"field": plan.field, "op": "eq", "value": item.value}]},
            origin=Segment.Origin.BULK,
            created_by=created_by,
        )
        for item in plan.to_make
    ]
    return BulkResult(created=created, skipped=plan.skipped)


# ---------------------------------------------------------------- manual members


@dataclass
class MembersResult:
    changed: int = 0
    unchanged: int = 0
    not_found: list = field(default_factory=list)
    contact_ids: list[int] = field(default_factory=list)


def _resolve(workspace: Workspace, lookup: str, values) -> tuple[list[int], list]:
    """Contact ids for the given ids, emails or external ids, and the values that
    name nobody, as given."""
    limit = settings.SEGMENT_MEMBERS_MAX_BATCH
    if not isinstance(values, list):
        raise SegmentError(f"'{lookup}s' must be a list.", field=f"{lookup}s")
    if len(values) > limit:
        raise SegmentError(f"At most {limit:,} contacts in one call.", code="too_large", status=413)
    if lookup == "id":
        bad = [v for v in values if isinstance(v, bool) or not isinstance(v, int)]
        if bad:
            raise SegmentError("'ids' must be whole numbers.", field="ids")
        found = contacts_find(workspace, "id", values)
        return list(found), [v for v in values if v not in found]
    bad = [v for v in values if not isinstance(v, str)]
    if bad:
        raise SegmentError(f"'{lookup}s' must be text.", field=f"{lookup}s")
    found = contacts_find(workspace, lookup, values)
    ids = list(dict.fromkeys(found[clean_lookup(v)].pk for v in values if clean_lookup(v) in found))
    return ids, [v for v in values if clean_lookup(v) not in found]


def _require_manual(segment: Segment) -> None:
    if segment.is_filter:
        raise NotManual(
            f"'{segment.name}' is a filter segment: its members follow its rule, "
            "so people cannot be added or removed by hand."
        )


def _queue_dependents(segment: Segment, contact_ids: list[int]) -> None:
    if contact_ids and SegmentDependency.objects.filter(depends_on=segment).exists():
        pending.record_members_changed(segment, contact_ids)


def _not_members(segment: Segment, contacts):
    """The contacts of a queryset that are not members yet, as values("id")."""
    members = SegmentMember.objects.filter(segment=segment, contact=OuterRef("pk"))
    return contacts.exclude(Exists(members)).values("id")


def segment_members_add(
    *, segment: Segment, lookup: str, values, source: str = Source.MANUAL
) -> MembersResult:
    _require_manual(segment)
    ids, not_found = _resolve(segment.workspace, lookup, values)
    contacts = Contact.objects.filter(workspace=segment.workspace, pk__in=ids)
    with transaction.atomic():
        added = membership.add_members(segment, _not_members(segment, contacts), source=source)
        _queue_dependents(segment, ids)
    return MembersResult(
        changed=added, unchanged=len(ids) - added, not_found=not_found, contact_ids=ids
    )


def segment_members_remove(
    *, segment: Segment, lookup: str, values, source: str = Source.MANUAL
) -> MembersResult:
    _require_manual(segment)
    ids, not_found = _resolve(segment.workspace, lookup, values)
    leaving = SegmentMember.objects.filter(segment=segment, contact_id__in=ids)
    with transaction.atomic():
        removed = membership.remove_members(segment, leaving, source=source)
        _queue_dependents(segment, ids)
    return MembersResult(
        changed=removed, unchanged=len(ids) - removed, not_found=not_found, contact_ids=ids
    )


# ---------------------------------------------------------------- preview


@dataclass
class Preview:
    count: int
    sample: list
    entering: int | None = None
    leaving: int | None = None


def segment_preview(
    *,
    workspace: Workspace,
    conditions,
    segment: Segment | None = None,
    sample_size: int = 10,
    vocabulary: rules.Vocabulary | None = None,
) -> Preview:
    """How many contacts a rule matches now, a sample, and (for an existing segment)
    how many would enter and leave. Nothing is saved. The workspace's names are read
    once, for the check and the query alike."""
    vocabulary = conditions_validate(
        workspace=workspace, conditions=conditions, segment=segment, vocabulary=vocabulary
    )
    rule_q = compile_rule(conditions, catalog=vocabulary)
    matching = Contact.objects.filter(workspace=workspace).filter(rule_q)
    preview = Preview(
        count=matching.count(),
        sample=list(matching.prefetch_related("tags").order_by("-pk")[:sample_size]),
    )
    if segment is not None:
        members = SegmentMember.objects.filter(segment=segment)
        preview.entering = matching.exclude(Exists(members.filter(contact=OuterRef("pk")))).count()
        preview.leaving = members.exclude(
            Exists(Contact.objects.filter(pk=OuterRef("contact_id")).filter(rule_q))
        ).count()
    return preview


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


def segments_delete_plan(chosen: list[Segment]) -> tuple[list[Segment], list[Segment]]:
    """Which of `chosen` a bulk delete (segments_delete) would delete and which it
    would keep, from what uses each (campaign_links and dependents, prefetched by
    selectors.segments_with_usage): a segment used by a campaign stays, and so does
    one named by a rule that is not deleted with it."""
    going = {segment.pk for segment in chosen}
    changed = True
    while changed:
        changed = False
        for segment in chosen:
            if segment.pk not in going:
                continue
            campaigns = list(segment.campaign_links.all())
            users = {dep.segment_id for dep in segment.dependents.all()}
            if campaigns or not users <= going:
                going.discard(segment.pk)
                changed = True
    return (
        [segment for segment in chosen if segment.pk in going],
        [segment for segment in chosen if segment.pk not in going],
    )


def _queue_all_dependents(segment: Segment) -> None:
    """Members of a manual segment changed in bulk (no id list to hand on): refresh
    the rules that name it, whole."""
    if SegmentDependency.objects.filter(depends_on=segment).exists():
        pending.record_members_changed(segment, None)


def segment_contacts_add(*, segment: Segment, contacts, source: str = Source.MANUAL) -> int:
    """Add every contact of `contacts` (a queryset, e.g. all that match a filter of the
    contact list) to a manual segment, in one INSERT ... SELECT; returns how many
    joined (those already in are left as they are)."""
    _require_manual(segment)
    chosen = Contact.objects.filter(
        workspace_id=segment.workspace_id, pk__in=contacts.order_by().values("pk")
    )
    with transaction.atomic():
        added = membership.add_members(segment, _not_members(segment, chosen), source=source)
        if added:
            _queue_all_dependents(segment)
    return added


def segment_contacts_remove(*, segment: Segment, contacts, source: str = Source.MANUAL) -> int:
    """Remove every contact of `contacts` (a queryset) from a manual segment in one
    DELETE; returns how many left."""
    _require_manual(segment)
    leaving = SegmentMember.objects.filter(
        segment=segment, contact_id__in=contacts.order_by().values("pk")
    )
    with transaction.atomic():
        removed = membership.remove_members(segment, leaving, source=source)
        if removed:
            _queue_all_dependents(segment)
    return removed


def manual_segments_for(workspace: Workspace, ids) -> list[Segment]:
    """The workspace's segments with these ids, all manual (NotManual otherwise), in
    the order of their names; unknown ids are an error too."""
    wanted = {int(i) for i in ids}
    found = list(Segment.objects.filter(workspace=workspace, pk__in=wanted).order_by("name", "pk"))
    if len(found) != len(wanted):
        raise SegmentError("Some of these segments no longer exist.", field="segments")
    for segment in found:
        _require_manual(segment)
    return found

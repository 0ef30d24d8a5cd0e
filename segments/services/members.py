"""The members of manual segments, changed by hand, by the API, by the contact list's
bulk bar and by imports: by ids, emails or external ids (resolved as api.md says:
case-insensitively, spaces ignored, the values that name nobody listed as given), or
every contact of a queryset in one INSERT ... SELECT or DELETE. Filter segments refuse
(NotManual): their members follow their rule. The rules that name a changed segment
follow through pending work written in the same transaction (segments.pending)."""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef

from contacts.models import Contact
from contacts.selectors import contact_ids_find, contacts_by_key, lookup_keys
from contacts.services import clean_lookup
from segments import membership, pending
from segments.errors import NotManual, SegmentError
from segments.models import Segment, SegmentDependency, SegmentMember, Source
from segments.query import ids_in
from workspaces.models import Workspace


@dataclass
class MembersResult:
    changed: int = 0
    unchanged: int = 0
    not_found: list = field(default_factory=list)


def _check(lookup: str, values) -> None:
    """Refuse what is no list of ids, emails or external ids, or too long a one."""
    limit = settings.SEGMENT_MEMBERS_MAX_BATCH
    if not isinstance(values, list):
        raise SegmentError(f"'{lookup}s' must be a list.", field=f"{lookup}s")
    if len(values) > limit:
        raise SegmentError(f"At most {limit:,} contacts in one call.", code="too_large", status=413)
    if lookup == "id":
        if any(isinstance(v, bool) or not isinstance(v, int) for v in values):
            raise SegmentError("'ids' must be whole numbers.", field="ids")
    elif any(not isinstance(v, str) for v in values):
        raise SegmentError(f"'{lookup}s' must be text.", field=f"{lookup}s")


def _keys(lookup: str, values: list) -> list:
    """Each value's key, in the values' order: an id, or the email / external id as
    clean_lookup keys it."""
    return values if lookup == "id" else [clean_lookup(v) for v in values]


def _resolve(workspace: Workspace, lookup: str, values) -> tuple[list[int], list]:
    """Contact ids for the given (checked) ids, emails or external ids, and the values
    that name nobody, as given."""
    found = contact_ids_find(workspace, lookup, values)
    keys = _keys(lookup, values)
    ids = list(dict.fromkeys(found[key] for key in keys if key in found))
    return ids, [v for v, key in zip(values, keys, strict=True) if key not in found]


def _require_manual(segment: Segment) -> None:
    if segment.is_filter:
        raise NotManual(
            f"'{segment.name}' is a filter segment: its members follow its rule, "
            "so people cannot be added or removed by hand."
        )


def _has_dependents(segment: Segment) -> bool:
    return SegmentDependency.objects.filter(depends_on=segment).exists()


def _queue_dependents(segment: Segment, contact_ids: list[int]) -> None:
    if contact_ids and _has_dependents(segment):
        pending.record_members_changed(segment, contact_ids)


def _add(segment: Segment, entering, source: str) -> int:
    """membership.add_members; a large add's history is written by a worker, woken
    once the members are committed."""
    added = membership.add_members(segment, entering, source=source, write_behind=True)
    if added >= membership.WRITE_BEHIND_AFTER:
        pending.wake_after_commit(segment.workspace_id)
    return added


def _not_members(segment: Segment, contacts):
    """The contacts of a queryset that are not members yet, as values("id")."""
    members = SegmentMember.objects.filter(segment=segment, contact=OuterRef("pk"))
    return contacts.exclude(Exists(members)).values("id")


def segment_members_add(
    *, segment: Segment, lookup: str, values, source: str = Source.MANUAL
) -> MembersResult:
    """Add the contacts the values name. The INSERT ... SELECT looks them up itself
    (one statement, as a hand-written one would: no round trip of 10,000 ids through
    Python, no second lookup of them by id). Only when fewer joined than there are
    distinct values (some name nobody, or are members already), or rules name the
    segment (they want the ids), are the values resolved once more to say which."""
    _require_manual(segment)
    _check(lookup, values)
    keys = lookup_keys(lookup, values)
    if not keys:
        return MembersResult(not_found=list(values))
    named = contacts_by_key(segment.workspace, lookup, keys)
    with transaction.atomic():
        added = _add(segment, _not_members(segment, named), source)
        dependents = _has_dependents(segment)
        if added == len(set(_keys(lookup, values))) and not dependents:
            return MembersResult(changed=added)  # each value named someone who joined
        ids, not_found = _resolve(segment.workspace, lookup, values)
        if not ids:  # a call that names nobody writes nothing (not even refreshed_at)
            transaction.set_rollback(True)
        elif dependents:
            pending.record_members_changed(segment, ids)
    return MembersResult(changed=added, unchanged=len(ids) - added, not_found=not_found)


def segment_members_remove(
    *, segment: Segment, lookup: str, values, source: str = Source.MANUAL
) -> MembersResult:
    _require_manual(segment)
    _check(lookup, values)
    ids, not_found = _resolve(segment.workspace, lookup, values)
    if not ids:
        return MembersResult(not_found=not_found)
    leaving = SegmentMember.objects.filter(ids_in("contact_id", ids), segment=segment)
    with transaction.atomic():
        removed = membership.remove_members(segment, leaving, source=source)
        _queue_dependents(segment, ids)
    return MembersResult(changed=removed, unchanged=len(ids) - removed, not_found=not_found)


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
        added = _add(segment, _not_members(segment, chosen), source)
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

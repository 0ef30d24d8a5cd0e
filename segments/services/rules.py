"""A filter segment's rule changing: the check, the segments it names (locked, and
recorded as dependencies), and the whole refresh it queues.

- The segments a rule names are locked with the segment, in id order: two rules
  saved at once to name each other wait for each other instead of deadlocking, and
  the second is checked knowing the first (the loop it would close is refused).
- A dependency is inserted only once what the rule names is locked and all there: a
  delete that committed meanwhile makes the rule invalid at its path, not a foreign
  key failing at commit (a 500).
- The refresh is pending work written in the same transaction (segments.pending);
  a worker fills the members after the commit."""

from django.utils import timezone

from segments import pending, rules
from segments.conditions import Vocabulary, registry
from segments.conditions.base import group_parts, is_group
from segments.errors import InvalidConditions, SegmentError, conditions_validate
from segments.models import Segment, SegmentDependency, Source
from workspaces import audit
from workspaces.params import parse_id

UNSET = object()  # an argument not given (None is a value)


def lock_with_named(segment: Segment, conditions=UNSET) -> Segment:
    """Lock the segment, and the segments a new rule of it names, in id order; the
    segment as locked."""
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


def rule_set(segment: Segment, conditions) -> list[str]:
    """Check a new rule of a filter segment and put it on the object (not saved yet);
    the fields that changed."""
    if not segment.is_filter:
        raise SegmentError("A manual segment has no conditions.", field="conditions")
    conditions_validate(workspace=segment.workspace, conditions=conditions, segment=segment)
    changed = conditions != segment.conditions
    segment.conditions = conditions
    if not changed:
        return ["conditions"]
    segment.rule_changed_at = timezone.now()
    return ["conditions", "rule_changed_at"]


def rule_saved(segment: Segment, source: str = Source.RULE) -> None:
    """After a new rule is saved: its dependencies, and a whole refresh queued."""
    save_dependencies(segment)
    pending.request_refresh(segment, source)


def save_dependencies(segment: Segment) -> None:
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


def _condition_words(node, vocabulary: Vocabulary) -> list[str]:
    """Each condition of a rule in the builder's words ("Country is DE"), in order."""
    if is_group(node):
        return [w for child in group_parts(node)[1] for w in _condition_words(child, vocabulary)]
    return [registry.of(node).words(node, vocabulary)]


def rule_change_details(segment: Segment, before) -> dict:
    """What the audit trail says of a rule change: the conditions added and removed."""
    vocabulary = Vocabulary(segment.workspace_id)
    try:
        old = _condition_words(before, vocabulary) if before else []
        new = _condition_words(segment.conditions, vocabulary)
    except Exception:  # words are for people; a rule they cannot word still saves
        return {}
    return {
        "added": [w for w in new if w not in old][:20],
        "removed": [w for w in old if w not in new][:20],
    }


def segment_audit(segment: Segment, verb: str, **details) -> None:
    """The audit entry of a change to `segment`, in the caller's transaction."""
    audit.record_on(segment, verb, audit.Subject.SEGMENT, segment.name, **details)

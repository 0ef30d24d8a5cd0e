"""What a rule or a bulk split would give, before anything is saved: a rule's count,
sample, and who would enter and leave; the distinct values a bulk segment splits on.
A rule that does not hold is InvalidConditions (segments.errors), as for a write."""

from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count, Exists, F, Min, OuterRef, Window
from django.db.models.functions import Lower

from contacts.models import Contact
from segments import rules
from segments.errors import SegmentError, conditions_validate
from segments.jsonsql import JsonText
from segments.models import Segment, SegmentMember
from segments.query import compile_rule
from workspaces.models import Workspace

# The builder's live preview counts at most this many contacts, and as many entering
# and leaving: past it the panel says "more than 10,000", which costs a fraction of
# an exact count of a rule that matches most of a million contacts.
PREVIEW_COUNT_CAP = 10_000


@dataclass
class Preview:
    count: int
    sample: list
    entering: int | None = None
    leaving: int | None = None
    # True when the number is a floor: more than it (capped previews only).
    count_more: bool = False
    entering_more: bool = False
    leaving_more: bool = False


def segment_preview(
    *,
    workspace: Workspace,
    conditions,
    segment: Segment | None = None,
    sample_size: int = 10,
    vocabulary: rules.Vocabulary | None = None,
    cap: int | None = None,
) -> Preview:
    """How many contacts a rule matches now, a sample, and (for an existing segment)
    how many would enter and leave. Nothing is saved. The workspace's names are read
    once, for the check and the query alike; a rule that does not hold is
    InvalidConditions.

    The rule is evaluated once for the count and the sample. With `cap` (the builder's
    live panel) each number stops at `cap` and says so (count_more...); without it
    (the API) the count is exact."""
    vocabulary = conditions_validate(
        workspace=workspace, conditions=conditions, segment=segment, vocabulary=vocabulary
    )
    rule_q = compile_rule(conditions, catalog=vocabulary, whole=True)
    matching = Contact.objects.filter(workspace=workspace).filter(rule_q)
    with _rule_queries():
        if cap is None:
            return _exact(matching, sample_size)
        return _capped(matching, rule_q, segment, sample_size, cap)


# On PostgreSQL, for the preview's transaction: no JIT, whose compilation cost a
# rule's preview more (250 ms) than it saved; no parallel workers, which each built
# the same hash of the workspace's events for a rule counted once (segments.
# conditions.event), 250 ms against 130 ms for conditions.md's example at a million
# contacts, and whose start costs more than a capped count stopping at 10,001 rows
# gains; room for that hash in memory rather than on disk.
PREVIEW_SETTINGS = {"jit": "off", "max_parallel_workers_per_gather": "0", "work_mem": "32MB"}


@contextmanager
def _rule_queries():
    """One transaction for the preview's statements, with PREVIEW_SETTINGS."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            names = ", ".join("set_config(%s, %s, true)" for _ in PREVIEW_SETTINGS)
            with connection.cursor() as cursor:  # one statement: SET LOCAL of each
                cursor.execute(
                    f"SELECT {names}", [v for kv in PREVIEW_SETTINGS.items() for v in kv]
                )
        yield


def _exact(matching, sample_size: int) -> Preview:
    """The exact count beside the newest few, in one statement (count(*) OVER ())."""
    rows = list(
        matching.annotate(_total=Window(Count("pk")))
        .prefetch_related("tags")
        .order_by("-pk")[: max(sample_size, 1)]
    )
    return Preview(count=rows[0]._total if rows else 0, sample=rows[:sample_size])


def _capped(matching, rule_q, segment, sample_size: int, cap: int) -> Preview:
    ids = list(matching.order_by().values_list("pk", flat=True)[: cap + 1])
    more = len(ids) > cap
    ids = ids[:cap]
    newest = sorted(ids, reverse=True)[:sample_size]
    sample = list(Contact.objects.filter(pk__in=newest).prefetch_related("tags").order_by("-pk"))
    preview = Preview(count=len(ids), sample=sample, count_more=more)
    if segment is None:
        return preview
    members = SegmentMember.objects.filter(segment=segment)
    if not more:
        # Every matching id is at hand: who of them is a member already, one query.
        inside = _members_among(segment, ids)
        preview.entering = len(ids) - inside
        preview.leaving = max(segment.member_count - inside, 0)
        return preview
    entering = matching.exclude(Exists(members.filter(contact=OuterRef("pk"))))
    leaving = members.exclude(
        Exists(Contact.objects.filter(pk=OuterRef("contact_id")).filter(rule_q))
    )
    preview.entering, preview.entering_more = _capped_count(entering, cap)
    preview.leaving, preview.leaving_more = _capped_count(leaving, cap)
    return preview


def _capped_count(queryset, cap: int) -> tuple[int, bool]:
    found = queryset.order_by()[: cap + 1].count()
    return min(found, cap), found > cap


def _members_among(segment: Segment, ids: list[int]) -> int:
    """How many of `ids` are members of the segment: on PostgreSQL the ids are one
    array parameter (10,000 placeholders cost more than the query)."""
    if not ids:
        return 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM segments_segmentmember"
                " WHERE segment_id = %s AND contact_id = ANY(%s)",
                [segment.pk, ids],
            )
            return cursor.fetchone()[0]
    return SegmentMember.objects.filter(segment=segment, contact_id__in=ids).count()


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
    return canonical, F(canonical)


def bulk_values(*, workspace: Workspace, field_name: str) -> tuple[str, list[str]]:
    """The distinct non-empty values of a text field, compared case-insensitively;
    one spelling of each (the first in sort order). An unknown or non-text field is a
    SegmentError."""
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

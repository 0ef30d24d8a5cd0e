"""What a rule or a bulk split would give, before anything is saved: a rule's count,
sample, and who would enter and leave; the distinct values a bulk segment splits on.
A rule that does not hold is InvalidConditions (segments.errors), as for a write."""

from dataclasses import dataclass

from django.db.models import Exists, F, Min, OuterRef
from django.db.models.functions import Lower

from contacts.models import Contact
from segments import rules
from segments.errors import SegmentError, conditions_validate
from segments.jsonsql import JsonText
from segments.models import Segment, SegmentMember
from segments.query import compile_rule
from workspaces.models import Workspace


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
    once, for the check and the query alike; a rule that does not hold is
    InvalidConditions."""
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

"""Bulk segments: one filter segment per distinct value of a text field (`field eq
value`, origin bulk), planned first so a page can show what would be made and what
already exists. Values are compared as the rule language compares text, letter case
ignored; a value that a segment already covers (same name, or exactly that rule) is
skipped, so running a split twice makes nothing new."""

from dataclasses import dataclass

from django.db import transaction

from segments import rules, selectors
from segments.models import Segment
from segments.services.lifecycle import check_limit, clean_name, lock_workspace, segment_create
from workspaces.models import Workspace


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
    canonical, values = selectors.bulk_values(workspace=workspace, field_name=field_name)
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
        name = clean_name(f"{prefix}{value}"[:200])
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
    lock_workspace(workspace)
    plan = segments_bulk_plan(workspace=workspace, field_name=field_name, name_prefix=name_prefix)
    check_limit(workspace, adding=len(plan.to_make))
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

"""Does stored membership still agree with the rules? (`check_segments`, and daily
with repair from beat.) Whatever happened — a lost message, a bug, a hand-edited
row — a filter segment's members are compared with what its rule selects today."""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef

from contacts.models import Contact
from segments import membership
from segments.models import Segment, SegmentMember, Source
from segments.query import compile_rule, load_catalog


@dataclass
class Report:
    segment: Segment
    missing: int  # the rule selects them, they are not stored as members
    extra: int  # stored as members, the rule does not select them
    stored_count: int  # the segment's member_count
    member_rows: int  # its member rows
    repaired: bool = False

    @property
    def differs(self) -> bool:
        return bool(self.missing or self.extra or self.stored_count != self.member_rows)


def compare(segment: Segment, catalog=None) -> Report:
    with transaction.atomic():  # the rule's counts without JIT (it only costs here)
        membership.rule_session()
        return _compare(segment, catalog)


def _compare(segment: Segment, catalog=None) -> Report:
    catalog = catalog or load_catalog(segment.workspace_id)
    rule_q = compile_rule(segment.conditions, catalog=catalog, whole=True)
    selected = Contact.objects.filter(rule_q, workspace_id=segment.workspace_id)
    is_member = SegmentMember.objects.filter(segment=segment, contact=OuterRef("pk"))
    missing = selected.exclude(Exists(is_member)).count()
    extra = (
        SegmentMember.objects.filter(segment=segment)
        .exclude(Exists(selected.filter(pk=OuterRef("contact_id"))))
        .count()
    )
    rows = SegmentMember.objects.filter(segment=segment).count()
    stored = Segment.objects.filter(pk=segment.pk).values_list("member_count", flat=True).get()
    return Report(segment, missing, extra, stored, rows)


def repair_segment(segment: Segment, catalog) -> None:
    membership.refresh_filter_segment(segment, source=Source.REPAIR, catalog=catalog)
    with transaction.atomic():
        Segment.objects.select_for_update().filter(pk=segment.pk).update(
            member_count=SegmentMember.objects.filter(segment=segment).count()
        )


def check(*, workspace=None, segment_id: int | None = None, repair: bool = False) -> list[Report]:
    """A report per filter segment (in dependency order, so a repaired segment is
    right before the rules that name it are compared)."""
    segments = Segment.objects.filter(kind=Segment.Kind.FILTER, conditions__isnull=False)
    if workspace is not None:
        segments = segments.filter(workspace=workspace)
    if segment_id is not None:
        segments = segments.filter(pk=segment_id)
    by_workspace: dict[int, list[Segment]] = {}
    for segment in segments.order_by("workspace_id", "pk"):
        by_workspace.setdefault(segment.workspace_id, []).append(segment)
    reports = []
    for workspace_id, listed in by_workspace.items():
        catalog = load_catalog(workspace_id)
        for segment in membership.dependency_order(listed):
            report = compare(segment, catalog)
            if repair and report.differs:
                repair_segment(segment, catalog)
                report.repaired = True
            reports.append(report)
    return reports

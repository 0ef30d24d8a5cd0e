"""Recompute filter-segment membership now, and print who entered and left.

Who moved is read from the history rows the refresh itself wrote (SegmentChange, by
segment and the refresh's moment, on the (segment, at) index): a few rows per segment
whatever the size of the change; the counts come from the refresh."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from segments import membership
from segments.models import Segment, SegmentChange, Source
from workspaces.models import Workspace

SHOW = 10


class Command(BaseCommand):
    help = "Recompute filter-segment membership now and print who entered and left."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", help="Slug of the workspace (default: all).")
        parser.add_argument("--segment", type=int, help="Id of one segment.")
        parser.add_argument(
            "--show",
            type=int,
            default=SHOW,
            metavar="N",
            help=f"How many of those who entered and who left to name per segment "
            f"(default {SHOW}; 0 for counts only).",
        )

    def handle(self, *args, **options):
        segments = Segment.objects.filter(kind=Segment.Kind.FILTER).order_by("workspace_id", "pk")
        if options["workspace"]:
            workspace = Workspace.objects.filter(slug=options["workspace"]).first()
            if workspace is None:
                raise CommandError(f"No workspace with slug '{options['workspace']}'.")
            segments = segments.filter(workspace=workspace)
        if options["segment"]:
            segments = segments.filter(pk=options["segment"])
            if not segments.exists():
                raise CommandError(f"No filter segment {options['segment']} there.")
        show = max(options["show"], 0)
        by_workspace: dict[int, list[Segment]] = {}
        for segment in segments:
            by_workspace.setdefault(segment.workspace_id, []).append(segment)
        total = 0
        for workspace_segments in by_workspace.values():
            for segment in membership.dependency_order(workspace_segments):
                now = timezone.now()
                diff = membership.refresh_filter_segment(segment, source=Source.RULE, now=now)
                total += 1
                self.stdout.write(
                    f"{segment.name} (#{segment.pk}): {diff.entered:,} entered, {diff.left:,} left"
                )
                for action, count in (
                    (SegmentChange.Action.ENTERED, diff.entered),
                    (SegmentChange.Action.LEFT, diff.left),
                ):
                    if count and show:
                        who = _who(segment, now, action, count, show)
                        self.stdout.write(f"  {action.label.lower()}: {who}")
        self.stdout.write(self.style.SUCCESS(f"Refreshed {total} segment(s)."))


def _who(segment: Segment, at, action: str, count: int, show: int) -> str:
    """Up to `show` of the people of one side of a refresh (email, else #id), and how
    many more."""
    rows = (
        SegmentChange.objects.filter(segment=segment, at=at, action=action, source=Source.RULE)
        .order_by("id")
        .values_list("contact_id", "contact__email")[:show]
    )
    names = [email or f"#{contact_id}" for contact_id, email in rows]
    more = count - len(names)
    return ", ".join(names) + (f" and {more:,} more" if more > 0 else "")

"""Recompute filter-segment membership now, and print who entered and left."""

from django.core.management.base import BaseCommand, CommandError

from segments import membership
from segments.models import Segment, Source
from workspaces.models import Workspace


class Command(BaseCommand):
    help = "Recompute filter-segment membership now and print who entered and left."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", help="Slug of the workspace (default: all).")
        parser.add_argument("--segment", type=int, help="Id of one segment.")

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
        names = {}
        by_workspace: dict[int, list[Segment]] = {}
        for segment in segments:
            names[segment.pk] = segment.name
            by_workspace.setdefault(segment.workspace_id, []).append(segment)
        total = 0
        for workspace_segments in by_workspace.values():
            for segment in membership.dependency_order(workspace_segments):
                diff = membership.refresh_filter_segment(segment, source=Source.RULE)
                total += 1
                self.stdout.write(
                    f"{segment.name} (#{segment.pk}): {diff.entered} entered, {diff.left} left"
                )
        self.stdout.write(self.style.SUCCESS(f"Refreshed {total} segment(s)."))

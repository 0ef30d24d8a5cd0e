"""Compare each filter segment's stored members with its rule (commands.md)."""

from django.core.management.base import BaseCommand, CommandError

from segments import drift
from workspaces.models import Workspace


class Command(BaseCommand):
    help = (
        "Compare each filter segment's stored members with its rule: how many are missing "
        "and how many should not be there. --repair fixes them (history says 'repair'). "
        "Without --repair, exits 1 when anything differs."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workspace", help="Slug of the workspace (default: all).")
        parser.add_argument("--segment", type=int, help="Id of one filter segment.")
        parser.add_argument("--repair", action="store_true", help="Fix what differs.")

    def handle(self, *args, **options):
        workspace = None
        if options["workspace"]:
            workspace = Workspace.objects.filter(slug=options["workspace"]).first()
            if workspace is None:
                raise CommandError(f"No workspace with slug '{options['workspace']}'.")
        reports = drift.check(
            workspace=workspace, segment_id=options["segment"], repair=options["repair"]
        )
        if options["segment"] and not reports:
            raise CommandError(f"No filter segment {options['segment']} there.")
        for report in reports:
            segment = report.segment
            line = f"{segment.name} (#{segment.pk}): {report.missing} missing, {report.extra} extra"
            if report.stored_count != report.member_rows:
                line += f", count says {report.stored_count} for {report.member_rows} members"
            if report.repaired:
                line += " — repaired"
            self.stdout.write(line)
        differing = [r for r in reports if r.differs]
        if not differing:
            self.stdout.write(self.style.SUCCESS(f"All {len(reports)} segment(s) agree."))
        elif options["repair"]:
            self.stdout.write(self.style.SUCCESS(f"Repaired {len(differing)} segment(s)."))
        else:
            self.stdout.write(self.style.WARNING(f"{len(differing)} segment(s) differ."))
            raise SystemExit(1)

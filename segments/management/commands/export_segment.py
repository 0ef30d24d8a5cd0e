"""export_segment SEGMENT --workspace S [--format csv|xlsx] [--fields a,b,...]
[--output PATH]: a segment's members to a file, now, in this process (no worker), by
the same writer as the web's exports (contacts.exports): the same columns, the same
formula safety. Progress goes to stderr; the file's absolute path, once it is
complete, to stdout. It is written beside its place and renamed there at the end, so
a file at PATH is always whole. Every refusal is one line and exit status 1."""

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from contacts import exports
from contacts.sets import ContactSet
from segments import services
from segments.models import Segment
from workspaces import audit
from workspaces.errors import KithError
from workspaces.models import Workspace
from workspaces.params import parse_id


class Command(BaseCommand):
    help = "Export a segment's contacts to a CSV or XLSX file and print its path."

    def add_arguments(self, parser):
        parser.add_argument("segment", help="The segment's id or name.")
        parser.add_argument("--workspace", required=True, help="Slug of the workspace.")
        parser.add_argument("--format", choices=sorted(exports.FORMATS), default="csv")
        parser.add_argument(
            "--fields",
            help="Comma-separated: built-in fields (email, first_name...), attributes.KEY, "
            "tags. Default: every field.",
        )
        parser.add_argument(
            "--output",
            help="The file to write, or a directory to write it in "
            "(default: the segment's name in the current directory).",
        )

    def handle(self, *args, **options):
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with slug '{options['workspace']}'.")
        segment = find_segment(workspace, options["segment"])
        fields = None
        if options["fields"] is not None:
            fields = [name.strip() for name in options["fields"].split(",") if name.strip()]
        members = ContactSet.matching(workspace, f"segment={segment.pk}")
        try:
            plan = exports.export_plan(
                workspace=workspace,
                contact_set=members,
                format=options["format"],
                fields=fields,
                name=slugify(segment.name),
                default_name=f"segment-{segment.pk}",
            )
        except KithError as exc:
            raise CommandError(str(exc)) from None
        path = output_path(options["output"], plan.name)
        total = plan.queryset().count()
        partial = path.with_name(f".{path.name}.part")
        try:
            written = plan.write(partial, each_chunk=lambda done: self.progress(done, total))
            os.replace(partial, path)
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc.strerror or exc}") from None
        finally:
            partial.unlink(missing_ok=True)
        services.segment_audit(  # on its Activity tab, by the system
            segment, audit.Verb.ACTION_DONE, action="export", label="Export", done=written,
            message=f"export_segment wrote {plan.name} on the server.",
        )  # fmt: skip
        self.stderr.write(
            f"{chr(10) if total else ''}Exported {written:,} contacts of “{segment.name}”."
        )
        self.stdout.write(str(path))

    def progress(self, done: int, total: int) -> None:
        share = f" ({done * 100 // total}%)" if total else ""
        self.stderr.write(f"\r{done:,} of {total:,} contacts{share}", ending="")
        self.stderr.flush()


def find_segment(workspace: Workspace, given: str) -> Segment:
    """The workspace's segment with this id, else with this name (whatever its case)."""
    segments = Segment.objects.filter(workspace=workspace)
    pk = parse_id(given)
    found = segments.filter(pk=pk).first() if pk is not None else None
    if found is None:
        named = list(segments.filter(name__iexact=given.strip())[:2])
        if len(named) > 1:
            raise CommandError(f"Several segments are named '{given}': give its id.")
        found = named[0] if named else None
    if found is None:
        raise CommandError(f"No segment '{given}' in workspace '{workspace.slug}'.")
    return found


def output_path(given: str | None, name: str) -> Path:
    """--output as a file, or a directory to put `name` in; the current directory by
    default."""
    path = Path(given).expanduser() if given else Path.cwd()
    if path.is_dir():
        path = path / name
    if not path.parent.is_dir():
        raise CommandError(f"There is no directory {path.parent.resolve()}.")
    return path.resolve()

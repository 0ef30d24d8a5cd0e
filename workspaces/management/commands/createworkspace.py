"""manage.py createworkspace NAME [--slug S] [--owner USERNAME]

A name that a workspace has already (in any case) is refused, unless --slug names the
new one: then both exist, told apart by their slugs, and the command says so."""

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from workspaces.errors import KithError
from workspaces.models import Workspace
from workspaces.services import workspace_create


class Command(BaseCommand):
    help = "Create a workspace, with its default segments, and optionally its owner."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--slug", help="in URLs and commands; made from the name if absent")
        parser.add_argument("--owner", metavar="USERNAME", help="an existing user")

    def handle(self, *args, **options):
        owner = None
        if options["owner"]:
            owner = get_user_model().objects.filter(username=options["owner"]).first()
            if owner is None:
                raise CommandError(f"There is no user '{options['owner']}'.")
        name = (options["name"] or "").strip()
        same_name = list(Workspace.objects.filter(name__iexact=name).order_by("pk"))
        try:
            workspace = workspace_create(name=name, slug=options["slug"], owner=owner)
        except KithError as exc:
            message = exc.message
            if exc.code == "duplicate_name":
                message += " To make another workspace of that name, give it a --slug."
            raise CommandError(message) from None
        who = f", owned by {owner.username}" if owner else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Created workspace '{workspace.name}' (slug {workspace.slug}){who}."
            )
        )
        if same_name:
            others = ", ".join(f"'{w.name}' (slug {w.slug})" for w in same_name)
            self.stdout.write(f"It has the same name as {others}: tell them apart by slug.")
        segments = _segment_names(workspace)
        if segments:
            self.stdout.write(f"Made its {len(segments)} default segments: {', '.join(segments)}.")


def _segment_names(workspace) -> list[str]:
    """The segments the new workspace starts with (made by the segments app's
    initializer; looked up by name, since workspaces sit below segments)."""
    if not apps.is_installed("segments"):
        return []
    segment = apps.get_model("segments", "Segment")
    return list(
        segment.objects.filter(workspace=workspace).order_by("pk").values_list("name", flat=True)
    )

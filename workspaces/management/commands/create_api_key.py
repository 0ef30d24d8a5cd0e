"""manage.py create_api_key --workspace S --name N

The key goes alone to stdout, so `KEY=$(manage.py create_api_key ...)` works; the
explanation goes to stderr. It is printed once and never stored."""

from django.core.management.base import BaseCommand, CommandError

from workspaces.errors import KithError
from workspaces.models import Workspace
from workspaces.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a workspace and print it once."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, metavar="SLUG")
        parser.add_argument("--name", required=True, help="what uses the key, e.g. 'CRM sync'")

    def handle(self, *args, **options):
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"There is no workspace with the slug '{options['workspace']}'.")
        try:
            key, raw = api_key_create(workspace=workspace, name=options["name"])
        except KithError as exc:
            raise CommandError(exc.message) from None
        self.stderr.write(
            f"API key '{key.name}' for workspace '{workspace.slug}'. "
            "Store it now: it is not shown again."
        )
        self.stdout.write(raw)

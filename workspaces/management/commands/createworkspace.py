"""manage.py createworkspace NAME [--slug S] [--owner USERNAME]"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

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
        try:
            workspace = workspace_create(name=options["name"], slug=options["slug"], owner=owner)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        who = f", owned by {owner.username}" if owner else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Created workspace '{workspace.name}' (slug {workspace.slug}){who}."
            )
        )

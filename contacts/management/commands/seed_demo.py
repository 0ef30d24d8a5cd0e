"""manage.py seed_demo [--workspace S] [--contacts N] [--events M]: realistic fake data."""

from django.core.management.base import BaseCommand, CommandError

from contacts.demo_data import CHUNK, DEMO_PASSWORD, DEMO_USERNAME, demo_workspace, seed
from workspaces.models import Workspace

DEFAULT_CONTACTS = 3_000
EVENTS_PER_CONTACT = 5


class Command(BaseCommand):
    help = (
        "Add realistic fake contacts, tags, devices and events to a workspace. Without "
        "--workspace, uses the workspace 'demo' (made once, with the user demo / demo)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workspace", metavar="SLUG", help="an existing workspace")
        parser.add_argument("--contacts", type=int, default=DEFAULT_CONTACTS, metavar="N")
        parser.add_argument(
            "--events",
            type=int,
            metavar="M",
            help=f"events in all (default: {EVENTS_PER_CONTACT} per contact)",
        )
        parser.add_argument("--seed", type=int, help="random seed, for repeatable data")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when the workspace already has contacts (used by `make run`)",
        )

    def handle(self, *args, **options):
        contacts, events = options["contacts"], options["events"]
        if events is None:
            events = contacts * EVENTS_PER_CONTACT
        if contacts < 0 or events < 0:
            raise CommandError("--contacts and --events must be 0 or more.")
        if events and not contacts:
            raise CommandError("Events need contacts: give --contacts too.")
        workspace = self._workspace(options["workspace"])
        existing = workspace.contacts.exists()
        if options["if_empty"] and existing:
            self.stdout.write(f"Workspace '{workspace.slug}' already has contacts; not seeding.")
            return
        result = seed(
            workspace,
            contacts=contacts,
            events=events,
            seed=options["seed"],
            progress=self._progress(contacts),
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded workspace '{workspace.slug}': {result.contacts} contacts, "
                f"{result.events} events, {result.tags} tags on contacts, "
                f"{result.devices} devices in {result.seconds:.1f} s."
            )
        )

    def _workspace(self, slug: str | None) -> Workspace:
        if slug is None:
            workspace = demo_workspace()
            self.stdout.write(
                f"Workspace '{workspace.slug}': sign in as {DEMO_USERNAME} / {DEMO_PASSWORD}."
            )
            return workspace
        workspace = Workspace.objects.filter(slug=slug).first()
        if workspace is None:
            raise CommandError(f"There is no workspace with the slug '{slug}'.")
        return workspace

    def _progress(self, total: int):
        step = max(total // 10, 1)

        def report(result):
            # About ten lines, for the runs long enough to want them.
            if total >= 20_000 and (result.contacts % step < CHUNK or result.contacts == total):
                self.stdout.write(f"  {result.contacts:,} / {total:,} contacts")

        return report

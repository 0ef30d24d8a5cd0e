"""Import contacts from a CSV or XLSX file, from the shell (commands.md): the same
services and the same job as the web wizard, so the same counts and error file.

The job is recorded, then run in a thread of this process while the terminal shows
its progress (a worker that takes it first runs it instead, and the bar follows it
just the same). Ctrl-C asks the job to stop after its current chunk: what was applied
stays. The command exits 1 with one line, no traceback, when the file cannot be read
or is refused; rejected rows are not a failure, they are in the error file."""

import contextlib
import os
import threading
import time
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from imports import services
from imports.mapping import ATTRIBUTE_PREFIX, IGNORE, TAGS
from imports.models import Import
from jobs import runner
from jobs.models import Job
from segments.models import Segment
from workspaces.errors import KithError, one_line
from workspaces.models import Workspace

DELIMITERS = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
BAR = 30
POLL_SECONDS = 0.25


class Command(BaseCommand):
    help = "Import contacts from a CSV or XLSX file into a workspace, with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("path", help="The CSV or XLSX file.")
        parser.add_argument("--workspace", required=True, help="Slug of the workspace.")
        parser.add_argument("--name", default="", help="Name of the import (default: the file's).")
        parser.add_argument(
            "--mode",
            choices=Import.Mode.values,
            default=Import.Mode.UPSERT,
            help="upsert: create or update contacts (default); add_to_segment: add existing "
            "contacts to a manual segment.",
        )
        parser.add_argument(
            "--segment", help="Manual segment (id or name) every imported contact joins."
        )
        parser.add_argument(
            "--lookup",
            choices=Import.Lookup.values,
            default=Import.Lookup.EMAIL,
            help="add_to_segment: find people by email (default) or external_id.",
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help="Where a column goes: a built-in field (email, first_name...), "
            "attributes.KEY (attributes.KEY:TYPE to create it, TYPE one of text, number, "
            "date, boolean), tags or ignore. COLUMN is a header or a column number. "
            "Repeatable; columns whose header names a field are mapped to it.",
        )
        parser.add_argument("--no-header", action="store_true", help="The first row is data.")
        parser.add_argument(
            "--delimiter", default="", help="CSV: , ; | or tab (default: detected)."
        )
        parser.add_argument(
            "--encoding", default="", help="CSV: utf-8, cp1252 or utf-16 (default: detected)."
        )
        parser.add_argument("--sheet", default="", help="XLSX: the sheet (default: the first).")

    def handle(self, *args, **options):
        try:
            imp = self.prepare(options)
            job = services.import_run_start(imp=imp, user=None)
        except KithError as exc:
            raise CommandError(one_line(exc)) from None
        job = self.follow(job, imp)
        self.report(job)

    # ------------------------------------------------------------ setting up

    def prepare(self, options) -> Import:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with slug '{options['workspace']}'.")
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"No file at {path}.")
        segment = self.segment(workspace, options["segment"])
        with path.open("rb") as handle:
            imp = services.import_create(
                workspace=workspace,
                user=None,
                upload=File(handle, name=path.name),
                name=options["name"],
                mode=options["mode"],
                segment=segment,
                lookup=options["lookup"],
            )
        delimiter = DELIMITERS.get(options["delimiter"].lower(), options["delimiter"])
        reading = {
            "has_header": not options["no_header"],
            "encoding": options["encoding"].lower().replace("_", "-"),
            "delimiter": delimiter,
            "sheet": options["sheet"],
        }
        try:  # settings that change the columns: their suggested mapping comes first
            services.import_map(imp=imp, **reading, mapping=imp.mapping, user=None)
        except KithError as exc:
            if exc.field != "mapping":
                raise
        imp.refresh_from_db()
        mapping = self.mapping(imp, options["map"])
        return services.import_map(imp=imp, **reading, mapping=mapping, user=None)

    def segment(self, workspace, given) -> Segment | None:
        if not given:
            return None
        segments = Segment.objects.filter(workspace=workspace)
        found = segments.filter(pk=int(given)).first() if given.isdigit() else None
        found = found or segments.filter(name__iexact=given.strip()).first()
        if found is None:
            raise CommandError(f"No segment '{given}' in this workspace.")
        return found

    def mapping(self, imp: Import, given: list[str]) -> list[dict]:
        mapping = [dict(entry) for entry in imp.mapping]
        titles = [title.lower() for title in imp.columns]
        for text in given:
            column, equals, target = text.rpartition("=")
            if not equals or not column.strip():
                raise CommandError(f"--map takes COLUMN=FIELD, not '{text}'.")
            column, target = column.strip(), target.strip()
            if column.lower() in titles:
                index = titles.index(column.lower())
            elif column.isdigit() and 1 <= int(column) <= len(titles):
                index = int(column) - 1
            else:
                raise CommandError(
                    f"--map: no column '{column}' in this file (columns: {', '.join(imp.columns)})."
                )
            new_type = None
            if target.startswith(ATTRIBUTE_PREFIX) and ":" in target:
                target, _, new_type = target.partition(":")
            elif target.lower() in (IGNORE, TAGS):
                target = target.lower()
            mapping[index] = {"target": target, "new_type": new_type}
        return mapping

    # ------------------------------------------------------------ running

    def follow(self, job: Job, imp: Import) -> Job:
        """Run the job in a thread and draw its progress until it ends."""
        worker = threading.Thread(target=_run, args=(job.pk,), name="import", daemon=True)
        worker.start()
        bar = ProgressBar(self.stdout)
        while True:
            try:
                job.refresh_from_db()
                bar.draw(job)
                if not job.is_open and not worker.is_alive():
                    break
                time.sleep(POLL_SECONDS)
            except KeyboardInterrupt:
                self.stdout.write("\nStopping after the current chunk (what is applied stays)…")
                with contextlib.suppress(KithError):  # it ended meanwhile
                    services.import_cancel(imp=imp, user=None)
        bar.done(job)
        return job

    def report(self, job: Job) -> None:
        if job.status == Job.Status.FAILED:
            raise CommandError(job.message or "The import failed.")
        self.stdout.write(job.message)
        if job.result_file:
            self.stdout.write(
                f"Error file: {os.path.abspath(default_storage.path(job.result_file))}"
            )
        else:
            self.stdout.write("Error file: none (no row was rejected).")
        if job.status == Job.Status.CANCELLED:
            raise CommandError("The import was cancelled.", returncode=130)


def _run(job_id: int) -> None:
    try:
        runner.run(job_id)
    finally:
        connection.close()  # this thread's own connection


class ProgressBar:
    """[#######.......]  45%  45,000 / 100,000 rows, redrawn in place on a terminal,
    a line every tenth elsewhere (a log)."""

    def __init__(self, out):
        self.out = out
        self.tty = out.isatty()
        self.last = None

    def line(self, job: Job) -> str:
        percent = job.percent
        if job.total is None:
            return f"Counting the rows… {job.done:,}"
        filled = int(BAR * (percent or 0) / 100)
        return (
            f"[{'#' * filled}{'.' * (BAR - filled)}] {percent or 0:3d}%  "
            f"{job.done:,} / {job.total:,} rows"
        )

    def draw(self, job: Job) -> None:
        if self.tty:
            self.out.write("\r" + self.line(job), ending="")
            self.out.flush()
            return
        step = None if job.total is None else (job.percent or 0) // 10
        if step != self.last:
            self.last = step
            self.out.write(self.line(job))

    def done(self, job: Job) -> None:
        if self.tty:
            self.out.write("")

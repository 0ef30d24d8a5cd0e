"""Making, mapping, reviewing and running imports in tests, and reading what they left."""

import contextlib
import csv
import io
import zipfile

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from imports import services
from imports.models import Import
from jobs import runner
from jobs.models import Job
from workspaces.errors import KithError


def upload(content: bytes, name: str = "people.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def make(workspace, user, content: bytes, name="people.csv", mapping=None, **options) -> Import:
    """An import of `content`, mapped (the suggested mapping unless given). Reading
    options (has_header, encoding, delimiter, sheet) are saved first, as the map page
    does when they change the columns."""
    reading = {"has_header": True, "encoding": "", "delimiter": "", "sheet": ""}
    given = {key: options.pop(key) for key in list(options) if key in reading}
    imp = services.import_create(
        workspace=workspace, user=user, upload=upload(content, name), **options
    )
    reading.update(given)
    if given:
        with contextlib.suppress(KithError):  # the columns changed: mapped again below
            services.import_map(imp=imp, **reading, mapping=mapping or imp.mapping, user=user)
        imp.refresh_from_db()
    return services.import_map(imp=imp, **reading, mapping=mapping or imp.mapping, user=user)


def review(imp: Import, user) -> Import:
    job = services.import_review_start(imp=imp, user=user)
    runner.run(job.pk)
    imp.refresh_from_db()
    return imp


def run(imp: Import, user) -> Job:
    job = services.import_run_start(imp=imp, user=user)
    runner.run(job.pk)
    job.refresh_from_db()
    imp.refresh_from_db()
    return job


def run_cancelled_after_first_chunk(imp: Import, user, monkeypatch) -> str:
    """Start the import and cancel it once its first chunk is applied, as a user would
    from the page; the job's status when the runner stops."""
    from imports import engine

    job = services.import_run_start(imp=imp, user=user)
    original = engine._Work.apply

    def apply_then_cancel(self, *args):
        result = original(self, *args)
        services.import_cancel(imp=imp, user=user)
        return result

    monkeypatch.setattr(engine._Work, "apply", apply_then_cancel)
    return runner.run(job.pk)


def error_rows(job: Job) -> list[dict]:
    """The error file as dicts (header: the original columns, row, error)."""
    if not job.result_file:
        return []
    with default_storage.open(job.result_file, "rb") as handle:
        text = handle.read().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def xlsx(sheets: dict[str, list[list]]) -> bytes:
    """A workbook with these sheets, in this order."""
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def with_doctype(book: bytes, part: str = "xl/worksheets/sheet1.xml") -> bytes:
    """The workbook with an entity-expansion DTD put in one of its XML parts."""
    source = zipfile.ZipFile(io.BytesIO(book))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == part:
                head, _, rest = data.partition(b"?>")
                bomb = (
                    b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
                    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
                )
                data = head + b"?>" + bomb + rest
            target.writestr(item, data)
    return out.getvalue()

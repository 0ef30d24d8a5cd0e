"""Exports: a set of contacts (contacts.sets.ContactSet: checked ones, a list's
filters, a segment's members as "segment=<id>") to a CSV or XLSX file, as a job of the
jobs app, or at once from the shell (export_segment).

- Streamed: contacts are read by id in keyset chunks (an indexed range, never an
  OFFSET) through values_list, each chunk's tags in one more query, and rows are
  written as they come (the csv module; openpyxl's write-only workbook), so memory
  stays flat whatever the size. On PostgreSQL a CSV's rows are written by the
  database itself, a COPY a chunk, the same bytes (measured: the job at 0.5 to 0.8 of
  the speed of one raw COPY of the same columns at 1,000,000 contacts, 95 MB peak).
- Formula-safe (commands.md, OWASP "CSV injection"): text that begins with =, +, -,
  @, tab or carriage return is written after an apostrophe, in CSV and XLSX alike, so
  no spreadsheet runs it and it survives a copy or a save as CSV. A value's type
  decides, not its look: numbers (score, number attributes) are written as numbers,
  "-5" unquoted in CSV and a number cell in XLSX; the text "-5" is text.
- Resumable by starting again: an export writes nothing but its file, so a job that
  another worker takes over (its worker died) writes its file again from the first
  contact, each attempt into a file of its own (a slow old worker never writes into
  the new one's); the result is complete either way.
- One writer for the job and the shell: ExportPlan.write, with a callback per chunk
  (the job saves its progress and stops when cancelled; the command prints).
- Kept EXPORT_RETENTION_DAYS: the sweep deletes older files (`expire_old`); the job's
  row stays, marked expired.
"""

import csv
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Max, Min, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import get_valid_filename

from contacts import selectors
from contacts.attributes import parse_iso_moment
from contacts.models import (
    BUILTIN_FIELD_TYPES,
    DATE_FIELDS,
    NUMBER_FIELDS,
    TEXT_FIELDS,
    ContactTag,
    field_label,
)
from contacts.sets import ContactSet
from jobs.models import Job
from jobs.services import job_start
from workspaces.errors import KithError
from workspaces.models import Workspace

KIND = "export"
LABEL = "Export"
CHUNK_SIZE = 5000  # rows held in memory at once by the Python writers
# A COPY streams its rows: its chunks only bound the work between two saves of the
# progress, and fewer of them cost fewer round trips (bench/exports.py).
COPY_CHUNK_SIZE = 50_000
FORMATS = {"csv": "CSV", "xlsx": "Excel (XLSX)"}
# The built-in fields, in the order of the form and of a file's columns.
BUILTIN_FIELDS = [*TEXT_FIELDS, *NUMBER_FIELDS, *DATE_FIELDS]
ATTRIBUTE_PREFIX = "attributes."
TAGS = "tags"
TAG_SEPARATOR = ", "  # imports split a tags cell on "," or ";"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Moments in UTC, written as spreadsheets and imports read a date and a time.
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
XLSX_MAX_ROWS = 1_048_575  # a sheet's 1,048,576 rows, less the header
MAX_FILE_NAME = 100
USE_COPY = True  # PostgreSQL writes the CSV rows (the tests turn it off to compare)
DIRECTORY = "exports"  # in default_storage: exports/<workspace>/<job>/<file name>
EXPIRE_BATCH = 500  # old files deleted per sweep (the next sweep takes the rest)

logger = logging.getLogger(__name__)


def formula_safe(value):
    """The value as a spreadsheet must not run it: text beginning with =, +, -, @, tab
    or carriage return gets a leading apostrophe (OWASP's advice); anything else,
    numbers included, is returned as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


# ---------------------------------------------------------------- fields


@dataclass(frozen=True)
class ExportField:
    name: str  # the column's header: "email", "attributes.plan", "tags"
    label: str  # what the form calls it: "First name"
    group: str  # "builtin", "attribute" or "tags"
    type: str  # "text", "number", "date" or "boolean"

    @property
    def key(self) -> str:
        return self.name.removeprefix(ATTRIBUTE_PREFIX)


def field_catalog(workspace: Workspace) -> list[ExportField]:
    """Every field an export of the workspace can hold, in column order: built-in
    fields, custom attributes by key, tags."""
    builtin = [
        ExportField(name, field_label(name), "builtin", BUILTIN_FIELD_TYPES[name])
        for name in BUILTIN_FIELDS
    ]
    custom = [
        ExportField(ATTRIBUTE_PREFIX + a.key, a.label or a.key, "attribute", a.type)
        for a in selectors.attribute_list(workspace)
    ]
    return [*builtin, *custom, ExportField(TAGS, "Tags", "tags", "text")]


def fields_from_names(workspace: Workspace, names) -> list[ExportField]:
    """The fields named (each once, in the order given); an attribute's key matches
    whatever its case. None: every field."""
    catalog = field_catalog(workspace)
    if names is None:
        return catalog
    by_name = {f.name.lower(): f for f in catalog}
    chosen, unknown = {}, []
    for name in names:
        found = by_name.get(str(name).strip().lower())
        if found is None:
            unknown.append(str(name)[:100])
        else:
            chosen.setdefault(found.name, found)
    if unknown:
        raise KithError(
            f"There is no field {', '.join(f'“{n}”' for n in unknown)} to export: "
            "use built-in field names (email, first_name...), attributes.KEY or tags.",
            field="fields",
        )
    return list(chosen.values())


# ---------------------------------------------------------------- the plan


def _bound(value, *, end: bool) -> datetime | None:
    """A date range's bound as a moment: a day starts at midnight, and a day that ends
    a range counts whole (up to the next midnight, excluded)."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        value = parse_iso_moment(value)
        if value is None:
            raise ValueError("not a date")
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    moment = timezone.make_aware(datetime.combine(value, time.min))
    try:
        return moment + timedelta(days=1) if end else moment
    except OverflowError:  # up to the last day there is: no end
        return None


def date_filters(**ranges) -> dict[str, str]:
    """{"created_at__gte": ISO, "created_at__lt": ISO, ...} from created_from/to and
    updated_from/to (dates or moments, both ends included)."""
    lookups = {}
    for what in ("created", "updated"):
        try:
            start = _bound(ranges.get(f"{what}_from"), end=False)
        except ValueError:
            raise KithError("Enter a date.", field=f"{what}_from") from None
        try:
            stop = _bound(ranges.get(f"{what}_to"), end=True)
        except ValueError:
            raise KithError("Enter a date.", field=f"{what}_to") from None
        if start and stop and start >= stop:
            raise KithError("The end comes before the start.", field=f"{what}_to")
        if start:
            lookups[f"{what}_at__gte"] = start.isoformat()
        if stop:
            lookups[f"{what}_at__lt"] = stop.isoformat()
    return lookups


def file_name(name: str, format: str, default: str) -> str:
    """A safe file name ending in the format's extension: "VIP (June)" -> VIP_June.csv."""
    stem = (name or "").strip()
    if stem.lower().endswith(f".{format}"):
        stem = stem[: -len(format) - 1]
    stem = get_valid_filename(stem.replace("/", " ")) if stem.strip(" .") else ""
    stem = stem.strip("._-")[:MAX_FILE_NAME] or default
    return f"{stem}.{format}"


def _day(iso: str, *, end: bool = False) -> str:
    """A range's bound in words: "Jun 1, 2026" (an end is excluded: its day before)."""
    moment = parse_datetime(iso) - timedelta(microseconds=1 if end else 0)
    return f"{moment:%b} {moment.day}, {moment.year}"


@dataclass
class ExportPlan:
    """What an export writes: which contacts, which fields, in which format, under
    which name. It travels as plain data in the job's params (params, from_params)."""

    workspace: Workspace
    contacts: ContactSet
    format: str
    fields: list[ExportField]
    dates: dict[str, str] = field(default_factory=dict)
    name: str = ""

    def params(self) -> dict:
        return {
            "contacts": self.contacts.params(),
            "format": self.format,
            "fields": [f.name for f in self.fields],
            "dates": self.dates,
            "name": self.name,
        }

    @classmethod
    def from_params(cls, workspace: Workspace, params: dict) -> "ExportPlan":
        catalog = {f.name: f for f in field_catalog(workspace)}
        gone = [name for name in params["fields"] if name not in catalog]
        if gone:
            raise KithError(f"The field {', '.join(gone)} was deleted since the export began.")
        return cls(
            workspace=workspace,
            contacts=ContactSet.from_params(workspace, params["contacts"]),
            format=params["format"],
            fields=[catalog[name] for name in params["fields"]],
            dates=params.get("dates") or {},
            name=params["name"],
        )

    def describe(self) -> str:
        """The contacts in words, with the date ranges: "all contacts that match
        segment VIP, created from Jun 1, 2026 to Jun 30, 2026"."""
        words = [self.contacts.describe()]
        for what in ("created", "updated"):
            start, stop = self.dates.get(f"{what}_at__gte"), self.dates.get(f"{what}_at__lt")
            if start and stop:
                words.append(f"{what} from {_day(start)} to {_day(stop, end=True)}")
            elif start:
                words.append(f"{what} from {_day(start)}")
            elif stop:
                words.append(f"{what} up to {_day(stop, end=True)}")
        return ", ".join(words)

    def queryset(self) -> QuerySet:
        """The contacts, selected now, within the date ranges, by id."""
        lookups = {key: parse_datetime(value) for key, value in self.dates.items()}
        return self.contacts.contacts().filter(**lookups).order_by("pk")

    def write(self, path: Path, *, each_chunk: Callable[[int], None] | None = None) -> int:
        """Write the file at `path`, calling each_chunk(rows written so far) after each
        chunk; returns how many contacts it holds."""
        with _WRITERS[self.format](path) as sheet:
            sheet.header([f.name for f in self.fields])
            written = 0
            for count in self._chunks(sheet):
                written += count
                if each_chunk is not None:
                    each_chunk(written)
        return written

    def _chunks(self, sheet):
        if self.format == "csv" and connection.vendor == "postgresql" and USE_COPY:
            yield from _copy_chunks(self, sheet)
            return
        for rows in _Rows(self).chunks():
            sheet.rows(rows)
            yield len(rows)


# ---------------------------------------------------------------- reading


def _chunk_bounds(queryset: QuerySet, last: int, size: int) -> tuple[int, int] | None:
    """The first and last id of the next chunk after `last` (None: no more), in one
    row: the keyset walk costs one index range a chunk, and no id travels."""
    chunk = queryset.filter(pk__gt=last).order_by("pk").values("pk")[:size]
    bounds = chunk.aggregate(low=Min("pk"), high=Max("pk"))
    return None if bounds["low"] is None else (bounds["low"], bounds["high"])


class _Rows:
    """The plan's rows as Python values (text, numbers, booleans, moments, None), a
    chunk at a time, each a list of cells in the fields' order: the XLSX writer's,
    and the CSV writer's where the database is not PostgreSQL."""

    def __init__(self, plan: ExportPlan):
        self.plan = plan
        builtin = [f.name for f in plan.fields if f.group == "builtin"]
        self.attributes = any(f.group == "attribute" for f in plan.fields)
        self.tags = any(f.group == "tags" for f in plan.fields)
        self.columns = ["pk", *builtin] + (["attributes"] if self.attributes else [])
        # Where each cell comes from: ("column", index in the row), ("key", an
        # attribute's key), or ("tags", None).
        at = {name: i + 1 for i, name in enumerate(builtin)}
        self.layout = [
            ("column", at[f.name])
            if f.group == "builtin"
            else ("key", f.key)
            if f.group == "attribute"
            else ("tags", None)
            for f in plan.fields
        ]

    def chunks(self):
        queryset = self.plan.queryset()
        rows = queryset.values_list(*self.columns)
        last = 0
        while bounds := _chunk_bounds(queryset, last, CHUNK_SIZE):
            low, last = bounds
            found = rows.filter(pk__gte=low, pk__lte=last)
            yield self._cells(list({row[0]: row for row in found}.values()))

    def _cells(self, found: list[tuple]) -> list[list]:
        tags = _tag_names([row[0] for row in found]) if self.tags else {}
        out = []
        for row in found:
            attributes = row[-1] if self.attributes and isinstance(row[-1], dict) else {}
            out.append(
                [
                    row[where]
                    if source == "column"
                    else attributes.get(where)
                    if source == "key"
                    else TAG_SEPARATOR.join(tags.get(row[0], ()))
                    for source, where in self.layout
                ]
            )
        return out


def _tag_names(ids: list[int]) -> dict[int, list[str]]:
    """Each contact's tag names, by name whatever the case, in one query."""
    names: dict[int, list[str]] = {}
    links = ContactTag.objects.filter(contact_id__in=ids).values_list("contact_id", "tag__name")
    for contact_id, name in links.order_by():
        names.setdefault(contact_id, []).append(name)
    for found in names.values():
        found.sort(key=lambda name: (name.lower(), name))
    return names


# ---------------------------------------------------------------- CSV by COPY

# On PostgreSQL a CSV is written by the database: each chunk is one COPY (SELECT …)
# TO STDOUT whose columns are the cells as _csv_cell writes them (the same text, the
# same formula safety, tags joined the same way), so the worker only moves bytes.
# Measured at 1,000,000 contacts: see bench/exports.py; the Python rows took ten
# times as long as one COPY of the same columns.

_CODES = ", ".join(str(ord(c)) for c in FORMULA_STARTS)
_CODES_NOT_MINUS = ", ".join(str(ord(c)) for c in FORMULA_STARTS if c != "-")


def _safe_sql(text: str, *, minus: str = "") -> str:
    """formula_safe, and an empty text written as nothing, in SQL. `minus`: when a
    leading minus is to be made safe (always, by default). Measured: ascii() in a CASE
    costs next to nothing, where left() = ANY(...) and NULLIF() cost half a plain COPY."""
    if minus:
        risky = f"ascii({text}) IN ({_CODES_NOT_MINUS}) OR (ascii({text}) = 45 AND {minus})"
    else:
        risky = f"ascii({text}) IN ({_CODES})"
    quoted = "'''' || " + text
    return f"CASE WHEN {risky} THEN {quoted} WHEN {text} <> '' THEN {text} END"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _column_sql(f: ExportField) -> str:
    if f.group == "tags":
        return _safe_sql("tg.names")
    if f.group == "attribute":
        # Numbers and booleans as they are; only a text value is made safe.
        key = _literal(f.key)
        return _safe_sql(
            f"(c.attributes ->> {key})", minus=f"jsonb_typeof(c.attributes -> {key}) = 'string'"
        )
    if f.type == "date":
        return f"date_trunc('second', c.{f.name} AT TIME ZONE 'UTC')"  # 2026-06-01 09:30:00
    if f.type == "number":
        return f"c.{f.name}"
    return _safe_sql(f"c.{f.name}")


# The tags of a range of contacts, each contact's joined by name (bytewise, as Python
# compares them, whatever the database's collation).
_TAGS_SQL = """
LEFT JOIN (
    SELECT ct.contact_id,
        string_agg(t.name, {separator} ORDER BY lower(t.name) COLLATE "C", t.name COLLATE "C")
            AS names
    FROM contacts_contacttag ct JOIN contacts_tag t ON t.id = ct.tag_id
    WHERE ct.contact_id BETWEEN %s AND %s
    GROUP BY ct.contact_id
) tg ON tg.contact_id = c.id
"""


def _copy_sql(plan: ExportPlan, low: int, high: int) -> tuple[str, list]:
    """COPY of the contacts of the set with ids from low to high, as CSV: the set's
    own query (its filters are EXISTS, never joins that repeat a contact) as a table
    whose columns the cells are made of, and the tags of the range grouped once."""
    builtin = [f.name for f in plan.fields if f.group == "builtin"]
    names = ["id", *builtin, "attributes"]
    members = plan.queryset().filter(pk__gte=low, pk__lte=high).order_by()
    inner, params = members.values_list("pk", *builtin, "attributes").query.sql_with_params()
    params, tags = list(params), ""
    if any(f.group == "tags" for f in plan.fields):
        tags = _TAGS_SQL.format(separator=_literal(TAG_SEPARATOR))
        params = [*params, low, high]
    columns = ", ".join(_column_sql(f) for f in plan.fields)
    if len(plan.fields) == 1:  # an empty cell alone is "", as the csv module writes it,
        columns = f"COALESCE(({columns})::text, '')"  # not a blank line (no row at all)
    table = f"({inner}) AS c ({', '.join(names)})"
    return (
        f"COPY (SELECT {columns} FROM {table} {tags} ORDER BY c.id) TO STDOUT (FORMAT csv)",
        params,
    )


def _copy_chunks(plan: ExportPlan, sheet: "_Csv"):
    """Write the rows of each chunk with COPY; yields how many each held."""
    queryset = plan.queryset()
    last = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own, for its COPY
        while bounds := _chunk_bounds(queryset, last, COPY_CHUNK_SIZE):
            low, last = bounds
            sql, params = _copy_sql(plan, low, last)
            with transaction.atomic():
                # Measured: on 5,000 rows, parallel workers cost more than they save
                # (each of them grouped the range's tags again).
                cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
                with raw.copy(sql, params) as copy:
                    for data in copy:
                        sheet.write(data)
            yield raw.rowcount


# ---------------------------------------------------------------- writing


class _Lines(list):
    """What a csv writer writes, a row at a time, each row ending in a line feed."""

    def write(self, line: str) -> None:
        self.append(line[:-2] + "\n")


class _Csv:
    """CSV in UTF-8 (no BOM: the first header is exactly "email"), quoted where RFC
    4180 says, a line feed after each row, as PostgreSQL's COPY writes it."""

    def __init__(self, path: Path):
        self.handle = open(path, "wb")  # noqa: SIM115 (closed by __exit__)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()

    def write(self, data) -> None:
        self.handle.write(data)

    def _lines(self, rows) -> None:
        lines = _Lines()
        # "\r\n" makes the csv module quote a cell holding either (Python 3.11 quotes
        # only the characters of its line terminator); each row then ends in "\n".
        csv.writer(lines, lineterminator="\r\n").writerows(rows)
        self.write("".join(lines).encode())

    def header(self, names: list[str]) -> None:
        self._lines([names])

    def rows(self, rows: list[list]) -> None:
        self._lines([[_csv_cell(value) for value in row] for row in rows])


def _csv_cell(value):
    if value is None or value == "":
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime(DATE_FORMAT)
    if isinstance(value, dict | list):
        return formula_safe(json.dumps(value, ensure_ascii=False))
    return formula_safe(value)


class _Xlsx:
    """One sheet, header first, through openpyxl's write-only workbook (rows go to a
    temporary file as they come; the workbook is zipped at the end)."""

    def __init__(self, path: Path):
        from openpyxl import Workbook

        self.path = path
        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet("Contacts")

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if kind is None:
            self.book.save(self.path)

    def header(self, names: list[str]) -> None:
        self.sheet.append(names)

    def rows(self, rows: list[list]) -> None:
        for row in rows:
            self.sheet.append([_xlsx_cell(value) for value in row])


def _xlsx_cell(value):
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        # Control characters cannot be stored in a sheet; openpyxl refuses them.
        return formula_safe(ILLEGAL_CHARACTERS_RE.sub("", value)) or None
    if isinstance(value, datetime):
        # A sheet has no time zones; seconds, as in a CSV.
        return value.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    return value


_WRITERS = {"csv": _Csv, "xlsx": _Xlsx}


# ---------------------------------------------------------------- the service


def export_plan(
    *,
    workspace: Workspace,
    contact_set: ContactSet,
    format: str,
    fields=None,
    ranges: dict | None = None,
    name: str = "",
    default_name: str = "contacts",
) -> ExportPlan:
    """The export asked for, checked: KithError (naming its field) for what cannot be
    exported. `fields`: names (None: every field); `ranges`: created_from/to and
    updated_from/to, dates or moments, both ends included."""
    if format not in FORMATS:
        raise KithError("Choose CSV or XLSX.", field="format")
    chosen = fields_from_names(workspace, fields)
    if not chosen:
        raise KithError("Choose at least one field to export.", field="fields")
    if not contact_set.valid:
        raise KithError("The list's filters need fixing first.")
    if contact_set.empty:
        raise KithError("Select at least one contact first.")
    return ExportPlan(
        workspace=workspace,
        contacts=contact_set,
        format=format,
        fields=chosen,
        dates=date_filters(**(ranges or {})),
        name=file_name(name, format, default_name),
    )


@transaction.atomic
def export_start(
    *,
    workspace: Workspace,
    user,
    contact_set: ContactSet,
    format: str,
    fields=None,
    created_from=None,
    created_to=None,
    updated_from=None,
    updated_to=None,
    name: str = "",
) -> Job:
    """Record the export as a job; a worker writes the file, the job's page shows its
    progress, and its author is notified with a link to download it. `fields`: names
    (None: every field)."""
    ranges = dict(created_from=created_from, created_to=created_to)
    ranges.update(updated_from=updated_from, updated_to=updated_to)
    today = timezone.localdate()
    plan = export_plan(workspace=workspace, contact_set=contact_set, format=format,
                       fields=fields, ranges=ranges, name=name,
                       default_name=f"contacts-{today:%Y-%m-%d}")  # fmt: skip
    params = {**plan.params(), "described": plan.describe()}
    return job_start(
        workspace=workspace,
        kind=KIND,
        title=f"Export {plan.name}: {params['described']}",
        params=params,
        user=user,
        total=None if plan.contacts.is_matching else len(plan.contacts.ids),
    )


# ---------------------------------------------------------------- the job


def storage_name(job: Job) -> str:
    return str(PurePosixPath(DIRECTORY, str(job.workspace_id), str(job.pk), job.params["name"]))


def run(context) -> None:
    """The job's handler (registered in ContactsConfig.ready): count, write the file
    chunk by chunk with the job's progress, then store it as the job's result."""
    job = context.job
    plan = ExportPlan.from_params(job.workspace, job.params)
    total = plan.queryset().count()
    if plan.format == "xlsx" and total > XLSX_MAX_ROWS:
        raise KithError(
            f"An XLSX sheet holds at most {XLSX_MAX_ROWS:,} contacts and this export has "
            f"{total:,}: export them to CSV, or fewer at a time."
        )
    context.advance(done=0, total=total)  # a new attempt starts the file again

    def each_chunk(written: int) -> None:
        context.advance(done=written, checkpoint={"attempt": job.attempts})
        context.raise_if_cancelled()

    final = storage_name(job)
    with _attempt_file(final, job.attempts) as path:
        written = plan.write(path, each_chunk=each_chunk)
        _keep(path, final)
    if written != total:  # contacts were added or left the set while it ran
        context.advance(total=written)
    context.set_result(
        file=final,
        url=reverse("contacts:exports"),
        message=f"Exported {written:,} contact{'s' * (written != 1)} to {plan.name}.",
    )


class _attempt_file:
    """A local file for one attempt's writing, removed unless kept."""

    def __init__(self, final: str, attempt: int):
        self.final = final
        self.local = _local_path(final)
        if self.local is not None:
            self.path = self.local.with_name(f".{self.local.name}.attempt-{attempt}")
        else:
            import tempfile

            handle, name = tempfile.mkstemp(suffix=Path(final).suffix)
            os.close(handle)
            self.path = Path(name)

    def __enter__(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.local is not None:  # what earlier attempts left (their workers died)
            for earlier in self.path.parent.glob(f".{self.local.name}.attempt-*"):
                earlier.unlink(missing_ok=True)
        return self.path

    def __exit__(self, *exc):
        self.path.unlink(missing_ok=True)


def _local_path(name: str) -> Path | None:
    try:
        return Path(default_storage.path(name))
    except NotImplementedError:  # a storage without local files (S3...)
        return None


def _keep(path: Path, final: str) -> None:
    """Make the written file the job's result file."""
    local = _local_path(final)
    if local is not None:
        os.replace(path, local)
    else:
        default_storage.delete(final)
        with path.open("rb") as handle:
            default_storage.save(final, File(handle))


# ---------------------------------------------------------------- old files


def expire_old(now=None) -> int:
    """Delete the files of exports finished more than EXPORT_RETENTION_DAYS ago; the
    job's row stays (the Exports page's history says "expired"). A sweeper of
    jobs.sweep (registered in ContactsConfig.ready) that sends nothing again: it logs
    how many files went and returns 0."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.EXPORT_RETENTION_DAYS)
    old = Job.objects.filter(kind=KIND, finished_at__lt=cutoff).exclude(result_file="")
    expired = 0
    for job in old.only("pk", "params", "result_file")[:EXPIRE_BATCH]:
        local = _local_path(job.result_file)
        try:
            default_storage.delete(job.result_file)
            if local is not None:
                local.parent.rmdir()  # exports/<workspace>/<job>/, empty now
        except OSError:  # a folder something else was put in: the file is gone anyway
            if default_storage.exists(job.result_file):
                logger.warning("Export file %s could not be deleted.", job.result_file)
                continue
        params = {**job.params, "expired": True}
        Job.objects.filter(pk=job.pk).update(result_file="", params=params)
        expired += 1
    if expired:
        logger.info("Deleted the files of %s export(s) older than %s days.", expired,
                    settings.EXPORT_RETENTION_DAYS)  # fmt: skip
    return 0

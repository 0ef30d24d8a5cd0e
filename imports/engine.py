"""The import jobs: the dry run ("import_review") and the run ("import_run").

- The file is streamed in chunks of at most IMPORT_CHUNK_ROWS rows (memory stays
  flat, whatever its size). Its rows are counted first, and a file over
  IMPORT_MAX_ROWS is refused before any row is written. The first chunks are smaller
  (FIRST_CHUNK_ROWS, doubling): the database starts on rows at once instead of
  waiting for a whole chunk to be read and checked, while the next one is read.
- Each row is checked against its fields' types (imports.mapping); a row that does
  not fit is rejected whole, with its reason. The reader thread does this and
  prepares the other rows for contacts.writer (contacts_prepare), in the turns the
  import's thread leaves it while waiting on the database. The chunk's rows are written
  set-based by contacts.writer (one statement per shape, repeated emails in rounds,
  so a row repeating an earlier email updates the contact that row made), and, with a
  segment, added to it through segments.services in one INSERT ... SELECT.
- The chunk's rejected rows go to a part file named by the chunk's number, written
  before the chunk commits; the checkpoint (rows done, chunk number) commits with the
  chunk's rows through JobContext.advance. A worker killed at any moment leaves
  either the whole chunk committed (the next one is resumed) or none of it (the chunk
  is done again and its part file overwritten): no row lost or applied twice, and the
  counts, kept on the job in the same transaction, add up to the rows of the file.
- Membership follows from the writer's announcements (contacts.changes, once per
  statement kind per chunk); segments.pending turns a large one into a full refresh.
- The dry run checks every row the same way and foretells each outcome from the
  stored contacts (contacts.writer's dry_run), writing nothing; a row repeating an
  email of an earlier chunk is foretold from a digest of what that row gave.
"""

import contextlib
import csv
import gc
import hashlib
import itertools
import json
import queue
import shutil
import sys
import threading
from pathlib import Path, PurePath

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, reset_queries, transaction
from django.urls import reverse

from contacts.models import Contact, CustomAttribute, clean_lookup
from contacts.services import attribute_definitions, contacts_find
from contacts.writer import CREATED, UNCHANGED, UPDATED, Prepared, contacts_prepare, contacts_write
from imports.mapping import ATTRIBUTE_PREFIX, RowReader, match_field
from imports.models import Import
from imports.reading import FileRefused, cell_text
from imports.services import REVIEW, RUN, table_of
from jobs.runner import JobCancelled, LeaseLost
from segments import services as segment_services
from segments.models import Source
from segments.selectors import segment_members

COUNT_KEYS = ("rows", "create", "update", "unchanged", "reject")
OUTCOME_KEYS = {CREATED: "create", UPDATED: "update", UNCHANGED: "unchanged"}
REJECTED_SAMPLE = 20
FIRST_CHUNK_ROWS = 1000
# PostgreSQL's statistics are refreshed when the contacts an import created reach this
# many, then each time they grow tenfold (see _refresh_statistics).
ANALYZE_FIRST_AT = 5_000
ANALYZE_GROWTH = 10
# New objects between two collections of the young generation during an import's loop.
COLLECT_AFTER = 50_000
# How soon the reader thread yields the interpreter to the import's thread (see _ahead).
SWITCH_SECONDS = 0.001

__all__ = ["REVIEW", "RUN", "run_import", "run_review"]


def _definitions(imp: Import) -> dict:
    """The workspace's attributes, with those the mapping creates (unsaved in a dry
    run, before the run creates them)."""
    definitions = attribute_definitions(imp.workspace)
    for entry in imp.mapping:
        key = entry["target"].removeprefix(ATTRIBUTE_PREFIX)
        if entry.get("new_type") and key.lower() not in definitions:
            definitions[key.lower()] = CustomAttribute(
                workspace=imp.workspace, key=key, type=entry["new_type"]
            )
    return definitions


class _Failed:
    def __init__(self, exc: BaseException):
        self.exc = exc


class _Turns:
    """When the reader thread may run Python: while the import's own thread waits, on
    the database or for the next chunk. Two threads running Python at once only take
    turns on the interpreter's lock, and the one that drives the database then waits
    for the other: at 50,000 rows, a reader thread running freely made the import
    slower (10.6 s) than no thread at all (9.5 s)."""

    def __init__(self):
        self.waiting = threading.Event()

    def wait(self) -> None:
        """In the reader thread: until the import's thread waits."""
        self.waiting.wait()

    @contextlib.contextmanager
    def away(self):
        """The import's thread waits meanwhile: the reader's turn."""
        self.waiting.set()
        try:
            yield
        finally:
            self.waiting.clear()

    def execute(self, execute, sql, params, many, context):
        """A Django execute wrapper: every statement is a wait on the database."""
        with self.away():
            return execute(sql, params, many, context)


def _ahead(iterable, depth: int = 2, turns: _Turns | None = None):
    """`iterable`'s items, made in a thread of their own at most `depth` ahead of
    their use: reading and checking the next chunk (pure Python) while this one waits
    on the database. What the thread raises is raised here. With `turns`, the thread
    gets the reader's turn while this one waits for an item."""
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()
    turns = turns or _Turns()

    def put(value) -> bool:
        while not stop.is_set():
            try:
                ready.put(value, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for value in iterable:
                if not put(value):
                    return
            put(end)
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Failed(exc))

    thread = threading.Thread(target=produce, name="import-reader", daemon=True)
    # The reader hands the interpreter back within SWITCH_SECONDS when this thread's
    # statement returns (Python's default: 5 ms, paid after every statement).
    switch = sys.getswitchinterval()
    sys.setswitchinterval(min(switch, SWITCH_SECONDS))
    thread.start()
    try:
        while True:
            with turns.away():
                value = ready.get()
            if value is end:
                return
            if isinstance(value, _Failed):
                raise value.exc
            yield value
    finally:
        stop.set()
        turns.waiting.set()  # a reader waiting for its turn sees the stop
        thread.join(timeout=5)
        sys.setswitchinterval(switch)


@contextlib.contextmanager
def _fewer_collections():
    """Python's cycle collector, made to run less during the loop. Each chunk makes
    tens of thousands of dicts and lists that live for its length (freed by their
    counts, not by the collector); at the default threshold (700 new objects) the
    collector ran about 1,000 times over 50,000 rows, eight of them over every object
    of the worker (Django's included), 2.3 s of a 10.6 s import. The objects that
    exist at the start are set aside (gc.freeze) and the young generation is
    collected every COLLECT_AFTER new objects instead; both restored after (objects
    the process had set aside itself stay so: then nothing is frozen or unfrozen)."""
    before = gc.get_threshold()
    ours = gc.get_freeze_count() == 0
    if ours:
        gc.freeze()
    gc.set_threshold(max(before[0], COLLECT_AFTER), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        if ours:
            gc.unfreeze()


def _chunk_size(number: int, most: int) -> int:
    """Rows in chunk `number` (from 0): FIRST_CHUNK_ROWS, doubling up to `most`, so a
    resumed import goes on in full chunks. (Sizes may differ from one attempt to the
    next: a chunk starts at the checkpoint's row and overwrites its part file.)"""
    return min(most, FIRST_CHUNK_ROWS << min(number, 20))


def _batched(rows, first: int, most: int):
    """Chunks of `rows`, numbered from `first`, sized by _chunk_size."""
    iterator = iter(rows)
    for number in itertools.count(first):
        chunk = list(itertools.islice(iterator, _chunk_size(number, most)))
        if not chunk:
            return
        yield chunk


class _Chunk:
    """One chunk: its rows to write, then its outcome: its counts and rejected rows."""

    def __init__(self):
        self.counts = dict.fromkeys(COUNT_KEYS, 0)
        self.rejected: list[tuple[object, str]] = []  # (Row, error)
        # The rows to write, their items, and those prepared for contacts.writer.
        self.rows: list = []
        self.items: list[dict] = []
        self.prepared: Prepared | None = None

    def reject(self, row, error: str) -> None:
        self.rejected.append((row, error))
        self.counts["reject"] += 1


class _Work:
    """What both jobs share: the import, its reader, and how a chunk is applied."""

    def __init__(self, context, *, dry_run: bool):
        self.context = context
        self.job = context.job
        self.dry_run = dry_run
        self.imp = Import.objects.select_related("workspace", "segment").get(
            pk=self.job.params["import_id"], workspace=self.job.workspace
        )
        self.definitions = _definitions(self.imp)
        self.reader = RowReader(self.imp.columns, self.imp.mapping, self.definitions)
        self.table = table_of(self.imp)
        self.add_mode = self.imp.mode == Import.Mode.ADD_TO_SEGMENT
        self.match_on = self.imp.lookup if self.add_mode else match_field(self.imp.mapping)
        self.analyze_at = ANALYZE_FIRST_AT
        # The dry run: hash of a key -> digest of the last row giving it (two ints an
        # email: about 100 MB at a million distinct emails, the review job's only
        # memory that grows with the file).
        self.seen: dict[int, int] = {}
        self.turns = _Turns()

    # ------------------------------------------------------------ the loop

    def run(self) -> None:
        point = self.job.checkpoint or {}
        try:
            with self.imp.file.open("rb") as handle:
                file = handle.file
                if "chunk_rows" not in point:
                    total = self.table.count_rows(file, limit=settings.IMPORT_MAX_ROWS)
                    point = {"rows": 0, "chunk": 0, "chunk_rows": settings.IMPORT_CHUNK_ROWS}
                    with transaction.atomic():
                        self.context.advance(total=total, checkpoint=point)
                rows = self.table.rows(file, skip=point["rows"])
                if self.dry_run and point["rows"]:
                    # The dry run's digests are not kept: it starts again.
                    point = {**point, "rows": 0, "chunk": 0}
                    rows = self.table.rows(file)
                    self.job.counters, self.job.errors = {}, []
                    with transaction.atomic():
                        self.context.advance(done=0, checkpoint=point)
                number, done = point["chunk"], point["rows"]
                chunks = _batched(rows, number, point["chunk_rows"])
                checked = _ahead((self.check(c) for c in chunks), turns=self.turns)
                # closing(): the reader stops, and the switch interval comes back, as
                # soon as the loop ends, however it ends.
                with (
                    contextlib.closing(checked),
                    connection.execute_wrapper(self.turns.execute),
                    _fewer_collections(),
                ):
                    self._apply_all(checked, point, number, done)
        except FileRefused as exc:
            self.context.set_result(message=exc.message)
            raise
        except OSError:
            self.context.set_result(message="The uploaded file is no longer there.")
            raise

    def _apply_all(self, checked, point: dict, number: int, done: int) -> None:
        """Each checked chunk applied, with its checkpoint, in a transaction of its own."""
        for chunk in checked:
            self.context.raise_if_cancelled()
            done += chunk.counts["rows"]
            with transaction.atomic():
                self._commit_without_waiting()
                self.apply(chunk)
                self.save_rejected(number, chunk)
                checkpoint = {**point, "rows": done, "chunk": number + 1}
                self.context.advance(
                    add_done=chunk.counts["rows"],
                    counters=chunk.counts,
                    errors=self.sample(chunk),
                    checkpoint=checkpoint,
                )
            number += 1
            self._refresh_statistics()
            # With DEBUG on (make run's worker) Django keeps every query's SQL,
            # a chunk's rows included, and only a request would clear it.
            reset_queries()

    def _commit_without_waiting(self) -> None:
        """PostgreSQL: this chunk's commit does not wait for its WAL to reach the disk
        (31 commits took 0.8 s of a 100,000-row import). A server crash can lose the
        last chunks' commits, each whole with its checkpoint, so the import resumes
        before them and does them again; the job's last commit (its result) waits as
        usual, and with it everything written before."""
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")

    def _refresh_statistics(self) -> None:
        """ANALYZE the contacts table when the contacts this import created reach
        ANALYZE_FIRST_AT, then each time they grow tenfold. The writer finds each
        chunk's stored contacts by key; while the planner believes the workspace holds
        the few contacts it held when last analyzed (a new workspace: none), it reads
        them through an index on the workspace alone and filters the keys, so each
        chunk re-reads every contact imported so far (100,000 rows into a new
        workspace beside a million contacts: 35.6 s against 5.4 s raw; autovacuum
        waits for 10% of the table). The first ANALYZE is the one that counts: once
        the planner knows the workspace holds thousands, probing the unique index
        wins. Each costs a sample of the table (about 1 s at a million contacts under
        load; at each doubling, four took 4.4 s of a 100,000-row import)."""
        created = self.job.counters.get(OUTCOME_KEYS[CREATED], 0)
        if self.dry_run or connection.vendor != "postgresql" or created < self.analyze_at:
            return
        # The workspace column alone: its share of the table is what the planner
        # misjudges, and the whole table's statistics (twenty indexes, six of them
        # trigram ones, whose expressions ANALYZE computes too) took 1.3 s at 100,000
        # contacts against 0.2 s for this one column.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Contact._meta.db_table} (workspace_id)")
        while self.analyze_at <= created:
            self.analyze_at *= ANALYZE_GROWTH

    def sample(self, outcome: _Chunk) -> list[dict]:
        room = REJECTED_SAMPLE - len(self.job.errors)
        return [
            {"row": row.line, "values": [cell_text(c) for c in row.cells], "error": error}
            for row, error in outcome.rejected[: max(room, 0)]
        ]

    # ------------------------------------------------------------ one chunk

    def check(self, chunk: list) -> _Chunk:
        """The chunk's rows checked, the rejected ones set aside, and (to create or
        update contacts) the others prepared for contacts.writer: no database, so it
        runs ahead in a thread of its own, row by row in its turns."""
        outcome = _Chunk()
        outcome.counts["rows"] = len(chunk)
        for row in chunk:
            self.turns.wait()
            item, error = self.reader.item(row.cells)
            if error:
                outcome.reject(row, error)
            elif not item.get(self.match_on):
                label = "email" if self.match_on == "email" else "external ID"
                outcome.reject(row, f"No {label}: each row needs one to find its contact.")
            else:
                outcome.items.append(item)
                outcome.rows.append(row)
        if not self.add_mode:
            outcome.prepared = contacts_prepare(
                match_on=self.match_on, items=self._paced(outcome.items), cleaned=True
            )
        return outcome

    def _paced(self, items: list):
        """`items`, one at a time in the reader's turns."""
        for item in items:
            self.turns.wait()
            yield item

    def apply(self, chunk: _Chunk) -> None:
        """The chunk's rows written; its counts and rejected rows filled in."""
        if self.add_mode:
            self._add_existing(chunk)
        else:
            self._upsert(chunk)
        # What the chunk's counts need is kept until its commit, not its rows.
        chunk.items, chunk.rows, chunk.prepared = [], [], None

    def _upsert(self, outcome: _Chunk) -> None:
        items, rows = outcome.items, outcome.rows
        written = contacts_write(
            workspace=self.imp.workspace,
            match_on=self.match_on,
            items=outcome.prepared,
            define_attributes=False,
            definitions=self.definitions,
            dry_run=self.dry_run,
            cleaned=True,
        )
        errors = {e["index"]: e["message"] for e in written.errors}
        if self.dry_run:
            self._foretell_repeats(items, written)
        for index, row in enumerate(rows):
            if index in errors:
                outcome.reject(row, errors[index])
            else:
                outcome.counts[OUTCOME_KEYS[written.outcomes[index]]] += 1
        segment = self.imp.segment
        if segment is not None and not self.dry_run:
            ids = [pk for pk in written.contact_ids if pk is not None]
            self._add_to_segment(ids)

    def _foretell_repeats(self, items: list, written) -> None:
        """A key an earlier chunk gave: its contact exists by now in the run."""
        firsts = {}
        for index, item in enumerate(items):
            if written.outcomes[index] is None:
                continue
            key = hash(clean_lookup(item[self.match_on]))
            digest = _digest(item)
            if key in self.seen and key not in firsts:
                written.outcomes[index] = UNCHANGED if self.seen[key] == digest else UPDATED
            firsts.setdefault(key, index)
            self.seen[key] = digest

    def _add_existing(self, outcome: _Chunk) -> None:
        items, rows = outcome.items, outcome.rows
        values = [str(item[self.match_on]) for item in items]
        found = contacts_find(self.imp.workspace, self.match_on, values)
        ids = []
        for value, row in zip(values, rows, strict=True):
            contact = found.get(clean_lookup(value))
            if contact is None:
                label = "email" if self.match_on == "email" else "external ID"
                outcome.reject(row, f"No contact with {label} {value}.")
            else:
                ids.append(contact.pk)
        unique = list(dict.fromkeys(ids))
        if self.dry_run:
            members = segment_members(self.imp.segment).filter(contact_id__in=unique)
            added = len(unique) - members.count()
        else:
            added = self._add_to_segment(unique)
        outcome.counts["update"] += added
        outcome.counts["unchanged"] += len(ids) - added

    def _add_to_segment(self, ids: list[int]) -> int:
        if not ids or self.imp.segment is None:
            return 0
        contacts = Contact.objects.filter(workspace=self.imp.workspace, pk__in=ids)
        return segment_services.segment_contacts_add(
            segment=self.imp.segment, contacts=contacts, source=Source.IMPORT
        )

    # ------------------------------------------------------------ rejected rows

    def parts_dir(self) -> Path:
        return Path(default_storage.path(f"imports/errors/{self.imp.pk}/job-{self.job.pk}"))

    def save_rejected(self, number: int, outcome: _Chunk) -> None:
        """The chunk's rejected rows, in its own part file (overwritten when the chunk
        is done again after a crash)."""
        if self.dry_run:
            return
        folder = self.parts_dir()
        part = folder / f"{number:08d}.csv"
        if not outcome.rejected:
            part.unlink(missing_ok=True)
            return
        folder.mkdir(parents=True, exist_ok=True)
        temporary = part.with_suffix(".tmp")
        width = len(self.imp.columns)
        with temporary.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            for row, error in outcome.rejected:
                cells = [cell_text(c) for c in row.cells[:width]]
                cells += [""] * (width - len(cells))
                writer.writerow([*cells, row.line, error])
        temporary.replace(part)

    def error_file(self) -> str:
        """The parts joined into the error file (its storage name), "" when no row
        was rejected."""
        folder = self.parts_dir()
        parts = sorted(folder.glob("*.csv")) if folder.exists() else []
        if not parts:
            return ""
        stem = PurePath(self.imp.original_name).stem or "import"
        name = f"imports/errors/{self.imp.pk}/{stem}-errors-{self.job.pk}.csv"
        target = Path(default_storage.path(name))
        with target.open("w", encoding="utf-8-sig", newline="") as out:
            csv.writer(out).writerow([*self.imp.columns, "row", "error"])
            for part in parts:
                with part.open("r", encoding="utf-8", newline="") as source:
                    shutil.copyfileobj(source, out)
        shutil.rmtree(folder, ignore_errors=True)
        return name


def _digest(item: dict) -> int:
    text = json.dumps(item, sort_keys=True, default=str)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _counts(job) -> dict:
    return {key: job.counters.get(key, 0) for key in COUNT_KEYS}


def _in_words(counts: dict, *, add_mode: bool, dry_run: bool) -> str:
    if add_mode:
        verb = "would be added" if dry_run else "added"
        return (
            f"{counts['rows']:,} rows: {counts['update']:,} {verb} to the segment, "
            f"{counts['unchanged']:,} already in it, {counts['reject']:,} rejected."
        )
    verbs = ("to create", "to update") if dry_run else ("created", "updated")
    return (
        f"{counts['rows']:,} rows: {counts['create']:,} {verbs[0]}, "
        f"{counts['update']:,} {verbs[1]}, {counts['unchanged']:,} unchanged, "
        f"{counts['reject']:,} rejected."
    )


def run_review(context) -> None:
    """The dry run: every row checked and its outcome foretold; nothing written."""
    work = _Work(context, dry_run=True)
    work.run()
    job = context.job
    review = {**_counts(job), "rejected": list(job.errors[:REJECTED_SAMPLE])}
    Import.objects.filter(pk=work.imp.pk, review_job=job).update(review=review)
    url = reverse("imports:review", args=[work.imp.pk])
    context.set_result(url=url, message=_in_words(review, add_mode=work.add_mode, dry_run=True))


def run_import(context) -> None:
    """The run; a cancelled one keeps what it applied and says how much."""
    work = _Work(context, dry_run=False)
    try:
        work.run()
    except JobCancelled:
        _finish(context, work, stopped="Cancelled")
        raise
    except LeaseLost:
        raise  # another worker goes on with it
    except Exception:
        _finish(context, work, stopped="Stopped")
        raise
    _finish(context, work)


def _finish(context, work: _Work, *, stopped: str = "") -> None:
    """Counts on the import, the error file, the sentence. Rows applied before a
    cancel or a failure stay applied; the sentence says how many."""
    job = context.job
    counts = _counts(job)
    Import.objects.filter(pk=work.imp.pk).update(counts=counts)
    message = _in_words(counts, add_mode=work.add_mode, dry_run=False)
    if stopped and not counts["rows"] and job.message:
        message = job.message  # refused before any row: the refusal says it all
    elif stopped:
        reason = job.message if job.message and stopped == "Stopped" else ""
        message = f"{stopped} after {counts['rows']:,} of {job.total or 0:,} rows. {message}"
        message = f"{reason} {message}".strip()
    url = reverse("imports:detail", args=[work.imp.pk])
    context.set_result(file=work.error_file(), url=url, message=message)

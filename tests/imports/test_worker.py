"""Imports on PostgreSQL + Redis + real Celery workers (commands.md, "Guarantees"): a
worker killed with SIGKILL in the middle of a 200,000-row import, then another one
started, and a Redis restarted empty mid-import; each finishes with the counts of an
uninterrupted run, no contact twice, and every rejected row once in the error file."""

import csv
import io
import time
from functools import partial

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from contacts.models import Contact
from imports import services
from jobs.models import Job
from tests.factories import WorkspaceFactory
from tests.killable import KillableWorker, own_queue, sweeping_until_ended, wait

pytestmark = pytest.mark.services
LEASE_SECONDS = 5
SWEEP_SECONDS = 2
ROWS = 200_000
DISTINCT = 190_000  # rows past this repeat an earlier email, upper-cased


def messy_file(rows: int, distinct: int) -> tuple[bytes, dict, list[int]]:
    """A CSV of `rows` rows: every 1000th an invalid email, the last rows-distinct
    repeating earlier emails in capitals with a new first name. Returns the file, the
    counts an uninterrupted run gives, and the source lines of the rejected rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Email", "First Name", "Score"])
    rejected = []
    for i in range(rows):
        if i % 1000 == 7:
            email = f"bad{i}"
            rejected.append(i + 2)
        else:
            email = f"p{i % distinct}@example.com"
            email = email.upper() if i >= distinct else email
        writer.writerow([email, f"N{i}", i % 100])
    bad_first = len([i for i in range(distinct) if i % 1000 == 7])
    bad_repeat = len([i for i in range(distinct, rows) if i % 1000 == 7])
    expected = {
        "rows": rows,
        "create": distinct - bad_first,
        "update": rows - distinct - bad_repeat,
        "unchanged": 0,
        "reject": bad_first + bad_repeat,
    }
    return out.getvalue().encode(), expected, rejected


Worker = partial(KillableWorker, lease_seconds=LEASE_SECONDS, concurrency=1)


@pytest.fixture
def queue(redis_url, postgres, transactional_db, settings):
    yield from own_queue(
        "imports", settings, lease_seconds=LEASE_SECONDS, sweep_seconds=SWEEP_SECONDS
    )


def start_import(workspace, content: bytes):
    imp = services.import_create(
        workspace=workspace, user=None, upload=SimpleUploadedFile("big.csv", content)
    )
    imp = services.import_map(
        imp=imp,
        has_header=True,
        encoding="",
        delimiter="",
        sheet="",
        mapping=imp.mapping,
        user=None,
    )
    return imp, services.import_run_start(imp=imp, user=None)


def check_outcome(workspace, imp, job, expected: dict, rejected_lines: list[int], distinct) -> None:
    job.refresh_from_db()
    imp.refresh_from_db()
    assert job.status == Job.Status.DONE, job.message
    assert imp.counts == expected
    assert job.done == job.total == expected["rows"]
    contacts = Contact.objects.filter(workspace=workspace)
    assert contacts.count() == expected["create"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(DISTINCT lower(email)) FROM contacts_contact WHERE workspace_id = %s",
            [workspace.pk],
        )
        assert cursor.fetchone()[0] == expected["create"]  # no contact twice
    # The repeated emails updated the contacts the earlier rows made.
    assert contacts.get(email__iexact="p5@example.com").first_name == f"N{distinct + 5}"
    with default_storage.open(job.result_file, "rb") as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read().decode("utf-8-sig"))))
    assert [int(row["row"]) for row in rows] == rejected_lines  # each once, in order
    assert all("not a valid email" in row["error"] for row in rows)


def test_sigkill_mid_import_then_a_new_worker(queue, postgres, redis_url, tmp_path):
    content, expected, rejected_lines = messy_file(ROWS, DISTINCT)
    workspace = WorkspaceFactory()
    log_path = tmp_path / "worker.log"
    first = Worker(queue, postgres, redis_url, log_path)
    try:
        imp, job = start_import(workspace, content)

        def midway() -> bool:
            job.refresh_from_db()
            return job.total is not None and job.done >= ROWS // 4

        wait(midway, 300, "the import to be a quarter done", first.log)
        first.kill()
    finally:
        first.stop()
    job.refresh_from_db()
    done_at_kill = job.done
    assert job.status == Job.Status.RUNNING and 0 < done_at_kill < ROWS

    second = Worker(queue, postgres, redis_url, log_path)
    try:
        sweeping_until_ended(job, 600, second.log)
    finally:
        second.stop()
    check_outcome(workspace, imp, job, expected, rejected_lines, DISTINCT)
    assert job.attempts == 2
    print(f"\nkilled at {done_at_kill:,} of {ROWS:,} rows; resumed and finished exactly")


@pytest.fixture
def short_lease(monkeypatch, settings):
    """The worker (started after this) and the sweep here give up on a lease soon."""
    monkeypatch.setenv("JOB_LEASE_SECONDS", str(LEASE_SECONDS))
    settings.JOB_LEASE_SECONDS = LEASE_SECONDS
    settings.BACKGROUND_SWEEP_SECONDS = SWEEP_SECONDS


def test_redis_restarted_empty_mid_import(short_lease, worker_on_private_redis, private_redis):
    worker = worker_on_private_redis
    rows, distinct = 60_000, 57_000
    content, expected, rejected_lines = messy_file(rows, distinct)
    workspace = WorkspaceFactory()
    imp, job = start_import(workspace, content)

    def running() -> bool:
        job.refresh_from_db()
        return job.total is not None and job.done > 0

    wait(running, 120, "the import to start", worker.log)
    private_redis.kill()
    time.sleep(1)
    private_redis.start()
    sweeping_until_ended(job, 600, worker.log)

    check_outcome(workspace, imp, job, expected, rejected_lines, distinct)
    assert worker.alive()

"""An import of a CSV of N rows x 12 columns (default 1,000,000) through the real
task, beside PostgreSQL's own way of loading the same file: COPY into a staging
table, then one INSERT … ON CONFLICT (workspace_id, lower(email)) DO UPDATE into
the contacts. Each side loads into a workspace of its own, empty at the start, in
the same run. Prints both rows/s, their ratio, and the worker's peak memory.

Targets (issue 20): ours at least half the raw rows/s; the worker under 300 MB
whatever the size of the file.

    python -m bench.imports [N]        (N, BENCH_IMPORT_ROWS or BENCH_CONTACTS;
                                        default 1,000,000)
    BENCH_CONTACTS=100000 make bench   (a quicker run of every bench)

Ours is the run job of an import made and mapped by the services, run by
jobs.tasks.run_job (the Celery task's own function) in a child process, as a worker
runs it; its peak memory is the child's maximum resident set (getrusage). The
segment engine's listener records its pending work as it does in production.

Both clocks time the load alone: raw's from its connection to its commit, ours from
run_job's call to its return, read by the child itself. The contacts table is
vacuumed before each load, off the clock, so neither pays for the clean-up of the
load before it. The child's interpreter
start, Django's setup and its URL conf (loaded once by a worker, for the links its
jobs give) come before its clock starts: a worker pays them once, not per import,
and raw has nothing like them. Raw and ours take BENCH_IMPORT_TURNS alternated
turns (3 up to 100,000 rows, else 1; raw first, then ours first, ...), each into new
empty workspaces, deleted after each turn; the table shows the medians.
"""

import csv
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench import common

COLUMNS = [
    "Email", "First Name", "Last Name", "Phone", "Company", "Country", "State", "City",
    "Language", "External ID", "Score", "Plan",
]  # fmt: skip
COUNTRIES = [("US", "Texas", "Austin"), ("DE", "Berlin", "Berlin"), ("FR", "IDF", "Paris")]
PLANS = ["free", "starter", "pro", "enterprise"]
FIRST = ["Ann", "Bob", "Cid", "Dee", "Eve", "Fay", "Gus", "Hal"]
LAST = ["Lee", "Roe", "Poe", "Ng", "Diaz", "Khan", "Berg"]

STAGING_SQL = """
CREATE TEMP TABLE import_staging (
    email text, first_name text, last_name text, phone text, company text,
    country text, state text, city text, language text, external_id text,
    score text, plan text
) ON COMMIT DROP
"""
MERGE_SQL = """
INSERT INTO contacts_contact AS c (workspace_id, email, first_name, last_name, phone,
    company, country, state, city, language, external_id, score, attributes,
    created_at, updated_at)
SELECT %s, email, first_name, last_name, phone, company, country, state, city, language,
    external_id, score::integer, jsonb_build_object('plan', plan), now(), now()
FROM import_staging
ON CONFLICT (workspace_id, lower(email)) DO UPDATE SET
    first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,
    phone = EXCLUDED.phone, company = EXCLUDED.company, country = EXCLUDED.country,
    state = EXCLUDED.state, city = EXCLUDED.city, language = EXCLUDED.language,
    external_id = EXCLUDED.external_id, score = EXCLUDED.score,
    attributes = c.attributes || EXCLUDED.attributes, updated_at = EXCLUDED.updated_at
"""
CHILD = """
import os, resource, sys, time
import django
django.setup()
from django.conf import settings
from django.urls import get_resolver
settings.DEBUG = False  # a worker as in production: no query log
from jobs.tasks import run_job
get_resolver().url_patterns  # a worker's one-time warm-up: the URL conf the job links to
started = time.perf_counter()
status = run_job(int(sys.argv[1]))
took = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(status, took, peak)
"""


def write_file(path: Path, rows: int) -> None:
    rng = random.Random(11)
    run = uuid.uuid4().hex[:6]
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for i in range(rows):
            country, state, city = rng.choice(COUNTRIES)
            writer.writerow(
                [
                    f"p{i}.{run}@example.com",
                    rng.choice(FIRST),
                    rng.choice(LAST),
                    f"+1 555 {i % 10_000_000:07d}",
                    f"Co {i % 5000}",
                    country,
                    state,
                    city,
                    "en",
                    f"X{run}{i}",
                    str(rng.randrange(100)),
                    rng.choice(PLANS),
                ]
            )


def fresh_workspace(label: str):
    from workspaces.services import workspace_create

    slug = f"bench-import-{label}-{uuid.uuid4().hex[:6]}"
    return workspace_create(name=slug, slug=slug)


def raw_load(path: Path, workspace) -> float:
    """COPY into staging + one INSERT … ON CONFLICT, in one transaction; seconds."""
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        with conn.cursor() as cursor:
            cursor.execute(STAGING_SQL)
            with (
                cursor.copy(
                    "COPY import_staging FROM STDIN WITH (FORMAT csv, HEADER true)"
                ) as copy,
                path.open("rb") as source,
            ):
                while block := source.read(1 << 20):
                    copy.write(block)
            cursor.execute(MERGE_SQL, [workspace.id])
        conn.commit()
    return time.perf_counter() - started


def our_load(path: Path, workspace) -> tuple[float, int, str]:
    """The import made and mapped by the services, its run job run by the task in a
    child process; (seconds, peak kB, the job's message)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from imports import services
    from jobs.models import Job

    upload = SimpleUploadedFile(path.name, path.read_bytes())
    imp = services.import_create(workspace=workspace, user=None, upload=upload)
    del upload
    mapping = list(imp.mapping)
    mapping[-1] = {"target": "attributes.plan", "new_type": "text"}
    imp = services.import_map(
        imp=imp, has_header=True, encoding="", delimiter="", sheet="", mapping=mapping, user=None
    )
    job = services.import_run_start(imp=imp, user=None)
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(job.pk)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
    )
    if child.returncode:
        raise SystemExit(f"The worker failed:\n{child.stderr[-3000:]}")
    # The child's own clock, around the task alone: the interpreter's start and
    # Django's setup are a worker's, paid once, and raw's side has no such cost.
    status, took, peak = child.stdout.split()[-3:]
    job.refresh_from_db()
    if status != Job.Status.DONE:
        raise SystemExit(f"The import ended {status}: {job.message}")
    return float(took), int(peak), job.message


def measure(rows: int) -> dict:
    """Both loads of one file of `rows` rows, each into an empty workspace."""
    os.environ.setdefault("IMPORT_MAX_BYTES", str(10 * 1024**3))
    var = Path(os.environ.setdefault("KITH_VAR_DIR", tempfile.mkdtemp(prefix="kith-bench-import-")))
    common.setup()
    from django.conf import settings
    from django.core.files.storage import default_storage
    from django.db import connection
    from django.utils.functional import empty

    # The upload is stored where the worker below (KITH_VAR_DIR) looks for it, even
    # when Django was set up before this ran (under bench.suite).
    settings.MEDIA_ROOT = var / "media"
    settings.IMPORT_MAX_BYTES = int(os.environ["IMPORT_MAX_BYTES"])
    default_storage._wrapped = empty

    from contacts.models import Contact

    folder = Path(tempfile.mkdtemp(prefix="kith-import-file-"))
    path = folder / "contacts.csv"
    print(f"Import of {rows:,} rows x {len(COLUMNS)} columns:", flush=True)
    write_file(path, rows)
    megabytes = path.stat().st_size / 1e6
    print(f"  file: {megabytes:,.0f} MB", flush=True)

    raw_times, our_times, peaks = [], [], []
    for turn in range(import_turns(rows)):
        # Raw and ours take turns, each into a workspace of its own: the machine's
        # load moves during a run, and the medians of alternated turns share it.
        raw_ws, our_ws = fresh_workspace("raw"), fresh_workspace("ours")
        try:
            # Who goes first changes each turn: the second load finds the first one's
            # background work (autovacuum, index clean-up) under way.
            if turn % 2 == 0:
                raw_times.append(raw_load(path, _settled(connection, raw_ws)))
            our_s, peak_kb, message = our_load(path, _settled(connection, our_ws))
            if turn % 2 == 1:
                raw_times.append(raw_load(path, _settled(connection, raw_ws)))
            our_times.append(our_s)
            peaks.append(peak_kb)
            for workspace in (raw_ws, our_ws):
                got = Contact.objects.filter(workspace=workspace).count()
                assert got == rows, f"{workspace.slug}: {got:,} contacts, expected {rows:,}"
            print(f"  turn {turn + 1}: raw {raw_times[-1]:.1f} s, ours {our_s:.1f} s", flush=True)
        finally:
            _drop(connection, raw_ws, our_ws)
    path.unlink()
    return {
        "raw_s": statistics.median(raw_times),
        "our_s": statistics.median(our_times),
        "turns": len(raw_times),
        "peak_kb": max(peaks),
        "message": message,
        "mb": megabytes,
    }


def _settled(connection, workspace):
    """`workspace`, once the contacts table is vacuumed: the clean-up the load before
    left to autovacuum (its trigram indexes' pending entries, the rows a turn deleted)
    is done before this load's clock starts, not during it, whichever side came
    first (a raw load after ours took 8.9 s, before it 4.0 s, in one run)."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM contacts_contact")
    return workspace


def _drop(connection, *workspaces) -> None:
    """The bench workspaces go, whatever happened: they are a million contacts each."""
    with connection.cursor() as cursor:
        for workspace in workspaces:
            cursor.execute("DELETE FROM contacts_contact WHERE workspace_id = %s", [workspace.id])
    for workspace in workspaces:
        workspace.delete()


def import_turns(rows: int) -> int:
    """Alternated turns of raw and ours (BENCH_IMPORT_TURNS): 3 for a small file, 1
    for a large one (minutes each); BENCH_REPEAT, when set, caps them (a tiny run)."""
    turns = int(os.environ.get("BENCH_IMPORT_TURNS") or (3 if rows <= 100_000 else 1))
    return max(1, min(turns, int(os.environ.get("BENCH_REPEAT") or turns)))


def import_rows(given: str | None = None) -> int:
    # BENCH_CONTACTS, the other benches' size, shortens this one too (make bench).
    given = given or os.environ.get("BENCH_IMPORT_ROWS") or os.environ.get("BENCH_CONTACTS")
    return int(given or 1_000_000)


def workloads(size: int) -> list[dict]:
    """The row for bench/suite.py: the import task beside COPY + one INSERT … ON CONFLICT.
    BENCH_IMPORT_ROWS, when set, gives the file's rows instead of the dataset's size."""
    rows = int(os.environ.get("BENCH_IMPORT_ROWS") or size)
    m = measure(rows)
    share = m["raw_s"] / m["our_s"]
    peak_mb = m["peak_kb"] / 1024
    return [
        {
            "workload": f"import of a CSV of {rows:,} rows x {len(COLUMNS)} columns, the task "
            "(raw: COPY to staging + one INSERT … ON CONFLICT)",
            "ours_s": m["our_s"],
            "raw_s": m["raw_s"],
            "ratio": m["our_s"] / m["raw_s"],
            "rows": rows,
            "peak_worker_mb": peak_mb,
            "target": "≥ 0.50 of raw rows/s (ours/raw ≤ 2.0x), worker < 300 MB",
            "met": share >= 0.5 and peak_mb < 300,
            "why": f"{share:.2f} of raw rows/s, worker peak {peak_mb:.0f} MB "
            f"({m['mb']:.0f} MB file, the task run by a child process as a worker runs it, "
            f"timed from the task's call, median of {m['turns']} alternated turns)",
        }
    ]


def main() -> None:
    rows = import_rows(sys.argv[1] if len(sys.argv) > 1 else None)
    m = measure(rows)
    raw_s, our_s, peak_kb = m["raw_s"], m["our_s"], m["peak_kb"]
    raw_rate, our_rate = rows / raw_s, rows / our_s
    print(f"  medians of {m['turns']} alternated turns:")
    print(f"  raw COPY + INSERT … ON CONFLICT  {raw_s:7.1f} s  {raw_rate:9,.0f} rows/s")
    print(
        f"  import task                      {our_s:7.1f} s  {our_rate:9,.0f} rows/s"
        f"  = {our_rate / raw_rate:.2f} of raw (target 0.50)"
    )
    print(f"  worker peak memory               {peak_kb / 1024:7.0f} MB (target < 300)")
    print(f"  the job says: {m['message']}")
    print(
        f"  peak of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB"
    )


if __name__ == "__main__":
    main()

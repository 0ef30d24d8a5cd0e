"""Export of a workspace's N contacts to CSV through the real job (contacts.exports:
export_start, then jobs.runner.run in this process, as a worker runs it: keyset
chunks, progress saved per chunk, the file stored as the job's result) beside the raw
baseline: one `COPY (SELECT …) TO STDOUT` of the same columns (every built-in field,
every custom attribute, the tags joined), written to a file on a connection of its
own. Turns alternate, so a busy moment weighs on both alike; the best of each is
kept. Target: ours at least half the baseline's rows per second.

    python -m bench.exports [N]     (N or BENCH_CONTACTS; default 1,000,000)

Peak memory is this process's resident set (ru_maxrss) before and after our runs: it
does not grow with N (run it with a small N to compare). BENCH_REPEAT: turns (3).
"""

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import common

RAW_SQL = """
COPY (
    SELECT {columns}, tg.names
    FROM contacts_contact c
    LEFT JOIN (
        SELECT ct.contact_id, string_agg(t.name, ', ' ORDER BY lower(t.name)) AS names
        FROM contacts_contacttag ct JOIN contacts_tag t ON t.id = ct.tag_id
        WHERE t.workspace_id = %(workspace)s
        GROUP BY ct.contact_id
    ) tg ON tg.contact_id = c.id
    WHERE c.workspace_id = %(workspace)s
    ORDER BY c.id
) TO STDOUT (FORMAT csv, HEADER)
"""


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(wanted: int | None) -> dict:
    """Export job and raw COPY in alternating turns; the best of each."""
    common.setup()
    import psycopg
    from django.conf import settings
    from django.core.files.storage import default_storage
    from django.utils.functional import empty

    from contacts import exports
    from contacts.sets import ContactSet
    from jobs import runner, services
    from jobs.models import Job

    workspace, _ = common.bench_workspace(wanted)
    repeat = int(os.environ.get("BENCH_REPEAT", 3))
    media = Path(tempfile.mkdtemp(prefix="kith-bench-exports-"))
    settings.MEDIA_ROOT = media  # the job's files go here, and are removed after
    default_storage._wrapped = empty
    services.dispatch = lambda job: None  # run here, not by whatever worker is about

    plan = exports.export_plan(
        workspace=workspace, contact_set=ContactSet.matching(workspace, ""), format="csv"
    )
    columns = []
    for f in plan.fields:
        if f.group == "builtin":
            columns.append(f"c.{f.name}")
        elif f.group == "attribute":
            columns.append(f"c.attributes ->> '{f.key}'")
    raw_sql = RAW_SQL.format(columns=", ".join(columns))
    raw = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)

    def baseline() -> tuple[int, int]:
        path = media / "raw.csv"
        with raw.cursor() as cursor, path.open("wb") as out:
            with cursor.copy(raw_sql, {"workspace": workspace.pk}) as copy:
                for data in copy:
                    out.write(data)
            rows = cursor.rowcount
        size = path.stat().st_size
        path.unlink()
        return rows, size

    def ours() -> tuple[int, int]:
        job = exports.export_start(
            workspace=workspace,
            user=None,
            contact_set=ContactSet.matching(workspace, ""),
            format="csv",
            name="bench",
        )
        assert runner.run(job.pk) == Job.Status.DONE
        job.refresh_from_db()
        assert job.done == job.total, (job.done, job.total)
        path = Path(default_storage.path(job.result_file))
        size = path.stat().st_size
        path.unlink()
        job.delete()
        return job.done, size

    before = peak_mb()
    times: dict[str, list[float]] = {"raw COPY": [], "export job": []}
    counts = {}
    print(f"Export to CSV of the {workspace.contacts.count():,} contacts of a workspace:")
    for turn in range(repeat):
        for name, run in (("raw COPY", baseline), ("export job", ours)):
            started = time.perf_counter()
            rows, size = run()
            times[name].append(time.perf_counter() - started)
            counts[name] = (rows, size)
            print(f"  turn {turn + 1}: {name} {times[name][-1]:.1f} s", flush=True)
    raw.close()
    shutil.rmtree(media)
    return {
        "best": {name: min(values) for name, values in times.items()},
        "counts": counts,
        "repeat": repeat,
        "before_mb": before,
        "after_mb": peak_mb(),
        "builtin": len(exports.BUILTIN_FIELDS),
        "attributes": len(columns) - len(exports.BUILTIN_FIELDS),
    }


WORKER = """
import sys
import django
django.setup()
from django.conf import settings
settings.DEBUG = False  # a worker as in production: no query log
import os, time
from pathlib import Path
from jobs import runner
folder = Path(os.environ["KITH_VAR_DIR"])
(folder / f"ready-{os.getpid()}").touch()
while not (folder / "go").exists():  # every worker set up before the clock starts
    time.sleep(0.01)
for pk in sys.argv[1:]:
    status = runner.run(int(pk))
    assert status == "done", (pk, status)
"""


def workers(jobs: int = 2) -> dict:
    """`jobs` export jobs of the whole workspace run by one worker process (one after
    the other), then as many again by `jobs` worker processes at once; wall seconds
    of each, process starts included. Call after measure() (Django set up)."""
    from contacts import exports
    from contacts.sets import ContactSet
    from jobs import services

    workspace, _ = common.bench_workspace()
    services.dispatch = lambda job: None  # the processes below run them
    folder = Path(tempfile.mkdtemp(prefix="kith-bench-workers-"))
    env = {**os.environ, "KITH_VAR_DIR": str(folder)}  # the workers' files go there

    def start() -> list[str]:
        return [
            str(
                exports.export_start(
                    workspace=workspace,
                    user=None,
                    contact_set=ContactSet.matching(workspace, ""),
                    format="csv",
                    name="bench-workers",
                ).pk
            )
            for _ in range(jobs)
        ]

    def spawn(groups: list[list[str]]) -> float:
        """Seconds from the moment every worker is set up until the last one is done
        (a process's start is not the work: it is some seconds on a busy machine)."""
        for stale in folder.glob("ready-*"):
            stale.unlink()
        (folder / "go").unlink(missing_ok=True)
        children = [
            subprocess.Popen([sys.executable, "-c", WORKER, *group], env=env) for group in groups
        ]
        while len(list(folder.glob("ready-*"))) < len(children):
            assert all(child.poll() is None for child in children), "a worker failed to start"
            time.sleep(0.01)
        started = time.perf_counter()
        (folder / "go").touch()
        codes = [child.wait() for child in children]
        assert not any(codes), f"a worker failed: {codes}"
        return time.perf_counter() - started

    first, second = start(), start()
    one = spawn([first])
    many = spawn([[pk] for pk in second])
    from jobs.models import Job

    Job.objects.filter(pk__in=[*first, *second]).delete()
    shutil.rmtree(folder)
    print(f"  {jobs} exports: 1 worker {one:.1f} s, {jobs} workers {many:.1f} s", flush=True)
    return {"one_s": one, "many_s": many, "jobs": jobs}


def workloads(size: int) -> list[dict]:
    """Rows for bench/suite.py: the export job beside one raw COPY; and, unless
    BENCH_WORKERS=0, two export jobs by two worker processes beside one."""
    m = measure(size)
    ours_s, raw_s = m["best"]["export job"], m["best"]["raw COPY"]
    count = m["counts"]["export job"][0]
    share = (count / ours_s) / (m["counts"]["raw COPY"][0] / raw_s)
    rows = [
        {
            "workload": f"export of {count:,} contacts to CSV, the job (raw: one COPY … TO STDOUT)",
            "ours_s": ours_s,
            "raw_s": raw_s,
            "ratio": ours_s / raw_s,
            "rows": count,
            "peak_worker_mb": m["after_mb"],
            "target": "≥ 0.50 of raw rows/s (ours/raw ≤ 2.0x)",
            "met": share >= 0.5,
            "why": f"{share:.2f} of raw rows/s, best of {m['repeat']} alternating turns; "
            f"the job runs in the bench process (peak {m['before_mb']:.0f} MB before it)",
        }
    ]
    if os.environ.get("BENCH_WORKERS") == "0":
        return rows
    w = workers()
    jobs = w["jobs"]
    return [
        *rows,
        {
            "workload": f"{jobs} exports of {rows[0]['rows']:,.0f} contacts by {jobs} worker "
            f"processes at once (raw: the same {jobs} jobs by 1 worker process)",
            "ours_s": w["many_s"],
            "raw_s": w["one_s"],
            "ratio": w["many_s"] / w["one_s"],
            "rows": jobs * rows[0]["rows"],
            "target": f"{jobs} workers faster than 1 (ours/raw < 1.0x); ideal {1 / jobs:.2f}x",
            "met": w["many_s"] < w["one_s"],
            "why": f"{w['one_s'] / w['many_s']:.2f}x the throughput of one worker, on "
            f"{os.cpu_count()} CPUs that PostgreSQL and other work share",
        },
    ]


def main() -> None:
    wanted = int(sys.argv[1]) if len(sys.argv) > 1 else None
    m = measure(wanted)
    best, counts = m["best"], m["counts"]
    raw_rate = counts["raw COPY"][0] / best["raw COPY"]
    for name in best:
        rows, size = counts[name]
        rate = rows / best[name]
        line = f"  {name:<10}  {best[name]:7.1f} s  {rate:9,.0f} rows/s  {size / 1e6:7.1f} MB"
        if name != "raw COPY":
            line += f"  = {rate / raw_rate:.2f} of raw (target 0.50)"
        print(line)
    print(f"  peak memory (RSS) {m['before_mb']:.0f} MB before, {m['after_mb']:.0f} MB after")
    print(f"  (best of {m['repeat']} turns each; {m['builtin']} built-in fields,")
    print(f"  {m['attributes']} custom attributes and tags)")


if __name__ == "__main__":
    main()

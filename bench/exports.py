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


def main() -> None:
    common.setup()
    import psycopg
    from django.conf import settings
    from django.core.files.storage import default_storage
    from django.utils.functional import empty

    from contacts import exports
    from contacts.sets import ContactSet
    from jobs import runner, services
    from jobs.models import Job

    wanted = int(sys.argv[1]) if len(sys.argv) > 1 else None
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
    best = {name: min(values) for name, values in times.items()}
    raw_rate = counts["raw COPY"][0] / best["raw COPY"]
    for name in times:
        rows, size = counts[name]
        rate = rows / best[name]
        line = f"  {name:<10}  {best[name]:7.1f} s  {rate:9,.0f} rows/s  {size / 1e6:7.1f} MB"
        if name != "raw COPY":
            line += f"  = {rate / raw_rate:.2f} of raw (target 0.50)"
        print(line)
    print(f"  peak memory (RSS) {before:.0f} MB before, {peak_mb():.0f} MB after")
    print(f"  (best of {repeat} turns each; {len(exports.BUILTIN_FIELDS)} built-in fields,")
    print(f"  {len(columns) - len(exports.BUILTIN_FIELDS)} custom attributes and tags)")
    shutil.rmtree(media)


if __name__ == "__main__":
    main()

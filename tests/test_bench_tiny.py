"""A tiny run of `make bench` (bench/suite.py) at 2,000 contacts, so the suite keeps
working: the dataset is made, every workload module runs beside its raw baseline,
and results.json and the performance page are written. It proves the suite runs and
reports, not speed (a tiny workspace on a busy machine says nothing about a million).

PostgreSQL only (the baselines are PostgreSQL's own: COPY, ON CONFLICT, index scans
switched off): the bench database is named after the test database with `_bench`,
dropped first and made again, so every run starts from nothing (some modules leave
rows behind on purpose for their next run, bench.pages its 500 segments).
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from config.env import DATABASE_URL
from tests.conftest import service_unavailable

ROOT = Path(__file__).resolve().parent.parent
SIZE = 2000


def bench_url() -> str:
    if not DATABASE_URL or not DATABASE_URL.startswith(("postgres://", "postgresql://")):
        service_unavailable("DATABASE_URL does not point at PostgreSQL")
    parts = urlsplit(DATABASE_URL)
    test_name = settings.DATABASES["default"].get("TEST", {}).get("NAME") or (
        "test_" + parts.path.lstrip("/")
    )
    return urlunsplit(parts._replace(path=f"/{test_name}_bench"))


def drop_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


def test_tiny_bench_run_writes_results_for_every_workload(tmp_path):
    drop_database(bench_url())
    results_file, docs_file = tmp_path / "results.json", tmp_path / "performance.md"
    env = {
        **os.environ,
        "BENCH_DATABASE_URL": bench_url(),
        "BENCH_CONTACTS": str(SIZE),
        "BENCH_SEGMENTS": "20",  # the tiny run's dataset: 200 rules would be most of its time
        "BENCH_REPEAT": "1",
        "BENCH_WORKERS": "0",  # exports' 1-vs-2 worker processes: two process starts more
        "BENCH_RESULTS": str(results_file),
        "BENCH_DOCS": str(docs_file),
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
    }
    env.pop("BENCH_MIGRATED", None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.suite"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,  # generous: on a loaded machine each module process starts slowly
        check=False,
    )
    took = time.perf_counter() - started
    assert results_file.exists(), (done.stdout + done.stderr)[-5000:]
    results = json.loads(results_file.read_text())
    failed = {
        name: info["error"].strip().splitlines()[-1:]
        for name, info in results["modules"].items()
        if "error" in info
    }
    assert not failed, f"workload modules that failed: {failed}"
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]

    assert results["sizes"]["contacts"] == SIZE
    actual = results["sizes"]["actual"]
    assert actual["contacts"] >= SIZE
    assert actual["events"] >= 10 * SIZE
    assert actual["tag_links"] >= 2 * SIZE
    assert results["git_commit"] and results["machine"]["postgresql"]
    modules = results["modules"]
    assert {"contacts_list", "exports", "imports", "upsert"} <= set(modules)
    assert results["rows"], "no workload rows"
    for row in results["rows"]:
        assert row["workload"] and row["target"], row
        for key in ("ours_s", "raw_s", "ratio"):
            assert row[key] > 0, (key, row)
        # ours and raw are written rounded (4 places): the ratio, of the exact times,
        # lies within what that rounding allows.
        ours, raw, half = row["ours_s"], row["raw_s"], 0.00005
        low, high = (ours - half) / (raw + half), (ours + half) / (raw - half)
        assert low * 0.95 <= row["ratio"] <= high * 1.05, row
        assert isinstance(row["met"], bool), row
    assert {row["module"] for row in results["rows"]} == set(modules)

    page = docs_file.read_text()
    for row in results["rows"]:
        assert row["workload"].replace("|", "/") in page
    assert page.count("\n- ") >= len(results["rows"])  # a line per target
    # The table printed at the end names every workload too.
    assert all(row["workload"] in done.stdout for row in results["rows"])
    print(f"tiny bench run: {took:.0f} s")

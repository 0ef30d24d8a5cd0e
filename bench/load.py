"""Load (issue 24): locust against gunicorn, on PostgreSQL and Redis with a real
Celery worker, at BENCH_CONTACTS contacts (default 1,000,000). LOAD_USERS simulated
users (default 50: marketers on the dashboard, the contacts list and a segment
page; integrations on the members API and posting events, loadtest/locustfile.py)
for LOAD_SECONDS (default 120), while an import of LOAD_IMPORT_ROWS rows (default
50,000) runs in the worker, started LOAD_IMPORT_AFTER seconds in (default 10).

Prints, per endpoint, the requests, failures and p50/p95/p99 in ms; the error count
(must be 0: the run exits 1 otherwise, or when an endpoint was never hit or the
import did not finish); and the sustained event ingestion rate (events stored by
the run, counted in the database, over its length). The summary is also written as
JSON to LOAD_RESULTS (default var/load-results.json).

    python -m bench.load                     (BENCH_DATABASE_URL: default kith_bench_f2;
                                              REDIS_URL: default Redis db 8)
    BENCH_CONTACTS=100000 LOAD_SECONDS=60 python -m bench.load

The server is gunicorn (LOAD_WORKERS sync workers, default 3) on the production
settings (loadtest/settings.py: static files without the manifest, so no
collectstatic) over plain HTTP on 127.0.0.1 (no proxy, so no HTTPS redirect); the
worker is `celery worker` with the same settings, as the README's Production
section runs them. tests/test_load_smoke.py runs the same pieces small.
"""

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOCUSTFILE = ROOT / "loadtest" / "locustfile.py"
ENDPOINTS = ["dashboard", "contacts list", "segment page", "members API", "events API"]
USERNAME = "load"
SEGMENT_NAME = "Load: Germans"
EVENTS_PER_POST = 50


# ---------------------------------------------------------------- the workspace


def prepare(workspace, *, keys: int, sessions: int) -> dict:
    """What locust's users need, made in `workspace`: the user and the segment once,
    and each run a signed-in session and an API key per simulated user."""
    from django.contrib.auth import get_user_model

    from contacts.models import Contact
    from segments import services as segment_services
    from segments.models import Segment
    from workspaces.models import Membership, Role
    from workspaces.services import api_key_create

    user, _ = get_user_model().objects.get_or_create(username=USERNAME)
    Membership.objects.get_or_create(workspace=workspace, user=user, defaults={"role": Role.OWNER})
    segment = Segment.objects.filter(workspace=workspace, name=SEGMENT_NAME).first()
    if segment is None:
        segment = segment_services.segment_create(
            workspace=workspace,
            name=SEGMENT_NAME,
            kind="filter",
            conditions={"all": [{"field": "country", "op": "eq", "value": "DE"}]},
        )
    ids = list(
        Contact.objects.filter(workspace=workspace)
        .order_by("?")
        .values_list("id", flat=True)[:5000]
    )
    return {
        "sessions": [_session(user, workspace) for _ in range(sessions)],
        "segment_id": segment.pk,
        "contact_ids": ids,
        "events_per_post": EVENTS_PER_POST,
        "keys": [api_key_create(workspace=workspace, name=f"load {i}")[1] for i in range(keys)],
    }


def _session(user, workspace) -> str:
    """A database session signed in as `user` in `workspace`, as signing in leaves
    one (the server must have this process's SECRET_KEY: server_env passes it)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from workspaces.middleware import SESSION_KEY as WORKSPACE_KEY

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[WORKSPACE_KEY] = workspace.pk
    session.create()
    return session.session_key


def start_import(workspace, rows: int, folder: Path):
    """An import of `rows` new people (bench/imports.py's file), mapped and started:
    its run job goes to the worker through the broker, as the wizard's does."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from bench.imports import write_file
    from imports import services

    path = folder / "load-import.csv"
    write_file(path, rows)
    imp = services.import_create(
        workspace=workspace, user=None, upload=SimpleUploadedFile(path.name, path.read_bytes())
    )
    mapping = [*imp.mapping[:-1], {"target": "attributes.plan", "new_type": "text"}]
    imp = services.import_map(
        imp=imp, has_header=True, encoding="", delimiter="", sheet="", mapping=mapping, user=None
    )
    return services.import_run_start(imp=imp, user=None)


# ---------------------------------------------------------------- the processes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(database_url: str, redis_url: str, var_dir: Path) -> dict:
    from django.conf import settings

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loadtest.settings",
        "SECRET_KEY": settings.SECRET_KEY,  # the sessions prepare() made are signed with it
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "TRUSTED_PROXY_COUNT": "0",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "KITH_VAR_DIR": str(var_dir),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "LOG_LEVEL": "WARNING",
    }


def _wait_for(url: str, process: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} stopped (exit {process.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def stack(env: dict, *, workers: int, logs: Path, celery: bool = True):
    """gunicorn on a free port and (unless `celery` is False: the caller has one) a
    Celery worker; yields the site's address; stops both after."""
    host = f"http://127.0.0.1:{free_port()}"
    started = []
    try:
        with (logs / "gunicorn.log").open("wb") as log:
            started.append(
                subprocess.Popen(
                    [BIN / "gunicorn", "config.wsgi:application", "--workers", str(workers),
                     "--bind", host.removeprefix("http://"), "--timeout", "60", "--preload"],
                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                )
            )  # fmt: skip
        if celery:
            with (logs / "worker.log").open("wb") as log:
                started.append(
                    subprocess.Popen(
                        [BIN / "celery", "-A", "config", "worker", "--loglevel", "WARNING",
                         "--concurrency", "1", "--without-gossip", "--without-mingle",
                         "--without-heartbeat"],
                        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                    )
                )  # fmt: skip
        _wait_for(f"{host}/accounts/login/", started[0], 90)
        yield host
    finally:
        for process in reversed(started):
            _stop(process)


def swarm(host: str, config: Path, *, users: int, seconds: int, prefix: Path) -> subprocess.Popen:
    """locust, headless, in the background; its stats go to PREFIX_stats.csv."""
    command = [
        BIN / "locust", "-f", LOCUSTFILE, "--headless", "--users", str(users),
        "--spawn-rate", str(max(1, users // 2)), "--run-time", f"{seconds}s", "--host", host,
        "--csv", prefix, "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "5",
    ]  # fmt: skip
    env = {**os.environ, "LOAD_CONFIG": str(config)}
    log = (prefix.parent / "locust.log").open("wb")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def read_stats(prefix: Path) -> dict[str, dict]:
    """Per endpoint (and "Aggregated"): requests, failures, p50/p95/p99 ms, req/s."""
    found = {}
    with Path(f"{prefix}_stats.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            found[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "p50": _ms(row["50%"]),
                "p95": _ms(row["95%"]),
                "p99": _ms(row["99%"]),
                "rps": float(row["Requests/s"]),
            }
    return found


def _ms(value: str) -> float | None:
    return None if value in ("", "N/A") else float(value)


def failures(prefix: Path) -> list[dict]:
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def run(workspace, *, env: dict, folder: Path, users: int, seconds: int, workers: int,
        import_rows: int, import_after: float, import_wait: float = 600,
        celery: bool = True) -> dict:  # fmt: skip
    """One load run against `workspace`: its summary (see the module's doc)."""
    from django.utils import timezone

    from contacts.models import Contact, Event

    config = prepare(workspace, keys=users, sessions=users)
    config_path = folder / "load.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    prefix = folder / "locust"
    began = time.monotonic()
    with stack(env, workers=workers, logs=folder, celery=celery) as host:
        since = timezone.now()
        started = time.monotonic()
        timings = {"start": started - began}
        locust = swarm(host, config_path, users=users, seconds=seconds, prefix=prefix)
        time.sleep(import_after)
        job = start_import(workspace, import_rows, folder)
        locust.wait(timeout=seconds + 120)
        elapsed = timings["swarm"] = time.monotonic() - started
        stored = Event.objects.filter(workspace=workspace, created_at__gte=since).count()
        deadline = time.monotonic() + import_wait
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if not job.is_open:
                break
            time.sleep(1)
        timings["import wait"] = time.monotonic() - started - elapsed
    stats = read_stats(prefix)
    problems = failures(prefix)
    took = (job.finished_at - job.started_at).total_seconds() if job.finished_at else None
    return {
        "users": users,
        "seconds": seconds,
        "workers": workers,
        "contacts": Contact.objects.filter(workspace=workspace).count(),
        "endpoints": stats,
        "errors": stats.get("Aggregated", {}).get("failures", -1),
        "failures": problems[:20],
        "events_stored": stored,
        "events_per_second": stored / elapsed,
        "import_rows": import_rows,
        "import_status": job.status,
        "import": f"{job.status} in {took:.0f} s" if took is not None else job.status,
        "import_message": job.message,
        "locust_exit": locust.returncode,
        "timings": {name: round(took, 1) for name, took in timings.items()},
    }


def problems_of(summary: dict) -> list[str]:
    """What makes a run fail: errors, an endpoint never hit, an unfinished import."""
    from jobs.models import Job

    found = []
    if summary["errors"] != 0:
        found.append(f"{summary['errors']} errors: {summary['failures'][:3]}")
    for name in ENDPOINTS:
        if not summary["endpoints"].get(name, {}).get("requests"):
            found.append(f"{name} was never hit")
    if summary["import_status"] != Job.Status.DONE:
        found.append(f"the import ended {summary['import_status']}: {summary['import_message']}")
    return found


def summary_lines(summary: dict) -> list[str]:
    lines = [
        f"Load: {summary['users']} users for {summary['seconds']} s, "
        f"{summary['contacts']:,} contacts, gunicorn x{summary['workers']}, 1 Celery worker",
        f"{'endpoint':<16}{'requests':>10}{'failures':>10}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'p99 ms':>9}{'req/s':>8}",
    ]
    for name in [*ENDPOINTS, "Aggregated"]:
        row = summary["endpoints"].get(name)
        if row is None:
            lines.append(f"{name:<16}{'never hit':>10}")
            continue
        lines.append(
            f"{name:<16}{row['requests']:>10,}{row['failures']:>10,}{row['p50'] or 0:>9.0f}"
            f"{row['p95'] or 0:>9.0f}{row['p99'] or 0:>9.0f}{row['rps']:>8.1f}"
        )
    lines.append(f"errors: {summary['errors']}")
    lines.append(
        f"events stored: {summary['events_stored']:,} = "
        f"{summary['events_per_second']:,.0f} events/s sustained"
    )
    lines.append(f"import of {summary['import_rows']:,} rows: {summary['import']}")
    lines.append(f"seconds: {summary['timings']}")
    return lines


def main() -> None:
    from bench import common

    os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kith_bench_f2")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/8")
    var_dir = Path(os.environ.setdefault("KITH_VAR_DIR", tempfile.mkdtemp(prefix="kith-load-")))
    common.setup()
    workspace, contacts = common.bench_workspace()
    folder = Path(tempfile.mkdtemp(prefix="kith-load-run-"))
    summary = run(
        workspace,
        env=server_env(os.environ["DATABASE_URL"], os.environ["REDIS_URL"], var_dir),
        folder=folder,
        users=int(os.environ.get("LOAD_USERS", 50)),
        seconds=int(os.environ.get("LOAD_SECONDS", 120)),
        workers=int(os.environ.get("LOAD_WORKERS", 3)),
        import_rows=int(os.environ.get("LOAD_IMPORT_ROWS", 50_000)),
        import_after=float(os.environ.get("LOAD_IMPORT_AFTER", 10)),
    )
    print("\n".join(summary_lines(summary)))
    results = Path(os.environ.get("LOAD_RESULTS", ROOT / "var" / "load-results.json"))
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    print(f"summary: {results}; logs: {folder}")
    problems = problems_of(summary)
    if problems:
        raise SystemExit("FAILED: " + "; ".join(problems))


if __name__ == "__main__":
    main()

"""What every benchmark needs: Django set up on a PostgreSQL database of its own,
a seeded workspace of the wanted size, and a timer that reports medians.

The database is BENCH_DATABASE_URL (default: kith_bench on the local server); it is
created, migrated and seeded once, then reused, since seeding a million contacts
takes minutes. Sizes: BENCH_CONTACTS (default 1,000,000), BENCH_EVENTS (default 3
events a contact). Under `make bench` (bench/suite.py) the whole benchmark dataset of
bench/dataset.py is made first (10 events and 2 tag links a contact, 200 filter
segments), so bench_workspace finds it and adds nothing."""

import os
import statistics
import sys
import time
from urllib.parse import urlsplit, urlunsplit

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/kith_bench"
BENCH_SLUG = "bench"


def setup() -> None:
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    _create_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # One workspace holds the dataset's 200 rules, the pages' 500-segment dashboard and
    # the engine's 200 more at once: over the product's per-workspace limit (500), on
    # purpose, so every module finds the others' segments in place and runs anyway.
    os.environ.setdefault("SEGMENT_LIMIT", "1000")
    import django

    django.setup()
    from django.core.management import call_command

    if os.environ.get("BENCH_MIGRATED") != url:  # bench.suite migrated it already
        call_command("migrate", verbosity=0)


def _create_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def bench_workspace(contacts: int | None = None):
    """The bench workspace, seeded up to `contacts` contacts (BENCH_CONTACTS)."""
    from contacts.demo_data import seed
    from contacts.models import Contact
    from workspaces.models import Workspace
    from workspaces.services import workspace_create

    wanted = contacts or int(os.environ.get("BENCH_CONTACTS", 1_000_000))
    workspace = Workspace.objects.filter(slug=BENCH_SLUG).first()
    if workspace is None:
        workspace = workspace_create(name="Bench", slug=BENCH_SLUG)
    have = Contact.objects.filter(workspace=workspace).count()
    if have < wanted:
        missing = wanted - have
        events = int(os.environ.get("BENCH_EVENTS", missing * 3))
        print(f"Seeding {missing:,} contacts and {events:,} events (once)...", flush=True)
        started = time.perf_counter()
        seed(workspace, contacts=missing, events=events)
        print(f"  seeded in {time.perf_counter() - started:.0f} s", flush=True)
    return workspace, max(have, wanted)


def timed(fn, repeat: int = 7) -> float:
    """Median wall time of fn() in milliseconds, after one warm-up call; BENCH_REPEAT,
    when set, caps the repeats (a tiny run)."""
    repeat = min(repeat, int(os.environ.get("BENCH_REPEAT") or repeat))
    fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def report(rows: list[tuple[str, float, str, float]]) -> None:
    """Print (what, ours ms, baseline name, baseline ms) with the ratio."""
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}   ours ms   baseline ms   baseline is   (baseline)")
    for what, ours, baseline_name, baseline in rows:
        ratio = baseline / ours if ours else float("inf")
        print(
            f"{what.ljust(width)}  {ours:8.2f}  {baseline:12.2f}   {ratio:8.1f}x slower"
            f"   ({baseline_name})"
        )
    sys.stdout.flush()

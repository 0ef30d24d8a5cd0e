"""The API upsert of 1,000 contacts (half new, half existing, every existing one
changed) at a workspace of N contacts, through contacts_upsert and through the real
view (JSON, API key, pydantic), beside the raw baseline: psycopg's executemany of
INSERT … ON CONFLICT (workspace_id, lower(email)) DO UPDATE for the same rows, on a
connection of its own. Every run writes fresh rows and commits, as a client would.
Target: ours at least half the baseline's rows per second.

    python -m bench.upsert [N]      (N or BENCH_CONTACTS; default 1,000,000)

The segment engine's listener is switched off: what it records per call is not the
writer's work, and its wake-up would go to whatever broker this machine has.
"""

import json
import os
import random
import statistics
import sys
import time
import uuid

from bench import common

BATCH = 1000
REPEAT = int(os.environ.get("BENCH_REPEAT", 7))
COUNTRIES = ["US", "DE", "FR", "GB", "BR", "IN", "JP"]
CITIES = ["Austin", "Berlin", "Paris", "London", "Curitiba", "Pune", "Kyoto"]
PLANS = ["free", "starter", "pro", "enterprise"]


def _items(rng: random.Random, existing: list[str]) -> list[dict]:
    """A batch: the given existing emails, changed, and as many new ones."""
    run = uuid.uuid4().hex[:10]
    emails = existing + [f"bench.{run}.{i}@example.com" for i in range(BATCH - len(existing))]
    rng.shuffle(emails)
    items = []
    for email in emails:
        at = rng.randrange(len(COUNTRIES))
        items.append(
            {
                "email": email,
                "first_name": rng.choice(["Ann", "Bob", "Cid", "Dee"]) + str(rng.randrange(99)),
                "last_name": rng.choice(["Lee", "Roe", "Poe"]),
                "country": COUNTRIES[at],
                "city": CITIES[at],
                "score": rng.randrange(100),
                "attributes": {"plan": rng.choice(PLANS), "seats": rng.randrange(1, 50)},
            }
        )
    return items


BASELINE_SQL = """
INSERT INTO contacts_contact AS c (workspace_id, email, first_name, last_name, country,
    city, score, phone, company, state, language, attributes, created_at, updated_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, '', '', '', '', %s::jsonb, now(), now())
ON CONFLICT (workspace_id, lower(email)) DO UPDATE SET
    email = EXCLUDED.email, first_name = EXCLUDED.first_name,
    last_name = EXCLUDED.last_name, country = EXCLUDED.country, city = EXCLUDED.city,
    score = EXCLUDED.score, attributes = c.attributes || EXCLUDED.attributes,
    updated_at = EXCLUDED.updated_at
"""


def measure(wanted: int | None) -> tuple[int, dict[str, float], float]:
    """(workspace size, median ms per path, seconds in all); paths in turns."""
    common.setup()
    from django.db import connection
    from django.test import Client

    from contacts import changes
    from contacts.changes import Change
    from contacts.models import Contact
    from contacts.writer import contacts_upsert
    from segments import membership
    from workspaces.services import api_key_create

    changes._listeners.clear()
    workspace, size = common.bench_workspace(wanted)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact")

    rng = random.Random(7)
    half = BATCH // 2
    batches_needed = 3 * (REPEAT + 1)
    top = Contact.objects.filter(workspace=workspace).order_by("-id").values("id")[0]["id"]
    found: set[str] = set()
    with_email = Contact.objects.filter(workspace=workspace, email__isnull=False)
    small = with_email.count() < 2 * half * batches_needed
    if small:  # all of them, each changed in several batches
        found.update(with_email.values_list("email", flat=True))
    while not small and len(found) < half * batches_needed:
        ids = rng.sample(range(1, top + 1), 2 * half)
        found.update(
            Contact.objects.filter(
                workspace=workspace, id__in=ids, email__isnull=False
            ).values_list("email", flat=True)
        )
    existing = sorted(found)
    rng.shuffle(existing)
    batches = iter(
        _items(rng, [existing[(i * half + j) % len(existing)] for j in range(half)])
        for i in range(batches_needed)
    )

    def ours():
        result = contacts_upsert(workspace=workspace, match_on="email", items=next(batches))
        assert (result.created, result.updated, result.errors) == (half, half, []), result

    _, raw_key = api_key_create(workspace=workspace, name=f"bench {uuid.uuid4().hex[:6]}")
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {raw_key}")

    def api():
        body = json.dumps({"match_on": "email", "contacts": next(batches)})
        response = client.post("/api/v1/contacts/upsert", body, content_type="application/json")
        assert response.status_code == 200, response.content[:300]
        assert response.json()["created"] == half, response.content[:300]

    import psycopg

    raw = psycopg.connect(os.environ["DATABASE_URL"])

    def baseline():
        rows = [
            (
                workspace.id,
                i["email"],
                i["first_name"],
                i["last_name"],
                i["country"],
                i["city"],
                i["score"],
                json.dumps(i["attributes"]),
            )
            for i in sorted(next(batches), key=lambda i: i["email"].lower())
        ]
        with raw.cursor() as cursor:
            cursor.executemany(BASELINE_SQL, rows)
        raw.commit()

    print(f"Upsert of {BATCH:,} contacts ({half:,} new) at {size:,} contacts:", flush=True)
    started = time.perf_counter()
    paths = {
        "raw executemany": baseline,
        "contacts_upsert": ours,
        "POST /contacts/upsert": api,
    }
    samples = {name: [] for name in paths}
    for run in paths.values():  # warm up
        run()
    for _ in range(REPEAT):  # in turns, so that a busy moment weighs on each alike
        for name, run in paths.items():
            began = time.perf_counter()
            run()
            samples[name].append((time.perf_counter() - began) * 1000)
    raw.close()
    # The contacts this run made go, so the dataset stays its size run after run; the
    # segments of the existing ones it changed (with the engine's listener off) are
    # brought in line, so later workloads start from right membership.
    Contact.objects.filter(workspace=workspace, email__startswith="bench.").delete()
    changed = list(
        Contact.objects.filter(workspace=workspace, email__in=existing).values_list("pk", flat=True)
    )
    fields = {"email", "first_name", "last_name", "country", "city", "score"}
    fields |= {"attributes.plan", "attributes.seats"}
    membership.refresh_contacts(workspace.pk, changed, Change(fields=fields))
    ms = {name: statistics.median(values) for name, values in samples.items()}
    return size, ms, time.perf_counter() - started


def workloads(size: int) -> list[dict]:
    """Rows for bench/suite.py: the writer and the API view, each beside executemany."""
    size, ms, _ = measure(size)
    raw_s = ms["raw executemany"] / 1000
    rows = []
    for name, what in (
        ("contacts_upsert", "the service"),
        ("POST /contacts/upsert", "the API view, JSON and key included"),
    ):
        ours_s = ms[name] / 1000
        share = raw_s / ours_s
        rows.append(
            {
                "workload": f"upsert of {BATCH:,} contacts ({BATCH // 2:,} new), {what} "
                "(raw: executemany of INSERT … ON CONFLICT)",
                "ours_s": ours_s,
                "raw_s": raw_s,
                "ratio": ours_s / raw_s,
                "rows": BATCH,
                "target": "≥ 0.50 of raw rows/s (ours/raw ≤ 2.0x)",
                "met": share >= 0.5,
                "why": f"{share:.2f} of raw rows/s, medians of {REPEAT} turns at {size:,} contacts",
            }
        )
    return rows


def main() -> None:
    wanted = int(sys.argv[1]) if len(sys.argv) > 1 else None
    _, ms, took = measure(wanted)
    raw_rate = BATCH / ms["raw executemany"] * 1000
    width = max(len(name) for name in ms)
    for name in ms:
        rate = BATCH / ms[name] * 1000
        line = f"  {name.ljust(width)}  {ms[name]:8.1f} ms  {rate:9,.0f} rows/s"
        if name != "raw executemany":
            line += f"  = {rate / raw_rate:.2f} of raw (target 0.50)"
        print(line)
    print(f"  (medians of {REPEAT} runs each; {took:.0f} s in all)")


if __name__ == "__main__":
    main()

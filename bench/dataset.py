"""The benchmark dataset: one workspace `bench` of N contacts (BENCH_CONTACTS, default
1,000,000) with typed custom attributes and devices, 10 events a contact, 2 tag links a
contact and 200 filter segments of realistic shapes, their members filled.

Made once and reused: every step looks at what is there and adds only what is
missing, so a run that was stopped goes on where it was, and a second run does
nothing. Contacts and their events come from the demo generator (contacts.demo_data,
written with COPY) in blocks of 100,000, each its own transaction and its own seed;
the extra tag links and the 200 rules are drawn from a fixed seed too, so two
databases built at one size hold the same shapes.

    python -m bench.dataset [N]       (builds it in BENCH_DATABASE_URL, default kith_bench)
"""

import os
import random
import sys
import time
from unittest import mock

from bench import common

SEED = 23
BLOCK = 100_000
EVENTS_PER_CONTACT = 10
# Of those, drawn by the demo generator with each contact (realistic histories, and
# their last_activity_at); the rest are added set-based by PostgreSQL, which is some
# ten times faster than drafting them in Python on a busy 2-core machine.
GENERATED_EVENTS = 2
TAG_LINKS_PER_CONTACT = 2
SEGMENTS = int(os.environ.get("BENCH_SEGMENTS", 200))  # fewer only for the tiny test
PREFIX = "Bench "
EXAMPLE_NAME = "Bench example rule (conditions.md)"
# Tags the demo generator does not give: interests, to reach 2 links a contact.
INTEREST_TAGS = [
    "interest-analytics", "interest-automation", "interest-mobile", "interest-api",
    "interest-ecommerce", "interest-security", "interest-design", "interest-sales",
    "webinar-2025", "webinar-2026", "event-attendee", "churn-risk",
]  # fmt: skip


def sizes(contacts: int | None = None) -> dict:
    n = contacts or int(os.environ.get("BENCH_CONTACTS", 1_000_000))
    return {
        "contacts": n,
        "events": n * EVENTS_PER_CONTACT,
        "tag_links": n * TAG_LINKS_PER_CONTACT,
        "segments": SEGMENTS,
    }


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def ensure(contacts: int | None = None):
    """The bench workspace with the whole dataset at `contacts` (BENCH_CONTACTS);
    (workspace, sizes). Call after common.setup()."""
    from segments import pending

    wanted = sizes(contacts)
    workspace = _workspace()
    # Wake-ups would go to whatever broker this machine has; the filling is done here.
    with mock.patch.object(pending, "wake", lambda workspace_id: False):
        _contacts(workspace, wanted["contacts"])
        _events(workspace, wanted["events"])
        _tag_links(workspace, wanted["tag_links"])
        _segments(workspace, wanted["segments"])
        _fill(workspace)
    _vacuum()
    return workspace, wanted


def _vacuum() -> None:
    """VACUUM (ANALYZE) the database before a run measures it, as autovacuum keeps a
    server in service: visibility maps (index-only scans), the dead rows of earlier
    runs' workloads gone, fresh statistics. Left to autovacuum, a run would measure
    whether it happened to run (it is off on the servers here): on a dataset just
    built, the live preview took 549 ms p95, reading the events from the heap, and
    130 ms once vacuumed. Off the clock; seconds on a dataset vacuumed before."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    say(f"  vacuumed in {time.perf_counter() - started:.0f} s")


def _workspace():
    from workspaces.models import Workspace
    from workspaces.services import workspace_create

    workspace = Workspace.objects.filter(slug=common.BENCH_SLUG).first()
    return workspace or workspace_create(name="Bench", slug=common.BENCH_SLUG)


def _contacts(workspace, wanted: int) -> None:
    from contacts.demo_data import seed
    from contacts.models import Contact
    from segments.models import PendingChange

    have = Contact.objects.filter(workspace=workspace).count()
    while have < wanted:
        block = min(BLOCK, wanted - have)
        started = time.perf_counter()
        seed(
            workspace,
            contacts=block,
            events=block * GENERATED_EVENTS,
            seed=SEED * 1_000_003 + have,
        )
        have += block
        say(f"  contacts {have:,} / {wanted:,} ({time.perf_counter() - started:.0f} s a block)")
        # Each block announced its contacts; the segments are filled whole below.
        PendingChange.objects.filter(workspace=workspace).delete()


EVENTS_SQL = """
INSERT INTO contacts_event (workspace_id, contact_id, name, occurred_at, properties, created_at)
SELECT %(workspace)s, c.id, e.name, e.at,
    CASE e.name
    WHEN 'page_view' THEN jsonb_build_object(
        'url', (ARRAY['/', '/pricing', '/docs', '/docs/api', '/blog', '/features/segments',
                      '/contact-sales'])[1 + floor(random() * 7)::int],
        'referrer', (ARRAY['google', 'newsletter', 'linkedin', 'direct'])[
            1 + floor(random() * 4)::int])
    WHEN 'purchase' THEN jsonb_build_object(
        'amount', round((exp(4 + 0.9 * (random() + random() + random() - 1.5)))::numeric, 2),
        'currency', 'USD')
    WHEN 'email_opened' THEN jsonb_build_object(
        'campaign', (ARRAY['Welcome', 'Monthly digest', 'Spring offer'])[
            1 + floor(random() * 3)::int])
    ELSE '{}'::jsonb END,
    e.at
FROM (
    SELECT id, created_at, row_number() OVER (ORDER BY id) AS rn
    FROM contacts_contact
    WHERE workspace_id = %(workspace)s AND id BETWEEN %(low)s AND %(high)s
) c,
LATERAL (
    SELECT CASE WHEN r < 0.62 THEN 'page_view' WHEN r < 0.80 THEN 'login'
                WHEN r < 0.95 THEN 'email_opened' ELSE 'purchase' END AS name,
           c.created_at + random() * (now() - c.created_at) AS at
    FROM (
        SELECT random() AS r
        FROM generate_series(1, %(each)s + CASE WHEN c.rn <= %(extra)s THEN 1 ELSE 0 END)
    ) draw
) e
"""
TOPUP_CONTACTS = 100_000  # contacts a statement (about 800,000 events)


def _events(workspace, wanted: int) -> None:
    """Events up to EVENTS_PER_CONTACT a contact on average, added set-based to each
    run of 100,000 contacts (in id order) that has fewer, evenly over its contacts
    (their spread comes from the generated ones): names in the demo generator's
    shares, between the contact's creation and now, PostgreSQL's random() after a
    setseed, so a fixed sequence. One statement and commit a run."""
    from django.db import connection, transaction
    from django.db.models import Count

    from contacts.models import Contact, Event

    if Event.objects.filter(workspace=workspace).count() >= wanted:
        return
    ids = list(
        Contact.objects.filter(workspace=workspace).order_by("pk").values_list("pk", flat=True)
    )
    for start in range(0, len(ids), TOPUP_CONTACTS):
        run = ids[start : start + TOPUP_CONTACTS]
        low, high = run[0], run[-1]
        have = Event.objects.filter(
            workspace=workspace, contact_id__gte=low, contact_id__lte=high
        ).aggregate(n=Count("id"))["n"]
        missing = EVENTS_PER_CONTACT * len(run) - have
        if missing <= 0:
            continue
        started = time.perf_counter()
        each, extra = divmod(missing, len(run))
        params = {"workspace": workspace.pk, "low": low, "high": high, "each": each}
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT setseed(%s)", [start / (len(ids) + 1)])
            cursor.execute(EVENTS_SQL, {**params, "extra": extra})
        took = time.perf_counter() - started
        say(f"  events +{missing:,} on contacts {start + 1:,}-{start + len(run):,} ({took:.0f} s)")


def _tag_links(workspace, wanted: int) -> None:
    """Interest tags on contacts that have none yet, drawn with a fixed seed, until
    the workspace has `wanted` links."""
    from django.db import transaction

    from contacts.models import Contact, ContactTag
    from contacts.services.tags import tags_get_or_create
    from contacts.writer import bulk_insert

    links = ContactTag.objects.filter(contact__workspace=workspace)
    missing = wanted - links.count()
    if missing <= 0:
        return
    tags = tags_get_or_create(workspace, INTEREST_TAGS)
    tag_ids = [t.id for t in sorted(tags, key=lambda t: t.name)]
    interested = links.filter(tag_id__in=tag_ids).values("contact_id")
    ids = list(
        Contact.objects.filter(workspace=workspace)
        .exclude(pk__in=interested)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not ids:
        return
    rng = random.Random(SEED)
    per_contact, extra = divmod(missing, len(ids))
    per_contact = min(per_contact, len(tag_ids) - 1)
    rows = []
    for contact_id in ids:
        k = per_contact + (1 if rng.random() * len(ids) < extra else 0)
        for tag_id in rng.sample(tag_ids, min(k, len(tag_ids))):
            rows.append((contact_id, tag_id, workspace.created_at))
    rows = rows[:missing]
    with transaction.atomic():
        for start in range(0, len(rows), 50_000):
            bulk_insert(ContactTag, ["contact", "tag", "created_at"], rows[start : start + 50_000])
    say(f"  tag links +{len(rows):,}")


# ---------------------------------------------------------------- the 200 rules

COUNTRIES = ["US", "GB", "DE", "FR", "ES", "IT", "NL", "BR", "IN", "JP", "CA"]
CITIES = ["Berlin", "Paris", "London", "Austin", "Tokyo", "Madrid", "Toronto", "Pune"]
LANGUAGES = ["en", "de", "fr", "es", "pt", "ja"]
PLANS = ["free", "starter", "pro", "enterprise"]
DEMO_TAGS = ["vip", "newsletter", "customer", "lead", "beta-tester", "partner"]


def _field(rng: random.Random) -> dict:
    choice = rng.randrange(11)
    if choice == 0:
        return {"field": "country", "op": "in", "value": rng.sample(COUNTRIES, rng.randint(1, 3))}
    if choice == 1:
        return {"field": "country", "op": rng.choice(["eq", "neq"]), "value": rng.choice(COUNTRIES)}
    if choice == 2:
        return {"field": "city", "op": "eq", "value": rng.choice(CITIES)}
    if choice == 3:
        return {"field": "language", "op": "eq", "value": rng.choice(LANGUAGES)}
    if choice == 4:
        return {"field": "score", "op": rng.choice(["gt", "gte", "lt"]), "value": rng.randrange(90)}
    if choice == 5:
        low = rng.randrange(80)
        return {"field": "score", "op": "between", "value": [low, low + rng.randint(5, 30)]}
    if choice == 6:
        return {"field": "email", "op": "ends_with", "value": rng.choice(["@gmail.com", ".io"])}
    if choice == 7:
        return {
            "field": "company",
            "op": "contains",
            "value": rng.choice(["Labs", "Cloud", "Nova"]),
        }
    if choice == 8:
        return {
            "field": "last_activity_at",
            "op": "more_than_days_ago",
            "value": rng.choice([30, 90]),
        }
    if choice == 9:
        return {"field": "phone", "op": rng.choice(["exists", "not_exists"])}
    return {"field": "first_name", "op": "starts_with", "value": rng.choice("ABCDEJKLMS")}


def _attribute(rng: random.Random) -> dict:
    choice = rng.randrange(5)
    if choice == 0:
        return {"field": "attributes.plan", "op": "eq", "value": rng.choice(PLANS)}
    if choice == 1:
        return {"field": "attributes.plan", "op": "in", "value": rng.sample(PLANS, 2)}
    if choice == 2:
        return {"field": "attributes.seats", "op": "gt", "value": rng.choice([1, 5, 20, 100])}
    if choice == 3:
        return {"field": "attributes.trial", "op": rng.choice(["is_true", "is_false"])}
    year = rng.choice([2026, 2027])
    return {"field": "attributes.renewal_date", "op": "before", "value": f"{year}-06-30"}


def _tag(rng: random.Random) -> dict:
    name = rng.choice(DEMO_TAGS + INTEREST_TAGS + ["*"])
    return {"tag": name, "op": "has" if rng.random() < 0.75 else "has_not"}


def _event(rng: random.Random) -> dict:
    choice = rng.randrange(5)
    if choice == 0:
        condition = {"event": "purchase", "op": "at_least", "count": rng.randint(1, 3)}
        if rng.random() < 0.7:
            condition["within_days"] = rng.choice([30, 90, 365])
        return condition
    if choice == 1:
        page = rng.choice(["/pricing", "/docs", "/contact-sales", "/blog"])
        return {
            "event": "page_view",
            "op": "at_least",
            "count": rng.randint(1, 3),
            "within_days": rng.choice([7, 30, 90]),
            "where": [{"property": "url", "op": "contains", "value": page}],
        }
    if choice == 2:
        return {"event": "login", "op": "at_most", "count": 0, "within_days": rng.choice([30, 60])}
    if choice == 3:
        return {"event": "email_opened", "op": "at_least", "count": rng.randint(1, 4)}
    return {
        "event": "purchase",
        "op": "at_least",
        "count": 1,
        "where": [{"property": "amount", "op": "gt", "value": rng.choice([50, 100, 250])}],
    }


def _device(rng: random.Random) -> dict:
    return {
        "device": rng.choice(["ios", "android", "web", "*"]),
        "op": rng.choice(["has", "has_not"]),
    }


KINDS = [(_field, 30), (_attribute, 20), (_tag, 20), (_event, 20), (_device, 5)]


def rule(rng: random.Random, earlier: list[int]) -> dict:
    """A rule of 1 to 4 conditions, sometimes with an `any` group inside and a
    reference to an earlier segment."""
    makers, weights = zip(*KINDS, strict=True)
    count = rng.choice([1, 1, 2, 2, 2, 3, 3, 4])
    nodes = [rng.choices(makers, weights)[0](rng) for _ in range(count)]
    if earlier and rng.random() < 0.15:
        nodes.append({"segment": rng.choice(earlier), "op": rng.choice(["in", "not_in"])})
    if len(nodes) >= 3 and rng.random() < 0.3:
        nodes = [{"any": nodes[:2]}, *nodes[2:]]
    return {"version": 1, "all": nodes}


def example_rule(referenced: int) -> dict:
    """conditions.md's example, naming `referenced` where it names segment 12."""
    return {
        "version": 1,
        "all": [
            {
                "any": [
                    {"field": "country", "op": "in", "value": ["DE", "FR"]},
                    {"field": "attributes.plan", "op": "eq", "value": "pro"},
                ]
            },
            {"field": "score", "op": "gt", "value": 50},
            {"tag": "vip", "op": "has"},
            {"event": "purchase", "op": "at_least", "count": 2, "within_days": 30},
            {"segment": referenced, "op": "not_in"},
        ],
    }


def _segments(workspace, wanted: int) -> None:
    from segments.models import Segment
    from segments.services import segment_create

    existing = dict(
        Segment.objects.filter(workspace=workspace, name__startswith=PREFIX).values_list(
            "name", "pk"
        )
    )
    rng = random.Random(SEED)
    earlier: list[int] = []
    made = 0
    for number in range(1, wanted):
        name = f"{PREFIX}{number:03d}"
        conditions = rule(rng, earlier[:50])  # drawn even when it exists: same shapes
        pk = existing.get(name)
        if pk is None:
            pk = segment_create(
                workspace=workspace, name=name, kind="filter", conditions=conditions
            ).pk
            made += 1
        earlier.append(pk)
    if EXAMPLE_NAME not in existing:
        segment_create(
            workspace=workspace,
            name=EXAMPLE_NAME,
            kind="filter",
            conditions=example_rule(earlier[0]),
        )
        made += 1
    if made:
        say(f"  segments +{made}")


def example_segment(workspace):
    from segments.models import Segment

    return Segment.objects.get(workspace=workspace, name=EXAMPLE_NAME)


def _fill(workspace) -> None:
    """Every pending refresh done (a new segment is filled whole)."""
    from segments import pending

    if not pending.has_pending(workspace.pk):
        return
    started = time.perf_counter()
    result = pending.work_through(workspace.pk)
    moved = sum(d.entered + d.left for d in result.diffs.values())
    took = time.perf_counter() - started
    say(f"  {len(result.diffs)} segments filled in {took:.0f} s ({moved:,} members)")


def main() -> None:
    common.setup()
    given = int(sys.argv[1]) if len(sys.argv) > 1 else None
    started = time.perf_counter()
    workspace, wanted = ensure(given)
    took = time.perf_counter() - started
    say(f"Dataset in '{workspace.slug}': {wanted} (ready after {took:.0f} s)")


if __name__ == "__main__":
    main()

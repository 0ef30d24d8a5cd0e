"""The pages at a million contacts: each page's server time through Django's test
Client (signed in, the real middleware, views and templates), p50 and p95, beside a
raw baseline (the page's main SQL by hand, in the same run); the builder's live
preview of conditions.md's example rule; and 10,000 emails added to a manual segment
through the services beside one raw INSERT ... SELECT.

    python -m bench.pages          (BENCH_CONTACTS=100000 for a quicker run)

`workloads(size)` gives the rows bench/suite.py prints and stores. The pages' fixtures
(a user, an API key, 500 segments, one segment holding about half the contacts) are
made once in the bench workspace, by name, and reused."""

import os
import random
import statistics
import time
from unittest import mock

from bench import common
from bench.dataset import example_rule

SEED = 23
PAGE_TARGET_S = 0.100
PREVIEW_TARGET_S = 0.300
EMAILS = 10_000
EMAILS_TARGET_RATIO = 1.2
EMAILS_TURNS = 7
DASHBOARD_SEGMENTS = 500
PREFIX = "bench-pages"
RUNS = int(os.environ.get("BENCH_PAGE_RUNS", 30))


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def _sample(fn, runs: int) -> list[float]:
    fn()  # warm-up: connections, template loading, the plan cache
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


# ---------------------------------------------------------------- fixtures


class Fixtures:
    """What the pages need in the bench workspace, made once and found by name."""

    def __init__(self, workspace):
        from django.contrib.auth import get_user_model

        from contacts.models import Contact
        from segments.models import Segment
        from workspaces.models import ApiKey, Membership, Role
        from workspaces.services import api_key_create

        self.workspace = workspace
        users = get_user_model()
        self.user, _ = users.objects.get_or_create(username=PREFIX)
        Membership.objects.get_or_create(
            workspace=workspace, user=self.user, defaults={"role": Role.OWNER}
        )
        ApiKey.objects.filter(workspace=workspace, name=PREFIX).delete()
        _, self.api_key = api_key_create(workspace=workspace, name=PREFIX)
        self.big = self._filled(
            Segment,
            "half",
            Segment.Kind.MANUAL,
            None,
            "WHERE c.workspace_id = %s AND c.id %% 2 = 0",
        )
        # The segment the preview compares with: the contacts tagged vip. Manual, as
        # every segment made here, so that the engine's workloads (bench/suite.py runs
        # them in the same workspace) see none of them.
        self.filter_segment = self._filled(
            Segment,
            "vip",
            Segment.Kind.MANUAL,
            None,
            "JOIN contacts_contacttag ct ON ct.contact_id = c.id"
            " JOIN contacts_tag t ON t.id = ct.tag_id AND t.name = 'vip'"
            " WHERE c.workspace_id = %s",
        )
        self._dashboard(Segment)
        contacts = Contact.objects.filter(workspace=workspace)
        ids = list(contacts.order_by("id").values_list("id", flat=True)[::997])
        rng = random.Random(SEED)
        self.contact_id = rng.choice(ids)
        self.word = "mann"  # a last-name part the demo data has in every size

    def _filled(self, Segment, name, kind, conditions, where: str):
        """A segment filled once by SQL (its members joined when they were created)."""
        from django.db import connection

        from segments.models import SegmentMember

        segment, _ = Segment.objects.get_or_create(
            workspace=self.workspace,
            name=f"{PREFIX} {name}",
            defaults={"kind": kind, "conditions": conditions},
        )
        if not SegmentMember.objects.filter(segment=segment).exists():
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO segments_segmentmember (segment_id, contact_id, joined_at, source)"
                    f" SELECT %s, c.id, c.created_at, 'manual' FROM contacts_contact c {where}"
                    " ON CONFLICT DO NOTHING",
                    [segment.pk, self.workspace.pk],
                )
            count = SegmentMember.objects.filter(segment=segment).count()
            Segment.objects.filter(pk=segment.pk).update(member_count=count)
            segment.refresh_from_db()
        return segment

    def _dashboard(self, Segment):
        """500 segments on the dashboard (written directly: their members do not
        matter to the list, only their rows; manual, so no rule of theirs is run)."""
        have = Segment.objects.filter(
            workspace=self.workspace, name__startswith=f"{PREFIX} "
        ).count()
        wanted = DASHBOARD_SEGMENTS - Segment.objects.filter(workspace=self.workspace).count()
        rng = random.Random(SEED)
        Segment.objects.bulk_create(
            Segment(
                workspace=self.workspace,
                name=f"{PREFIX} {have + i:03d}",
                kind=Segment.Kind.MANUAL,
                member_count=rng.randrange(0, 100_000),
            )
            for i in range(max(wanted, 0))
        )


# ---------------------------------------------------------------- pages


def _client(fixtures):
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(fixtures.user)
    return client


def _get(client, url, **extra):
    def run():
        response = client.get(url, **extra)
        assert response.status_code == 200, (url, response.status_code)
        response.content  # noqa: B018 (a streamed page is drawn now)

    return run


def _raw(sql: str, params: list):
    from django.db import connection

    def run():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            cursor.fetchall()

    return run


def _page_workloads(fixtures, size: int) -> list[tuple]:
    """(name, ours, raw, why) for each page."""
    from contacts.models import Contact
    from segments.models import SegmentMember
    from workspaces.keyset import cursor_after

    ws, big = fixtures.workspace.pk, fixtures.big
    client = _client(fixtures)
    contacts = Contact.objects.filter(workspace_id=ws).order_by("-created_at", "-id")
    deep = int(size * 0.9)
    deep_row = contacts[deep : deep + 1].get()
    deep_cursor = cursor_after(deep_row, ("-created_at", "-id"))
    columns = "id, email, first_name, last_name, company, country, score, created_at"
    list_sql = f"SELECT {columns} FROM contacts_contact WHERE workspace_id = %s"
    pages = [
        (
            f"dashboard, {DASHBOARD_SEGMENTS} segments",
            _get(client, "/segments/"),
            _raw(
                "SELECT * FROM segments_segment WHERE workspace_id = %s AND NOT archived"
                " ORDER BY created_at DESC, id DESC LIMIT 51",
                [ws],
            ),
        ),
        (
            "contacts list, first page",
            _get(client, "/contacts/"),
            _raw(list_sql + " ORDER BY created_at DESC, id DESC LIMIT 51", [ws]),
        ),
        (
            f"contacts list, page at row {deep:,}",
            _get(client, "/contacts/", data={"cursor": deep_cursor}),
            _raw(
                list_sql + " AND (created_at, id) < (%s, %s)"
                " ORDER BY created_at DESC, id DESC LIMIT 51",
                [ws, deep_row.created_at, deep_row.pk],
            ),
        ),
        (
            f"contacts search '{fixtures.word}'",
            _get(client, "/contacts/", data={"q": fixtures.word}),
            _raw(
                list_sql + " AND (UPPER(last_name::text) LIKE UPPER(%s)"
                " OR UPPER(email::text) LIKE UPPER(%s))"
                " ORDER BY created_at DESC, id DESC LIMIT 51",
                [ws, f"%{fixtures.word}%", f"%{fixtures.word}%"],
            ),
        ),
        (
            f"members tab, {big.member_count:,} members",
            _get(client, f"/segments/{big.pk}/"),
            _raw(
                "SELECT m.id, m.joined_at, c.id, c.email, c.first_name, c.last_name"
                " FROM segments_segmentmember m JOIN contacts_contact c ON c.id = m.contact_id"
                " WHERE m.segment_id = %s ORDER BY m.joined_at DESC, m.id DESC LIMIT 51",
                [big.pk],
            ),
        ),
        (
            "contact page",
            _get(client, f"/contacts/{fixtures.contact_id}/"),
            _raw(
                "SELECT * FROM contacts_contact WHERE id = %s AND workspace_id = %s",
                [fixtures.contact_id, ws],
            ),
        ),
        (
            f"members API, {big.member_count:,} members",
            _get(
                client,
                f"/api/v1/segments/{big.pk}/members",
                HTTP_AUTHORIZATION=f"Bearer {fixtures.api_key}",
            ),
            # The API's order, newest first (api.md), and the columns it shows.
            _raw(
                "SELECT m.id, m.joined_at, c.id, c.email, c.external_id"
                " FROM segments_segmentmember m JOIN contacts_contact c ON c.id = m.contact_id"
                " WHERE m.segment_id = %s ORDER BY m.joined_at DESC, m.id DESC LIMIT 51",
                [big.pk],
            ),
        ),
    ]
    assert SegmentMember.objects.filter(segment=big).exists()
    return pages


def _preview_workload(fixtures):
    """The builder's live panel: count, who would enter and leave a segment."""
    import json

    from django.db import connection

    client = _client(fixtures)
    rule = example_rule(fixtures.big.pk)
    target = fixtures.filter_segment
    data = {"conditions": json.dumps(rule), "segment": str(target.pk)}
    ws = fixtures.workspace.pk

    def ours():
        response = client.post("/segments/preview/", data)
        assert response.status_code == 200 and b"data-preview-count" in response.content

    raw_sql = """
        WITH matching AS (
          SELECT c.id FROM contacts_contact c
          WHERE c.workspace_id = %(ws)s AND c.score > 50
            AND (LOWER(c.country) IN ('de', 'fr') OR UPPER(c.attributes ->> 'plan') = 'PRO')
            AND EXISTS (SELECT 1 FROM contacts_contacttag ct JOIN contacts_tag t ON t.id = ct.tag_id
                        WHERE ct.contact_id = c.id AND t.workspace_id = %(ws)s
                          AND LOWER(t.name) = 'vip')
            AND (SELECT count(*) FROM contacts_event e WHERE e.contact_id = c.id
                 AND e.name = 'purchase' AND e.occurred_at >= now() - interval '30 days') >= 2
            AND NOT EXISTS (SELECT 1 FROM segments_segmentmember m
                            WHERE m.segment_id = %(big)s AND m.contact_id = c.id)
        )
        SELECT (SELECT count(*) FROM matching),
               (SELECT count(*) FROM matching WHERE NOT EXISTS (
                 SELECT 1 FROM segments_segmentmember m
                 WHERE m.segment_id = %(seg)s AND m.contact_id = matching.id)),
               (SELECT count(*) FROM segments_segmentmember m WHERE m.segment_id = %(seg)s
                 AND m.contact_id NOT IN (SELECT id FROM matching))
    """

    def raw():
        with connection.cursor() as cursor:
            cursor.execute(raw_sql, {"ws": ws, "big": fixtures.big.pk, "seg": target.pk})
            cursor.fetchall()

    return ours, raw


def _emails_workload(fixtures, size: int) -> tuple[float, float, int]:
    """10,000 emails of existing contacts added to an empty manual segment: through
    segment_members_add (as the API's add by email) beside one INSERT ... SELECT;
    ({name: seconds} for ours, raw and floor, rows), medians of a few turns; floor is
    the raw statement writing the history rows and the count too."""
    from django.db import connection, transaction

    from contacts.models import Contact
    from segments import pending, services
    from segments.models import Segment, SegmentMember

    rng = random.Random(SEED)
    emails = list(
        Contact.objects.filter(workspace=fixtures.workspace, email__isnull=False)
        .order_by("id")
        .values_list("email", flat=True)[: min(size, EMAILS * 5)]
    )
    emails = rng.sample(emails, min(EMAILS, len(emails)))
    segment, _ = Segment.objects.get_or_create(
        workspace=fixtures.workspace,
        name=f"{PREFIX} emails",
        defaults={"kind": Segment.Kind.MANUAL},
    )

    def empty():
        SegmentMember.objects.filter(segment=segment).delete()
        segment.changes.all().delete()

    def ours():
        # A large add's history is written by a worker after the commit (segments.
        # membership.WRITE_BEHIND_AFTER): not sent here, done below off the clock.
        with mock.patch.object(pending, "wake", lambda workspace_id: False):
            services.segment_members_add(segment=segment, lookup="email", values=emails)

    def ours_history():
        """What the worker then writes: every entry's history row."""
        pending.work_through(fixtures.workspace.pk)
        added = SegmentMember.objects.filter(segment=segment).count()
        assert segment.changes.count() == added, "the history of the add was not written"

    insert = (
        "INSERT INTO segments_segmentmember (segment_id, contact_id, joined_at, source)"
        " SELECT %s, id, now(), 'manual' FROM contacts_contact"
        " WHERE workspace_id = %s AND LOWER(email) = ANY(%s) ON CONFLICT DO NOTHING"
    )
    params = [segment.pk, fixtures.workspace.pk, [e.lower() for e in emails]]

    def raw():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(insert, params)

    def floor():
        """The raw INSERT with what the feature must also write (its history rows and
        the count) by hand in the same statement: what ours could at best take."""
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"WITH added AS ({insert} RETURNING contact_id), history AS ("
                "INSERT INTO segments_segmentchange"
                " (segment_id, contact_id, action, source, triggers, at)"
                " SELECT %s, contact_id, 'entered', 'manual', true, now() FROM added"
                " ORDER BY contact_id) UPDATE segments_segment"
                " SET member_count = member_count + (SELECT count(*) FROM added) WHERE id = %s",
                [*params, segment.pk, segment.pk],
            )

    runs = [("raw", raw), ("ours", ours), ("floor", floor)]
    times = {name: [] for name, _ in runs}
    for turn in range(EMAILS_TURNS):
        # Each turn in another order: none always follows the same one (and the rows
        # it deleted), on a machine whose load moves.
        first = turn % len(runs)
        for name, fn in runs[first:] + runs[:first]:
            empty()
            started = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - started)
            if fn is ours:
                ours_history()
    rows = SegmentMember.objects.filter(segment=segment).count()
    empty()
    return {name: statistics.median(samples) for name, samples in times.items()}, rows


# ---------------------------------------------------------------- rows


def _row(workload, ours, raw, rows, target, met, why, *, rate=True) -> dict:
    """A result row; `rate=False` for a page or the preview, whose time is what counts
    (rows over a page's time would be the workspace's size a second, no throughput)."""
    return {
        "workload": workload,
        "ours_s": round(ours, 4),
        "raw_s": round(raw, 4),
        "ratio": round(ours / raw, 2) if raw else None,
        "rows": rows,
        **({} if rate else {"rows_per_s": None}),
        "target": target,
        "met": met,
        "why": why,
    }


def workloads(size: int) -> list[dict]:
    """The rows of the pages, the preview and the emails workload at `size` contacts
    (the bench workspace is seeded to it); ours_s and raw_s are p95 for the pages and
    the preview, medians for the emails."""
    from django.conf import settings
    from django.db import connection

    settings.DEBUG = False  # as in production: no query log, no debug pages
    workspace, size = common.bench_workspace(size)
    fixtures = Fixtures(workspace)
    with connection.cursor() as cursor:
        for table in ("contacts_contact", "segments_segmentmember", "segments_segment"):
            cursor.execute(f"ANALYZE {table}")
    rows = []
    for name, ours, raw in _page_workloads(fixtures, size):
        p50, p95 = _percentiles(_sample(ours, RUNS))
        raw_p50, raw_p95 = _percentiles(_sample(raw, RUNS))
        met = p95 <= PAGE_TARGET_S
        rows.append(
            _row(
                f"page: {name}",
                p95,
                raw_p95,
                size,
                "p95 <= 100 ms",
                met,
                f"p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms (raw p50 {raw_p50 * 1000:.1f})"
                + ("" if met else "; over the target"),
                rate=False,
            )
        )
    ours, raw = _preview_workload(fixtures)
    p50, p95 = _percentiles(_sample(ours, max(RUNS // 3, 5)))
    raw_p50, raw_p95 = _percentiles(_sample(raw, max(RUNS // 3, 5)))
    met = p95 <= PREVIEW_TARGET_S
    rows.append(
        _row(
            "live preview of the example rule (count, enter, leave)",
            p95,
            raw_p95,
            size,
            "p95 <= 300 ms",
            met,
            f"p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms; raw is the exact three counts"
            + ("" if met else "; over the target"),
            rate=False,
        )
    )
    medians, added = _emails_workload(fixtures, size)
    ours_s, raw_s = medians["ours"], medians["raw"]
    ratio = ours_s / raw_s if raw_s else float("inf")
    rows.append(
        _row(
            f"{EMAILS:,} emails added to a manual segment",
            ours_s,
            raw_s,
            added,
            "<= 1.2x one INSERT ... SELECT",
            ratio <= EMAILS_TARGET_RATIO,
            f"{ratio:.2f}x the raw INSERT ... SELECT (medians of {EMAILS_TURNS}); that INSERT"
            f" writing the history rows and the count too: {medians['floor'] / raw_s:.2f}x;"
            " ours until the members and count are committed, their history written by a"
            " worker after (run off the clock, checked each turn)",
        )
    )
    return rows


def main() -> None:
    common.setup()
    size = int(os.environ.get("BENCH_CONTACTS", 1_000_000))
    rows = workloads(size)
    width = max(len(r["workload"]) for r in rows)
    print(f"Pages at {size:,} contacts (ours and raw: p95 for pages, median for emails):")
    print(f"{'workload'.ljust(width)}   ours ms    raw ms   ratio  met  why")
    for r in rows:
        print(
            f"{r['workload'].ljust(width)}  {r['ours_s'] * 1000:8.1f}  {r['raw_s'] * 1000:8.1f}"
            f"  {r['ratio']:6.2f}  {'yes' if r['met'] else 'NO ':3}  {r['why']}",
            flush=True,
        )


if __name__ == "__main__":
    main()

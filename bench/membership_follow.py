"""Membership following a burst of changes, at a million contacts: 10,000 contacts
get a new score through the services (the API's upsert, 1,000 items a call, as an
integration would send them), and the time runs until every filter segment's
membership is right. Beside it, the raw path: one UPDATE of the same rows plus one
call of the engine over the same ids. Also counted: the wake messages the burst sent
to the workers (each write used to queue a task of its own).

    make bench                       (BENCH_CONTACTS=100000 for a quicker run)
"""

import random
import time
from unittest import mock

from bench import common

CHANGED = 10_000
BATCH = 1_000
ROUNDS = 3
# Rules that read the score (affected by the change) and others (skipped).
RULES = {
    "Bench: score over 50": {"all": [{"field": "score", "op": "gt", "value": 50}]},
    "Bench: score 20 to 40": {"all": [{"field": "score", "op": "between", "value": [20, 40]}]},
    "Bench: keen Germans": {
        "all": [
            {"field": "country", "op": "eq", "value": "DE"},
            {"field": "score", "op": "gte", "value": 70},
        ]
    },
    "Bench: French": {"all": [{"field": "country", "op": "eq", "value": "FR"}]},
    "Bench: buyers": {"all": [{"event": "purchase", "op": "at_least", "count": 1}]},
}


def main() -> None:
    common.setup()
    from django.db import connection

    from contacts.changes import Change
    from contacts.models import Contact
    from contacts.writer import contacts_upsert
    from segments import drift, membership, pending, rules, services
    from segments.models import PendingChange, PendingRefresh, Segment

    workspace, size = common.bench_workspace()
    for name, rule in RULES.items():
        if not Segment.objects.filter(workspace=workspace, name=name).exists():
            services.segment_create(workspace=workspace, name=name, kind="filter", conditions=rule)
    PendingChange.objects.filter(workspace=workspace).delete()
    PendingRefresh.objects.filter(workspace=workspace).delete()
    filter_segments = Segment.objects.filter(workspace=workspace, kind="filter")
    # Rules with relative dates move with the clock, not with this change: left out of
    # the check (beat refreshes them on their own schedule).
    checked = [s for s in filter_segments if not rules.reads(s.conditions).time_based]
    for segment in checked:  # start from membership that is right
        if drift.compare(segment).differs:
            drift.repair_segment(segment, None)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    rng = random.Random(11)
    people = list(
        Contact.objects.filter(workspace=workspace, email__isnull=False)
        .order_by("?")[:CHANGED]
        .values_list("pk", "email", "score")
    )
    ids = [pk for pk, _, _ in people]

    def ours(scores: dict[int, int]) -> tuple[float, int]:
        items = [{"email": email, "score": scores[pk]} for pk, email, _ in people]
        with mock.patch.object(pending, "send_now", wraps=pending.send_now) as sent:
            started = time.perf_counter()
            for start in range(0, len(items), BATCH):
                result = contacts_upsert(
                    workspace=workspace, match_on="email", items=items[start : start + BATCH]
                )
                assert not result.errors, result.errors[:3]
            written = time.perf_counter()
            pending.work_through(workspace.pk)  # what the woken worker does
            elapsed = time.perf_counter() - started
        split["ours"].append((written - started, elapsed - (written - started)))
        return elapsed, sent.call_count

    def raw(scores: dict[int, int]) -> float:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            values = ", ".join(["(%s, %s)"] * len(ids))
            cursor.execute(
                f"UPDATE contacts_contact c SET score = v.score, updated_at = now() "
                f"FROM (VALUES {values}) AS v(id, score) WHERE c.id = v.id",
                [x for pk in ids for x in (pk, scores[pk])],
            )
        written = time.perf_counter()
        membership.refresh_contacts(workspace.pk, ids, Change(fields={"score"}))
        elapsed = time.perf_counter() - started
        split["raw"].append((written - started, elapsed - (written - started)))
        return elapsed

    ours_times, raw_times, wakes = [], [], []
    split = {"ours": [], "raw": []}
    for _ in range(ROUNDS):
        scores = {pk: rng.randint(0, 100) for pk in ids}
        took, sent = ours(scores)
        ours_times.append(took)
        wakes.append(sent)
        wrong = [s.name for s in checked if drift.compare(s).differs]
        assert not wrong, f"membership not right in {wrong}"
        raw_times.append(raw({pk: rng.randint(0, 100) for pk in ids}))
    ours_ms = sorted(ours_times)[len(ours_times) // 2] * 1000
    raw_ms = sorted(raw_times)[len(raw_times) // 2] * 1000
    print(f"{size:,} contacts, {CHANGED:,} changed, {len(filter_segments)} filter segments")
    print(f"wake messages sent per burst of {CHANGED // BATCH} upsert calls: {max(wakes)}")
    width = 58
    print(f"{'measure'.ljust(width)}   ours ms   raw ms   ours/raw")
    print(
        f"{'10,000 scores changed until membership is right'.ljust(width)}"
        f"  {ours_ms:8.0f}  {raw_ms:7.0f}   {ours_ms / raw_ms:6.2f}x"
        "   (raw: one UPDATE + the engine over the ids)"
    )
    for path, parts in split.items():
        write_ms = sorted(p[0] for p in parts)[len(parts) // 2] * 1000
        engine_ms = sorted(p[1] for p in parts)[len(parts) // 2] * 1000
        print(f"  {path}: writes {write_ms:.0f} ms, membership {engine_ms:.0f} ms (medians)")


if __name__ == "__main__":
    main()

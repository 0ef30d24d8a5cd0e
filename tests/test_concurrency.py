"""Writers at once on the same data (issue 24, concurrency): parallel API writers, and
an import and a bulk action adding people to the same manual segment at the same
time. The final membership is exactly the union of what each added, with its history
and count; nothing deadlocks; no IntegrityError (nor any 500) reaches anyone. Real
threads, each with its own PostgreSQL connection, started together at a barrier
(tests/test_races.py: race); SQLite writes one transaction at a time."""

import random
import re
import time

import pytest

from contacts.models import Contact
from segments import bulk_actions
from segments import services as segment_services
from segments.models import SegmentChange, SegmentMember
from tests.factories import ContactFactory, WorkspaceFactory
from tests.imports import helpers as imports
from tests.test_races import _postgres_only, api_call, race  # noqa: F401 (autouse)
from workspaces.services import api_key_create

pytestmark = pytest.mark.django_db(transaction=True)
ROUNDS = 4
WRITERS = 8
PEOPLE = 600
DEADLINE = 60  # seconds a round may take: past it, something is stuck


@pytest.fixture
def people():
    workspace = WorkspaceFactory()
    contacts = [ContactFactory(workspace=workspace, email=f"p{n}@x.io") for n in range(PEOPLE)]
    key = api_key_create(workspace=workspace, name="race")[1]
    return workspace, key, contacts


def members(segment) -> set[int]:
    return set(SegmentMember.objects.filter(segment=segment).values_list("contact", flat=True))


def assert_exactly(segment, expected: set[int]) -> None:
    """Members, count and history: each of `expected` entered once, nobody else."""
    assert members(segment) == expected
    segment.refresh_from_db()
    assert segment.member_count == len(expected)
    entered = list(
        SegmentChange.objects.filter(segment=segment, action="entered").values_list(
            "contact", flat=True
        )
    )
    assert sorted(entered) == sorted(expected)  # once each


def timed(answers_of) -> tuple[list, float]:
    start = time.monotonic()
    answers = answers_of()
    took = time.monotonic() - start
    assert took < DEADLINE, f"a round took {took:.0f} s: a deadlock or a stuck lock"
    return answers, took


def test_parallel_api_writers_add_overlapping_people_to_one_segment(people):
    workspace, key, contacts = people
    ids = [c.pk for c in contacts]
    rng = random.Random(24)
    slowest = 0.0
    for n in range(ROUNDS):
        segment = segment_services.segment_create(workspace=workspace, name=f"S{n}", kind="manual")
        batches = [rng.sample(ids, PEOPLE // 3) for _ in range(WRITERS)]  # overlapping
        # Half add by id, half by email; each in its own (shuffled) order.
        calls = []
        for i, batch in enumerate(batches):
            body = (
                {"ids": batch}
                if i % 2
                else {"emails": [f"P{ids.index(pk)}@X.IO" for pk in batch]}  # any case
            )
            calls.append(api_call(key, "post", f"/segments/{segment.pk}/members", body))
        answers, took = timed(lambda calls=calls: race(*calls))
        slowest = max(slowest, took)
        assert [a if isinstance(a, Exception) else a[0] for a in answers] == [200] * WRITERS
        union = set().union(*batches)
        assert_exactly(segment, union)
        # Each writer was told truthfully how many it added: together, the union.
        assert sum(a[1]["added"] for a in answers) == len(union), answers
    print(f"\n{WRITERS} writers x {ROUNDS} rounds; slowest round {slowest:.2f} s")


def test_parallel_upserts_of_overlapping_new_people_in_any_order(people):
    """Batches of new and existing emails in different orders at once: no deadlock
    between their unique-index inserts, every call 200, each person once."""
    workspace, key, _ = people
    rng = random.Random(7)
    for n in range(ROUNDS):
        emails = [f"new{n}-{i}@x.io" for i in range(300)] + [f"p{i}@x.io" for i in range(100)]
        batches = []
        for _ in range(WRITERS):
            batch = rng.sample(emails, 200)
            batches.append(batch if rng.random() < 0.5 else sorted(batch, reverse=True))
        calls = [
            api_call(
                key,
                "post",
                "/contacts/upsert",
                {"match_on": "email", "contacts": [{"email": e, "city": "Lyon"} for e in batch]},
            )
            for batch in batches
        ]
        answers, _ = timed(lambda calls=calls: race(*calls))
        assert [a if isinstance(a, Exception) else a[0] for a in answers] == [200] * WRITERS
        assert all(a[1]["errors"] == [] for a in answers), answers
        written = set().union(*batches)
        new = {e for e in written if e.startswith("new")}
        assert sum(a[1]["created"] for a in answers) == len(new)  # each created once
        found = Contact.objects.filter(workspace=workspace, email__in=written)
        assert found.count() == len(written)
        assert set(found.values_list("city", flat=True)) == {"Lyon"}


def test_an_import_and_a_bulk_action_add_to_one_segment_at_once(people):
    workspace, key, contacts = people
    rng = random.Random(3)
    ids = [c.pk for c in contacts]
    for n in range(ROUNDS):
        segment = segment_services.segment_create(workspace=workspace, name=f"M{n}", kind="manual")
        chosen = [set(rng.sample(ids, PEOPLE // 2)) for _ in range(3)]
        three_at_once(workspace, key, segment, contacts, *chosen)


def three_at_once(workspace, key, segment, contacts, by_import, by_bulk, by_api) -> None:
    """An import (add to segment, by email), the list's bulk action and an API call
    add these people to `segment` at the same moment."""
    email_of = {c.pk: c.email for c in contacts}
    content = "Email\n" + "".join(f"{email_of[pk]}\n" for pk in by_import)
    imp = imports.make(
        workspace, None, content.encode(), mode="add_to_segment", segment=segment, lookup="email"
    )

    def run_bulk():
        return bulk_actions.add_to_segments(
            workspace=workspace, contact_ids=sorted(by_bulk), data={"segments": [segment.pk]}
        )

    body = {"ids": sorted(by_api, reverse=True)}
    api = api_call(key, "post", f"/segments/{segment.pk}/members", body)
    answers, _ = timed(lambda: race(lambda: imports.run(imp, None), run_bulk, api))
    job, message, api_answer = answers
    assert not isinstance(job, Exception), job
    assert not isinstance(message, Exception), message
    assert job.status == "done", job.message
    assert api_answer[0] == 200, api_answer
    imp.refresh_from_db()
    assert imp.counts["reject"] == 0, imp.counts
    union = by_import | by_bulk | by_api
    assert_exactly(segment, union)
    # What each was told it added sums to the union: none counted one twice.
    told = re.match(r"Added ([\d,]+) contact", message)
    added_by_bulk = int(told.group(1).replace(",", "")) if told else 0
    added = imp.counts["update"] + added_by_bulk + api_answer[1]["added"]
    assert added == len(union), (imp.counts, message, api_answer)

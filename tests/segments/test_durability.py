"""A worker killed with SIGKILL in the middle of a 100,000-contact refresh loses no
work: the refresh rolls back, the pending row and the dead worker's lease stay, and
once a new worker is there the sweep hands it the work (commands.md, "Background
work"). PostgreSQL + Redis + real worker processes."""

import time
from functools import partial

import pytest
from django.db import connection

from contacts.demo_data import seed
from contacts.models import Contact
from segments import pending, services
from segments.models import PendingChange, PendingRefresh, Segment, SegmentChange, SegmentMember
from segments.query import compile_rule, load_catalog
from tests.factories import WorkspaceFactory
from tests.killable import KillableWorker, own_queue

pytestmark = pytest.mark.services
LEASE_SECONDS = 5
SWEEP_SECONDS = 2
CONTACTS = 100_000
RULE = {"any": [{"field": "email", "op": "exists"}, {"field": "score", "op": "gt", "value": 10}]}


Worker = partial(KillableWorker, lease_seconds=LEASE_SECONDS)


@pytest.fixture
def queue(redis_url, postgres, transactional_db, settings):
    yield from own_queue("durability", settings, lease_seconds=LEASE_SECONDS)


def refresh_running() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
            "AND pid <> pg_backend_pid() AND query ILIKE %s",
            ["%INSERT INTO segments_segmentmember%"],
        )
        return cursor.fetchone()[0] > 0


def wait(check, seconds: float, what: str, worker: KillableWorker) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if check():
            return time.monotonic() - start
        time.sleep(0.05)
    pytest.fail(f"{what}: not within {seconds} s. Worker log:\n{worker.log()}")


def test_sigkill_in_the_middle_of_a_refresh_then_a_new_worker(queue, postgres, redis_url, tmp_path):
    ws = WorkspaceFactory()
    seed(ws, contacts=CONTACTS, events=0, seed=7)
    PendingChange.objects.all().delete()  # the seed's own announcement: not this test's
    expected = set(
        Contact.objects.filter(
            compile_rule(RULE, catalog=load_catalog(ws.pk)), workspace=ws
        ).values_list("pk", flat=True)
    )
    assert len(expected) > CONTACTS * 0.8

    first = Worker(queue, postgres, redis_url, tmp_path / "worker.log")
    try:
        segment = services.segment_create(workspace=ws, name="All", kind="filter", conditions=RULE)
        wait(refresh_running, 60, "the refresh to start", first)
        first.kill()
    finally:
        first.stop()
    killed_at = time.monotonic()

    # Rolled back whole; what is left to do is still recorded.
    assert not SegmentMember.objects.filter(segment=segment).exists()
    assert PendingRefresh.objects.filter(segment=segment).exists()

    second = Worker(queue, postgres, redis_url, tmp_path / "worker.log")
    sweeps = 0
    try:

        def exact() -> bool:
            nonlocal sweeps
            if pending.has_pending(ws.pk) and time.monotonic() - last[0] >= SWEEP_SECONDS:
                pending.sweep()  # what beat does every BACKGROUND_SWEEP_SECONDS
                sweeps += 1
                last[0] = time.monotonic()
            return not pending.has_pending(ws.pk)

        last = [0.0]
        converged = wait(exact, LEASE_SECONDS + 60, "membership after the kill", second)
    finally:
        second.stop()

    members = set(SegmentMember.objects.filter(segment=segment).values_list("contact", flat=True))
    assert members == expected
    entered = SegmentChange.objects.filter(segment=segment, action="entered")
    assert entered.count() == len(expected)  # history not doubled
    segment.refresh_from_db()
    assert segment.member_count == len(expected)
    print(
        f"\nconverged {time.monotonic() - killed_at:.1f} s after the kill "
        f"({converged:.1f} s after the new worker started, {sweeps} sweep(s), "
        f"lease {LEASE_SECONDS} s)"
    )


def members_of(segment) -> set[int]:
    return set(SegmentMember.objects.filter(segment=segment).values_list("contact", flat=True))


def converge(worker, workspace_id: int, seconds: float = 60) -> float:
    """Wait until nothing is pending, sweeping as beat would."""
    start, last = time.monotonic(), 0.0
    while time.monotonic() - start < seconds:
        if not pending.has_pending(workspace_id):
            return time.monotonic() - start
        if time.monotonic() - last >= SWEEP_SECONDS:
            pending.sweep()
            last = time.monotonic()
        time.sleep(0.1)
    pytest.fail(f"Pending work not done in {seconds} s. Worker log:\n{worker.log()[-4000:]}")


def test_redis_restarted_empty_during_a_refresh(worker_on_private_redis, private_redis):
    worker = worker_on_private_redis
    ws = WorkspaceFactory()
    seed(ws, contacts=30_000, events=0, seed=3)
    PendingChange.objects.all().delete()
    segment = services.segment_create(workspace=ws, name="All", kind="filter", conditions=RULE)
    expected = set(
        Contact.objects.filter(
            compile_rule(RULE, catalog=load_catalog(ws.pk)), workspace=ws
        ).values_list("pk", flat=True)
    )
    started = time.monotonic()
    while not refresh_running() and time.monotonic() - started < 30:
        time.sleep(0.02)
    private_redis.kill()
    time.sleep(1)
    private_redis.start()
    converge(worker, ws.pk)
    assert members_of(segment) == expected
    assert SegmentChange.objects.filter(segment=segment).count() == len(expected)
    assert worker.alive()


def test_writes_while_redis_is_down_are_done_once_it_is_back(
    worker_on_private_redis, private_redis
):
    from tests.api_helpers import ApiClient
    from workspaces.services import api_key_create

    worker = worker_on_private_redis
    ws = WorkspaceFactory()
    api = ApiClient(api_key_create(workspace=ws, name="CRM")[1])
    germans = {"all": [{"field": "country", "op": "eq", "value": "DE"}]}
    private_redis.kill()
    assert api.post("/contacts", {"email": "a@x.io", "country": "DE"}).status_code == 201
    created = api.post("/segments", {"name": "Germans", "kind": "filter", "conditions": germans})
    assert created.status_code == 201
    assert api.post("/contacts", {"email": "b@x.io", "country": "DE"}).status_code == 201
    assert pending.has_pending(ws.pk)  # recorded, not lost

    private_redis.start()
    took = converge(worker, ws.pk)
    segment = Segment.objects.get(pk=created.json()["id"])
    assert set(
        Contact.objects.filter(pk__in=members_of(segment)).values_list("email", flat=True)
    ) == {
        "a@x.io",
        "b@x.io",
    }
    segment.refresh_from_db()
    assert segment.member_count == 2
    print(f"\ndone {took:.1f} s after Redis was back")

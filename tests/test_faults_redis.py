"""Redis restarted empty in the middle of the work (issue 24, faults): an export, a
segment action (reset score) and a campaign send each finish after the broker is back,
with the contents of an uninterrupted run, nothing lost and nothing done twice. (An
import: tests/imports/test_worker.py::test_redis_restarted_empty_mid_import; a
membership refresh: tests/segments/test_durability.py::
test_redis_restarted_empty_during_a_refresh.)

Each test has a Redis of its own (tests/conftest.py: private_redis) and a real worker
(tests/killable.py) on it and on the test database. The job is started, Redis is killed
once the job has saved progress (SIGKILL, as a crash: every queued message and every
cache key is gone), started again empty a second later, and the test then sweeps as
beat does until the work has ended."""

import re
import time
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from openpyxl import load_workbook

from campaigns import services as campaign_services
from campaigns.models import Campaign, Delivery
from campaigns.services import CampaignData
from contacts import exports
from contacts.demo_data import seed
from contacts.models import Contact
from contacts.sets import ContactSet
from jobs.models import Job
from jobs.sweep import sweep
from segments import actions, pending
from segments import services as segment_services
from segments.models import PendingChange, SegmentMember
from segments.query import compile_rule, load_catalog
from tests.factories import ContactFactory, WorkspaceFactory
from tests.killable import KillableWorker

pytestmark = pytest.mark.services
LEASE_SECONDS = 5
SWEEP_SECONDS = 1
BOUND = 30  # seconds each piece of work gets after the restart


@pytest.fixture
def short_lease(monkeypatch, settings):
    monkeypatch.setenv("JOB_LEASE_SECONDS", str(LEASE_SECONDS))
    settings.JOB_LEASE_SECONDS = LEASE_SECONDS
    settings.BACKGROUND_SWEEP_SECONDS = SWEEP_SECONDS


@pytest.fixture
def worker(short_lease, app_on_private_redis, private_redis, postgres, tmp_path):
    """A worker on the private Redis; worker(settings_module=..., env=...) for others."""
    started = []

    def start(**options) -> KillableWorker:
        queue = app_on_private_redis.conf.task_default_queue
        log = tmp_path / f"worker-{len(started)}.log"
        one = KillableWorker(
            queue, postgres, private_redis.url, log, lease_seconds=LEASE_SECONDS, **options
        )
        started.append(one)
        return one

    yield start
    for one in started:
        one.stop()


def wait(check, seconds: float, what: str, worker: KillableWorker, every=None) -> float:
    start = last = time.monotonic()
    while time.monotonic() - start < seconds:
        if check():
            return time.monotonic() - start
        if every and time.monotonic() - last >= SWEEP_SECONDS:
            every()
            last = time.monotonic()
        time.sleep(0.05)
    pytest.fail(f"{what}: not within {seconds} s. Worker log:\n{worker.log()}")


def running_with_progress(job: Job):
    def check() -> bool:
        job.refresh_from_db()
        return job.status == Job.Status.RUNNING and job.done > 0

    return check


def restart_empty(redis) -> float:
    """Kill Redis as a crash would and start it again, empty; the moment it is back."""
    redis.kill()
    time.sleep(1.0)
    redis.start()
    return time.monotonic()


def until_ended(job: Job, worker: KillableWorker) -> float:
    """Sweep as beat does until the job has ended; seconds it took."""

    def ended() -> bool:
        job.refresh_from_db()
        return not job.is_open

    return wait(ended, BOUND, "the job to end", worker, every=sweep)


def report(what: str, job: Job, took: float) -> None:
    print(f"\n{what}: ended {took:.1f} s after Redis was back, attempts {job.attempts}")


# ---------------------------------------------------------------- an export

EXPORTED = 11_000  # three chunks of the XLSX writer (5,000 rows)


def test_an_export_mid_file(worker, private_redis, tmp_path):
    ws = WorkspaceFactory()
    seed(ws, contacts=EXPORTED, events=0, seed=11)
    every = ContactSet.matching(ws, "")
    fields = ["email", "first_name", "last_name", "country", "score", "tags"]
    # What an uninterrupted run writes: the same plan, in this process.
    plan = exports.export_plan(workspace=ws, contact_set=every, format="xlsx", fields=fields)
    plan.write(tmp_path / "expected.xlsx", each_chunk=lambda written: None)
    expected = sheet_rows(tmp_path / "expected.xlsx")
    assert len(expected) == EXPORTED + 1  # and the header

    first = worker()
    job = exports.export_start(
        workspace=ws, user=None, contact_set=every, format="xlsx", fields=fields
    )
    wait(running_with_progress(job), 60, "the export to write its first chunk", first)
    back = restart_empty(private_redis)
    until_ended(job, first)
    took = time.monotonic() - back
    assert job.status == Job.Status.DONE, job.message
    assert job.done == job.total == EXPORTED
    with default_storage.open(job.result_file, "rb") as handle:
        (tmp_path / "made.xlsx").write_bytes(handle.read())
    assert sheet_rows(tmp_path / "made.xlsx") == expected  # every row once, in order
    assert first.process.poll() is None, first.log()
    report("export", job, took)


def sheet_rows(path: Path) -> list[tuple]:
    book = load_workbook(path, read_only=True)
    try:
        return [tuple(row) for row in book.active.iter_rows(values_only=True)]
    finally:
        book.close()


# ---------------------------------------------------------------- a segment action

SCORED = 12_000  # two in three reset: 8 chunks of 1,000
HIGH = {"all": [{"field": "score", "op": "gt", "value": 10}]}


def test_a_reset_score_mid_segment(worker, private_redis):
    ws = WorkspaceFactory()
    seed(ws, contacts=SCORED, events=0, seed=5)
    PendingChange.objects.all().delete()  # the seed's announcement: not this test's
    everyone = list(Contact.objects.filter(workspace=ws).values_list("pk", "score"))
    chosen = [pk for pk, _ in everyone if pk % 3]  # two in three, in a manual segment
    scored = sum(1 for pk, score in everyone if pk % 3 and score)  # the rest have 0
    target = segment_services.segment_create(workspace=ws, name="Reset", kind="manual")
    for start in range(0, len(chosen), 10_000):  # the most one call takes
        segment_services.segment_members_add(
            segment=target, lookup="id", values=chosen[start : start + 10_000]
        )
    high = segment_services.segment_create(
        workspace=ws, name="High", kind="filter", conditions=HIGH
    )
    untouched = {pk: score for pk, score in everyone if not pk % 3}

    first = worker()
    wait(lambda: not pending.has_pending(ws.pk), 60, "the segments to be ready", first, sweep)
    job = actions.action_start(segment=target, action="reset_score", reason="faults test")
    wait(running_with_progress(job), 60, "the reset to do its first chunk", first)
    back = restart_empty(private_redis)
    until_ended(job, first)
    took = time.monotonic() - back
    assert job.status == Job.Status.DONE, job.message
    assert job.done == job.total == len(chosen)
    assert job.counters["done"] == scored, job.counters  # each contact reset once
    scores = dict(Contact.objects.filter(workspace=ws).values_list("pk", "score"))
    assert {pk for pk in chosen if scores[pk] != 0} == set()
    assert {pk: scores[pk] for pk in untouched} == untouched

    # The membership that follows the scores is exact too (the engine's wake-ups
    # were in the Redis that restarted: the pending rows in the database were not).
    wait(lambda: not pending.has_pending(ws.pk), BOUND, "membership to follow", first, sweep)
    rule = compile_rule(HIGH, catalog=load_catalog(ws.pk))
    expected = set(Contact.objects.filter(rule, workspace=ws).values_list("pk", flat=True))
    assert expected and expected <= set(untouched)
    members = set(SegmentMember.objects.filter(segment=high).values_list("contact", flat=True))
    assert members == expected
    high.refresh_from_db()
    assert high.member_count == len(expected)
    report("reset score", job, took)


# ---------------------------------------------------------------- a campaign send

RECIPIENTS = 400


def written(mail_dir: Path) -> list[int]:
    """The delivery id of each message the workers wrote, once per message."""
    ids = []
    for path in mail_dir.glob("*.log"):
        ids += [int(n) for n in re.findall(rb"^X-Kith-Delivery: (\d+)$", path.read_bytes(), re.M)]
    return ids


def test_a_campaign_send_mid_way(worker, private_redis, app_on_private_redis, tmp_path):
    ws = WorkspaceFactory()
    people = [ContactFactory(workspace=ws, email=f"p{n}@x.io") for n in range(RECIPIENTS)]
    everyone = segment_services.segment_create(workspace=ws, name="All", kind="manual")
    segment_services.segment_members_add(
        segment=everyone, lookup="id", values=[c.pk for c in people]
    )
    campaign = campaign_services.campaign_create(
        workspace=ws, data=CampaignData(name="Sale", subject="S", body="B", include=[everyone])
    )
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    first = worker(
        settings_module="tests.campaigns.worker_settings",
        env={
            "KITH_TEST_MAIL_DIR": str(mail_dir),
            "KITH_TEST_QUEUE": app_on_private_redis.conf.task_default_queue,
        },
    )
    job = campaign_services.campaign_send(campaign=campaign)
    # Past the first chunk (50 messages, tests.campaigns.worker_settings).
    wait(lambda: len(written(mail_dir)) > 60, 60, "the first chunk of messages", first)
    at_restart = len(written(mail_dir))
    back = restart_empty(private_redis)
    until_ended(job, first)
    took = time.monotonic() - back
    assert job.status == Job.Status.DONE, job.message
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT
    deliveries = Delivery.objects.filter(campaign=campaign)
    assert deliveries.count() == RECIPIENTS
    assert set(deliveries.values_list("status", flat=True)) == {"sent"}
    assert sorted(written(mail_dir)) == sorted(deliveries.values_list("pk", flat=True))
    assert sorted(deliveries.values_list("contact", flat=True)) == sorted(c.pk for c in people)
    print(f"\n{at_restart} of {RECIPIENTS} messages written when Redis restarted")
    report("campaign send", job, took)

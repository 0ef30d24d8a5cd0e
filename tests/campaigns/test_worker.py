"""A campaign whose worker is killed (SIGKILL) in the middle of sending is finished by
another worker, and every contact gets the message exactly once: counted in the mail
files the workers wrote (each message carries its delivery's id) and in the
deliveries. A broadcast (a job resumed from its checkpoint after its lease ran out)
and a triggered campaign (deliveries queued with the trigger's cursor; the sweep
wakes another worker). PostgreSQL + Redis + real worker processes.

The worker is killed while it holds a message before writing it (the backend waits
while a `hold` file exists), which is where nearly all of a send's time goes. The
one gap this does not cover is a kill after the mail server took a message and
before its delivery is marked sent (one UPDATE): that message would go twice; the
claim keeps it to that one message.
"""

import re
import time
from pathlib import Path

import pytest

from campaigns import services
from campaigns.models import Campaign, Delivery
from campaigns.services import CampaignData
from contacts.models import Contact
from jobs import sweep
from jobs.models import Job
from segments import services as segment_services
from tests.factories import ContactFactory, WorkspaceFactory
from tests.killable import KillableWorker, own_queue

pytestmark = pytest.mark.services
LEASE_SECONDS = 5
CONTACTS = 300
HELD_AFTER = 80  # messages written before the worker is held, then killed


def Worker(queue, postgres, redis_url, mail_dir: Path, log_path) -> KillableWorker:  # noqa: N802
    """A worker whose mail goes to files in `mail_dir` (tests.campaigns.worker_settings)."""
    return KillableWorker(
        queue, postgres, redis_url, log_path, lease_seconds=LEASE_SECONDS,
        settings_module="tests.campaigns.worker_settings",
        env={"KITH_TEST_MAIL_DIR": str(mail_dir), "KITH_TEST_QUEUE": queue},
        flags=("--without-heartbeat",),
    )  # fmt: skip


@pytest.fixture
def queue(redis_url, postgres, transactional_db, settings):
    yield from own_queue("campaigns", settings, lease_seconds=LEASE_SECONDS, sweep_seconds=1)


def written(mail_dir: Path) -> list[int]:
    """The delivery id of each message in the mail files, once per message."""
    ids = []
    for path in mail_dir.glob("*.log"):
        ids += [int(n) for n in re.findall(rb"^X-Kith-Delivery: (\d+)$", path.read_bytes(), re.M)]
    return ids


def wait(check, seconds: float, what: str, worker: KillableWorker, every=None) -> None:
    start = last = time.monotonic()
    while time.monotonic() - start < seconds:
        if check():
            return
        if every and time.monotonic() - last >= 1:
            every()
            last = time.monotonic()
        time.sleep(0.02)
    pytest.fail(f"{what}: not within {seconds} s. Worker log:\n{worker.log()}")


def people(ws) -> list[Contact]:
    return [ContactFactory(workspace=ws, email=f"p{n}@x.io", country="FR") for n in range(CONTACTS)]


def kill_midway(mail_dir: Path, first: KillableWorker) -> None:
    wait(lambda: len(written(mail_dir)) >= HELD_AFTER, 60, "messages written", first)
    (mail_dir / "hold").touch()
    wait(lambda: (mail_dir / "held").exists(), 30, "the worker to hold a message", first)
    first.kill()
    (mail_dir / "hold").unlink()


def assert_each_exactly_once(campaign, mail_dir: Path) -> None:
    ids = written(mail_dir)
    deliveries = Delivery.objects.filter(campaign=campaign)
    assert deliveries.count() == CONTACTS
    assert set(deliveries.values_list("status", flat=True)) == {"sent"}
    assert sorted(ids) == sorted(deliveries.values_list("pk", flat=True))  # once each


def test_a_broadcast_whose_worker_is_killed_is_finished_by_another(
    queue, postgres, redis_url, tmp_path
):
    ws = WorkspaceFactory()
    everyone = segment_services.segment_create(workspace=ws, name="All", kind="manual")
    segment_services.segment_members_add(
        segment=everyone, lookup="id", values=[c.pk for c in people(ws)]
    )
    campaign = services.campaign_create(
        workspace=ws, data=CampaignData(name="Sale", subject="S", body="B", include=[everyone])
    )
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    first = Worker(queue, postgres, redis_url, mail_dir, tmp_path / "first.log")
    try:
        job = services.campaign_send(campaign=campaign)
        kill_midway(mail_dir, first)
    finally:
        first.stop()
    held = int((mail_dir / "held").read_text())
    assert HELD_AFTER <= len(written(mail_dir)) < CONTACTS
    assert held not in written(mail_dir)
    assert Delivery.objects.get(pk=held).status == "queued"

    second = Worker(queue, postgres, redis_url, mail_dir, tmp_path / "second.log")
    try:

        def done() -> bool:
            job.refresh_from_db()
            return not job.is_open

        wait(done, 120, "the job to end", second, every=sweep.sweep)
    finally:
        second.stop()
    assert job.status == Job.Status.DONE, job.message
    assert job.attempts == 2
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT
    assert_each_exactly_once(campaign, mail_dir)


def test_a_triggered_send_whose_worker_is_killed_is_finished_by_another(
    queue, postgres, redis_url, tmp_path
):
    ws = WorkspaceFactory()
    contacts = people(ws)
    rule = {"all": [{"field": "country", "op": "eq", "value": "DE"}]}
    germans = segment_services.segment_create(
        workspace=ws, name="Germans", kind="filter", conditions=rule
    )
    campaign = services.campaign_create(
        workspace=ws,
        data=CampaignData(
            name="Willkommen", kind=Campaign.Kind.TRIGGERED, subject="S", body="B", trigger=germans
        ),
    )
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    first = Worker(queue, postgres, redis_url, mail_dir, tmp_path / "first.log")
    try:
        wait(lambda: germans.refresh_from_db() or germans.refreshed_at, 60, "the rule", first)
        services.campaign_activate(campaign=campaign)
        from contacts.services import contacts as contact_services

        for contact in contacts:  # they move, one data change each
            contact_services.contact_update(contact=contact, data={"country": "DE"})
        kill_midway(mail_dir, first)
    finally:
        first.stop()
    assert len(written(mail_dir)) < CONTACTS

    second = Worker(queue, postgres, redis_url, mail_dir, tmp_path / "second.log")
    try:

        def done() -> bool:
            return Delivery.objects.filter(campaign=campaign, status="sent").count() == CONTACTS

        wait(done, 120, "every message sent", second, every=sweep.sweep)
        time.sleep(2)  # more sweeps and wake-ups send nothing more
        sweep.sweep()
        time.sleep(2)
    finally:
        second.stop()
    assert_each_exactly_once(campaign, mail_dir)

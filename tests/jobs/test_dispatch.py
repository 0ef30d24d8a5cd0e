"""Sending work to workers (jobs/dispatch.py): by task name, never failing a write,
and leaving a broker that is away alone for BROKER_AWAY_SECONDS while the database
keeps the work and the sweep sends it."""

import socket
import time
from unittest import mock

import pytest

from config.celery import app
from contacts import services as contact_services
from contacts.jobs import KIND as BULK_ACTION
from contacts.models import Contact
from jobs import dispatch
from jobs.models import Job
from jobs.services import RUN_JOB, job_start
from jobs.sweep import sweep
from segments import pending
from segments import services as segment_services
from segments.models import PendingChange, RefreshLease, SegmentMember
from tests.conftest import new_queue, sending_to
from tests.factories import ContactFactory, WorkspaceFactory

GERMANS = {"all": [{"field": "country", "op": "eq", "value": "DE"}]}


def refused_url() -> str:
    """A Redis URL where nothing listens: every connection is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def away_memory(settings):
    """Remembering a broker away, as in production (tests/conftest.py forgets it
    before each test)."""
    settings.BROKER_AWAY_SECONDS = 30


@pytest.fixture
def refused_broker(away_memory):
    with (
        sending_to(app, new_queue(), refused_url()),
        mock.patch.object(app, "send_task", wraps=app.send_task) as send_task,
    ):
        yield send_task


def test_the_senders_name_tasks_that_exist():
    app.loader.import_default_modules()
    assert RUN_JOB in app.tasks and pending.WORK_THROUGH in app.tasks


@pytest.mark.django_db
def test_while_the_broker_refuses_writes_answer_and_record_their_work(
    refused_broker, django_capture_on_commit_callbacks
):
    ws = WorkspaceFactory()
    with django_capture_on_commit_callbacks(execute=True):
        germans = segment_services.segment_create(
            workspace=ws, name="Germans", kind="filter", conditions=GERMANS
        )
    assert refused_broker.call_count == 1  # tried once, refused, remembered
    assert dispatch.broker_away()

    with django_capture_on_commit_callbacks(execute=True):
        ann = contact_services.contact_create(workspace=ws, data={"email": "a@x.io"})
        contact_services.contact_update(contact=ann, data={"country": "DE"})
        job = job_start(workspace=ws, kind=BULK_ACTION, title="Tag them")
    # Away: neither the wake nor the job's message tried the broker again.
    assert refused_broker.call_count == 1
    assert PendingChange.objects.filter(workspace=ws).count() == 2
    assert Job.objects.get(pk=job.pk).status == Job.Status.QUEUED

    # The sweep tries even so (still refused: nothing sent, nothing lost).
    assert pending.sweep() == 0
    assert refused_broker.call_count == 2
    assert PendingChange.objects.filter(workspace=ws).exists()
    assert not SegmentMember.objects.filter(segment=germans).exists()


@pytest.mark.django_db
def test_a_send_that_succeeds_ends_the_wait(away_memory, settings):
    with sending_to(app, new_queue(), refused_url()):
        assert not dispatch.send_now(RUN_JOB, 1)
        assert dispatch.broker_away()
        assert not dispatch.send_now(RUN_JOB, 1)  # skipped
    with mock.patch.object(app, "send_task") as send_task:
        with sending_to(app, new_queue()):
            assert dispatch.send_now(RUN_JOB, 1, even_if_away=True)
        assert send_task.call_count == 1
    assert not dispatch.broker_away()

    settings.BROKER_AWAY_SECONDS = 0  # remembering can be turned off
    with sending_to(app, new_queue(), refused_url()):
        assert not dispatch.send_now(RUN_JOB, 1)
    assert not dispatch.broker_away()


# ---------------------------------------------------------------- with a real worker


@pytest.mark.services
def test_work_written_while_redis_is_down_is_done_once_the_sweep_sends_it(
    worker_on_private_redis, private_redis, away_memory
):
    worker = worker_on_private_redis
    ws = WorkspaceFactory()
    ContactFactory(workspace=ws, email="bea@x.io", country="FR")
    germans = segment_services.segment_create(
        workspace=ws, name="Germans", kind="filter", conditions=GERMANS
    )
    # Its first refresh done and the worker gone from the workspace: from now on only
    # a message sends a worker there.
    wait_until(lambda: not pending.has_pending(ws.pk) and not leased(ws), worker, "first refresh")
    private_redis.kill()  # refused from now on

    ann = contact_services.contact_create(workspace=ws, data={"email": "ann@x.io"})
    bea = Contact.objects.get(workspace=ws, email="bea@x.io")
    for contact in (ann, bea):
        contact_services.contact_update(contact=contact, data={"country": "DE"})
    assert dispatch.broker_away()
    assert PendingChange.objects.filter(workspace=ws).count() == 3  # created, 2 updates

    private_redis.start()
    assert sweep() == 1  # what beat runs every BACKGROUND_SWEEP_SECONDS
    assert not dispatch.broker_away()
    wait_until(lambda: followed(germans, {"ann@x.io", "bea@x.io"}), worker, "followed")


def wait_until(check, worker, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if not worker.alive() or time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s. Worker log:\n{worker.log()[-5000:]}")
        time.sleep(0.1)


def leased(workspace) -> bool:
    return RefreshLease.objects.filter(workspace=workspace).exists()


def followed(segment, emails: set[str]) -> bool:
    """The segment has these members and no membership work is left pending."""
    members = SegmentMember.objects.filter(segment=segment)
    return set(members.values_list("contact__email", flat=True)) == emails and not (
        PendingChange.objects.filter(workspace_id=segment.workspace_id).exists()
    )

"""The broker comes and goes; the work does not (commands.md, "Background work"; api.md).

Each test has a Redis server of its own (tests/conftest.py: private_redis), killed
(SIGKILL) and started again empty on the same port, or frozen (SIGSTOP). A worker
survives it: it reconnects and goes on. A write answers as usual while the broker is
away: its work is in the database, and the sweep sends it once the broker is back."""

import time

import pytest
from django.db import transaction

from contacts.models import Contact
from jobs import registry
from jobs.models import Job
from jobs.services import job_start
from jobs.sweep import sweep
from segments.models import Segment
from tests.api_helpers import ApiClient
from tests.factories import WorkspaceFactory
from workspaces.services import api_key_create

pytestmark = pytest.mark.services
WORKER_INCLUDE = [__name__]  # the worker imports this module: it knows the kind below
# Seconds a write may take with Redis down. Refused connections fail at once. A hung
# Redis (frozen) costs each call its socket timeout (config/settings/base.py), about
# 8 s in all, never a hang: the rate limit's cache call (1 s), the wake's cache add
# (1 s), the publish on a pooled connection, its reconnect and its retry (3 x 2 s).
WRITE_LIMIT = {"killed": 2.0, "frozen": 12.0}


def nap(context):
    """A job of params["seconds"], in steps of 0.1 s, each saved like a real chunk."""
    steps = round(context.job.params["seconds"] * 10)
    for step in range(context.job.done, steps):
        time.sleep(0.1)
        with transaction.atomic():
            context.advance(done=step + 1, total=steps)


registry.register(registry.JobKind("test_nap", "Nap", nap))


def start_nap(workspace, seconds: float, title: str) -> Job:
    return job_start(workspace=workspace, kind="test_nap", title=title, params={"seconds": seconds})


def wait_for(check, what: str, worker, timeout: float = 20.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        if not worker.alive():
            pytest.fail(f"{what}: the worker exited. Its log:\n{worker.log()[-5000:]}")
        time.sleep(0.1)
    pytest.fail(f"{what}: not within {timeout} s. Worker log:\n{worker.log()[-5000:]}")


def status(job: Job) -> str:
    job.refresh_from_db()
    return job.status


def restart_empty(redis) -> None:
    """Kill Redis as a crash would, leave it down a moment, start it again empty."""
    redis.kill()
    time.sleep(1.0)
    redis.start()


def assert_survived(worker) -> None:
    log = worker.log()
    assert worker.alive(), f"The worker exited:\n{log[-5000:]}"
    assert "Unrecoverable error" not in log, log[-5000:]
    assert "Connection to broker lost" in log  # it did see the broker go


def test_an_idle_worker_survives_redis_restarting_empty(worker_on_private_redis, private_redis):
    worker = worker_on_private_redis
    workspace = WorkspaceFactory()
    before = start_nap(workspace, 0, "Before")
    wait_for(lambda: status(before) == Job.Status.DONE, "a job before the restart", worker)

    restart_empty(private_redis)

    after = start_nap(workspace, 0, "After")
    wait_for(lambda: status(after) == Job.Status.DONE, "a job sent after the restart", worker)
    assert_survived(worker)


def test_a_worker_goes_on_when_redis_dies_under_a_running_job(
    worker_on_private_redis, private_redis, settings
):
    # The case that used to stop the worker: a message delivered and not acknowledged
    # (a running job) while the worker waits on Redis for the next one.
    worker = worker_on_private_redis
    workspace = WorkspaceFactory()
    running = start_nap(workspace, 3, "Running")
    wait_for(lambda: status(running) == Job.Status.RUNNING and running.done, "started", worker)

    restart_empty(private_redis)

    # Its work needs the database, not the broker: it ends, counted once.
    wait_for(lambda: status(running) == Job.Status.DONE, "the running job", worker)
    assert (running.done, running.total, running.attempts) == (30, 30, 1)
    later = [start_nap(workspace, 0.2, f"Later {n}") for n in range(3)]
    wait_for(lambda: all(status(job) == Job.Status.DONE for job in later), "later jobs", worker)
    assert_survived(worker)


def test_a_job_whose_message_was_lost_is_sent_again_by_the_sweep(
    app_on_private_redis, private_redis, settings
):
    # Redis is down when the job starts: the start succeeds, the message is not sent.
    settings.BACKGROUND_SWEEP_SECONDS = 0
    workspace = WorkspaceFactory()
    private_redis.kill()
    job = start_nap(workspace, 0, "While down")
    assert status(job) == Job.Status.QUEUED
    assert sweep() == 0  # still down: nothing could be sent

    private_redis.start()
    assert sweep() == 1
    app = app_on_private_redis
    with app.connection_for_write() as connection:
        assert connection.default_channel.client.llen(app.conf.task_default_queue) == 1


@pytest.mark.parametrize("broker", ["killed", "frozen"])
def test_writes_answer_as_usual_while_redis_is_down(app_on_private_redis, private_redis, broker):
    workspace = WorkspaceFactory()
    api = ApiClient(api_key_create(workspace=workspace, name="CRM")[1])
    assert api.post("/contacts", {"email": "before@x.io"}).status_code == 201
    if broker == "killed":
        private_redis.kill()
    else:  # accepts connections, never answers: only timeouts end a call
        private_redis.freeze()

    writes = {
        "/contacts": {"email": "during@x.io", "country": "DE"},
        "/segments": {
            "name": "Germans",
            "kind": "filter",
            "conditions": {"all": [{"field": "country", "op": "eq", "value": "DE"}]},
        },
    }
    if broker == "frozen":  # each write waits out the same timeouts: one is enough
        del writes["/segments"]
    for path, body in writes.items():
        start = time.monotonic()
        response = api.post(path, body)
        took = time.monotonic() - start
        assert response.status_code == 201, (path, response.content)
        assert took < WRITE_LIMIT[broker], f"POST {path} took {took:.1f} s, Redis {broker}"
    assert Contact.objects.filter(workspace=workspace, email="during@x.io").exists()
    if broker == "killed":
        assert Segment.objects.filter(workspace=workspace, name="Germans").exists()

"""Segment actions on PostgreSQL + Redis + real Celery workers: an export, a reset of
the score and a delete of all contacts run on a worker to 100% with the author's
notification; and a worker SIGKILLed in the middle of each, then another one started
(the dead one's lease runs out, the sweep sends the job again): the job finishes and
its result is an uninterrupted run's (the file holds each member once; exactly the
members' scores reset; exactly the members deleted).

"In the middle" is made sure of, not hoped for: this test holds a lock the job needs
halfway (a member's row for reset and delete, whose earlier chunks have committed by
then; the tags table for the export, which is writing its file), kills the worker
while it waits on it, and lets go."""

import csv
import io
from functools import partial

import psycopg
import pytest
from django.core.files.storage import default_storage
from django.db import connection

from contacts import exports
from contacts.models import Contact, ContactTag, Tag
from jobs.models import Job
from segments import actions, services
from tests.conftest import _test_database_url
from tests.killable import KillableWorker, own_queue, sweeping_until_ended, wait
from workspaces.models import Notification

pytestmark = pytest.mark.services
LEASE_SECONDS = 5
SWEEP_SECONDS = 2
CONTACTS = 5_000
MEMBERS = range(500, 4_000)  # the members: positions in id order (3,500, 4 chunks)

Worker = partial(KillableWorker, lease_seconds=LEASE_SECONDS, concurrency=1)


@pytest.fixture
def queue(redis_url, postgres, transactional_db, settings):
    yield from own_queue(
        "actions", settings, lease_seconds=LEASE_SECONDS, sweep_seconds=SWEEP_SECONDS
    )


@pytest.fixture
def segment(workspace, user):
    """A manual segment of 3,500 of the workspace's 5,000 contacts; every contact has a
    score (1 to 9) and a tag."""
    Contact.objects.bulk_create(
        Contact(workspace=workspace, email=f"p{i}@acme.test", score=i % 9 + 1)
        for i in range(CONTACTS)
    )
    ids = list(workspace.contacts.order_by("pk").values_list("pk", flat=True))
    tag = Tag.objects.create(workspace=workspace, name="vip")
    ContactTag.objects.bulk_create(ContactTag(contact_id=pk, tag=tag) for pk in ids)
    vip = services.segment_create(workspace=workspace, name="VIP", kind="manual")
    members = [ids[i] for i in MEMBERS]
    services.segment_members_add(segment=vip, lookup="id", values=members)
    vip.member_ids = members
    return vip


def waiting_on_a_lock() -> bool:
    """A worker's statement waits for the lock this test holds."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


def export_rows(job: Job) -> list[dict]:
    with default_storage.open(job.result_file, "rb") as handle:
        return list(csv.DictReader(io.StringIO(handle.read().decode("utf-8"))))


def start(segment, user, name: str) -> Job:
    if name == "export":
        return exports.export_start(
            workspace=segment.workspace,
            user=user,
            contact_set=actions.members(segment),
            format="csv",
            name="members",
        )
    return actions.action_start(segment=segment, action=name, user=user, reason="test")


def check_result(name: str, job: Job, segment, workspace, scores: dict) -> None:
    """What an uninterrupted run leaves: progress at 100%, the author's notification,
    and the action done exactly to the members."""
    members = segment.member_ids
    job.refresh_from_db()
    assert job.status == Job.Status.DONE, job.message
    assert job.done == job.total == len(members) and job.percent == 100
    note = Notification.objects.get(user=job.created_by, title=f"Done: {job.title}")
    assert note.body == job.message
    if name == "export":
        rows = export_rows(job)
        assert [row["email"] for row in rows] == [f"p{i}@acme.test" for i in MEMBERS]
        assert all(row["tags"] == "vip" for row in rows)
        assert job.message == f"Exported {len(members):,} contacts to members.csv."
        _, files = default_storage.listdir(job.result_file.rsplit("/", 1)[0])
        assert not [f for f in files if ".attempt-" in f]  # no attempt's file left
        default_storage.delete(job.result_file)
    elif name == "reset_score":
        now = dict(workspace.contacts.values_list("pk", "score"))
        assert {pk for pk, score in now.items() if score == 0} == set(members)
        assert all(now[pk] == scores[pk] for pk in now if pk not in set(members))
        assert job.counters["done"] == len(members)  # each member's score reset once
    else:
        left = set(workspace.contacts.values_list("pk", flat=True))
        assert left == set(scores) - set(members)
        assert job.counters["done"] == len(members)  # each member deleted once
        assert not segment.members.exists()


@pytest.mark.parametrize("name", ["export", "reset_score", "delete_all"])
def test_an_action_runs_on_a_worker_to_the_end(
    queue, postgres, redis_url, tmp_path, workspace, user, segment, name
):
    scores = dict(workspace.contacts.values_list("pk", "score"))
    worker = Worker(queue, postgres, redis_url, tmp_path / "worker.log")
    try:
        job = start(segment, user, name)
        sweeping_until_ended(job, 120, worker.log)
    finally:
        worker.stop()
    check_result(name, job, segment, workspace, scores)
    assert job.attempts == 1


@pytest.mark.parametrize("name", ["export", "reset_score", "delete_all"])
def test_a_worker_killed_in_the_middle_then_a_new_one(
    queue, postgres, redis_url, tmp_path, workspace, user, segment, name
):
    scores = dict(workspace.contacts.values_list("pk", "score"))
    log = tmp_path / "worker.log"
    lock = psycopg.connect(_test_database_url(postgres))  # a transaction of its own
    if name == "export":
        lock.execute("LOCK TABLE contacts_contacttag IN ACCESS EXCLUSIVE MODE")
    else:  # the 3rd chunk's first member: two chunks commit before it
        held = segment.member_ids[2 * actions.CHUNK_SIZE]
        lock.execute("SELECT id FROM contacts_contact WHERE id = %s FOR UPDATE", [held])
    first = Worker(queue, postgres, redis_url, log)
    try:
        job = start(segment, user, name)
        wait(waiting_on_a_lock, 60, "the job to reach the held lock", first.log)
        first.kill()
    finally:
        first.stop()
        lock.rollback()
        lock.close()
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and job.attempts == 1
    if name != "export":
        assert job.done == 2 * actions.CHUNK_SIZE  # what committed before the kill

    second = Worker(queue, postgres, redis_url, log)
    try:
        sweeping_until_ended(job, 120, second.log)
    finally:
        second.stop()
    check_result(name, job, segment, workspace, scores)
    assert job.attempts == 2

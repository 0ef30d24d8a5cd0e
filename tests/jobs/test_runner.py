"""Jobs: recorded in the caller's transaction, run under a lease, resumable from the
checkpoint saved with each chunk, cancellable, ending in a notification."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from jobs import registry, runner, services, sweep
from jobs.models import Job
from workspaces.errors import KithError
from workspaces.models import Notification

# A kind of job for these tests: counts to params["n"] in chunks of 10, keeping the
# numbers it has done in the checkpoint; "fail_at" makes one chunk raise.
SEEN: list[int] = []


def count_up(context):
    job = context.job
    start = (job.checkpoint or {}).get("next", 0)
    n = job.params["n"]
    for first in range(start, n, 10):
        context.raise_if_cancelled()
        chunk = list(range(first, min(first + 10, n)))
        with transaction.atomic():
            if job.params.get("fail_at") in chunk:
                raise RuntimeError("the chunk broke")
            SEEN.extend(chunk)
            context.advance(
                add_done=len(chunk),
                counters={"counted": len(chunk)},
                checkpoint={"next": first + 10},
            )
        if job.params.get("cancel_after") == first:
            services.job_cancel(job=job)
    context.set_result(url="/contacts/", message=f"Counted {n}.")


registry.register(registry.JobKind("count_up", "Count up", count_up))


@pytest.fixture(autouse=True)
def _seen():
    SEEN.clear()


@pytest.fixture
def start(django_capture_on_commit_callbacks):
    """Start a count_up job; the worker (tasks run inline here) runs it at commit."""

    def start(workspace, user, **params):
        with django_capture_on_commit_callbacks(execute=True):
            return services.job_start(
                workspace=workspace,
                kind="count_up",
                title="Count",
                params=params,
                user=user,
                total=params["n"],
            )

    return start


def test_a_job_runs_to_the_end_and_tells_who_started_it(workspace, user, start):
    job = start(workspace, user, n=35)  # eager tasks: it ran after the commit
    job.refresh_from_db()
    assert job.status == Job.Status.DONE
    assert (job.done, job.total, job.percent) == (35, 35, 100)
    assert job.counters == {"counted": 35}
    assert list(range(35)) == SEEN
    note = Notification.objects.get(user=user)
    assert note.title == "Done: Count" and note.url == "/contacts/" and note.level == "success"
    assert note.body == "Counted 35."


def test_a_job_in_a_rolled_back_transaction_never_existed(
    workspace, user, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks() as sent,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.job_start(workspace=workspace, kind="count_up", title="C", params={"n": 5})
        raise RuntimeError("the change that asked for it failed")
    assert sent == [] and not Job.objects.exists() and SEEN == []


def test_a_taken_over_job_resumes_from_its_checkpoint(workspace, user):
    job = Job.objects.create(
        workspace=workspace,
        kind="count_up",
        title="Count",
        params={"n": 30},
        total=30,
        done=20,
        checkpoint={"next": 20},
        status=Job.Status.RUNNING,
        leased_by="a dead worker",
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert runner.run(job.pk) == Job.Status.DONE
    job.refresh_from_db()
    assert list(range(20, 30)) == SEEN and job.done == 30 and job.attempts == 1


def test_a_live_lease_keeps_other_workers_out(workspace, user):
    job = Job.objects.create(
        workspace=workspace,
        kind="count_up",
        title="Count",
        params={"n": 10},
        status=Job.Status.RUNNING,
        leased_by="a live worker",
        lease_expires_at=timezone.now() + timedelta(seconds=60),
    )
    assert runner.run(job.pk) == "skipped"
    assert SEEN == []
    assert job not in sweep.stalled_jobs()


def test_a_chunk_after_the_lease_was_lost_is_rolled_back(workspace, user):
    job = Job.objects.create(workspace=workspace, kind="count_up", title="Count", params={"n": 20})
    context = runner.JobContext(runner._claim(job.pk, "me"), "me")
    Job.objects.filter(pk=job.pk).update(leased_by="another worker")
    with pytest.raises(runner.LeaseLost), transaction.atomic():
        SEEN.append(1)
        Job.objects.filter(pk=job.pk).update(title="changed by the chunk")
        context.advance(add_done=10)
    job.refresh_from_db()
    assert job.title == "Count" and job.done == 0


def test_a_failing_chunk_fails_the_job_and_keeps_earlier_chunks(workspace, user, start):
    job = start(workspace, user, n=40, fail_at=25)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.done == 20 and list(range(20)) == SEEN
    assert "the chunk broke" in job.message
    assert Notification.objects.get(user=user).level == "error"


def test_cancel_stops_between_chunks_and_says_how_far_it_got(workspace, user, start):
    job = start(workspace, user, n=100, cancel_after=10)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert job.done == 20 and "20 of 100" in job.message
    assert Notification.objects.get(user=user).title == "Cancelled: Count"


def test_a_queued_job_is_cancelled_at_once_and_an_ended_one_cannot_be(workspace, user):
    job = Job.objects.create(workspace=workspace, kind="count_up", title="Count", params={"n": 5})
    services.job_cancel(job=job)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert runner.run(job.pk) == "skipped"
    with pytest.raises(KithError, match="already ended") as refused:
        services.job_cancel(job=job)
    assert (refused.value.code, refused.value.status) == ("job_ended", 409)


def test_the_sweep_sends_again_what_nobody_works_on(workspace, user, settings):
    settings.BACKGROUND_SWEEP_SECONDS = 60
    old = timezone.now() - timedelta(minutes=5)
    stalled = Job.objects.create(
        workspace=workspace, kind="count_up", title="Lost", params={"n": 10}, dispatched_at=old
    )
    just_sent = Job.objects.create(
        workspace=workspace,
        kind="count_up",
        title="New",
        params={"n": 10},
        dispatched_at=timezone.now(),
    )
    assert list(sweep.stalled_jobs()) == [stalled]
    sweep.sweep_jobs()  # eager: runs it
    stalled.refresh_from_db()
    just_sent.refresh_from_db()
    assert stalled.status == Job.Status.DONE and just_sent.status == Job.Status.QUEUED


def test_unknown_kinds_are_refused(workspace, user):
    with pytest.raises(KithError, match="Unknown kind of job 'nope'"):
        services.job_start(workspace=workspace, kind="nope", title="x")
    assert not Job.objects.exists()

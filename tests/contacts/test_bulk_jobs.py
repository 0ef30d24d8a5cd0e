"""Contact-list bulk actions on more than BULK_JOB_THRESHOLD contacts run as jobs: exact
results (every matching contact, no other), progress to 100%, a notification, a
resume from the checkpoint; smaller ones stay immediate. Tasks run inline here, so a
job started by a request has run by the time the request's commit callbacks have."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts import jobs as contact_jobs
from contacts.models import Contact, ContactTag, Tag
from contacts.sets import ContactSet
from jobs import runner
from jobs.models import Job
from segments import services as segment_services
from segments.models import SegmentMember
from tests.factories import ContactFactory
from workspaces.models import Notification

pytestmark = pytest.mark.django_db

BULK = reverse("contacts:bulk")
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def people(workspace, other_workspace):
    """23 French and 4 German contacts here, 3 French ones in another workspace."""
    french = ContactFactory.create_batch(23, workspace=workspace, country="FR")
    ContactFactory.create_batch(4, workspace=workspace, country="DE")
    ContactFactory.create_batch(3, workspace=other_workspace, country="FR")
    return french


@pytest.fixture
def small_jobs(settings, monkeypatch):
    """A threshold of 10 contacts, chunks of 5."""
    settings.BULK_JOB_THRESHOLD = 10
    monkeypatch.setattr(contact_jobs, "CHUNK_SIZE", 5)


def tagged(workspace, name: str) -> set[int]:
    return set(
        ContactTag.objects.filter(tag__workspace=workspace, tag__name=name).values_list(
            "contact_id", flat=True
        )
    )


def post(client, data, capture, **headers):
    with capture(execute=True):  # the job is sent after commit, and runs inline
        return client.post(BULK, data, **headers)


def test_tagging_all_that_match_above_the_threshold_is_a_job(
    client_in, workspace, user, people, small_jobs, django_capture_on_commit_callbacks
):
    data = {"action": "tag", "all_matching": "1", "query": "country=FR", "tag-name": "vip"}
    response = post(client_in, data, django_capture_on_commit_callbacks)
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert job.kind == "contacts_bulk" and job.created_by == user
    assert job.title == "Add tag “vip”: all contacts that match country FR"
    assert job.params == {"action": "tag", "data": {"name": "vip"}, "query": "country=FR"}
    assert job.status == Job.Status.DONE
    assert (job.done, job.total, job.percent) == (23, 23, 100)
    assert job.counters == {"tagged": 23}
    assert job.message == "Tagged 23 contacts with “vip”."
    assert job.result_url == "/contacts/?country=FR"
    assert tagged(workspace, "vip") == {p.pk for p in people}  # all of them, no other
    note = Notification.objects.get(user=user)
    assert note.title == "Done: Add tag “vip”: all contacts that match country FR"
    assert note.body == "Tagged 23 contacts with “vip”." and note.url == "/contacts/?country=FR"
    page = client_in.get(job.get_absolute_url()).content.decode()
    assert "Started in the background: Add tag “vip”" in page and "23 of 23" in page


def test_adding_all_that_match_to_segments_as_a_job(
    client_in, workspace, user, people, small_jobs, django_capture_on_commit_callbacks
):
    a = segment_services.segment_create(workspace=workspace, name="A", kind="manual")
    b = segment_services.segment_create(workspace=workspace, name="B", kind="manual")
    segment_services.segment_members_add(segment=a, lookup="id", values=[people[0].pk])
    data = {
        "action": "add_to_segments",
        "all_matching": "1",
        "query": "country=FR&sort=oldest",
        "add_to_segments-segments": [a.pk, b.pk],
    }
    response = post(client_in, data, django_capture_on_commit_callbacks, **HTMX)
    job = Job.objects.get()
    assert response.status_code == 200 and response["HX-Redirect"] == job.get_absolute_url()
    assert job.title == "Add to “A” and “B”: all contacts that match country FR"
    assert job.status == Job.Status.DONE and job.percent == 100
    assert job.counters == {"added to “A”": 22, "added to “B”": 23}
    assert job.message == "Added 22 contacts to “A” and 23 contacts to “B”."
    for segment in (a, b):
        members = SegmentMember.objects.filter(segment=segment).values_list("contact", flat=True)
        assert set(members) == {p.pk for p in people}
        segment.refresh_from_db()
        assert segment.member_count == 23

    data = {
        "action": "remove_from_segment",
        "all_matching": "1",
        "query": "country=FR",
        "remove_from_segment-segment": b.pk,
    }
    post(client_in, data, django_capture_on_commit_callbacks)
    job = Job.objects.latest("id")
    assert job.title == "Remove from “B”: all contacts that match country FR"
    assert job.message == "Removed 23 contacts from “B”." and job.counters == {"removed": 23}
    assert not SegmentMember.objects.filter(segment=b).exists()


def test_checked_contacts_above_the_threshold_are_a_job_too(
    client_in, workspace, people, settings, django_capture_on_commit_callbacks
):
    settings.BULK_JOB_THRESHOLD = 3
    chosen = [p.pk for p in people[:7]]
    data = {"action": "tag", "ids": chosen, "tag-name": "picked"}
    post(client_in, data, django_capture_on_commit_callbacks)
    job = Job.objects.get()
    assert job.params["ids"] == chosen and job.title == "Add tag “picked”: 7 checked contacts"
    assert job.status == Job.Status.DONE and (job.done, job.total) == (7, 7)
    assert tagged(workspace, "picked") == set(chosen)


def test_below_the_threshold_it_stays_immediate(
    client_in, workspace, people, small_jobs, django_capture_on_commit_callbacks
):
    data = {"action": "tag", "all_matching": "1", "query": "country=DE", "tag-name": "few"}
    with CaptureQueriesContext(connection) as ctx:
        response = post(client_in, data, django_capture_on_commit_callbacks, **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == "/contacts/"
    assert not Job.objects.exists()
    german = set(
        Contact.objects.filter(workspace=workspace, country="DE").values_list("pk", flat=True)
    )
    assert tagged(workspace, "few") == german
    # "How many?" is a count that stops after the threshold, never a COUNT of everything.
    counts = [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT 11" in sql.upper() for sql in counts), counts
    page = client_in.get(reverse("contacts:list")).content.decode()
    assert "Tagged 4 contacts with “few”." in page


def test_the_list_says_a_large_selection_runs_in_the_background(
    client_in, workspace, people, small_jobs
):
    ContactFactory.create_batch(40, workspace=workspace, country="FR")  # more than a page
    page = client_in.get(reverse("contacts:list"), {"country": "FR"}).content.decode()
    assert "All 63 contacts that match" in page and "runs in the background" in page


def test_a_job_resumes_after_its_last_committed_chunk(workspace, user, people):
    """A worker died after two chunks: the next one starts from the checkpoint and
    never touches the contacts before it."""
    ordered = sorted(p.pk for p in people)
    job = Job.objects.create(
        workspace=workspace,
        kind="contacts_bulk",
        title="Add tag",
        params={"action": "tag", "data": {"name": "late"}, "query": "country=FR"},
        created_by=user,
        status=Job.Status.RUNNING,
        total=23,
        done=10,
        counters={"tagged": 10},
        checkpoint={"last": ordered[9], "until": ordered[-1]},
    )
    later = ContactFactory(workspace=workspace, country="FR")  # after the job began
    assert runner.run(job.pk) == Job.Status.DONE
    job.refresh_from_db()
    assert tagged(workspace, "late") == set(ordered[10:])
    assert later.pk not in tagged(workspace, "late")
    assert job.done == 23 and job.counters == {"tagged": 23}
    assert job.message == "Tagged 23 contacts with “late”."


def test_a_cancelled_job_stops_between_chunks(workspace, user, people, monkeypatch):
    monkeypatch.setattr(contact_jobs, "CHUNK_SIZE", 5)
    job = contact_jobs.bulk_job_start(
        workspace=workspace,
        action=contact_jobs.bulk.get("tag"),
        data={"name": "half"},
        user=user,
        contacts=ContactSet.matching(workspace, "country=FR"),
    )
    advance = runner.JobContext.advance

    def advance_then_cancel(context, **kwargs):
        advance(context, **kwargs)
        if context.job.done >= 10:
            Job.objects.filter(pk=context.job.pk).update(cancel_requested_at=job.created_at)

    monkeypatch.setattr(runner.JobContext, "advance", advance_then_cancel)
    runner.run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED and job.done == 10
    assert len(tagged(workspace, "half")) == 10 and "10 of 23" in job.message


def test_a_job_whose_segment_was_deleted_fails_saying_so(
    workspace, user, people, small_jobs, django_capture_on_commit_callbacks
):
    segment = segment_services.segment_create(workspace=workspace, name="Gone", kind="manual")
    job = contact_jobs.bulk_job_start(
        workspace=workspace,
        action=contact_jobs.bulk.get("add_to_segments"),
        data={"segments": [segment.pk]},
        user=user,
        contacts=ContactSet.matching(workspace, ""),
    )
    segment.delete()
    runner.run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.message == "Stopped after 0 contacts: Some of these segments no longer exist."
    assert Notification.objects.get(user=user).level == "error"


def test_a_job_on_segments_that_do_not_exist_is_refused_before_it_starts(
    client_in, workspace, people, small_jobs, django_capture_on_commit_callbacks
):
    data = {
        "action": "add_to_segments",
        "all_matching": "1",
        "query": "",
        "add_to_segments-segments": ["999999"],
    }
    response = post(client_in, data, django_capture_on_commit_callbacks, **HTMX)
    assert "Some of these segments no longer exist." in response.content.decode()
    assert not Job.objects.exists()


def test_form_data_is_kept_as_json():
    tag = Tag(pk=7, name="x")
    assert contact_jobs.json_safe({"tag": tag, "ids": (1, 2), "name": "n"}) == {
        "tag": 7,
        "ids": [1, 2],
        "name": "n",
    }

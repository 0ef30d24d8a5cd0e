"""A segment's actions on all its members, each a background job (tasks run inline
here: a job started by a request has run once the request's commit callbacks have):
reset score (a reason and "I agree"), remove all members (manual segments only),
delete all contacts (the count first, the name typed again), each with exact results,
progress to 100%, a notification, and a clear record when cancelled; another
workspace's segment is a 404."""

import pytest
from django.db import transaction
from django.urls import reverse

from contacts.models import Contact
from contacts.writer import contacts_insert_new
from jobs import runner
from jobs.models import Job
from jobs.services import job_cancel
from segments import actions, services
from segments.models import SegmentMember
from tests.factories import ContactFactory
from tests.segments.views.pages import filtered, manual, unescaped
from workspaces.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(workspace, other_workspace):
    """12 French contacts with scores, 3 German; 2 French in another workspace."""
    french = [ContactFactory(workspace=workspace, country="FR", score=i + 1) for i in range(12)]
    ContactFactory.create_batch(3, workspace=workspace, country="DE", score=7)
    ContactFactory.create_batch(2, workspace=other_workspace, country="FR", score=9)
    return french


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(actions, "CHUNK_SIZE", 5)


def url(name, segment):
    return reverse(f"segments:{name}", args=[segment.pk])


def post(client, address, data, capture):
    with capture(execute=True):
        return client.post(address, data)


def test_reset_score_needs_a_reason_and_agreement_then_resets_every_member(
    client_in, workspace, user, people, small_chunks, django_capture_on_commit_callbacks
):
    segment = filtered(workspace, django_capture_on_commit_callbacks)
    address = url("reset_score", segment)
    page = unescaped(client_in.get(address))
    assert "The score of its 12 members becomes 0." in page

    response = post(
        client_in, address, {"reason": "", "agree": ""}, django_capture_on_commit_callbacks
    )
    page = unescaped(response)
    assert response.status_code == 400
    assert "Give a reason for resetting the scores." in page
    assert "Check “I agree” to reset the scores." in page
    response = post(client_in, address, {"reason": "New model"}, django_capture_on_commit_callbacks)
    assert response.status_code == 400 and not Job.objects.exists()

    data = {"reason": "New scoring model", "agree": "on"}
    response = post(client_in, address, data, django_capture_on_commit_callbacks)
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert job.title == f"Reset score of “French” by {user.username}: New scoring model"
    assert job.params["reason"] == "New scoring model" and job.params["author"] == user.username
    assert job.status == Job.Status.DONE and (job.done, job.total, job.percent) == (12, 12, 100)
    assert job.message == "Reset score of “French”: 12 contacts had their score reset."
    scores = dict(Contact.objects.values_list("pk", "score"))
    assert all(scores[p.pk] == 0 for p in people)
    assert sorted(s for pk, s in scores.items() if pk not in {p.pk for p in people}) == [
        7,
        7,
        7,
        9,
        9,
    ]
    note = Notification.objects.get(user=user)
    assert note.title == f"Done: {job.title}" and note.body == job.message
    assert note.url == url("detail", segment)


def test_reset_score_leaves_the_segment_following_the_scores(
    client_in, workspace, people, django_capture_on_commit_callbacks
):
    high = filtered(
        workspace,
        django_capture_on_commit_callbacks,
        name="High",
        conditions={"all": [{"field": "score", "op": "gt", "value": 5}]},
    )
    assert high.member_count == 10  # scores 6..12 of the French, 7 of the Germans
    data = {"reason": "Season", "agree": "on"}
    post(client_in, url("reset_score", high), data, django_capture_on_commit_callbacks)
    assert Job.objects.get().message == "Reset score of “High”: 10 contacts had their score reset."
    high.refresh_from_db()
    assert high.member_count == 0 and not SegmentMember.objects.filter(segment=high).exists()


def test_remove_all_members_of_a_manual_segment(
    client_in, workspace, user, people, small_chunks, django_capture_on_commit_callbacks
):
    segment = manual(workspace, contacts=people[:8])
    assert "Its 8 members leave the segment" in unescaped(client_in.get(url("remove_all", segment)))
    post(client_in, url("remove_all", segment), {}, django_capture_on_commit_callbacks)
    job = Job.objects.get()
    assert job.status == Job.Status.DONE and job.percent == 100
    assert job.message == "Remove all members of “VIP”: 8 contacts removed."
    segment.refresh_from_db()
    assert segment.member_count == 0 and not SegmentMember.objects.filter(segment=segment).exists()
    assert Contact.objects.filter(workspace=workspace).count() == 15  # the contacts stay
    history = unescaped(client_in.get(url("history", segment)))
    assert "Removed by hand" in history or "by hand" in history
    assert Notification.objects.filter(user=user, title__startswith="Done: Remove all").exists()


def test_remove_all_refuses_a_filter_segment(
    client_in, workspace, people, django_capture_on_commit_callbacks
):
    segment = filtered(workspace, django_capture_on_commit_callbacks)
    response = post(client_in, url("remove_all", segment), {}, django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert "Only a manual segment's members can be removed." in unescaped(response)
    assert not Job.objects.exists() and SegmentMember.objects.filter(segment=segment).count() == 12


def test_delete_all_contacts_shows_the_count_and_wants_the_name_typed(
    client_in, workspace, user, people, small_chunks, django_capture_on_commit_callbacks
):
    segment = filtered(workspace, django_capture_on_commit_callbacks)
    address = url("delete_all", segment)
    assert "12 contacts will be deleted for good" in unescaped(client_in.get(address))
    for typed in ("", "french", "Frenc"):
        response = post(client_in, address, {"name": typed}, django_capture_on_commit_callbacks)
        assert response.status_code == 400
    assert "Type “French” exactly to confirm." in unescaped(response)
    assert not Job.objects.exists() and Contact.objects.count() == 17

    post(client_in, address, {"name": "French"}, django_capture_on_commit_callbacks)
    job = Job.objects.get()
    assert job.status == Job.Status.DONE and (job.done, job.total) == (12, 12)
    assert job.message == "Delete all contacts of “French”: 12 contacts deleted."
    assert not Contact.objects.filter(pk__in=[p.pk for p in people]).exists()
    assert Contact.objects.filter(workspace=workspace).count() == 3  # the Germans
    assert Contact.objects.exclude(workspace=workspace).count() == 2
    segment.refresh_from_db()
    assert segment.member_count == 0
    assert Notification.objects.filter(user=user, body=job.message).exists()


def test_a_cancelled_delete_all_says_how_many_were_and_were_not_deleted(
    workspace, user, people, small_chunks, monkeypatch, django_capture_on_commit_callbacks
):
    segment = filtered(workspace, django_capture_on_commit_callbacks)
    job = actions.action_start(segment=segment, action="delete_all", user=user)
    chunk = actions.ACTIONS["delete_all"].chunk
    calls = []

    def chunk_then_cancel(segment, ids):  # the user cancels during the first chunk
        calls.append(ids)
        if len(calls) == 1:
            job_cancel(job=job)
        return chunk(segment, ids)

    monkeypatch.setitem(
        actions.ACTIONS,
        "delete_all",
        actions.Action("delete_all", "Delete all contacts", "deleted", chunk_then_cancel),
    )
    runner.run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert job.message == (
        "Delete all contacts of “French” was cancelled: 5 contacts deleted, 7 contacts not."
    )
    assert Contact.objects.filter(pk__in=[p.pk for p in people]).count() == 7


def test_another_workspaces_segment_is_a_404(
    client_in, other_workspace, django_capture_on_commit_callbacks
):
    theirs = manual(other_workspace, contacts=[ContactFactory(workspace=other_workspace)])
    for name in ("mass_update", "reset_score", "remove_all", "delete_all"):
        assert client_in.get(url(name, theirs)).status_code == 404
        data = {"name": "VIP", "reason": "x", "agree": "on"}
        response = post(client_in, url(name, theirs), data, django_capture_on_commit_callbacks)
        assert response.status_code == 404
    assert not Job.objects.exists() and SegmentMember.objects.filter(segment=theirs).count() == 1


def test_delete_all_of_a_segment_of_50000_contacts(
    client_in, workspace, user, django_capture_on_commit_callbacks
):
    with transaction.atomic():
        ids = contacts_insert_new(
            workspace, ["workspace", "country"], [(workspace.pk, "FR") for _ in range(50_000)]
        )
    ContactFactory.create_batch(3, workspace=workspace, country="DE")
    segment = services.segment_create(workspace=workspace, name="Big", kind="manual")
    services.segment_contacts_add(segment=segment, contacts=Contact.objects.filter(pk__in=ids))
    page = unescaped(client_in.get(url("delete_all", segment)))
    assert "10,000+ contacts will be deleted for good" in page  # a capped count

    post(client_in, url("delete_all", segment), {"name": "Big"}, django_capture_on_commit_callbacks)
    job = Job.objects.get()
    assert job.status == Job.Status.DONE
    assert (job.done, job.total, job.percent) == (50_000, 50_000, 100)
    assert job.message == "Delete all contacts of “Big”: 50,000 contacts deleted."
    assert Contact.objects.filter(workspace=workspace).count() == 3
    segment.refresh_from_db()
    assert segment.member_count == 0
    note = Notification.objects.get(user=user)
    assert note.body == job.message and note.level == "success"


def test_the_segment_page_and_each_dashboard_row_offer_the_actions(
    client_in, workspace, people, django_capture_on_commit_callbacks
):
    vip = manual(workspace, contacts=people[:2])
    french = filtered(workspace, django_capture_on_commit_callbacks)
    page = unescaped(client_in.get(url("detail", vip)))
    for name in ("mass_update", "reset_score", "remove_all", "delete_all"):
        assert f'href="{url(name, vip)}"' in page
    page = unescaped(client_in.get(url("detail", french)))
    assert url("reset_score", french) in page and url("remove_all", french) not in page
    dashboard = unescaped(client_in.get(reverse("segments:list")))
    for segment in (vip, french):
        assert f'aria-label="Actions on {segment.name}"' in dashboard
        assert f'href="{url("delete_all", segment)}"' in dashboard
        assert f'href="{url("delete", segment)}"' in dashboard
    assert f'href="{url("conditions", french)}"' in dashboard  # its Edit
    assert url("remove_all", vip) in dashboard and url("remove_all", french) not in dashboard


def test_a_viewer_gets_no_actions_and_cannot_open_them(member_client, workspace, people):
    client = member_client("viewer")
    vip = manual(workspace, contacts=people[:2])
    assert url("reset_score", vip) not in unescaped(client.get(url("detail", vip)))
    for name in ("mass_update", "reset_score", "remove_all", "delete_all"):
        assert client.get(url(name, vip)).status_code == 403


def test_the_remove_all_page_of_a_filter_segment_says_why_not(
    client_in, workspace, people, django_capture_on_commit_callbacks
):
    segment = filtered(workspace, django_capture_on_commit_callbacks)
    response = client_in.get(url("remove_all", segment))
    assert "Only a manual segment's members can be removed." in unescaped(response)


def test_the_admin_actions_open_the_same_pages(client, workspace, user, people):
    user.is_staff = user.is_superuser = True
    user.save()
    client.force_login(user)
    vip = manual(workspace, contacts=people[:2])
    other = manual(workspace, name="Other")
    changelist = reverse("admin:segments_segment_changelist")
    for name in ("mass_update", "reset_score", "remove_all", "delete_all"):
        response = client.post(changelist, {"action": name, "_selected_action": [vip.pk]})
        assert response.status_code == 302 and response["Location"] == url(name, vip)
        assert client.get(response["Location"]).status_code == 200
    data = {"action": "delete_all", "_selected_action": [vip.pk, other.pk]}
    response = client.post(changelist, data, follow=True)
    assert "Select exactly one segment." in unescaped(response)
    assert not Job.objects.exists()

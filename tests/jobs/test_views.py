"""The Activity pages: the list, a job's page, its polled progress (286 once ended),
cancel, the result file's download, all scoped to the workspace; the jobs admin and
the segments admin's refresh, which runs as a job."""

import html
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from jobs.models import Job
from segments import services as segment_services
from segments.models import SegmentMember
from tests.factories import UserFactory
from workspaces.models import Notification, Role

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
LIST = reverse("jobs:list")


def make_job(workspace, user=None, **fields) -> Job:
    now = timezone.now()
    defaults = {
        "kind": "contacts_bulk",
        "title": "Add tag: all contacts",
        "status": Job.Status.RUNNING,
        "started_at": now - timedelta(seconds=90),
        "created_by": user,
    }
    defaults.update(fields)
    if defaults["status"] not in Job.OPEN:
        defaults.setdefault("finished_at", now)
    return Job.objects.create(workspace=workspace, **defaults)


def text(response) -> str:
    return response.content.decode()


def rows(page: str) -> list[str]:
    return re.findall(r'<tr data-job-id="(\d+)"', page)


def next_cursor(page: str) -> str:
    href = html.unescape(re.search(r'rel="next" href="([^"]+)"', page).group(1))
    return parse_qs(urlsplit(href).query)["cursor"][0]


# ---------------------------------------------------------------- the list


def test_the_list_shows_kind_status_progress_who_when_and_result(client_in, workspace, user):
    running = make_job(workspace, user, title="Tag the French", total=200, done=50)
    done = make_job(
        workspace,
        user,
        title="Add to VIP",
        status=Job.Status.DONE,
        total=10,
        done=10,
        result_url="/contacts/?country=FR",
        message="Added 10 contacts to “VIP”.",
    )
    failed = make_job(
        workspace, None, title="Broken", status=Job.Status.FAILED, message="It failed: boom"
    )
    exported = make_job(
        workspace, user, title="Export", status=Job.Status.DONE, result_file="exports/a.csv"
    )
    page = text(client_in.get(LIST))
    assert rows(page) == [str(j.pk) for j in (exported, failed, done, running)]
    assert "Contact list action" in page  # the kind's label, from the registry
    assert ">Running</span>" in page and ">Done</span>" in page and ">Failed</span>" in page
    assert 'max="100" value="25"' in page and "50 of 200" in page
    assert ">owner<" in page and ">Kith<" in page  # a job started by nobody: the app
    assert "1 min 30 s" in page  # 90 seconds so far
    assert 'href="/contacts/?country=FR">Open</a>' in page
    assert "Added 10 contacts to “VIP”." in page and "It failed: boom" in page
    assert f'href="{reverse("jobs:download", args=[exported.pk])}">Download</a>' in page
    # An open job on the page: the list redraws itself until it ends.
    assert 'hx-trigger="every 2s"' in page
    running.status = Job.Status.DONE
    running.save()
    assert 'hx-trigger="every 2s"' not in text(client_in.get(LIST))


def test_an_empty_list_says_so(client_in, workspace):
    page = text(client_in.get(LIST))
    assert "Nothing has run in the background yet" in page
    assert "No jobs match" in text(client_in.get(LIST, {"status": "failed"}))


def test_the_list_pages_by_keyset_in_a_fixed_number_of_queries(client_in, workspace, user):
    def queries():
        with CaptureQueriesContext(connection) as ctx:
            response = client_in.get(LIST)
        assert response.status_code == 200
        return len(ctx.captured_queries)

    for i in range(3):
        make_job(workspace, user, title=f"Job {i}", status=Job.Status.DONE)
    client_in.get(LIST)  # the session's first request may write it
    few = queries()
    other = UserFactory(username="second")
    for i in range(60):
        make_job(workspace, other if i % 2 else user, title=f"More {i}", status=Job.Status.DONE)
    assert queries() == few
    first = text(client_in.get(LIST))
    second = text(client_in.get(LIST, {"cursor": next_cursor(first)}))
    third = text(client_in.get(LIST, {"cursor": next_cursor(second)}))
    seen = rows(first) + rows(second) + rows(third)
    assert len(rows(first)) == 30 and len(seen) == 63 and len(set(seen)) == 63
    assert 'rel="next"' not in third
    bad = text(client_in.get(LIST, {"cursor": "nonsense"}))
    assert "here is the first page" in bad and rows(bad) == rows(first)


def test_the_list_filters_by_status_kind_and_who(client_in, workspace, user):
    mine = make_job(workspace, user, title="Mine, running")
    theirs = make_job(workspace, UserFactory(), title="Theirs, failed", status=Job.Status.FAILED)
    other_kind = make_job(workspace, user, title="A refresh", kind="segments_refresh")
    assert rows(text(client_in.get(LIST, {"status": "failed"}))) == [str(theirs.pk)]
    open_ = rows(text(client_in.get(LIST, {"status": "open"})))
    assert open_ == [str(other_kind.pk), str(mine.pk)]
    kinds = text(client_in.get(LIST, {"kind": "segments_refresh"}))
    assert rows(kinds) == [str(other_kind.pk)]
    assert '<option value="segments_refresh" selected>Refresh segments</option>' in kinds
    assert str(theirs.pk) not in rows(text(client_in.get(LIST, {"started": "me"})))
    bad = client_in.get(LIST, {"status": "nope"})
    assert "Some filters need fixing" in text(bad) and rows(text(bad)) == []
    fragment = text(client_in.get(LIST, {"status": "failed"}, **HTMX))
    assert fragment.lstrip().startswith('<section id="results"') and "<html" not in fragment


def test_the_navigation_links_to_activity(client_in, workspace):
    assert f'<a href="{LIST}">Activity</a>' in text(client_in.get(reverse("contacts:list")))
    assert f'<a href="{LIST}" class="active" aria-current="page">Activity</a>' in text(
        client_in.get(LIST)
    )


# ---------------------------------------------------------------- a job's page


def test_the_job_page_shows_counters_errors_the_result_and_cancel(client_in, workspace, user):
    job = make_job(
        workspace,
        user,
        total=1000,
        done=400,
        counters={"tagged": 380, "skipped_rows": 20},
        errors=[{"row": 12, "error": "Not an email"}, "Something else"],
    )
    page = text(client_in.get(job.get_absolute_url()))
    assert "<h1>Add tag: all contacts</h1>" in page
    assert "Tagged" in page and "380" in page and "Skipped rows" in page
    assert "row 12: Not an email" in page and "Something else" in page
    assert "400 of 1,000" in page and 'value="40"' in page and "left" in page  # time left
    assert f'hx-get="{reverse("jobs:progress", args=[job.pk])}" hx-trigger="every 1s"' in page
    assert f'action="{reverse("jobs:cancel", args=[job.pk])}"' in page
    assert "Open the result" not in page


def test_an_ended_job_shows_its_result_and_no_cancel(client_in, workspace, user, settings):
    job = make_job(
        workspace,
        user,
        status=Job.Status.DONE,
        total=5,
        done=5,
        result_url="/contacts/",
        result_file="exports/people.csv",
        message="Tagged 5 contacts with “vip”.",
    )
    page = text(client_in.get(job.get_absolute_url()))
    assert "hx-trigger" not in page and "Cancel…" not in page
    assert 'href="/contacts/">Open the result</a>' in page
    assert "Download people.csv" in page and "Tagged 5 contacts with “vip”." in page


def test_a_result_link_off_the_site_is_not_drawn(client_in, workspace):
    job = make_job(workspace, status=Job.Status.DONE, result_url="https://evil.test/x")
    assert "evil.test" not in text(client_in.get(job.get_absolute_url()))
    assert "evil.test" not in text(client_in.get(LIST))


def test_progress_polls_while_open_then_stops_with_the_final_state(client_in, workspace, user):
    job = make_job(workspace, user, total=100, done=30)
    url = reverse("jobs:progress", args=[job.pk])
    polling = client_in.get(url, **HTMX)
    assert polling.status_code == 200
    fragment = text(polling)
    assert fragment.lstrip().startswith('<section id="job-state"')
    assert 'hx-trigger="every 1s"' in fragment
    assert "30 of 100" in fragment and "hx-swap-oob" not in fragment
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.DONE,
        done=100,
        finished_at=timezone.now(),
        counters={"tagged": 100},
        message="Tagged 100 contacts with “vip”.",
        result_url="/contacts/?tag=vip",
    )
    final = client_in.get(url, **HTMX)
    assert final.status_code == 286  # htmx stops polling, and swaps this in
    fragment = text(final)
    assert "hx-trigger" not in fragment and ">Done</span>" in fragment
    assert "100 of 100" in fragment and "Tagged 100 contacts with “vip”." in fragment
    # The header's actions, out of band: no Cancel any more, the result's button.
    assert 'id="job-actions" hx-swap-oob="true"' in fragment
    assert "Open the result" in fragment and "Cancel…" not in fragment


def test_a_failed_job_says_why(client_in, workspace):
    job = make_job(workspace, status=Job.Status.FAILED, message="It failed: the disk is full")
    final = client_in.get(reverse("jobs:progress", args=[job.pk]), **HTMX)
    assert final.status_code == 286 and "It failed: the disk is full" in text(final)
    assert 'class="job-message is-error"' in text(final)


# ---------------------------------------------------------------- cancel


def test_cancel_a_queued_job_at_once_and_a_running_one_after_its_chunk(client_in, workspace):
    queued = make_job(workspace, status=Job.Status.QUEUED, started_at=None)
    response = client_in.post(reverse("jobs:cancel", args=[queued.pk]), follow=True)
    queued.refresh_from_db()
    assert queued.status == Job.Status.CANCELLED
    assert "Cancelled before it started." in text(response)

    running = make_job(workspace, leased_by="worker-1")
    response = client_in.post(reverse("jobs:cancel", args=[running.pk]), follow=True)
    running.refresh_from_db()
    assert running.status == Job.Status.RUNNING and running.cancel_requested_at is not None
    page = text(response)
    assert "Cancelling: it stops after the part it is working on" in page
    assert ">Cancelling</span>" in page and "Cancel…" not in page  # asked once is enough

    ended = make_job(workspace, status=Job.Status.DONE)
    response = client_in.post(reverse("jobs:cancel", args=[ended.pk]), follow=True)
    assert "This job has already ended." in text(response)


def test_a_viewer_sees_the_job_but_cannot_cancel_it(member_client, workspace):
    job = make_job(workspace)
    viewer = member_client(Role.VIEWER)
    page = text(viewer.get(job.get_absolute_url()))
    assert "Add tag: all contacts" in page and "Cancel…" not in page
    assert viewer.post(reverse("jobs:cancel", args=[job.pk])).status_code == 403
    job.refresh_from_db()
    assert job.cancel_requested_at is None


def test_another_workspaces_job_does_not_exist_here(client_in, workspace, other_workspace):
    theirs = make_job(other_workspace, title="Globex secret", result_file="exports/a.csv")
    for name in ("jobs:detail", "jobs:progress", "jobs:download"):
        assert client_in.get(reverse(name, args=[theirs.pk])).status_code == 404, name
    assert client_in.post(reverse("jobs:cancel", args=[theirs.pk])).status_code == 404
    assert "Globex secret" not in text(client_in.get(LIST))
    theirs.refresh_from_db()
    assert theirs.cancel_requested_at is None


# ---------------------------------------------------------------- the result file


def test_the_result_file_is_downloaded_through_the_workspace(
    member_client, workspace, other_workspace, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "people.csv").write_text("email\nann@example.com\n")
    (tmp_path / "secret.txt").write_text("not yours")
    job = make_job(workspace, status=Job.Status.DONE, result_file="exports/people.csv")
    viewer = member_client(Role.VIEWER)  # reading a result is not a write
    response = viewer.get(reverse("jobs:download", args=[job.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="people.csv"'
    assert b"".join(response.streaming_content) == b"email\nann@example.com\n"

    theirs = make_job(other_workspace, status=Job.Status.DONE, result_file="exports/people.csv")
    assert viewer.get(reverse("jobs:download", args=[theirs.pk])).status_code == 404
    for path in ("../secret.txt", "/etc/passwd", "exports/gone.csv", ""):
        job.result_file = path
        job.save()
        assert viewer.get(reverse("jobs:download", args=[job.pk])).status_code == 404, path


# ---------------------------------------------------------------- admin


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_the_jobs_admin_never_counts_the_whole_table(admin_client, workspace, user):
    for i in range(3):
        make_job(workspace, user, title=f"Job {i}")
    url = reverse("admin:jobs_job_changelist")
    with CaptureQueriesContext(connection) as ctx:
        response = admin_client.get(url)
    assert response.status_code == 200 and "Job 2" in text(response)
    counts = [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT" in sql.upper() for sql in counts), counts
    job = Job.objects.get(title="Job 1")
    assert admin_client.get(reverse("admin:jobs_job_change", args=[job.pk])).status_code == 200
    admin_client.post(url, {"action": "cancel", "_selected_action": [job.pk]})
    job.refresh_from_db()
    assert job.cancel_requested_at is not None


def test_the_segments_admin_refresh_runs_as_a_job(
    admin_client, workspace, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        french = segment_services.segment_create(
            workspace=workspace,
            name="French",
            kind="filter",
            conditions={"all": [{"field": "country", "op": "eq", "value": "FR"}]},
        )
    # Written behind the engine's back: only a refresh brings them in.
    people = [
        Contact.objects.create(workspace=workspace, email=f"p{i}@x.fr", country="FR")
        for i in range(3)
    ]
    url = reverse("admin:segments_segment_changelist")
    with django_capture_on_commit_callbacks(execute=True):  # tasks run inline here
        response = admin_client.post(
            url, {"action": "refresh", "_selected_action": [french.pk]}, follow=True
        )
    job = Job.objects.get(kind="segments_refresh")
    assert f"follow job #{job.pk}" in text(response)
    assert job.status == Job.Status.DONE and (job.done, job.total) == (1, 1)
    assert job.counters == {"entered": 3, "left": 0}
    assert job.message == "Refreshed “French” and the segments that use them: 3 entered, 0 left."
    members = set(SegmentMember.objects.filter(segment=french).values_list("contact", flat=True))
    assert members == {p.pk for p in people}
    # root is not a member of the workspace: nobody there is told.
    assert not Notification.objects.exists()
    response = admin_client.post(url, {"action": "refresh", "_selected_action": [0]}, follow=True)
    assert "No filter segment selected." in text(response)

"""segments/admin.py: the delete guard names what uses a segment, with links, and the
history says why people entered and left in words, not ids or codes; the export
action starts an export job per segment."""

import csv
import io

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from campaigns.models import CampaignSegment
from jobs import runner
from jobs.models import Job
from segments import services
from segments.models import Segment, SegmentChange, SegmentDependency, Source
from tests.factories import CampaignSegmentFactory, ContactFactory, DeliveryFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def used(workspace):
    """“VIP”, named in the rule of “VIP in Berlin” and used by the campaign “Spring”."""
    vip = services.segment_create(workspace=workspace, name="VIP", kind="manual")
    berlin = services.segment_create(
        workspace=workspace,
        name="VIP in Berlin",
        kind="filter",
        conditions={"all": [{"segment": vip.pk, "op": "in"}]},
    )
    link = CampaignSegmentFactory(
        campaign__workspace=workspace, campaign__name="Spring", segment=vip, role="trigger"
    )
    return vip, berlin, link.campaign


def _change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def _guard(vip, berlin, spring) -> str:
    """The app's delete guard sentence, with links to the admin's pages."""
    return (
        f'“VIP” is used by the segment <a href="{_change_url(berlin)}">VIP in Berlin</a>'
        f' and the campaign <a href="{_change_url(spring)}">Spring</a> (trigger).'
    )


def test_the_delete_page_names_each_user_with_a_link_and_deletes_nothing(admin_client, used):
    vip, berlin, spring = used
    url = reverse("admin:segments_segment_delete", args=[vip.pk])
    html = admin_client.get(url).content.decode()
    assert _guard(vip, berlin, spring) in html
    assert "needs" not in html and "Segment dependency:" not in html
    admin_client.post(url, {"post": "yes"})
    assert Segment.objects.filter(pk=vip.pk).exists()


def test_deleting_selected_segments_says_the_same(admin_client, used):
    vip, berlin, spring = used
    response = admin_client.post(
        reverse("admin:segments_segment_changelist"),
        {"action": "delete_selected", "_selected_action": [vip.pk]},
    )
    html = response.content.decode()
    assert _guard(vip, berlin, spring) in html
    assert Segment.objects.filter(pk=vip.pk).exists()


def test_a_segment_nothing_uses_is_deleted_as_usual(admin_client, workspace):
    alone = services.segment_create(workspace=workspace, name="Alone", kind="manual")
    url = reverse("admin:segments_segment_delete", args=[alone.pk])
    assert "Are you sure" in admin_client.get(url).content.decode()
    admin_client.post(url, {"post": "yes"})
    assert not Segment.objects.filter(pk=alone.pk).exists()


def test_rows_say_what_they_are_in_words(used):
    vip, berlin, spring = used
    dependency = SegmentDependency.objects.get(segment=berlin)
    assert str(dependency) == "“VIP in Berlin” names “VIP” in its rule"
    link = CampaignSegment.objects.get(segment=vip)
    assert str(link) == "“Spring” starts when someone enters “VIP”"
    delivery = DeliveryFactory(campaign=spring, contact__email="ann@example.com")
    assert str(delivery) == "“Spring” to ann@example.com"


@pytest.mark.parametrize(
    ("source", "action", "words"),
    [
        (Source.DATA, "entered", "Their data changed"),
        (Source.RULE, "left", "The rule changed"),
        (Source.SCHEDULE, "left", "Time passed (a time-based condition)"),
        (Source.MANUAL, "entered", "Added by hand"),
        (Source.MANUAL, "left", "Removed by hand"),
        (Source.API, "left", "Removed through the API"),
        (Source.REPAIR, "entered", "Repair: the rule holds but they were missing"),
    ],
)
def test_history_causes_are_words(workspace, source, action, words):
    segment = services.segment_create(workspace=workspace, name="Hand", kind="manual")
    contact = ContactFactory(workspace=workspace, email="ann@example.com")
    change = SegmentChange.objects.create(
        segment=segment, contact=contact, action=action, source=source, at=contact.created_at
    )
    assert change.cause == words
    assert str(change) == f"ann@example.com {action} “Hand”: {words}"


def test_the_history_tab_and_the_admin_list_say_the_cause(client_in, workspace):
    segment = services.segment_create(workspace=workspace, name="Hand", kind="manual")
    contact = ContactFactory(workspace=workspace)
    services.segment_members_add(segment=segment, lookup="id", values=[contact.pk])
    services.segment_members_remove(segment=segment, lookup="id", values=[contact.pk])
    history = client_in.get(reverse("segments:history", args=[segment.pk])).content.decode()
    assert "Added by hand" in history and "Removed by hand" in history
    admin = Client()
    admin.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    listing = admin.get(reverse("admin:segments_segmentchange_changelist"))
    assert "Removed by hand" in listing.content.decode()


@pytest.fixture
def staff(client, user):
    user.is_staff = user.is_superuser = True
    user.save()
    client.force_login(user)
    return client


def _export_rows(job: Job) -> list[list[str]]:
    with default_storage.open(job.result_file, "rb") as handle:
        return list(csv.reader(io.StringIO(handle.read().decode("utf-8"), newline="")))


def test_export_csv_starts_a_job_per_segment_and_opens_it(
    staff, workspace, user, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    ann, bob, _ = (ContactFactory(workspace=workspace, email=f"{n}@acme.test") for n in "abc")
    vip = services.segment_create(workspace=workspace, name="VIP", kind="manual")
    services.segment_members_add(segment=vip, lookup="id", values=[ann.pk, bob.pk])
    changelist = reverse("admin:segments_segment_changelist")
    assert "Export contacts (CSV)" in staff.get(changelist).content.decode()

    response = staff.post(changelist, {"action": "export_csv", "_selected_action": [vip.pk]})

    job = Job.objects.get(kind="export")
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert job.workspace == workspace and job.created_by == user
    assert job.params["name"] == "VIP.csv" and job.params["contacts"] == {
        "query": f"segment={vip.pk}"
    }
    assert staff.get(response["Location"]).status_code == 200  # in the segment's workspace
    assert runner.run(job.pk) == Job.Status.DONE
    job.refresh_from_db()
    rows = _export_rows(job)
    assert sorted(row[rows[0].index("email")] for row in rows[1:]) == [
        "a@acme.test",
        "b@acme.test",
    ]


def test_export_csv_of_several_segments_opens_the_exports_page(staff, workspace, user):
    one = services.segment_create(workspace=workspace, name="One", kind="manual")
    two = services.segment_create(workspace=workspace, name="Two", kind="manual")
    changelist = reverse("admin:segments_segment_changelist")
    data = {"action": "export_csv", "_selected_action": [one.pk, two.pk]}

    response = staff.post(changelist, data)

    assert response.status_code == 302 and response["Location"] == reverse("contacts:exports")
    html = staff.get(response["Location"]).content.decode()
    assert "One.csv" in html and "Two.csv" in html
    assert Job.objects.filter(kind="export").count() == 2


def test_export_csv_leaves_a_workspace_the_admin_is_not_a_member_of(
    staff, workspace, other_workspace
):
    theirs = services.segment_create(workspace=other_workspace, name="Theirs", kind="manual")
    changelist = reverse("admin:segments_segment_changelist")
    data = {"action": "export_csv", "_selected_action": [theirs.pk]}

    response = staff.post(changelist, data, follow=True)

    assert "“Theirs” not exported: you are not a member of Globex." in response.content.decode()
    assert not Job.objects.exists()


def test_a_change_and_a_delete_in_admin_go_through_the_services(admin_client, workspace):
    """Renamed and deleted in the admin as on the app's pages: the name is checked next
    to its field, and each change is in the audit trail by the admin who made it."""
    from workspaces.models import AuditEntry

    segment = services.segment_create(workspace=workspace, name="Old", kind="manual")
    services.segment_create(workspace=workspace, name="Taken", kind="manual")
    url = reverse("admin:segments_segment_change", args=[segment.pk])
    form = {"name": "taken ", "description": "", "topics": []}
    page = admin_client.post(url, form)
    assert page.status_code == 200 and "already exists" in page.content.decode()
    admin_client.post(url, {**form, "name": "New"})
    segment.refresh_from_db()
    assert segment.name == "New"
    admin_client.post(reverse("admin:segments_segment_delete", args=[segment.pk]), {"post": "yes"})
    assert not Segment.objects.filter(pk=segment.pk).exists()
    entries = AuditEntry.objects.filter(subject_id=segment.pk).order_by("id")
    assert [(e.verb, e.actor_name) for e in entries][-2:] == [
        ("renamed", "root"),
        ("deleted", "root"),
    ]

"""The campaign pages: list, form with errors beside their fields and a preview, a
campaign's page, actions; scoped to the workspace, in a fixed number of queries."""

import re

import pytest
from django.core import mail

from campaigns import sending, services
from campaigns.models import Campaign, Delivery
from campaigns.services import CampaignData
from segments import services as segment_services
from tests.factories import ContactFactory, WorkspaceFactory
from workspaces.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def vip(workspace):
    segment = segment_services.segment_create(workspace=workspace, name="VIP", kind="manual")
    people = [
        ContactFactory(workspace=workspace, email=f"p{n}@x.io", first_name=f"P{n}")
        for n in range(3)
    ]
    segment_services.segment_members_add(
        segment=segment, lookup="id", values=[p.pk for p in people]
    )
    return segment


def make(workspace, segment, name="Sale", **fields):
    data = CampaignData(name=name, subject="Hi", body="Body", include=[segment], **fields)
    return services.campaign_create(workspace=workspace, data=data)


def form_data(segment, **overrides):
    return {
        "name": "Spring sale",
        "channel": "email",
        "kind": "broadcast",
        "subject": "Hi {{ first_name }}",
        "body": "Our sale",
        "include": [segment.pk],
        **overrides,
    }


def test_create_a_campaign_from_the_form(client_in, vip):
    response = client_in.post("/campaigns/new/", form_data(vip))
    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/campaigns/{campaign.pk}/"
    assert (campaign.name, campaign.status, campaign.subject) == (
        "Spring sale", "draft", "Hi {{ first_name }}",
    )  # fmt: skip
    assert list(campaign.segment_links.values_list("segment_id", "role")) == [(vip.pk, "include")]


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"subject": "Hi {{ first_nme }}"}, "subject", "Unknown field first_nme"),
        ({"body": "{% if %}"}, "body", "The template cannot be read"),
        ({"body": "{% for x in email %}{% endfor %}"}, "body", "{% for %} cannot be used"),
        ({"body": ""}, "body", "Write the message."),
        ({"include": []}, "include", "Choose at least one segment to send to."),
        ({"kind": "triggered", "include": []}, "trigger", "Choose the segment whose new"),
        ({"name": ""}, "name", "Give the campaign a name."),
    ],
)
def test_a_refused_form_says_why_beside_the_field(client_in, vip, overrides, field, words):
    response = client_in.post("/campaigns/new/", form_data(vip, **overrides))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert words in " ".join(errors[field]), errors
    assert not Campaign.objects.exists()


def test_the_preview_renders_for_a_sample_contact_and_counts_the_audience(client_in, vip):
    sample = vip.members.order_by("contact_id").last().contact
    data = form_data(vip, sample=sample.pk)
    response = client_in.post("/campaigns/preview/", data, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert response.status_code == 200
    assert f"Hi {sample.first_name}" in page
    assert '<strong id="audience-size">3</strong>' in page
    broken = client_in.post(
        "/campaigns/preview/", form_data(vip, body="{{ x|nope }}"), HTTP_HX_REQUEST="true"
    )
    assert "The filter “nope” cannot be used in a message." in broken.content.decode()


def test_the_list_and_the_page_read_a_fixed_number_of_queries(
    client_in, workspace, vip, django_assert_max_num_queries
):
    def grow(n):
        for index in range(n):
            campaign = make(workspace, vip, name=f"C{Campaign.objects.count()}-{index}")
            sending.queue(campaign, list(vip.members.values_list("contact_id", flat=True)))

    grow(2)
    with django_assert_max_num_queries(12) as few:
        assert client_in.get("/campaigns/").status_code == 200
    grow(8)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client_in.get("/campaigns/").status_code == 200

    campaign = make(workspace, vip, name="Big")
    sending.queue(campaign, list(vip.members.values_list("contact_id", flat=True)))
    with django_assert_max_num_queries(20) as few:
        assert client_in.get(f"/campaigns/{campaign.pk}/").status_code == 200
    more = [ContactFactory(workspace=workspace, email=f"m{n}@x.io") for n in range(20)]
    sending.queue(campaign, [c.pk for c in more])
    Delivery.objects.filter(campaign=campaign).update(status="sent")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client_in.get(f"/campaigns/{campaign.pk}/").status_code == 200


def test_deliveries_are_paged_by_keyset(client_in, workspace, vip):
    campaign = make(workspace, vip)
    people = [ContactFactory(workspace=workspace, email=f"k{n:02}@x.io") for n in range(60)]
    sending.queue(campaign, [p.pk for p in people])
    first = client_in.get(f"/campaigns/{campaign.pk}/")
    page = first.context["page"]
    assert len(page.items) == 50 and page.next_cursor
    second = client_in.get(
        f"/campaigns/{campaign.pk}/", {"cursor": page.next_cursor}, HTTP_HX_REQUEST="true"
    )
    rest = second.context["page"].items
    assert len(rest) == 10
    assert not {d.pk for d in rest} & {d.pk for d in page.items}
    bad = client_in.get(f"/campaigns/{campaign.pk}/", {"cursor": "nonsense"})
    assert bad.status_code == 200 and bad.context["bad_cursor"]


def test_send_now_from_the_page(client_in, workspace, vip, django_capture_on_commit_callbacks):
    campaign = make(workspace, vip)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_in.post(f"/campaigns/{campaign.pk}/send/")
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == "sent"
    assert len(mail.outbox) == 3
    page = client_in.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert '<dd id="count-sent">3</dd>' in page
    again = client_in.post(f"/campaigns/{campaign.pk}/send/", follow=True)
    assert "it cannot be sent now" in again.content.decode()
    assert len(mail.outbox) == 3


def test_schedule_and_unschedule_from_the_page(client_in, workspace, vip):
    campaign = make(workspace, vip)
    client_in.post(f"/campaigns/{campaign.pk}/schedule/", {"scheduled_at": "2099-01-01T09:00"})
    campaign.refresh_from_db()
    assert campaign.status == "scheduled" and campaign.scheduled_at.year == 2099
    past = client_in.post(
        f"/campaigns/{campaign.pk}/schedule/", {"scheduled_at": "2001-01-01T09:00"}, follow=True
    )
    assert "Choose a moment in the future." in past.content.decode()
    client_in.post(f"/campaigns/{campaign.pk}/pause/")
    campaign.refresh_from_db()
    assert campaign.status == "draft" and campaign.scheduled_at is None


def test_another_workspaces_campaign_is_a_404(client_in, vip):
    other = WorkspaceFactory()
    theirs = segment_services.segment_create(workspace=other, name="Theirs", kind="manual")
    campaign = make(other, theirs)
    for path in ("", "edit/", "delete/"):
        assert client_in.get(f"/campaigns/{campaign.pk}/{path}").status_code == 404
    for path in ("send/", "pause/", "activate/", "delete/", "edit/"):
        assert client_in.post(f"/campaigns/{campaign.pk}/{path}").status_code == 404
    # Their segments are no choice here.
    client_in.post("/campaigns/new/", form_data(theirs))
    assert Campaign.objects.filter(workspace=vip.workspace).count() == 0


def test_a_viewer_reads_but_cannot_create_or_send(member_client, workspace, vip):
    campaign = make(workspace, vip)
    viewer = member_client(Role.VIEWER)
    assert viewer.get("/campaigns/").status_code == 200
    assert viewer.get(f"/campaigns/{campaign.pk}/").status_code == 200
    assert viewer.get("/campaigns/new/").status_code == 403
    assert viewer.post(f"/campaigns/{campaign.pk}/send/").status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_delete_a_campaign(client_in, workspace, vip):
    campaign = make(workspace, vip)
    assert client_in.get(f"/campaigns/{campaign.pk}/delete/").status_code == 200
    response = client_in.post(f"/campaigns/{campaign.pk}/delete/")
    assert response.status_code == 302
    assert not Campaign.objects.exists()


def test_the_preview_can_be_for_another_contact_of_the_audience(client_in, vip):
    contacts = list(vip.members.order_by("contact_id").values_list("contact_id", flat=True))
    first = client_in.post("/campaigns/preview/", form_data(vip), HTTP_HX_REQUEST="true")
    assert "Hi P0" in first.content.decode()
    options = re.findall(r'<option value="(\d+)"', first.content.decode())
    assert options == [str(pk) for pk in contacts]
    chosen = client_in.post(
        "/campaigns/preview/", form_data(vip, sample=contacts[2]), HTTP_HX_REQUEST="true"
    )
    assert "Hi P2" in chosen.content.decode()


def test_the_list_shows_each_campaigns_sent_and_opened(client_in, workspace, vip):
    from django.utils import timezone

    sent, draft = make(workspace, vip, name="Sent one"), make(workspace, vip, name="Draft")
    sending.queue(sent, list(vip.members.values_list("contact_id", flat=True)))
    Delivery.objects.filter(campaign=sent).update(status="sent")
    Delivery.objects.filter(pk=Delivery.objects.filter(campaign=sent).first().pk).update(
        opened_at=timezone.now()
    )
    page = client_in.get("/campaigns/").content.decode()
    rows = dict(re.findall(r'data-campaign-id="(\d+)">(.*?)</tr>', page, re.S))
    assert re.findall(r'<td class="num">(\d+)</td>', rows[str(sent.pk)]) == ["3", "1"]
    assert re.findall(r'<td class="num">(\d+)</td>', rows[str(draft.pk)]) == ["0", "0"]


def test_pause_says_what_it_did(client_in, workspace, vip):
    from campaigns.models import Campaign as Model
    from jobs.models import Job

    campaign = make(workspace, vip)
    client_in.post(f"/campaigns/{campaign.pk}/schedule/", {"scheduled_at": "2099-01-01T09:00"})
    page = client_in.post(f"/campaigns/{campaign.pk}/pause/", follow=True).content.decode()
    assert "is no longer scheduled" in page
    job = services.campaign_send(campaign=campaign)  # not run: the test never commits
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, leased_by="a worker")
    page = client_in.post(f"/campaigns/{campaign.pk}/pause/", follow=True).content.decode()
    assert "stops after the messages it is sending now" in page
    assert Model.objects.get(pk=campaign.pk).status == "sending"  # until the worker stops

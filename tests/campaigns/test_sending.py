"""Broadcasts: the audience (include minus exclude, no address and opted out skipped),
sending as a job, a delivery per contact, never twice."""

import pytest
from django.core import mail

from campaigns import selectors, sending, services
from campaigns.models import Campaign, Delivery
from campaigns.services import CampaignData
from contacts.models import TopicOptOut
from jobs.models import Job
from segments import services as segment_services
from tests.factories import ContactFactory, TopicFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ws():
    return WorkspaceFactory()


def manual(ws, name, contacts):
    segment = segment_services.segment_create(workspace=ws, name=name, kind="manual")
    segment_services.segment_members_add(
        segment=segment, lookup="id", values=[c.pk for c in contacts]
    )
    return segment


def broadcast(ws, include, exclude=(), topic=None, **fields):
    data = CampaignData(
        name=fields.pop("name", "Spring sale"),
        subject=fields.pop("subject", "Hello {{ first_name|default:'there' }}"),
        body=fields.pop("body", "Our sale: https://shop.example/sale?x=1. See you!"),
        include=list(include),
        exclude=list(exclude),
        topic=topic,
        **fields,
    )
    return services.campaign_create(workspace=ws, data=data)


def send(campaign, capture):
    with capture(execute=True):
        job = services.campaign_send(campaign=campaign)
    job.refresh_from_db()
    campaign.refresh_from_db()
    return job


def recipients() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def test_the_audience_is_the_included_minus_the_excluded_and_the_unreachable(ws):
    topic = TopicFactory(workspace=ws, name="News")
    ann, bob, cid, dan, eve = (
        ContactFactory(workspace=ws, email=f"{n}@x.io") for n in ("ann", "bob", "cid", "dan", "eve")
    )
    nomail = ContactFactory(workspace=ws, email=None)
    TopicOptOut.objects.create(topic=topic, contact=dan)
    vip = manual(ws, "VIP", [ann, bob, dan, nomail])
    berlin = manual(ws, "Berlin", [cid, eve])
    staff = manual(ws, "Staff", [bob, eve])
    campaign = broadcast(ws, [vip, berlin], [staff], topic=topic)

    audience = selectors.Audience.of(campaign)
    assert set(selectors.audience_contacts(audience)) == {ann, cid}
    size = selectors.audience_size(audience)
    assert (size.in_segments, size.excluded, size.no_address, size.opted_out, size.size) == (
        6, 2, 1, 1, 2,
    )  # fmt: skip


def test_a_broadcast_is_sent_once_to_each_contact_of_its_audience(
    ws, django_capture_on_commit_callbacks, settings
):
    settings.CAMPAIGN_BATCH_SIZE = 2  # several chunks
    people = [
        ContactFactory(workspace=ws, email=f"p{n}@x.io", first_name=f"P{n}") for n in range(5)
    ]
    nomail = ContactFactory(workspace=ws, email=None, first_name="No mail")
    campaign = broadcast(ws, [manual(ws, "All", [*people, nomail])])

    job = send(campaign, django_capture_on_commit_callbacks)

    assert job.status == Job.Status.DONE, job.message
    assert campaign.status == Campaign.Status.SENT
    assert recipients() == sorted(p.email for p in people)
    assert {m.subject for m in mail.outbox} == {f"Hello P{n}" for n in range(5)}
    deliveries = Delivery.objects.filter(campaign=campaign)
    assert sorted(deliveries.values_list("status", flat=True)) == ["sent"] * 5
    assert not deliveries.filter(contact=nomail).exists()
    assert job.done == job.total == 5
    assert job.message == "Sent “Spring sale” to 5 contacts."
    # Links are tracked and the HTML part has the open pixel.
    message = mail.outbox[0]
    assert "https://shop.example/sale" not in message.body
    assert "/t/c/" in message.body
    html = message.alternatives[0][0]
    assert "/t/o/" in html and "<img" in html

    # Sending again (after a pause: the same campaign) adds nobody twice.
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.PAUSED)
    later = ContactFactory(workspace=ws, email="late@x.io")
    segment = campaign.segment_links.get().segment
    segment_services.segment_members_add(segment=segment, lookup="id", values=[later.pk])
    mail.outbox.clear()
    send(campaign, django_capture_on_commit_callbacks)
    assert recipients() == ["late@x.io"]
    assert Delivery.objects.filter(campaign=campaign).count() == 6


def test_a_resumed_send_never_sends_a_delivery_marked_sent(ws):
    people = [ContactFactory(workspace=ws, email=f"p{n}@x.io") for n in range(4)]
    campaign = broadcast(ws, [manual(ws, "All", people)])
    # A worker queued all four, sent two and died before marking the rest.
    sending.queue(campaign, [p.pk for p in people])
    Delivery.objects.filter(contact__in=people[:2]).update(status="sent")
    assert sending.send_queued(campaign) == 2
    assert recipients() == ["p2@x.io", "p3@x.io"]
    assert sending.send_queued(campaign) == 0
    assert sending.queue(campaign, [p.pk for p in people]) == 0


def test_a_message_another_sender_holds_is_not_sent_until_its_claim_runs_out(ws, settings):
    (ann,) = [ContactFactory(workspace=ws, email="ann@x.io")]
    campaign = broadcast(ws, [manual(ws, "All", [ann])])
    sending.queue(campaign, [ann.pk])
    delivery = Delivery.objects.get()
    assert sending._claim(delivery)  # another worker is sending it
    assert sending.send_queued(campaign) == 0
    assert mail.outbox == []
    settings.JOB_LEASE_SECONDS = -1  # its claim ran out: that worker died
    Delivery.objects.update(claimed_until=None)
    assert sending.send_queued(campaign) == 1


def test_a_template_that_fails_for_a_contact_fails_that_delivery_only(
    ws, django_capture_on_commit_callbacks
):
    ok = ContactFactory(workspace=ws, email="ok@x.io", score=3)
    zero = ContactFactory(workspace=ws, email="zero@x.io", score=0)
    campaign = broadcast(ws, [manual(ws, "All", [ok, zero])], body="{{ 12|divisibleby:score }}")
    job = send(campaign, django_capture_on_commit_callbacks)
    assert job.status == Job.Status.DONE
    assert recipients() == ["ok@x.io"]
    failed = Delivery.objects.get(contact=zero)
    assert failed.status == "failed"
    assert "modulo" in failed.error or "divi" in failed.error
    assert "1 failed" in job.message


def test_sms_goes_through_the_configured_sender(ws, django_capture_on_commit_callbacks, settings):
    from campaigns.channels import MemorySmsSender

    settings.SMS_SENDER = "campaigns.channels.MemorySmsSender"
    MemorySmsSender.outbox.clear()
    ann = ContactFactory(workspace=ws, email="ann@x.io", phone="+4912345", first_name="Ann")
    ContactFactory(workspace=ws, email="bob@x.io", phone="")
    segment = manual(ws, "All", list(ws.contacts.all()))
    campaign = broadcast(ws, [segment], channel="sms", subject="", body="Hi {{ first_name }}")
    send(campaign, django_capture_on_commit_callbacks)
    assert MemorySmsSender.outbox == [(ann.phone, "Hi Ann")]
    assert mail.outbox == []


def test_a_broadcast_scheduled_for_later_is_sent_by_the_sweep_once_due(
    ws, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from campaigns import sweep

    ann = ContactFactory(workspace=ws, email="ann@x.io")
    campaign = broadcast(ws, [manual(ws, "All", [ann])])
    services.campaign_schedule(campaign=campaign, at=timezone.now() + timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        sweep.sweep()
    assert mail.outbox == []
    Campaign.objects.filter(pk=campaign.pk).update(scheduled_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        sweep.sweep()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT
    assert recipients() == ["ann@x.io"]


def test_cancelling_the_job_pauses_the_broadcast(ws, django_capture_on_commit_callbacks):
    ann = ContactFactory(workspace=ws, email="ann@x.io")
    campaign = broadcast(ws, [manual(ws, "All", [ann])])
    job = services.campaign_send(campaign=campaign)  # not run: no commit yet
    services.campaign_pause(campaign=campaign)
    job.refresh_from_db()
    campaign.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert campaign.status == Campaign.Status.PAUSED


def test_a_job_taken_over_by_another_worker_leaves_the_campaign_sending(ws, monkeypatch):
    from jobs import runner

    ann = ContactFactory(workspace=ws, email="ann@x.io")
    campaign = broadcast(ws, [manual(ws, "All", [ann])])
    job = services.campaign_send(campaign=campaign)

    def taken_over(*args, **kwargs):
        raise runner.LeaseLost()

    monkeypatch.setattr(sending, "send_queued", taken_over)
    assert runner.run(job.pk) == "taken_over"
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENDING  # the other worker goes on

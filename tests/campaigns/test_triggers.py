"""Triggered campaigns: a message to each contact who enters the trigger segment
because their data changed after the campaign was activated; never for entries
caused by a rule change (api.md), never twice."""

import pytest
from django.core import mail

from campaigns import services, triggers
from campaigns.models import Campaign, Delivery
from campaigns.services import CampaignData
from contacts import services as contact_services
from segments import services as segment_services
from segments.models import SegmentChange
from tests.factories import ContactFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

GERMANS = {"all": [{"field": "country", "op": "eq", "value": "DE"}]}


@pytest.fixture
def ws():
    return WorkspaceFactory()


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Do `work` and everything it sends to the workers after its commit (inline)."""

    def run(work, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return work(*args, **kwargs)

    return run


def welcome(ws, trigger, run, include=(), exclude=(), activate=True):
    campaign = services.campaign_create(
        workspace=ws,
        data=CampaignData(
            name="Willkommen",
            kind=Campaign.Kind.TRIGGERED,
            subject="Hallo {{ first_name }}",
            body="Welcome!",
            trigger=trigger,
            include=list(include),
            exclude=list(exclude),
        ),
    )
    if activate:
        run(services.campaign_activate, campaign=campaign)
    return campaign


def move_to(contact, country, run):
    run(contact_services.contact_update, contact=contact, data={"country": country})


def recipients() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def test_a_contact_who_enters_through_a_data_change_gets_it_once(ws, run):
    ann = ContactFactory(workspace=ws, email="ann@x.io", first_name="Ann", country="FR")
    germans = run(segment_services.segment_create, workspace=ws, name="Germans", kind="filter",
                  conditions=GERMANS)  # fmt: skip
    campaign = welcome(ws, germans, run)

    move_to(ann, "DE", run)
    assert recipients() == ["ann@x.io"]
    assert mail.outbox[0].subject == "Hallo Ann"
    assert Delivery.objects.get(campaign=campaign, contact=ann).status == "sent"

    # Leaves and enters again: still one message.
    move_to(ann, "FR", run)
    move_to(ann, "DE", run)
    assert SegmentChange.objects.filter(contact=ann, action="entered").count() == 2
    assert recipients() == ["ann@x.io"]
    run(triggers.process, ws.pk)  # a wake-up again, or the sweep: nothing new
    assert len(mail.outbox) == 1


def test_entries_caused_by_a_rule_change_do_not_trigger(ws, run):
    ann = ContactFactory(workspace=ws, email="ann@x.io", country="FR")
    bob = ContactFactory(workspace=ws, email="bob@x.io", country="IT")
    segment = run(segment_services.segment_create, workspace=ws, name="Germans", kind="filter",
                  conditions=GERMANS)  # fmt: skip
    welcome(ws, segment, run)

    french = {"all": [{"field": "country", "op": "eq", "value": "FR"}]}
    run(segment_services.segment_update, segment=segment, conditions=french)
    assert SegmentChange.objects.get(contact=ann, action="entered").triggers is False
    assert mail.outbox == []
    run(triggers.process, ws.pk)
    assert mail.outbox == []

    move_to(bob, "FR", run)  # after the rule change, because of his data: he gets it
    assert recipients() == ["bob@x.io"]


def test_entries_before_activation_or_while_paused_do_not_trigger(ws, run):
    ann = ContactFactory(workspace=ws, email="ann@x.io", country="FR")
    bob = ContactFactory(workspace=ws, email="bob@x.io", country="FR")
    cid = ContactFactory(workspace=ws, email="cid@x.io", country="FR")
    segment = run(segment_services.segment_create, workspace=ws, name="Germans", kind="filter",
                  conditions=GERMANS)  # fmt: skip
    campaign = welcome(ws, segment, run, activate=False)
    move_to(ann, "DE", run)  # a draft: nothing
    run(services.campaign_activate, campaign=campaign)
    run(services.campaign_pause, campaign=campaign)
    move_to(bob, "DE", run)  # paused: nothing, and not later either
    run(services.campaign_activate, campaign=campaign)
    move_to(cid, "DE", run)
    assert recipients() == ["cid@x.io"]


def test_limits_exclusions_opt_outs_and_no_email(ws, run):
    from contacts.models import TopicOptOut
    from tests.factories import TopicFactory

    topic = TopicFactory(workspace=ws, name="News")
    people = {
        name: ContactFactory(workspace=ws, email=f"{name}@x.io", country="FR")
        for name in ("ann", "bob", "cid", "dan")
    }
    nomail = ContactFactory(workspace=ws, email=None, country="FR")
    TopicOptOut.objects.create(topic=topic, contact=people["dan"])
    segment = run(segment_services.segment_create, workspace=ws, name="Germans", kind="filter",
                  conditions=GERMANS)  # fmt: skip
    customers = segment_services.segment_create(workspace=ws, name="Customers", kind="manual")
    staff = segment_services.segment_create(workspace=ws, name="Staff", kind="manual")
    segment_services.segment_members_add(
        segment=customers, lookup="id",
        values=[people[n].pk for n in ("ann", "bob", "dan")] + [nomail.pk],
    )  # fmt: skip
    segment_services.segment_members_add(segment=staff, lookup="id", values=[people["bob"].pk])
    campaign = welcome(ws, segment, run, include=[customers], exclude=[staff])
    Campaign.objects.filter(pk=campaign.pk).update(topic=topic)
    for contact in [*people.values(), nomail]:
        move_to(contact, "DE", run)
    # cid: not a customer; bob: staff; dan: opted out; no email: unreachable.
    assert recipients() == ["ann@x.io"]


def test_a_manual_trigger_segment_triggers_on_members_added(ws, run):
    ann = ContactFactory(workspace=ws, email="ann@x.io")
    newsletter = segment_services.segment_create(workspace=ws, name="Newsletter", kind="manual")
    welcome(ws, newsletter, run)
    run(segment_services.segment_members_add, segment=newsletter, lookup="id", values=[ann.pk])
    assert recipients() == ["ann@x.io"]


def test_entries_found_by_the_sweep_when_the_wake_up_was_lost(ws, run, monkeypatch):
    from campaigns import sweep, tasks

    ann = ContactFactory(workspace=ws, email="ann@x.io", country="FR")
    segment = run(segment_services.segment_create, workspace=ws, name="Germans", kind="filter",
                  conditions=GERMANS)  # fmt: skip
    welcome(ws, segment, run)
    with monkeypatch.context() as patched:
        patched.setattr(tasks, "on_entries", lambda *args: None)  # the wake-up is lost
        from segments import entries

        patched.setattr(entries, "_listeners", [])
        move_to(ann, "DE", run)
    assert mail.outbox == []
    run(sweep.sweep)
    assert recipients() == ["ann@x.io"]


def test_a_new_trigger_segment_of_an_active_campaign_starts_from_now(ws, run):
    ann = ContactFactory(workspace=ws, email="ann@x.io")
    bob = ContactFactory(workspace=ws, email="bob@x.io")
    first = segment_services.segment_create(workspace=ws, name="First", kind="manual")
    second = segment_services.segment_create(workspace=ws, name="Second", kind="manual")
    campaign = welcome(ws, first, run)
    segment_services.segment_members_add(segment=second, lookup="id", values=[ann.pk])
    data = CampaignData(
        name="Willkommen", kind=Campaign.Kind.TRIGGERED, subject="S", body="B", trigger=second
    )
    run(services.campaign_update, campaign=campaign, data=data)
    run(triggers.process, ws.pk)
    assert mail.outbox == []  # ann entered the new trigger before it was one
    run(segment_services.segment_members_add, segment=second, lookup="id", values=[bob.pk])
    assert recipients() == ["bob@x.io"]

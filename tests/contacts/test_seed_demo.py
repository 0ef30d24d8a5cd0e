from datetime import timedelta

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.core.validators import validate_email
from django.db.models import F, Max
from django.utils import timezone

from contacts import attributes as attrs
from contacts import changes
from contacts.demo_data import TAGS
from contacts.models import Contact, CustomAttribute, Device, Event, Tag
from workspaces.models import Membership, Role, Workspace

pytestmark = pytest.mark.django_db


def seed(*args):
    call_command("seed_demo", *args, "--seed", "7")


def test_seed_demo_makes_the_demo_workspace_once():
    seed("--contacts", "50", "--events", "200")
    workspace = Workspace.objects.get(slug="demo")
    user = authenticate(username="demo", password="demo")
    assert user is not None
    assert Membership.objects.get(workspace=workspace, user=user).role == Role.OWNER
    assert Contact.objects.filter(workspace=workspace).count() == 50
    assert Event.objects.filter(workspace=workspace).count() == 200

    # make run's rerun: nothing added, nothing duplicated.
    seed("--contacts", "50", "--if-empty")
    assert Workspace.objects.filter(slug="demo").count() == 1
    assert Membership.objects.filter(workspace=workspace).count() == 1
    assert Contact.objects.filter(workspace=workspace).count() == 50

    # An explicit rerun adds more, with the same seed, without clashing emails.
    seed("--contacts", "50", "--events", "0")
    emails = list(Contact.objects.exclude(email=None).values_list("email", flat=True))
    assert Contact.objects.count() == 100
    assert len(emails) == len(set(emails))


def test_seeded_data_is_consistent_and_realistic():
    seed("--contacts", "300", "--events", "1500")
    contacts = list(Contact.objects.annotate(newest=Max("events__occurred_at")))
    now = timezone.now()

    for contact in contacts:
        assert contact.last_activity_at == contact.newest
        assert now - timedelta(days=366) < contact.created_at <= now
        assert contact.email or contact.external_id
        if contact.email:
            validate_email(contact.email)
            assert contact.email == contact.email.lower()
    assert not Event.objects.filter(occurred_at__lt=F("contact__created_at")).exists()
    created = sorted(c.created_at for c in contacts)
    assert created[0] < now - timedelta(days=200) and created[-1] > now - timedelta(days=60)

    # Fields have values and sometimes are missing, as in real data.
    for name in ("country", "language", "company", "phone", "city"):
        filled = sum(1 for c in contacts if getattr(c, name))
        assert 0.4 * len(contacts) < filled < len(contacts), name
    assert len({c.country for c in contacts}) >= 6
    assert len({c.score for c in contacts}) > 30


def test_custom_attributes_are_defined_and_typed():
    seed("--contacts", "200")
    workspace = Workspace.objects.get(slug="demo")
    types = dict(CustomAttribute.objects.filter(workspace=workspace).values_list("key", "type"))
    assert types == {"plan": "text", "seats": "number", "trial": "boolean", "renewal_date": "date"}
    seen = set()
    for values in Contact.objects.values_list("attributes", flat=True):
        for key, value in values.items():
            assert attrs.coerce(types[key], value, key) == value
            seen.add(key)
    assert seen == set(types)


def test_tags_events_and_devices():
    seed("--contacts", "300", "--events", "3000")
    assert set(Tag.objects.values_list("name", flat=True)) == set(TAGS)
    customers = Contact.objects.filter(tags__name="customer")
    assert customers.exists()
    assert all(c.attributes.get("seats") for c in customers)

    names = set(Event.objects.values_list("name", flat=True))
    assert {"page_view", "signup", "purchase"} <= names
    for event in Event.objects.filter(name="page_view")[:200]:
        assert event.properties["url"].startswith("/")
    for event in Event.objects.filter(name="purchase")[:200]:
        assert event.properties["amount"] > 0
    assert Event.objects.filter(name="page_view", properties__url="/pricing").exists()
    assert set(Device.objects.values_list("platform", flat=True)) == {"ios", "android", "web"}
    # Some people are far more active than others, some not at all.
    per_contact = [c.events.count() for c in Contact.objects.all()]
    assert 0 in per_contact and max(per_contact) > 3 * (sum(per_contact) / len(per_contact))


def test_seed_into_an_existing_workspace(workspace):
    seed("--workspace", "acme", "--contacts", "20")
    assert Contact.objects.filter(workspace=workspace).count() == 20
    assert not Workspace.objects.filter(slug="demo").exists()
    with pytest.raises(CommandError, match="no workspace with the slug 'nope'"):
        seed("--workspace", "nope")


def test_segment_engine_hears_about_every_new_contact(
    monkeypatch, django_capture_on_commit_callbacks
):
    heard = []
    monkeypatch.setattr(
        changes, "_listeners", [lambda ws, ids, change: heard.append((ids, change))]
    )
    with django_capture_on_commit_callbacks(execute=True):
        seed("--contacts", "30")
    ids, change = heard[-1]
    assert ids == sorted(Contact.objects.values_list("id", flat=True))
    assert change.created and change.tags and "page_view" in change.event_names

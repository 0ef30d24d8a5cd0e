"""Factories for every test, in one place."""

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from campaigns.models import Campaign, CampaignSegment, Delivery
from contacts.models import Contact, CustomAttribute, Device, Event, Tag, Topic
from segments.models import Segment
from workspaces.models import Membership, Role, Workspace


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw")


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")
    slug = factory.Sequence(lambda n: f"workspace-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    workspace = factory.SubFactory(WorkspaceFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OWNER


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    workspace = factory.SubFactory(WorkspaceFactory)
    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    company = factory.Faker("company")
    country = "DE"
    city = "Berlin"
    language = "de"


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"tag{n}")


class CustomAttributeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomAttribute

    workspace = factory.SubFactory(WorkspaceFactory)
    key = factory.Sequence(lambda n: f"attr{n}")
    type = CustomAttribute.Type.TEXT


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    contact = factory.SubFactory(ContactFactory)
    workspace = factory.LazyAttribute(lambda e: e.contact.workspace)
    name = "purchase"
    occurred_at = factory.LazyFunction(timezone.now)
    properties = factory.LazyFunction(dict)


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    contact = factory.SubFactory(ContactFactory)
    platform = Device.Platform.IOS
    identifier = factory.Sequence(lambda n: f"device-{n}")


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Topic

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Topic {n}")


# ---------------------------------------------------------------- segments and campaigns
# Rows as they are stored, for tests that set the scene: a rule or a member added
# through segments.services is checked and followed; a factory's is not.


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Segment {n}")
    kind = Segment.Kind.MANUAL

    class Params:
        # SegmentFactory(filter=True): a filter segment whose rule everyone with an
        # email meets (give `conditions` for another).
        filter = factory.Trait(
            kind=Segment.Kind.FILTER,
            conditions={"all": [{"field": "email", "op": "exists"}]},
        )


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")


class CampaignSegmentFactory(factory.django.DjangoModelFactory):
    """A campaign using a segment (role trigger, include or exclude), both of one
    workspace."""

    class Meta:
        model = CampaignSegment

    campaign = factory.SubFactory(CampaignFactory)
    segment = factory.SubFactory(
        SegmentFactory, workspace=factory.SelfAttribute("..campaign.workspace")
    )
    role = CampaignSegment.Role.INCLUDE


class DeliveryFactory(factory.django.DjangoModelFactory):
    """A campaign's message to a contact of its workspace, sent now unless told."""

    class Meta:
        model = Delivery

    campaign = factory.SubFactory(CampaignFactory)
    contact = factory.SubFactory(
        ContactFactory, workspace=factory.SelfAttribute("..campaign.workspace")
    )
    sent_at = factory.LazyFunction(timezone.now)
    status = Delivery.Status.SENT

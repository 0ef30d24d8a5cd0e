"""The SQL compiler and the Python evaluator agree on random rules and contacts.

The evaluator is the readable statement of conditions.md; the compiler is what runs.
Hypothesis draws rules of every condition kind and operator (time windows of events
and campaign activity included), nested up to the limits, and contacts with missing,
empty, mixed-case and wrongly typed values; for each rule the contacts the database
selects must be exactly those the evaluator accepts (and explains). Runs on SQLite
and on PostgreSQL (DATABASE_URL).
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts.models import Contact, ContactTag, CustomAttribute, Device, Event, Tag
from segments.conditions import Vocabulary
from segments.evaluator import Evaluator, snapshot
from segments.models import SegmentMember
from segments.query import compile_rule, load_catalog
from tests.factories import CampaignFactory, DeliveryFactory, SegmentFactory, WorkspaceFactory
from tests.segments import rulegen

NOW = timezone.now().replace(microsecond=0)
pytestmark = pytest.mark.django_db


def build_workspace(contacts_data):
    workspace = WorkspaceFactory()
    for key, kind in rulegen.ATTRIBUTES.items():
        CustomAttribute.objects.create(workspace=workspace, key=key, type=kind)
    tags = {name: Tag.objects.create(workspace=workspace, name=name) for name in rulegen.TAGS}
    manual = SegmentFactory(workspace=workspace, name="Manual")
    campaigns = [CampaignFactory(workspace=workspace, name=f"C{i}") for i in range(2)]
    for index, data in enumerate(contacts_data):
        _create_contact(workspace, index, data, tags, manual, campaigns)
    return workspace, [manual.pk], [c.pk for c in campaigns]


def _create_contact(workspace, index, data, tags, manual, campaigns):
    email = data["email"]
    contact = Contact.objects.create(
        workspace=workspace,
        email=email.replace("@", f"{index}@") if email else None,
        external_id=f"{data['external_id']}{index}" if data["external_id"] else None,
        first_name=data["first_name"],
        country=data["country"],
        city=data["city"],
        language=data["language"],
        score=data["score"],
        last_activity_at=data["last_activity_at"],
        attributes=data["attributes"],
    )
    Contact.objects.filter(pk=contact.pk).update(
        created_at=NOW - timedelta(days=data["created_days_ago"], minutes=index)
    )
    ContactTag.objects.bulk_create([ContactTag(contact=contact, tag=tags[t]) for t in data["tags"]])
    Event.objects.bulk_create(
        Event(
            workspace=workspace,
            contact=contact,
            name=name,
            occurred_at=NOW - timedelta(days=days, hours=1),
            properties=props,
        )
        for name, days, props in data["events"]
    )
    Device.objects.bulk_create(Device(contact=contact, platform=p) for p in data["devices"])
    if data["in_manual"]:
        SegmentMember.objects.create(
            segment=manual, contact=contact, joined_at=NOW, source="manual"
        )
    for campaign_index, days, opened, clicked in data["deliveries"]:
        sent = NOW - timedelta(days=days)
        DeliveryFactory(
            campaign=campaigns[campaign_index],
            contact=contact,
            sent_at=sent,
            opened_at=sent + timedelta(hours=1) if opened else None,
            clicked_at=sent + timedelta(hours=2) if clicked else None,
        )


def assert_agree(workspace, doc, snapshots):
    # The explanation "why" shows (words included) is the evaluator's verdict.
    evaluator = Evaluator(vocabulary=Vocabulary(workspace.pk), now=NOW)
    expected = {pk for pk, snap in snapshots.items() if evaluator.explain(doc, snap).result}
    # Compiled for a batch of contacts, and for the whole workspace at once (a
    # preview: event counts in a window read once, segments.conditions.event).
    for whole in (False, True):
        selected = set(
            Contact.objects.filter(workspace=workspace)
            .filter(compile_rule(doc, catalog=load_catalog(workspace.pk), now=NOW, whole=whole))
            .values_list("pk", flat=True)
        )
        assert selected == expected, (
            f"rule {doc} (whole={whole}): SQL only {selected - expected}, "
            f"Python only {expected - selected}"
        )
    assert expected == {pk for pk, snap in snapshots.items() if evaluator.matches(doc, snap)}


def snapshots_of(workspace):
    contacts = Contact.objects.filter(workspace=workspace)
    return {c.pk: snapshot(c) for c in contacts}


@pytest.fixture(scope="module")
def fixed_dataset(django_db_setup, django_db_blocker):
    """One random dataset of 60 contacts, kept for the random rules below."""
    examples = []

    # Hypothesis starts from the simplest data (all empty); later draws are richer,
    # so keep the last of a few.
    @given(st.lists(rulegen.contact_data(NOW), min_size=60, max_size=60))
    @settings(
        max_examples=20,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def draw(data):
        examples.append(data)

    draw()
    with django_db_blocker.unblock(), transaction.atomic():
        workspace, segment_ids, campaign_ids = build_workspace(examples[-1])
        yield workspace, segment_ids, campaign_ids, snapshots_of(workspace)
        transaction.set_rollback(True)


def test_compiler_agrees_with_evaluator_on_random_rules(fixed_dataset):
    """As many rules as the Hypothesis profile says (tests/hypothesis_profiles.py):
    50 in a local run, 500 in CI."""
    workspace, segment_ids, campaign_ids, snapshots = fixed_dataset

    @given(rulegen.rules(NOW, segment_ids, campaign_ids))
    @settings(
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def check(doc):
        assert_agree(workspace, doc, snapshots)

    check()


@given(
    contacts=st.lists(rulegen.contact_data(NOW), min_size=1, max_size=6),
    doc=rulegen.rules(NOW, [0], [0, 1]),
)
@settings(
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
    ],
)
def test_compiler_agrees_with_evaluator_on_random_contacts(db, contacts, doc):
    with transaction.atomic():
        workspace, segment_ids, campaign_ids = build_workspace(contacts)
        doc = _renumber(doc, segment_ids[0], campaign_ids)
        assert_agree(workspace, doc, snapshots_of(workspace))
        transaction.set_rollback(True)


def _renumber(node, segment_id, campaign_ids):
    """Point the placeholder ids of a drawn rule at this example's rows."""
    if isinstance(node, dict) and ("all" in node or "any" in node):
        kind = "all" if "all" in node else "any"
        return {kind: [_renumber(c, segment_id, campaign_ids) for c in node[kind]]}
    if "segment" in node:
        return {**node, "segment": segment_id}
    if "campaign" in node and node["campaign"] != "*":
        return {**node, "campaign": campaign_ids[node["campaign"]]}
    return node

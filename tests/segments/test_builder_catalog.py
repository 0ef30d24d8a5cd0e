"""The builder's catalog (segments/builder.py): it offers exactly what validation
accepts, and only the workspace's own tags, events, segments and campaigns."""

import pytest

from campaigns.models import Campaign
from contacts.models import BUILTIN_FIELD_TYPES, CustomAttribute
from segments import builder, rules, services
from tests.factories import (
    ContactFactory,
    CustomAttributeFactory,
    EventFactory,
    TagFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.django_db


def test_every_operator_of_every_type_and_no_other(workspace):
    catalog = builder.catalog(workspace)
    for kind, allowed in rules.OPERATORS.items():
        offered = [op["value"] for op in catalog["operators"][kind]]
        assert sorted(offered) == sorted(allowed), kind
        assert len(offered) == len(set(offered))
    assert {op["value"] for op in catalog["property_operators"]} == rules.PROPERTY_OPS
    assert set(catalog["url_operators"]) <= rules.TEXT_OPS
    assert set(catalog["negative_operators"]) == rules.NEGATIVE_OPS
    assert {e["value"] for e in catalog["event_ops"]} == rules.EVENT_OPS
    assert {d["value"] for d in catalog["devices"]} == rules.DEVICES
    assert {a["value"] for a in catalog["activities"]} == rules.ACTIVITIES
    assert catalog["limits"] == {"depth": rules.MAX_DEPTH, "conditions": rules.MAX_CONDITIONS}


@pytest.mark.parametrize(
    ("op", "shape"),
    [
        ("eq", "single"),
        ("in", "list"),
        ("not_in", "list"),
        ("between", "range"),
        ("within_last_days", "days"),
        ("more_than_days_ago", "days"),
        ("exists", "none"),
        ("is_false", "none"),
        ("before", "single"),
    ],
)
def test_value_shapes(op, shape):
    assert builder.value_shape(op) == shape


def test_fields_are_the_builtin_ones_then_the_workspaces_attributes(workspace):
    CustomAttributeFactory(workspace=workspace, key="plan", label="Plan")
    CustomAttributeFactory(workspace=workspace, key="seats", type=CustomAttribute.Type.NUMBER)
    CustomAttributeFactory(workspace=WorkspaceFactory(), key="secret")
    fields = builder.catalog(workspace)["fields"]
    builtin = [f for f in fields if f["group"] == "Contact fields"]
    assert {f["value"]: f["type"] for f in builtin} == BUILTIN_FIELD_TYPES
    custom = [(f["value"], f["label"], f["type"]) for f in fields if f["group"] != "Contact fields"]
    assert custom == [("attributes.plan", "Plan", "text"), ("attributes.seats", "seats", "number")]


def test_event_names_are_distinct_sorted_and_the_workspaces_own(workspace):
    contact = ContactFactory(workspace=workspace)
    for name in ["purchase", "login", "purchase", "Login", "page_view", "login"]:
        EventFactory(contact=contact, name=name)
    EventFactory(contact=ContactFactory(workspace=WorkspaceFactory()), name="secret")
    names = builder.event_names(workspace)
    # In the database's order (its collation decides where "Login" goes), each once.
    assert sorted(names) == ["Login", "login", "page_view", "purchase"]
    assert builder.event_names(workspace, limit=2) == names[:2]
    assert builder.event_names(WorkspaceFactory()) == []


def test_property_hints_come_from_recent_events(workspace):
    contact = ContactFactory(workspace=workspace)
    EventFactory(contact=contact, name="purchase", properties={"amount": 12.5, "currency": "EUR"})
    EventFactory(contact=contact, name="purchase", properties={"amount": 3, "coupon": True})
    for url in ["/pricing", "/pricing", "/docs"]:
        EventFactory(contact=contact, name="page_view", properties={"url": url})
    hints, urls = builder.property_hints(workspace)
    assert hints["purchase"][0] == {"key": "amount", "numeric": True}
    assert {h["key"]: h["numeric"] for h in hints["purchase"]} == {
        "amount": True,
        "currency": False,
        "coupon": False,  # a boolean is not a number
    }
    assert urls == ["/pricing", "/docs"]


def test_pickers_list_the_workspaces_tags_segments_and_campaigns(workspace):
    other = WorkspaceFactory()
    TagFactory(workspace=workspace, name="vip")
    TagFactory(workspace=other, name="secret-tag")
    mine = services.segment_create(workspace=workspace, name="Mine", kind="manual")
    editing = services.segment_create(workspace=workspace, name="Editing", kind="manual")
    services.segment_update(segment=mine, archived=True)
    services.segment_create(workspace=other, name="Secret", kind="manual")
    campaign = Campaign.objects.create(workspace=workspace, name="Spring")
    Campaign.objects.create(workspace=other, name="Secret campaign")
    catalog = builder.catalog(workspace, segment=editing)
    assert catalog["tags"] == ["vip"]
    assert catalog["segments"] == [
        {"id": mine.pk, "name": "Mine", "kind": "manual", "archived": True}
    ]
    assert catalog["campaigns"] == [{"id": campaign.pk, "name": "Spring"}]

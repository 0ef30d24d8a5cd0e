"""The builder's catalog (segments/builder.py and each kind's menu): it offers exactly
what validation accepts, and only the workspace's own tags, events, segments and
campaigns."""

import pytest

from campaigns import conditions as campaign_conditions
from campaigns.models import Campaign
from contacts.models import BUILTIN_FIELD_TYPES, CustomAttribute
from segments import builder, rules, services
from segments.conditions import Vocabulary, registry, windows
from segments.conditions.device import DEVICES
from segments.conditions.event import EVENT_OPS, event_names, property_hints
from tests.factories import (
    ContactFactory,
    CustomAttributeFactory,
    EventFactory,
    TagFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.django_db


def category(catalog, value):
    return next(c for c in catalog["categories"] if c["value"] == value)


def control(catalog, value, role):
    return next(c for c in category(catalog, value)["controls"] if c.get("role") == role)


def offered(choice) -> set:
    return {option["value"] for option in choice["options"]}


def test_every_operator_of_every_type_and_no_other(workspace):
    catalog = builder.catalog(workspace)
    for kind, allowed in rules.OPERATORS.items():
        offered_ops = [op["value"] for op in catalog["operators"][kind]]
        assert sorted(offered_ops) == sorted(allowed), kind
        assert len(offered_ops) == len(set(offered_ops))
        for op in catalog["operators"][kind]:
            assert catalog["shapes"][op["value"]] == op["shape"] == builder.value_shape(op["value"])
    assert {op["value"] for op in catalog["property_operators"]} == rules.PROPERTY_OPS
    for op in catalog["property_operators"]:
        assert set(op["types"]) == {
            t for t in ("text", "number") if op["value"] in rules.OPERATORS[t]
        }
    assert set(catalog["url_operators"]) <= rules.TEXT_OPS
    assert set(catalog["negative_operators"]) == rules.NEGATIVE_OPS
    assert offered(control(catalog, "event", "event-op")) == set(EVENT_OPS)
    assert offered(control(catalog, "page_view", "event-op")) == set(EVENT_OPS)
    assert offered(control(catalog, "tag", "op")) == {"has", "has_not"}
    assert offered(control(catalog, "device", "op")) == {"has", "has_not"}
    assert offered(control(catalog, "device", "device")) == set(DEVICES)
    assert {d["value"] for d in catalog["devices"]} == set(DEVICES)
    assert offered(control(catalog, "segment", "op")) == {"in", "not_in"}
    assert offered(control(catalog, "campaign", "op")) == {"has", "has_not"}
    activities = set(campaign_conditions.ACTIVITIES)
    assert offered(control(catalog, "campaign", "activity")) == activities
    assert {a["value"] for a in catalog["activities"]} == activities
    # Time windows: "any time" and every window of conditions.md.
    assert [w["value"] for w in catalog["windows"]] == ["", *windows.KEYS]
    assert catalog["window_keys"] == list(windows.KEYS)
    assert catalog["limits"] == {"depth": rules.MAX_DEPTH, "conditions": rules.MAX_CONDITIONS}


def test_kinds_and_categories_come_from_the_registry(workspace):
    catalog = builder.catalog(workspace)
    assert catalog["kinds"] == {kind.name: kind.spec() for kind in registry}
    categories = ["field", "tag", "event", "page_view", "device", "segment", "campaign"]
    assert [c["value"] for c in catalog["categories"]] == categories
    for entry in catalog["categories"]:
        assert entry["kind"] in catalog["kinds"]
        # A new condition starts with the keys its kind always has, and no other.
        new = entry["new"]
        assert set(catalog["kinds"][entry["kind"]]["required"]) <= set(new), entry["value"]
        assert set(new) <= set(catalog["kinds"][entry["kind"]]["keys"]), entry["value"]
    # Without the campaigns app there is no campaign activity to offer.
    with registry.without("campaign"):
        catalog = builder.catalog(workspace)
    assert "campaign" not in catalog["kinds"]
    assert "campaign" not in [c["value"] for c in catalog["categories"]]


def test_new_conditions_of_every_category_are_valid_once_filled(workspace):
    """What "+ Add condition" starts with passes validation as soon as the person types
    what it asks for (a value, an event name, a URL)."""
    TagFactory(workspace=workspace, name="vip")
    services.segment_create(workspace=workspace, name="Other", kind="manual")
    catalog = builder.catalog(workspace)
    filled = {"field": {"value": "ann@example.com"}, "event": {"event": "purchase"}}
    for entry in catalog["categories"]:
        new = {**entry["new"], **filled.get(entry["value"], {})}
        if entry["value"] == "page_view":
            new["where"] = [{**new["where"][0], "value": "/pricing"}]
        rules.check({"all": [new]}, Vocabulary(workspace.pk))


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
    names = event_names(workspace)
    # In the database's order (its collation decides where "Login" goes), each once.
    assert sorted(names) == ["Login", "login", "page_view", "purchase"]
    assert event_names(workspace, limit=2) == names[:2]
    assert event_names(WorkspaceFactory()) == []


def test_property_hints_come_from_recent_events(workspace):
    contact = ContactFactory(workspace=workspace)
    EventFactory(contact=contact, name="purchase", properties={"amount": 12.5, "currency": "EUR"})
    EventFactory(contact=contact, name="purchase", properties={"amount": 3, "coupon": True})
    for url in ["/pricing", "/pricing", "/docs"]:
        EventFactory(contact=contact, name="page_view", properties={"url": url})
    hints, urls = property_hints(workspace)
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

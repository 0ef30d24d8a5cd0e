"""Every operator and condition kind of conditions.md, compiled to SQL, against
hand-written expectations, including the semantics that are easy to get wrong."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from contacts.attributes import format_moment
from contacts.models import Contact, ContactTag, CustomAttribute, Device, Event, Tag
from segments.models import SegmentMember
from segments.query import compile_rule, load_catalog
from tests.factories import CampaignFactory, DeliveryFactory, SegmentFactory, WorkspaceFactory

NOW = timezone.now().replace(microsecond=0)
pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    """ann, bob, cid, dee and eve, each with something the tests look for."""
    ws = WorkspaceFactory()
    for key, kind in [
        ("plan", "text"),
        ("seats", "number"),
        ("trial", "boolean"),
        ("renews", "date"),
    ]:
        CustomAttribute.objects.create(workspace=ws, key=key, type=kind)
    rows = {
        "ann": dict(
            country="DE",
            city="Berlin",
            score=80,
            last_activity_at=NOW - timedelta(days=2),
            attributes={"plan": "Pro", "seats": 12, "trial": True, "renews": "2026-01-15"},
        ),
        "bob": dict(
            country="fr",
            city="",
            score=50,
            last_activity_at=NOW - timedelta(days=40),
            attributes={
                "plan": "basic",
                "seats": "many",
                "trial": False,
                "renews": "2026-01-15T10:00:00Z",
            },
        ),
        "cid": dict(
            country="", city="Paris", score=10, last_activity_at=None, attributes={"plan": ""}
        ),
        "dee": dict(country="De", city="München", score=51, attributes={"seats": 50.5}),
        "eve": dict(country="US", city="NYC", score=0, email_override="EVE@Example.COM"),
    }
    contacts = {}
    for name, data in rows.items():
        email = data.pop("email_override", f"{name}@example.com")
        contacts[name] = Contact.objects.create(workspace=ws, email=email, **data)
    Contact.objects.filter(pk=contacts["ann"].pk).update(created_at=NOW - timedelta(days=3))
    Contact.objects.exclude(pk=contacts["ann"].pk).filter(workspace=ws).update(
        created_at=NOW - timedelta(days=100)
    )
    vip = Tag.objects.create(workspace=ws, name="VIP")
    ContactTag.objects.create(contact=contacts["ann"], tag=vip)
    ContactTag.objects.create(
        contact=contacts["bob"], tag=Tag.objects.create(workspace=ws, name="lead")
    )
    for days, amount in [(1, 30), (10, 70), (45, 5)]:
        Event.objects.create(
            workspace=ws,
            contact=contacts["ann"],
            name="purchase",
            occurred_at=NOW - timedelta(days=days),
            properties={"amount": amount},
        )
    Event.objects.create(
        workspace=ws,
        contact=contacts["bob"],
        name="purchase",
        occurred_at=NOW - timedelta(days=5),
        properties={"amount": "lots"},
    )
    Event.objects.create(
        workspace=ws, contact=contacts["bob"], name="Purchase", occurred_at=NOW - timedelta(days=5)
    )
    Event.objects.create(
        workspace=ws,
        contact=contacts["cid"],
        name="page_view",
        occurred_at=NOW - timedelta(days=1),
        properties={"url": "https://x.io/Pricing?a=1"},
    )
    Event.objects.create(
        workspace=ws,
        contact=contacts["dee"],
        name="page_view",
        occurred_at=NOW - timedelta(days=1),
        properties={"url": "/docs/100%_sure"},
    )
    Device.objects.create(contact=contacts["ann"], platform="ios")
    Device.objects.create(contact=contacts["bob"], platform="web")
    manual = SegmentFactory(workspace=ws, name="Manual")
    SegmentMember.objects.create(
        segment=manual, contact=contacts["cid"], joined_at=NOW, source="manual"
    )
    campaign = CampaignFactory(workspace=ws, name="Launch")
    DeliveryFactory(
        campaign=campaign,
        contact=contacts["ann"],
        sent_at=NOW - timedelta(days=3),
        opened_at=NOW - timedelta(days=2),
    )
    DeliveryFactory(campaign=campaign, contact=contacts["bob"], sent_at=NOW - timedelta(days=60))
    return ws, manual, campaign


def who(ws, *conditions, kind="all"):
    rule = {kind: list(conditions)}
    found = Contact.objects.filter(workspace=ws).filter(
        compile_rule(rule, catalog=load_catalog(ws.pk), now=NOW)
    )
    return sorted(c.email.split("@")[0].lower() for c in found)


def field(name, op, value=None):
    condition = {"field": name, "op": op}
    if value is not None:
        condition["value"] = value
    return condition


def test_text_is_case_insensitive(people):
    ws, *_ = people
    assert who(ws, field("country", "eq", "de")) == ["ann", "dee"]
    assert who(ws, field("email", "eq", "eve@example.com")) == ["eve"]
    assert who(ws, field("country", "in", ["DE", "FR"])) == ["ann", "bob", "dee"]
    assert who(ws, field("city", "starts_with", "MÜN")) in (["dee"], [])  # SQLite folds ASCII only
    assert who(ws, field("city", "ends_with", "LIN")) == ["ann"]
    assert who(ws, field("city", "contains", "ar")) == ["cid"]


def test_negative_operators_include_missing_values(people):
    ws, *_ = people
    # cid has no country: `neq` includes it; `eq` and `contains` never match a missing value.
    assert who(ws, field("country", "neq", "DE")) == ["bob", "cid", "eve"]
    assert who(ws, field("country", "not_in", ["de", "US"])) == ["bob", "cid"]
    assert who(ws, field("city", "not_contains", "i")) == ["bob", "dee", "eve"]
    assert who(ws, field("attributes.plan", "neq", "pro")) == ["bob", "cid", "dee", "eve"]


def test_empty_string_counts_as_missing(people):
    ws, *_ = people
    assert who(ws, field("country", "exists")) == ["ann", "bob", "dee", "eve"]
    assert who(ws, field("city", "not_exists")) == ["bob"]
    assert who(ws, field("attributes.plan", "exists")) == ["ann", "bob"]
    assert who(ws, field("last_activity_at", "not_exists")) == ["cid", "dee", "eve"]


def test_special_characters_are_not_patterns(people):
    ws, *_ = people

    def url(op, v):
        return {
            "event": "page_view",
            "op": "at_least",
            "count": 1,  # noqa: E731
            "where": [{"property": "url", "op": op, "value": v}],
        }

    assert who(ws, url("contains", "100%_")) == ["dee"]
    assert who(ws, url("contains", "%")) == ["dee"]
    assert who(ws, url("contains", "/pricing")) == ["cid"]


def test_numbers_and_non_numbers(people):
    ws, *_ = people
    assert who(ws, field("score", "gt", 50)) == ["ann", "dee"]
    assert who(ws, field("score", "between", [10, 51])) == ["bob", "cid", "dee"]
    # bob's seats is "many": it matches no comparison, not even `neq`, and no
    # failure either; but it is not missing.
    assert who(ws, field("attributes.seats", "lt", 1000)) == ["ann", "dee"]
    assert who(ws, field("attributes.seats", "neq", 12)) == ["cid", "dee", "eve"]
    assert who(ws, field("attributes.seats", "exists")) == ["ann", "bob", "dee"]
    assert who(ws, field("attributes.seats", "between", [50, 51])) == ["dee"]


def test_dates_absolute_and_relative(people):
    ws, *_ = people
    assert who(ws, field("created_at", "within_last_days", 7)) == ["ann"]
    assert who(ws, field("last_activity_at", "more_than_days_ago", 30)) == ["bob"]
    assert who(ws, field("last_activity_at", "within_last_days", 30)) == ["ann"]
    # A date without time is the whole day: both the day and a moment of it count.
    assert who(ws, field("attributes.renews", "between", ["2026-01-15", "2026-01-15"])) == [
        "ann",
        "bob",
    ]
    assert who(ws, field("attributes.renews", "after", "2026-01-14")) == ["ann", "bob"]
    assert who(ws, field("attributes.renews", "after", "2026-01-15")) == []
    assert who(ws, field("attributes.renews", "after", "2026-01-15T09:00:00Z")) == ["bob"]
    assert who(ws, field("attributes.renews", "before", "2026-01-15T09:00:00Z")) == ["ann"]


def test_booleans(people):
    ws, *_ = people
    assert who(ws, field("attributes.trial", "is_true")) == ["ann"]
    assert who(ws, field("attributes.trial", "is_false")) == ["bob"]
    assert who(ws, field("attributes.trial", "not_exists")) == ["cid", "dee", "eve"]


def test_tags(people):
    ws, *_ = people
    assert who(ws, {"tag": "vip", "op": "has"}) == ["ann"]
    assert who(ws, {"tag": "*", "op": "has"}) == ["ann", "bob"]
    assert who(ws, {"tag": "*", "op": "has_not"}) == ["cid", "dee", "eve"]
    assert who(ws, {"tag": "VIP", "op": "has_not"}) == ["bob", "cid", "dee", "eve"]


def test_events_counts_windows_and_properties(people):
    ws, *_ = people
    purchase = lambda op, n, **kw: {"event": "purchase", "op": op, "count": n, **kw}  # noqa: E731
    assert who(ws, purchase("at_least", 2)) == ["ann"]
    assert who(ws, purchase("at_least", 2, within_days=30)) == ["ann"]
    assert who(ws, purchase("at_least", 3, within_days=30)) == []
    # Event names are case-sensitive: bob's "Purchase" is another event.
    assert who(ws, purchase("exactly", 1)) == ["bob"]
    # "Never did X" includes contacts with no events at all.
    assert who(ws, purchase("at_most", 0)) == ["cid", "dee", "eve"]
    big = [{"property": "amount", "op": "gte", "value": 30}]
    assert who(ws, purchase("at_least", 2, where=big)) == ["ann"]
    # bob's amount is "lots": a number operator does not match it.
    assert who(
        ws, purchase("at_least", 1, where=[{"property": "amount", "op": "lt", "value": 1000}])
    ) == ["ann"]


def test_devices(people):
    ws, *_ = people
    assert who(ws, {"device": "ios", "op": "has"}) == ["ann"]
    assert who(ws, {"device": "*", "op": "has"}) == ["ann", "bob"]
    assert who(ws, {"device": "web", "op": "has_not"}) == ["ann", "cid", "dee", "eve"]


def test_segment_membership(people):
    ws, manual, _ = people
    assert who(ws, {"segment": manual.pk, "op": "in"}) == ["cid"]
    assert who(ws, {"segment": manual.pk, "op": "not_in"}) == ["ann", "bob", "dee", "eve"]


def test_campaign_activity(people):
    ws, _, campaign = people
    assert who(ws, {"campaign": campaign.pk, "activity": "sent", "op": "has"}) == ["ann", "bob"]
    assert who(ws, {"campaign": "*", "activity": "opened", "op": "has"}) == ["ann"]
    assert who(ws, {"campaign": "*", "activity": "sent", "op": "has", "within_days": 30}) == ["ann"]
    assert who(ws, {"campaign": campaign.pk, "activity": "clicked", "op": "has_not"}) == [
        "ann",
        "bob",
        "cid",
        "dee",
        "eve",
    ]


def test_groups_nest(people):
    ws, *_ = people
    rule = [
        {"any": [field("country", "in", ["DE", "FR"]), field("attributes.plan", "eq", "pro")]},
        field("score", "gt", 50),
    ]
    assert who(ws, *rule) == ["ann", "dee"]
    assert who(ws, *rule, kind="any") == ["ann", "bob", "dee"]


def test_the_example_rule_of_conditions_md(people):
    ws, manual, _ = people
    rule = {
        "version": 1,
        "all": [
            {"any": [field("country", "in", ["DE", "FR"]), field("attributes.plan", "eq", "pro")]},
            field("score", "gt", 50),
            {"tag": "vip", "op": "has"},
            {"event": "purchase", "op": "at_least", "count": 2, "within_days": 30},
            {"segment": manual.pk, "op": "not_in"},
        ],
    }
    found = Contact.objects.filter(workspace=ws).filter(
        compile_rule(rule, catalog=load_catalog(ws.pk), now=NOW)
    )
    assert [c.email for c in found] == ["ann@example.com"]


def test_tag_conditions_of_a_group_combine(people):
    ws, *_ = people
    has = lambda name: {"tag": name, "op": "has"}  # noqa: E731
    has_not = lambda name: {"tag": name, "op": "has_not"}  # noqa: E731
    assert who(ws, has("vip"), has("lead"), kind="any") == ["ann", "bob"]
    assert who(ws, has("vip"), has("lead")) == []
    assert who(ws, has("vip"), has("*")) == ["ann"]
    assert who(ws, has("vip"), has("nope")) == []
    assert who(ws, has("vip"), has("nope"), kind="any") == ["ann"]
    assert who(ws, has_not("vip"), has_not("lead")) == ["cid", "dee", "eve"]
    assert who(ws, has_not("vip"), has_not("lead"), kind="any") == [
        "ann",
        "bob",
        "cid",
        "dee",
        "eve",
    ]
    assert who(ws, has_not("vip"), has_not("nope"), kind="any") == [
        "ann",
        "bob",
        "cid",
        "dee",
        "eve",
    ]
    assert who(ws, has_not("*"), has_not("vip")) == ["cid", "dee", "eve"]


# ---------------------------------------------------------------- time windows


def at(days: int, *, day: bool = False) -> str:
    """NOW minus `days` as the ISO text of a moment, or (day) of that day alone."""
    moment = NOW - timedelta(days=days)
    return moment.date().isoformat() if day else format_moment(moment)


def test_event_windows_after_before_between(people):
    ws, *_ = people
    # ann purchased 1, 10 and 45 days ago; bob 5 days ago.
    purchase = lambda n, **window: {"event": "purchase", "op": "at_least", "count": n, **window}  # noqa: E731
    # `after` is on or after: a moment counts itself, a date its whole day.
    assert who(ws, purchase(2, after=at(10))) == ["ann"]
    assert who(ws, purchase(3, after=at(10))) == []
    assert who(ws, purchase(1, after=at(5))) == ["ann", "bob"]
    assert who(ws, purchase(2, after=at(10, day=True))) == ["ann"]
    assert who(ws, purchase(1, after=at(0, day=True))) == []
    # `before` is strictly before: the moment itself and the whole day are out.
    assert who(ws, purchase(1, before=at(45))) == []
    assert who(ws, purchase(1, before=at(44))) == ["ann"]
    assert who(ws, purchase(2, before=at(10, day=True))) == []
    assert who(ws, purchase(1, before=at(9, day=True))) == ["ann"]
    # `between` includes both ends: moments, and whole days.
    assert who(ws, purchase(2, between=[at(45), at(10)])) == ["ann"]
    assert who(ws, purchase(1, between=[at(44), at(11)])) == []
    assert who(ws, purchase(1, between=[at(10, day=True), at(10, day=True)])) == ["ann"]
    assert who(ws, purchase(1, between=[at(6, day=True), at(2, day=True)])) == ["bob"]
    # "Never did it in that time" includes the contacts without any event.
    never = {"event": "purchase", "op": "at_most", "count": 0, "between": [at(6), at(2)]}
    assert who(ws, never) == ["ann", "cid", "dee", "eve"]
    # A null window is no window.
    assert who(ws, purchase(3, within_days=None)) == ["ann"]


def test_campaign_activity_windows(people):
    ws, _, campaign = people
    # ann was sent Launch 3 days ago and opened it 2 days ago; bob was sent it 60 days ago.
    sent = {"campaign": campaign.pk, "activity": "sent", "op": "has"}
    assert who(ws, {**sent, "before": at(30)}) == ["bob"]
    assert who(ws, {**sent, "after": at(3)}) == ["ann"]
    assert who(ws, {**sent, "after": at(2)}) == []
    assert who(ws, {**sent, "between": [at(60, day=True), at(3, day=True)]}) == ["ann", "bob"]
    opened = {"campaign": "*", "activity": "opened", "op": "has"}
    assert who(ws, {**opened, "between": [at(2, day=True), at(2, day=True)]}) == ["ann"]
    assert who(ws, {**opened, "before": at(2)}) == []
    assert who(ws, {**opened, "op": "has_not", "after": at(2)}) == ["bob", "cid", "dee", "eve"]


def test_a_date_alone_is_a_whole_day_of_the_sites_time_zone(settings):
    ws = WorkspaceFactory()
    late = Contact.objects.create(workspace=ws, email="late@example.com")
    # 23:30 UTC on 1 May is already 2 May in Berlin.
    Event.objects.create(
        workspace=ws,
        contact=late,
        name="purchase",
        occurred_at=datetime(2024, 5, 1, 23, 30, tzinfo=UTC),
    )
    rule = {"event": "purchase", "op": "at_least", "count": 1, "after": "2024-05-02"}
    assert who(ws, rule) == []
    settings.TIME_ZONE = "Europe/Berlin"
    assert who(ws, rule) == ["late"]
    assert who(ws, {**rule, "after": None, "between": ["2024-05-02", "2024-05-02"]}) == ["late"]
    assert who(ws, {**rule, "after": None, "before": "2024-05-02"}) == []

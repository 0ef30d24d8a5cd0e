"""The registry of condition kinds (segments/conditions/): each kind's words for a
marketer, time windows, a kind no app registered, and the vocabulary read once."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import Campaign, Delivery
from contacts.models import Contact, CustomAttribute, Event
from segments import rules, selectors, services
from segments.conditions import Vocabulary, registry
from segments.conditions.field import Attribute
from segments.conditions.segment import SegmentName
from segments.evaluator import Evaluator, snapshot
from segments.query import compile_rule, load_catalog
from tests.factories import WorkspaceFactory

NOW = timezone.now().replace(microsecond=0)
NAMES = Vocabulary(
    attributes={"plan": Attribute("plan", "text", "Plan"), "seats": Attribute("seats", "number")},
    tags={},
    segments={7: SegmentName("VIP guests")},
    dependencies={},
    campaigns={3: "Spring launch"},
)


def words(condition) -> str:
    return registry.of(condition).words(condition, NAMES)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"field": "country", "op": "eq", "value": "DE"}, "Country is DE"),
        ({"field": "country", "op": "in", "value": ["DE", "FR"]}, "Country is one of DE, FR"),
        ({"field": "country", "op": "exists"}, "Country exists"),
        ({"field": "score", "op": "gt", "value": 50}, "Score is greater than 50"),
        ({"field": "score", "op": "between", "value": [1, 2.5]}, "Score is between 1 and 2.5"),
        (
            {"field": "created_at", "op": "within_last_days", "value": 7},
            "Created is within the last 7 days",
        ),
        (
            {"field": "last_activity_at", "op": "more_than_days_ago", "value": 30},
            "Last activity is more than 30 days ago",
        ),
        (
            {"field": "created_at", "op": "before", "value": "2024-05-31"},
            "Created is before 31 May 2024",
        ),
        ({"field": "attributes.PLAN", "op": "neq", "value": "pro"}, "Plan is not pro"),
        ({"field": "attributes.seats", "op": "eq", "value": 3}, "Seats equals 3"),
        ({"field": "attributes.gone", "op": "exists"}, "Gone exists"),
        ({"tag": "vip", "op": "has"}, "Has the tag vip"),
        ({"tag": "vip", "op": "has_not"}, "Does not have the tag vip"),
        ({"tag": "*", "op": "has"}, "Has at least one tag"),
        ({"tag": "*", "op": "has_not"}, "Has no tag"),
        (
            {"event": "purchase", "op": "at_least", "count": 2, "within_days": 30},
            "Did purchase at least 2 times in the last 30 days",
        ),
        ({"event": "purchase", "op": "exactly", "count": 1}, "Did purchase exactly 1 time"),
        ({"event": "login", "op": "at_most", "count": 0}, "Never did login"),
        (
            {"event": "purchase", "op": "at_least", "count": 1, "after": "2024-05-01"},
            "Did purchase at least 1 time on or after 1 May 2024",
        ),
        (
            {"event": "purchase", "op": "at_least", "count": 1, "before": "2024-05-01T09:30:00Z"},
            "Did purchase at least 1 time before 1 May 2024, 09:30 UTC",
        ),
        (
            {
                "event": "page_view",
                "op": "at_least",
                "count": 3,
                "between": ["2024-05-01", "2024-05-31"],
                "where": [
                    {"property": "url", "op": "contains", "value": "/pricing"},
                    {"property": "seconds", "op": "gte", "value": 30},
                ],
            },
            "Did page_view where url contains /pricing and seconds is at least 30 "
            "at least 3 times between 1 May 2024 and 31 May 2024",
        ),
        ({"device": "ios", "op": "has"}, "Has an iOS device"),
        ({"device": "*", "op": "has_not"}, "Does not have any device"),
        ({"segment": 7, "op": "in"}, "Is in VIP guests"),
        ({"segment": 8, "op": "not_in"}, "Is not in segment 8 (deleted)"),
        ({"campaign": 3, "activity": "opened", "op": "has"}, "Opened Spring launch"),
        (
            {"campaign": "*", "activity": "sent", "op": "has_not", "within_days": 7},
            "Was not sent any campaign in the last 7 days",
        ),
        (
            {"campaign": 3, "activity": "clicked", "op": "has", "after": "2024-05-01"},
            "Clicked in Spring launch on or after 1 May 2024",
        ),
    ],
)
def test_each_kind_says_its_condition_in_words_with_names(condition, expected):
    assert words(condition) == expected


# ---------------------------------------------------------------- time windows


def error_of(condition) -> rules.RuleError:
    with pytest.raises(rules.RuleError) as caught:
        rules.check({"all": [condition]}, NAMES)
    return caught.value


PURCHASE = {"event": "purchase", "op": "at_least", "count": 1}
OPENED = {"campaign": "*", "activity": "opened", "op": "has"}


@pytest.mark.parametrize("base", [PURCHASE, OPENED])
@pytest.mark.parametrize(
    "window",
    [
        {},
        {"within_days": 30},
        {"within_days": None},
        {"after": "2024-05-01"},
        {"after": "2024-05-01T09:00:00+02:00"},
        {"before": "2024-05-01T09:00:00Z"},
        {"between": ["2024-05-01", "2024-05-31T23:00:00Z"]},
        {"between": ["2024-05-01", "2024-05-01"]},
        {"between": ["2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z"]},
    ],
)
def test_windows_of_conditions_md_are_valid(base, window):
    rules.check({"all": [{**base, **window}]}, NAMES)


@pytest.mark.parametrize("base", [PURCHASE, OPENED])
@pytest.mark.parametrize(
    ("window", "message", "in_words"),
    [
        (
            {"within_days": 7, "after": "2024-05-01"},
            "A condition has at most one time window; this one has within_days, after.",
            None,
        ),
        (
            {"after": "May 1st"},
            "'after' needs a date like 2024-05-31",
            "“on or after” needs a date",
        ),
        ({"before": 20240501}, "'before' needs a date like", "“before” needs a date"),
        ({"between": ["2024-05-01"]}, "'between' needs two dates.", "“between” needs two dates."),
        (
            {"between": ["2024-05-02", "2024-05-01"]},
            "'between' needs the earlier date first.",
            "“between” needs the earlier date first.",
        ),
        ({"between": ["2024-05-01", "soon"]}, "'between' needs a date", "“between” needs a date"),
        ({"within_days": 0}, "'within_days' needs a whole number from 1", "“in the last”"),
    ],
)
def test_a_bad_window_says_what_is_wrong(base, window, message, in_words):
    error = error_of({**base, **window})
    assert error.path == "all[0]"
    assert error.message.startswith(message)
    assert (in_words or message) in error.words


def test_only_a_window_relative_to_now_makes_a_rule_time_based():
    assert rules.reads({"all": [{**PURCHASE, "within_days": 3}]}).time_based
    assert rules.reads({"all": [{**OPENED, "within_days": 3}]}).time_based
    for window in ({"after": "2024-05-01"}, {"before": "2024-05-01"}, {"within_days": None}):
        assert not rules.reads({"all": [{**PURCHASE, **window}, {**OPENED, **window}]}).time_based


# ---------------------------------------------------------------- messages


def test_an_operator_is_named_as_the_json_has_it_and_as_the_builder_says_it():
    error = error_of({"field": "score", "op": "between", "value": [5, 1]})
    assert error.message == "'between' needs the lower value first."
    assert error.words == "“is between” needs the lower value first."
    error = error_of({"field": "country", "op": "eq", "value": " "})
    assert (error.message, error.words) == ("'eq' needs a text value.", "“is” needs a text value.")
    error = error_of({"tag": "vip", "op": "is"})
    assert error.message == "A tag condition's operator is 'has' or 'has_not'."
    assert error.words == "A tag condition says “has” or “does not have”."
    error = error_of({"event": "x", "op": "at_least", "count": 1.5})
    assert error.message == "'count' needs a whole number from 0 to 1,000,000."


@pytest.mark.parametrize(
    "condition",
    [
        {"tag": "vip", "op": ["has"]},
        {"device": {"ios": 1}, "op": "has"},
        {"event": "x", "op": {}, "count": 1},
        {"field": "country", "op": ["eq"], "value": "DE"},
        {"campaign": "*", "activity": ["sent"], "op": "has"},
        {"event": "x", "op": "at_least", "count": 1, "where": [{"property": "u", "op": []}]},
    ],
)
def test_hostile_values_are_rule_errors_not_crashes(condition):
    assert error_of(condition).path.startswith("all[0]")


# ---------------------------------------------------------------- a kind no app registered


@pytest.mark.django_db
def test_without_the_campaigns_app_a_campaign_condition_is_invalid_and_matches_nobody():
    workspace = WorkspaceFactory()
    Contact.objects.create(workspace=workspace, email="ann@example.com")
    rule = {"all": [{"campaign": "*", "activity": "sent", "op": "has_not"}]}
    with registry.without("campaign"):
        error = error_of(rule["all"][0])
        assert error.message == (
            "'campaign' conditions are not available here: no installed app provides them."
        )
        # A rule stored before the app went away matches nobody, and says why not.
        found = Contact.objects.filter(workspace=workspace).filter(
            compile_rule(rule, catalog=load_catalog(workspace.pk), now=NOW)
        )
        assert not found.exists()
        contact = Contact.objects.get(workspace=workspace)
        vocabulary = Vocabulary(workspace.pk)
        explanation = Evaluator(vocabulary=vocabulary, now=NOW).explain(rule, snapshot(contact))
        assert not explanation.result
        assert explanation.children[0].text == "A campaign condition"
    assert (
        Contact.objects.filter(workspace=workspace)
        .filter(compile_rule(rule, catalog=load_catalog(workspace.pk), now=NOW))
        .exists()
    )


# ---------------------------------------------------------------- "why" with names


@pytest.mark.django_db
def test_why_names_segments_and_campaigns_and_says_what_the_contact_did():
    workspace = WorkspaceFactory()
    CustomAttribute.objects.create(workspace=workspace, key="plan", label="Plan", type="text")
    ann = Contact.objects.create(workspace=workspace, email="ann@example.com", country="DE")
    vip = services.segment_create(workspace=workspace, name="VIP guests", kind="manual")
    services.segment_members_add(segment=vip, lookup="id", values=[ann.pk])
    spring = Campaign.objects.create(workspace=workspace, name="Spring launch")
    Delivery.objects.create(
        campaign=spring, contact=ann, sent_at=NOW - timedelta(days=40), opened_at=NOW
    )
    for days in (1, 3, 50):
        Event.objects.create(
            workspace=workspace,
            contact=ann,
            name="purchase",
            occurred_at=NOW - timedelta(days=days),
        )
    rule = {
        "all": [
            {"field": "attributes.plan", "op": "exists"},
            {"event": "purchase", "op": "at_least", "count": 2, "within_days": 30},
            {"segment": vip.pk, "op": "in"},
            {"campaign": spring.pk, "activity": "sent", "op": "has", "within_days": 30},
            {"event": "login", "op": "at_most", "count": 0},
        ]
    }
    rules.check(rule, Vocabulary(workspace.pk))
    explanation = Evaluator(vocabulary=Vocabulary(workspace.pk), now=NOW).explain(
        rule, snapshot(ann, reads=rules.reads(rule))
    )
    lines = [(c.text, c.result, c.actual) for c in explanation.children]
    assert lines == [
        ("Plan exists", False, "the contact's value: empty"),
        ("Did purchase at least 2 times in the last 30 days", True, "the contact did it 2 times"),
        ("Is in VIP guests", True, "the contact is"),
        (
            "Was sent Spring launch in the last 30 days",
            False,
            "the contact did, but not in that time",
        ),
        ("Never did login", True, "the contact never did"),
    ]


@pytest.mark.django_db
def test_a_preview_reads_the_custom_attributes_once(workspace):
    CustomAttribute.objects.create(workspace=workspace, key="plan", type="text")
    rule = {
        "all": [
            {"field": "attributes.plan", "op": "eq", "value": "pro"},
            {"any": [{"field": "attributes.plan", "op": "exists"}, {"tag": "vip", "op": "has"}]},
        ]
    }
    table = CustomAttribute._meta.db_table
    with CaptureQueriesContext(connection) as captured:
        selectors.segment_preview(workspace=workspace, conditions=rule)
    assert sum(table in q["sql"] for q in captured.captured_queries) == 1


def test_a_date_alone_in_a_window_is_the_whole_day_in_the_sites_time_zone(settings):
    from segments import dates

    settings.TIME_ZONE = "Europe/Berlin"
    span = dates.window_bounds("between", ["2024-05-01", "2024-05-01"], NOW)
    assert span.lower == datetime(2024, 4, 30, 22, tzinfo=UTC)
    assert span.upper == datetime(2024, 5, 1, 22, tzinfo=UTC) and not span.upper_inclusive

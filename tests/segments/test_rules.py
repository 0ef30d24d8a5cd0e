"""Rule validation speaks to marketers and points at the bad node."""

import pytest

from segments.conditions.field import Attribute
from segments.conditions.segment import SegmentName
from segments.rules import RuleError, Vocabulary, check, reads

CONTEXT = Vocabulary(
    attributes={"plan": Attribute("plan", "text"), "seats": Attribute("seats", "number")},
    segments={12: SegmentName("VIP"), 13: SegmentName("Germans"), 14: SegmentName("Berlin")},
    dependencies={13: {12}, 14: {13}},
)


def error_of(doc, context=CONTEXT, segment_id=None) -> RuleError:
    with pytest.raises(RuleError) as caught:
        check(doc, context, segment_id=segment_id)
    return caught.value


def test_the_example_rule_of_conditions_md_is_valid():
    check(
        {
            "version": 1,
            "all": [
                {
                    "any": [
                        {"field": "country", "op": "in", "value": ["DE", "FR"]},
                        {"field": "attributes.plan", "op": "eq", "value": "pro"},
                    ]
                },
                {"field": "score", "op": "gt", "value": 50},
                {"tag": "vip", "op": "has"},
                {"event": "purchase", "op": "at_least", "count": 2, "within_days": 30},
                {"segment": 12, "op": "not_in"},
            ],
        },
        CONTEXT,
    )


def test_unknown_field_is_named_with_its_path():
    error = error_of(
        {
            "all": [
                {"field": "country", "op": "exists"},
                {"any": [{"field": "contry", "op": "eq", "value": "DE"}]},
            ]
        }
    )
    assert error.path == "all[1].any[0]"
    assert error.message == "Unknown field 'contry'."


def test_between_needs_two_values():
    error = error_of({"all": [{"field": "score", "op": "between", "value": [1]}]})
    assert (error.path, error.message) == ("all[0]", "'between' needs two values.")


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        ({"field": "score", "op": "contains", "value": "x"}, "not an operator for a number"),
        ({"field": "country", "op": "gt", "value": 1}, "not an operator for a text"),
        ({"field": "score", "op": "gt", "value": "fifty"}, "needs a number"),
        ({"field": "created_at", "op": "before", "value": "yesterday"}, "needs a date"),
        ({"field": "created_at", "op": "within_last_days", "value": 0}, "whole number from 1"),
        ({"field": "country", "op": "in", "value": []}, "needs a list"),
        ({"field": "country", "op": "exists", "value": "x"}, "takes no value"),
        ({"field": "attributes.nope", "op": "exists"}, "Unknown field 'attributes.nope'"),
        ({"tag": "vip", "op": "is"}, "'has' or 'has_not'"),
        ({"event": "purchase", "op": "at_least", "count": -1}, "'count' needs a whole number"),
        ({"event": "purchase", "op": "at_least", "count": 1, "within_days": 0}, "within_days"),
        ({"device": "blackberry", "op": "has"}, "ios, android, web"),
        ({"segment": 999, "op": "in"}, "no segment 999"),
        ({"campaign": "x", "activity": "sent", "op": "has"}, "campaign id"),
        ({"campaign": 1, "activity": "bounced", "op": "has"}, "sent, opened or clicked"),
        ({"field": "score", "op": "between", "value": [5, 1]}, "lower value first"),
        ({"field": "country", "op": "eq", "value": "DE", "extra": 1}, "Unexpected key 'extra'"),
        ({"color": "red"}, "names one of"),
    ],
)
def test_bad_conditions_say_what_is_wrong(condition, words):
    error = error_of({"any": [condition]})
    assert error.path == "any[0]"
    assert words in error.message


def test_groups_nest_five_levels_and_no_more():
    five = {"all": [{"all": [{"all": [{"all": [{"all": [{"tag": "x", "op": "has"}]}]}]}]}]}
    check(five, CONTEXT)
    six = {"all": [five]}
    assert "at most 5 levels" in error_of(six).message


def test_at_most_100_conditions():
    condition = {"tag": "x", "op": "has"}
    check({"all": [condition] * 100}, CONTEXT)
    error = error_of({"all": [condition] * 101})
    assert error.path == "all[100]"
    assert "at most 100 conditions" in error.message


def test_empty_group_and_non_group_root_are_refused():
    assert "at least one" in error_of({"all": []}).message
    assert "must be a group" in error_of([{"tag": "x", "op": "has"}]).message
    assert "must be a group" in error_of({"tag": "x", "op": "has"}).message
    assert "version" in error_of({"version": 2, "all": [{"tag": "x", "op": "has"}]}).message


def test_a_segment_may_not_depend_on_itself_directly_or_through_others():
    error = error_of({"all": [{"segment": 12, "op": "in"}]}, segment_id=12)
    assert error.message == "“VIP” cannot depend on itself."
    # 14 names 13, which names 12: 12 naming 14 closes the loop. Named, not numbered.
    error = error_of(
        {"all": [{"tag": "a", "op": "has"}, {"segment": 14, "op": "in"}]}, segment_id=12
    )
    assert error.path == "all[1]"
    assert error.message == (
        "“Berlin” already uses “VIP”, so “VIP” cannot use “Berlin”: "
        "a segment cannot depend on itself."
    )
    check({"all": [{"segment": 12, "op": "in"}]}, CONTEXT, segment_id=14)


def test_reads_lists_what_a_rule_looks_at():
    found = reads(
        {
            "all": [
                {"field": "Country", "op": "exists"},
                {"field": "created_at", "op": "within_last_days", "value": 3},
                {
                    "any": [
                        {"tag": "vip", "op": "has"},
                        {"event": "purchase", "op": "at_least", "count": 1},
                    ]
                },
                {"segment": 12, "op": "in"},
            ]
        }
    )
    assert found.fields == {"country", "created_at"}
    assert found.tags and not found.devices
    assert found.event_names == {"purchase"}
    assert found.segments == {12}
    assert found.time_based

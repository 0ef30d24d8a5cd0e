"""workspaces.params: the one way requests' ids, numbers, text and JSON are read."""

import re

import pytest
from django import forms

from workspaces.params import (
    MAX_ID,
    BadInput,
    IdField,
    IdListField,
    IntField,
    JSONTextField,
    ModelIdsField,
    StoredJSONField,
    loads_json,
    parse_id,
    parse_ids,
    parse_int,
    unstorable,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        (" 42 ", 42),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("0", None),
        ("-1", None),
        ("²", None),  # '²'.isdigit() is True; int('²') raises
        ("٣", None),  # '٣'.isdigit() is True; int('٣') is 3
        ("1e3", None),
        ("4.0", None),
        ("", None),
        (None, None),
        (True, None),
        (7, 7),
        ("9" * 5000, None),
    ],
)
def test_an_id_is_ascii_digits_in_range(text, expected):
    assert parse_id(text) == expected


def test_numbers_and_lists_of_ids():
    assert parse_int("-5", min_value=-10) == -5
    assert parse_int("11", max_value=10) is None
    assert parse_ids(["3", "²", "3", "x", "1"]) == [3, 1]
    assert parse_ids(["1", "2", "3"], limit=2) == [1, 2]


def test_form_fields_read_ids_and_numbers_the_same_way():
    assert IdField().clean("12") == 12
    with pytest.raises(forms.ValidationError):
        IdField().clean("٣")
    assert IdListField().clean(["1", "2", "1"]) == [1, 2]
    with pytest.raises(forms.ValidationError):
        IdListField().clean(["1", "²"])
    assert IntField(min_value=0, max_value=100).clean("-0") == 0
    for bad in ("٣", "1e309", "101", "9" * 30):
        with pytest.raises(forms.ValidationError):
            IntField(min_value=0, max_value=100).clean(bad)


def test_text_a_database_cannot_store_is_named():
    assert unstorable("fine ünïcode 😀") is None
    assert "NUL" in unstorable("a\x00b")
    assert "surrogate (\\ud800)" in unstorable("a\ud800")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[" * 3000, "nested more than 32 levels"),
        ('{"a": ' * 40 + "1" + "}" * 40, "nested more than 32 levels"),
        ('{"a": "\\ud800"}', "a contains a lone UTF-16 surrogate"),
        ('{"a": ["\\u0000"]}', "a[0] contains a NUL character"),
        ('{"\\udfff": 1}', "A key in the rule contains a lone UTF-16 surrogate"),
        ('{"a": 1e309}', "1e309 is out of range"),
        ('{"a": NaN}', "NaN is not a number"),
        (f'{{"a": {2**63}}}', "out of range"),
        ("{nope", "The rule is not valid JSON. Expecting property name"),
    ],
)
def test_json_from_a_request_is_refused_with_a_reason(text, words):
    with pytest.raises(BadInput, match=re.escape(words)):
        loads_json(text, what="The rule")


def test_a_paired_surrogate_is_an_emoji_and_fine():
    assert loads_json('{"a": "\\ud83d\\ude00"}') == {"a": "😀"}


def test_a_json_form_field_measures_the_text_not_the_result():
    field = JSONTextField(what="The rule", max_chars=20)
    assert field.clean("0") == 0  # a number has no len(): once a 500 in the builder
    with pytest.raises(forms.ValidationError, match="at most 20"):
        field.clean("[" + "1," * 20 + "1]")
    with pytest.raises(forms.ValidationError, match="nested"):
        JSONTextField(what="The rule", max_chars=10_000).clean("[" * 3000)


def test_a_stored_json_field_refuses_what_loads_json_refuses():
    field = StoredJSONField(required=False)
    assert field.clean('{"plan": "pro"}') == {"plan": "pro"}
    for bad in ("[" * 3000, '{"a": 1e309}', '{"a": "\\u0000"}'):
        with pytest.raises(forms.ValidationError):
            field.clean(bad)
    assert isinstance(field.bound_data("[" * 3000, None), forms.fields.InvalidJSONInput)


@pytest.mark.django_db
def test_model_ids_refuses_what_is_no_id_before_any_query(django_assert_num_queries):
    from contacts.models import Topic

    field = ModelIdsField(queryset=Topic.objects.all())
    for bad in (["²"], [str(10**30)], ["1", "x"]):
        with django_assert_num_queries(0), pytest.raises(forms.ValidationError):
            field.clean(bad)

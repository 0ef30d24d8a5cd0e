"""workspaces/errors.py: the one error of Kith's rules, its one line, what it says
about fields, and what the API's body holds beside code and message."""

import pytest
from django import forms
from django.core.exceptions import ValidationError

from workspaces.errors import KithError, one_line


class Taken(KithError):
    code, status = "duplicate_name", 409


def test_a_plain_error_is_its_sentence():
    error = KithError("The rule is empty.")
    assert (str(error), error.message, error.field, error.fields) == (
        "The rule is empty.",
        "The rule is empty.",
        None,
        {},
    )
    assert (error.code, error.status) == ("invalid", 400)
    assert error.by_field() == {None: ["The rule is empty."]}
    assert error.api_extra() == {}


def test_an_error_about_a_field_names_it_in_its_one_line():
    error = KithError("At most 100 characters.", field="name")
    assert error.message == "At most 100 characters."
    assert str(error) == "name: At most 100 characters."
    assert error.by_field() == {"name": ["At most 100 characters."]}
    assert error.api_extra() == {"field": "name", "fields": {"name": ["At most 100 characters."]}}


def test_an_error_about_several_fields_keeps_each_message_with_its_field():
    error = KithError(fields={"email": ["Not an email."], "score": ["A whole number."]})
    assert str(error) == "email: Not an email.; score: A whole number."
    assert error.field is None
    assert error.by_field() == {"email": ["Not an email."], "score": ["A whole number."]}


def test_a_subclass_sets_code_and_status_once_and_extra_goes_to_the_api():
    error = Taken("Taken.", field="name", usage={"segments": []})
    assert (error.code, error.status) == ("duplicate_name", 409)
    assert error.api_extra() == {
        "field": "name",
        "fields": {"name": ["Taken."]},
        "usage": {"segments": []},
    }
    other = KithError("Too many.", code="too_large", status=413, path="")
    assert (other.code, other.status, other.api_extra()) == ("too_large", 413, {"path": ""})


def test_it_is_a_validation_error_django_puts_beside_the_field():
    with pytest.raises(ValidationError):
        raise KithError("No.", field="name")

    class NameForm(forms.Form):
        name = forms.CharField()

    form = NameForm({"name": "x"})
    assert form.is_valid()
    form.add_error(None, KithError("Taken.", field="name"))
    assert form.errors == {"name": ["Taken."]}


def test_one_line_says_djangos_own_errors_the_same_way():
    assert one_line(ValidationError({"email": ["Bad."], "__all__": ["Whole."]})) == (
        "email: Bad.; Whole."
    )
    assert one_line(ValidationError(["One.", "Two."])) == "One. Two."
    assert one_line(KithError("Bad.", field="email")) == "email: Bad."


def test_a_form_shows_a_service_error_beside_its_field_or_at_the_top():
    from workspaces.forms import ServiceErrorsMixin, add_service_error

    class SaveAsForm(ServiceErrorsMixin, forms.Form):
        service_fields = {"name": "new_name"}
        new_name = forms.CharField()
        note = forms.CharField(required=False)

    form = SaveAsForm({"new_name": "VIP"})
    assert form.is_valid()
    form.add_service_errors(KithError("Taken.", field="name"))
    form.add_service_errors(KithError("The workspace is full."))
    form.add_service_errors(KithError("No.", field="something_else"))
    add_service_error(form, ValidationError({"note": ["Too long."]}))
    assert form.errors == {
        "new_name": ["Taken."],
        "__all__": ["The workspace is full.", "No."],
        "note": ["Too long."],
    }

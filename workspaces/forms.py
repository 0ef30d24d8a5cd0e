"""Forms of the workspace pages, and the one place a service's error is put on a form
(add_service_error): beside the field it concerns, else at the top of the form."""

from django import forms
from django.core.exceptions import ValidationError

from workspaces.errors import KithError, errors_by_field
from workspaces.models import Role


def add_service_error(form, exc: ValidationError, *, aliases: dict | None = None) -> None:
    """Each message of a service's error (workspaces.errors.KithError) beside the form
    field it concerns, else at the top of the form. `aliases` names the form's field
    for a service's ({"name": "new_name"} where a form asks for a second name)."""
    for name, messages in errors_by_field(exc).items():
        name = (aliases or {}).get(name, name)
        for message in messages:
            form.add_error(name if name in form.fields else None, message)


def submit(form, service, /, **kwargs):
    """What a settings form's POST does: when the form is valid, call
    `service(**kwargs, **form.cleaned_data)` (the form's fields are named as the
    service's arguments) and return what it returns; None when the form or the
    service refused, the service's errors then beside the form's fields."""
    if not form.is_valid():
        return None
    try:
        return service(**kwargs, **form.cleaned_data)
    except KithError as exc:
        add_service_error(form, exc, aliases=getattr(form, "service_fields", None))
        return None


class ServiceErrorsMixin:
    """A form that shows a service's errors: form.add_service_errors(exc).
    `service_fields` is the form's `aliases` (see add_service_error)."""

    service_fields: dict[str, str] = {}

    def add_service_errors(self, exc: ValidationError) -> None:
        add_service_error(self, exc, aliases=self.service_fields)


def name_required(thing: str, what: str = "name") -> dict:
    """error_messages of a required name, in the words of every form of the app:
    "Give the tag a name." """
    return {"required": f"Give the {thing} a {what}."}


class MemberAddForm(ServiceErrorsMixin, forms.Form):
    username = forms.CharField(
        label="Username",
        max_length=150,
        help_text="The person must already have a Kith account.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.MARKETER)

    def __init__(self, *args, roles=None, **kwargs):
        super().__init__(*args, **kwargs)
        if roles is not None:
            self.fields["role"].choices = roles


class MemberRoleForm(ServiceErrorsMixin, forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)

    def __init__(self, *args, roles=None, **kwargs):
        super().__init__(*args, **kwargs)
        if roles is not None:
            self.fields["role"].choices = roles


class ApiKeyForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(
        label="Key name",
        max_length=100,
        error_messages=name_required("key"),
        help_text="What uses this key, e.g. “Shop sync”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

"""Forms of the workspace pages. Services decide what is allowed; their errors are
put back on the field they name with `add_service_errors`."""

from django import forms
from django.core.exceptions import ValidationError

from workspaces.models import Role


class ServiceErrorsMixin:
    def add_service_errors(self, exc: ValidationError) -> None:
        """Each of a service's errors on the field it names, else on the form."""
        errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        for name, messages in errors.items():
            field = name if name in self.fields else None
            for message in messages:
                self.add_error(field, message)


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

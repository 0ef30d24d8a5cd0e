"""Forms of the contact pages. They check the shape of the input; the services
decide what is allowed (duplicates, attribute types) and their errors are put back
on the field they name."""

from datetime import datetime

from django import forms

from contacts.attributes import parse_iso_moment
from contacts.models import Contact, CustomAttribute, field_label
from workspaces.forms import ServiceErrorsMixin, name_required
from workspaces.params import IntField

Type = CustomAttribute.Type
ATTRIBUTE_PREFIX = "attr_"
BOOLEAN_CHOICES = [("", "—"), ("true", "Yes"), ("false", "No")]


def _text(name: str, field_class=forms.CharField, **kwargs) -> forms.Field:
    """A built-in text field of a contact, labelled and sized as the model says."""
    max_length = Contact._meta.get_field(name).max_length
    return field_class(label=field_label(name), required=False, max_length=max_length, **kwargs)


def split_names(text: str) -> list[str]:
    """ "vip, newsletter" -> ["vip", "newsletter"]."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


class ContactForm(ServiceErrorsMixin, forms.Form):
    """Built-in fields, then one field per custom attribute of the workspace."""

    first_name = _text("first_name")
    last_name = _text("last_name")
    email = _text("email", forms.EmailField)
    phone = _text("phone")
    company = _text("company")
    city = _text("city")
    state = _text("state")
    country = _text("country")
    language = _text("language")
    external_id = _text("external_id", help_text="The id of this person in your other systems.")
    # An int column: ASCII digits within its range (the service says the same).
    score = IntField(
        label=field_label("score"),
        required=False,
        initial=0,
        min_value=-(2**31) + 1,
        max_value=2**31 - 1,
    )
    tags = forms.CharField(
        label="Tags", required=False, help_text="Separate several tags with commas."
    )

    builtin_names = [
        "first_name",
        "last_name",
        "email",
        "phone",
        "company",
        "city",
        "state",
        "country",
        "language",
        "external_id",
        "score",
    ]

    def __init__(self, *args, definitions: list[CustomAttribute], contact=None, **kwargs):
        self.contact = contact
        self.definitions = definitions
        if contact is not None:
            kwargs.setdefault("initial", self._initial_from(contact, definitions))
        super().__init__(*args, **kwargs)
        if contact is not None:
            del self.fields["tags"]  # tags are edited on the contact page itself
        for definition in definitions:
            self.fields[ATTRIBUTE_PREFIX + definition.key] = attribute_field(definition)

    @staticmethod
    def _initial_from(contact, definitions) -> dict:
        initial = {name: getattr(contact, name) for name in ContactForm.builtin_names}
        for definition in definitions:
            value = contact.attributes.get(definition.key)
            initial[ATTRIBUTE_PREFIX + definition.key] = attribute_initial(definition, value)
        return initial

    @property
    def builtin_fields(self):
        return [self[name] for name in self.builtin_names]

    @property
    def attribute_fields(self):
        return [self[ATTRIBUTE_PREFIX + d.key] for d in self.definitions]

    def service_data(self) -> dict:
        """What contact_create / contact_update get: on an edit only what changed,
        so a value the form cannot show exactly (a moment in a date input) is kept."""
        changed = set(self.changed_data) if self.contact is not None else None
        data = {
            name: self.cleaned_data[name]
            for name in self.builtin_names
            if changed is None or name in changed
        }
        attributes = {}
        for definition in self.definitions:
            name = ATTRIBUTE_PREFIX + definition.key
            if changed is not None and name not in changed:
                continue
            value = attribute_value(definition, self.cleaned_data.get(name))
            if value is not None or changed is not None:
                attributes[definition.key] = value
        if attributes:
            data["attributes"] = attributes
        return data

    def tag_names(self) -> list[str]:
        return split_names(self.cleaned_data.get("tags", ""))


def attribute_field(definition: CustomAttribute) -> forms.Field:
    label = definition.label or definition.key
    help_text = f"Custom attribute “{definition.key}”."
    if definition.type == Type.NUMBER:
        return forms.FloatField(
            label=label,
            required=False,
            help_text=help_text,
            widget=forms.NumberInput(attrs={"step": "any"}),
        )
    if definition.type == Type.DATE:
        return forms.DateField(
            label=label,
            required=False,
            help_text=help_text,
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        )
    if definition.type == Type.BOOLEAN:
        return forms.ChoiceField(
            label=label, required=False, help_text=help_text, choices=BOOLEAN_CHOICES
        )
    return forms.CharField(label=label, required=False, help_text=help_text, max_length=1000)


def attribute_initial(definition: CustomAttribute, value):
    if value is None:
        return None
    if definition.type == Type.BOOLEAN:
        return "true" if value is True else "false" if value is False else ""
    if definition.type == Type.DATE and isinstance(value, str):
        moment = parse_iso_moment(value)
        return moment.date() if isinstance(moment, datetime) else moment
    return value


def attribute_value(definition: CustomAttribute, cleaned):
    """The form's cleaned value as the service takes it; None clears the attribute."""
    if cleaned is None or cleaned == "":
        return None
    if definition.type == Type.BOOLEAN:
        return cleaned == "true"
    if definition.type == Type.NUMBER and float(cleaned).is_integer():
        return int(cleaned)
    return cleaned


class TagAddForm(forms.Form):
    names = forms.CharField(
        label="Add tags",
        max_length=1000,
        error_messages=name_required("tag"),
        help_text="Separate several tags with commas.",
    )

    def tag_names(self) -> list[str]:
        return split_names(self.cleaned_data["names"])


class BulkTagForm(forms.Form):
    """The "Add tag" bulk action; its fields are prefixed "tag-" on the page."""

    # Several actions share one <form>: a required field of one must not stop another.
    use_required_attribute = False

    name = forms.CharField(
        label="Tag to add",
        max_length=100,
        error_messages=name_required("tag"),
        widget=forms.TextInput(attrs={"placeholder": "Tag name", "autocomplete": "off"}),
    )


# ---------------------------------------------------------------- settings sections


class AttributeForm(ServiceErrorsMixin, forms.Form):
    key = forms.CharField(
        label="Key",
        max_length=64,
        error_messages=name_required("attribute", "key"),
        help_text="Used by the API, imports and rules: letters, digits and _, e.g. plan_name.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    label = forms.CharField(
        label="Label", max_length=100, required=False, help_text="What people see, e.g. Plan."
    )
    type = forms.ChoiceField(label="Type", choices=CustomAttribute.Type.choices)


class AttributeLabelForm(ServiceErrorsMixin, forms.Form):
    label = forms.CharField(label="Label", max_length=100, required=False)


class TagRenameForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label="New name", max_length=100, error_messages=name_required("tag"))


class TopicForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label="Name", max_length=100, error_messages=name_required("topic"))
    description = forms.CharField(label="Description", max_length=300, required=False)

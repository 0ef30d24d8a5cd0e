"""Forms of the segment pages. They check the shape of the input; the services decide
what is allowed (unique names, the segment limit, manual only, a rule that holds) and
their errors are put back beside the field they name with `add_service_errors`
(workspaces.forms), a rule's at its condition by the builder (views.builder).

The rule travels as the JSON of conditions.md in one form field, `conditions`: a
labelled textarea that works without JavaScript, which static/js/builder/ hides and
fills from the visual builder."""

import json

from django import forms

from contacts.models import TEXT_FIELDS, Topic, field_label
from segments.models import Segment
from workspaces.forms import ServiceErrorsMixin, name_required
from workspaces.params import JSONTextField, ModelIdsField

MAX_RULE_CHARS = 200_000

NAME_MAX = Segment._meta.get_field("name").max_length


def _name_field(thing="segment"):
    return forms.CharField(
        label="Name",
        max_length=NAME_MAX,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages=name_required(thing),
    )


def _description_field():
    return forms.CharField(
        label="Description",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Who is in it and what it is for, so others pick the right segment.",
    )


class ManualSegmentForm(ServiceErrorsMixin, forms.Form):
    name = _name_field()
    description = _description_field()


class NameForm(ServiceErrorsMixin, forms.Form):
    """The name of a clone or of a saved list."""

    name = _name_field("new segment")


def split_names(text: str) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


class SettingsForm(ServiceErrorsMixin, forms.Form):
    service_fields = {"topics": "new_topics"}  # the service names what this form adds

    name = _name_field()
    description = _description_field()
    topics = ModelIdsField(
        label="Topics",
        queryset=Topic.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Contacts who opted out of a topic are skipped by its campaigns.",
    )
    new_topics = forms.CharField(
        label="New topics",
        required=False,
        max_length=500,
        help_text="Separate several with commas; they are added to the workspace's topics.",
    )

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["topics"].queryset = Topic.objects.filter(workspace=workspace).order_by("name")

    def clean_new_topics(self):
        names = split_names(self.cleaned_data.get("new_topics"))
        too_long = [n for n in names if len(n) > 100]
        if too_long:
            raise forms.ValidationError("A topic name has at most 100 characters.")
        return names

    def topic_names(self) -> list[str]:
        chosen = [t.name for t in self.cleaned_data["topics"]]
        return chosen + self.cleaned_data["new_topics"]


# Built-in text fields a bulk segment can split on; text custom attributes are added.
BULK_FIELDS = ("country", "state", "city", "language", "company")


def bulk_field_choices(attributes) -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices: the usual built-in fields first, then text attributes."""
    builtins = [(name, field_label(name)) for name in BULK_FIELDS if name in TEXT_FIELDS]
    custom = [(f"attributes.{a.key}", a.label or a.key) for a in attributes if a.type == "text"]
    groups = [("Contact fields", builtins)]
    if custom:
        groups.append(("Custom attributes", custom))
    return groups


class BulkSegmentForm(ServiceErrorsMixin, forms.Form):
    field = forms.ChoiceField(
        label="Split contacts by",
        help_text="One filter segment per distinct value of this field (letter case ignored).",
    )
    name_prefix = forms.CharField(
        label="Name each segment",
        required=False,
        max_length=100,
        strip=False,  # "Country: " keeps its space: "Country: France"
        help_text="Text before the value, kept as typed: “Country: ” gives “Country: France”.",
    )

    def __init__(self, *args, attributes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [("", "Choose a field"), *bulk_field_choices(attributes)]


# ---------------------------------------------------------------- the rule builder's


def pretty(doc) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False)


class RuleField(JSONTextField):
    """The rule as JSON text in, the parsed document out (workspaces.params reads it:
    no NUL or lone surrogate, finite numbers, bounded nesting)."""

    def __init__(self, **kwargs):
        attrs = {"rows": 16, "spellcheck": "false", "class": "rule-json", "data-rule-json": ""}
        kwargs.setdefault("widget", forms.Textarea(attrs=attrs))
        super().__init__(what="The rule", max_chars=MAX_RULE_CHARS, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, dict | list):
            return pretty(value)
        return value


class RuleForm(ServiceErrorsMixin, forms.Form):
    conditions = RuleField(
        label="Rule (JSON)",
        error_messages={"required": "Write the rule: at least one condition."},
        help_text='A group {"all": [...]} or {"any": [...]} of conditions, as described in '
        "the conditions reference.",
    )


class SegmentCreateForm(RuleForm):
    name = forms.CharField(
        label="Name", max_length=200, error_messages={"required": "Give the segment a name."}
    )
    description = forms.CharField(
        label="Description",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional: who these people are, for your colleagues.",
    )
    field_order = ["name", "description", "conditions"]


class ConditionsForm(RuleForm):
    service_fields = {"name": "new_name"}  # "Save as a new segment" names the new one
    new_name = forms.CharField(label="Name of the new segment", max_length=200, required=False)

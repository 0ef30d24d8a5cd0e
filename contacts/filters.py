"""The contact list's filters (django-filter). The selector hands request.GET here.

Built-in fields, a tag, and one custom attribute at a time: pick its key, then a value
that is compared by the attribute's type (a number as a number, a date by day, a yes/no
as a boolean, text without regard to case). A key without a value means "has a value"."""

from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.utils import timezone

from contacts import attributes as attrs
from contacts.models import Contact, ContactTag, CustomAttribute, Tag
from workspaces.scoping import scoped

Type = CustomAttribute.Type


class AttributeSelect(forms.Select):
    """A select whose options carry the attribute's type, so the page's script can
    switch the value input to a number, date or yes/no input."""

    def __init__(self, *args, types=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.types = types or {}

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        if value in self.types:
            option["attrs"]["data-type"] = self.types[value]
        return option


class ContactFilterForm(forms.Form):
    definitions: dict[str, CustomAttribute] = {}

    def clean(self):
        data = super().clean()
        after, before = data.get("created_after"), data.get("created_before")
        if after and before and after > before:
            self.add_error("created_before", "This date is before the 'Created from' date.")
        low, high = data.get("score_min"), data.get("score_max")
        if low is not None and high is not None and low > high:
            self.add_error("score_max", "The maximum is below the minimum.")
        self._clean_attribute(data)
        return data

    def _clean_attribute(self, data):
        key, raw = data.get("attr"), (data.get("attr_value") or "").strip()
        if raw and not key:
            self.add_error("attr", "Pick the attribute this value is for.")
            return
        definition = self.definitions.get(key) if key else None
        if definition is None or not raw:
            return
        try:
            data["attr_value"] = attrs.coerce(definition.type, raw, definition.label or key)
        except ValidationError as exc:
            self.add_error("attr_value", exc.messages[0])


def _day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class ContactFilter(django_filters.FilterSet):
    country = django_filters.CharFilter(lookup_expr="iexact", label="Country")
    city = django_filters.CharFilter(lookup_expr="iexact", label="City")
    language = django_filters.CharFilter(lookup_expr="iexact", label="Language")
    company = django_filters.CharFilter(lookup_expr="icontains", label="Company")
    score_min = django_filters.NumberFilter(
        field_name="score", lookup_expr="gte", label="Score from", widget=forms.NumberInput
    )
    score_max = django_filters.NumberFilter(
        field_name="score", lookup_expr="lte", label="Score to", widget=forms.NumberInput
    )
    created_after = django_filters.DateFilter(
        method="filter_created_after",
        label="Created from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    created_before = django_filters.DateFilter(
        method="filter_created_before",
        label="Created until",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    has_email = django_filters.ChoiceFilter(
        method="filter_has_email",
        label="Email",
        choices=[("yes", "Has an email"), ("no", "No email")],
        empty_label="Any",
    )
    tag = django_filters.ModelChoiceFilter(
        queryset=Tag.objects.none(), method="filter_tag", label="Tag", empty_label="Any tag"
    )
    segment = django_filters.ModelChoiceFilter(
        queryset=Tag.objects.none(),
        method="filter_segment",
        label="Segment",
        empty_label="Any segment",
    )
    attr = django_filters.ChoiceFilter(
        method="filter_nothing", label="Attribute", empty_label="Any attribute"
    )
    attr_value = django_filters.CharFilter(method="filter_nothing", label="Attribute value")

    class Meta:
        model = Contact
        fields: list[str] = []
        form = ContactFilterForm

    def __init__(self, data=None, queryset=None, *, workspace, **kwargs):
        super().__init__(data, queryset, **kwargs)
        self.workspace = workspace
        self.filters["tag"].queryset = scoped(Tag, workspace)
        from segments.selectors import segment_picker_choices  # segments builds on contacts

        self.filters["segment"].queryset = segment_picker_choices(workspace)
        self._definitions = None

    @property
    def definitions(self) -> dict[str, CustomAttribute]:
        if self._definitions is None:
            self._definitions = {a.key: a for a in scoped(CustomAttribute, self.workspace)}
        return self._definitions

    @property
    def form(self):
        if not hasattr(self, "_form"):
            # The choices are read when the form is built, so load them first.
            definitions = self.definitions
            attr_filter = self.filters["attr"]
            attr_filter.extra["choices"] = [(k, a.label or k) for k, a in definitions.items()]
            attr_filter.extra["widget"] = AttributeSelect(
                types={k: a.type for k, a in definitions.items()}
            )
            form = super().form
            form.definitions = definitions
        return self._form

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        return self._filter_attribute(queryset)

    def _filter_attribute(self, queryset):
        key = self.form.cleaned_data.get("attr")
        definition = self.definitions.get(key) if key else None
        if definition is None:
            return queryset
        value = self.form.cleaned_data.get("attr_value")
        if value is None or value == "":
            return queryset.filter(attributes__has_key=definition.key)
        if definition.type == Type.DATE:
            # Values are fixed-width ISO text; a day matches dates and moments in it.
            text = KeyTextTransform(definition.key, "attributes")
            return queryset.alias(_attr_text=text).filter(_attr_text__startswith=value[:10])
        if definition.type == Type.TEXT:
            text = KeyTextTransform(definition.key, "attributes")
            return queryset.alias(_attr_text=text).filter(_attr_text__iexact=value)
        value_of = KeyTransform(definition.key, "attributes")
        return queryset.alias(_attr=value_of).filter(_attr=value)

    def filter_nothing(self, queryset, name, value):
        return queryset  # attr and attr_value are applied together in _filter_attribute

    def filter_created_after(self, queryset, name, value):
        return queryset.filter(created_at__gte=_day_start(value))

    def filter_created_before(self, queryset, name, value):
        return queryset.filter(created_at__lt=_day_start(value + timedelta(days=1)))

    def filter_has_email(self, queryset, name, value):
        return queryset.filter(email__isnull=(value == "no"))

    def filter_segment(self, queryset, name, segment):
        """Members of the segment: EXISTS on the members table's (segment, contact)
        unique index, so no JOIN duplicates a contact and the keyset order holds."""
        from segments.selectors import members_of  # segments builds on contacts

        return queryset.filter(members_of(segment))

    def filter_tag(self, queryset, name, tag):
        links = ContactTag.objects.filter(contact=OuterRef("pk"), tag=tag)
        return queryset.filter(Exists(links))

    @property
    def active_count(self) -> int:
        """How many filters are set, for the "Filters (2)" badge."""
        if not self.is_bound or not self.form.is_valid():
            return 0
        data = self.form.cleaned_data
        return sum(
            1
            for name in self.filters
            if name != "attr_value" and data.get(name) not in (None, "", [], ())
        )

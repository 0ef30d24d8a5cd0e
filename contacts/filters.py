"""The contact list's filters (django-filter): the page hands request.GET here, the API
its query (contacts.api_selectors), "all that match" a list's saved query string.

Built-in fields, a tag, and one custom attribute at a time: pick its key, then a value
that is compared by the attribute's type (a number as a number, a date by day, a yes/no
as a boolean, text without regard to case). A key without a value means "has a value".
The search (`q`), and the API's exact `email`, `external_id` and `tag_name`, are
filters too. Other apps add theirs (segments: `segment`) with `register_filter`."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Lower
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe

from contacts import attributes as attrs
from contacts.models import Contact, ContactTag, CustomAttribute, Tag, clean_lookup, field_label
from workspaces.models import Workspace
from workspaces.params import MAX_ID
from workspaces.scoping import scoped

Type = CustomAttribute.Type

# Below this many characters a substring search matches too much to be useful and
# cannot use the trigram indexes, so it becomes a prefix search.
CONTAINS_MIN_LENGTH = 3
# Words of a search that count: each adds a condition, and thousands of them (a search
# box is a text field) made one query take a minute, or overflow SQLite's parser.
SEARCH_WORDS = 10
PREFIX_FIELDS = ("email", "first_name", "last_name")
CONTAINS_FIELDS = ("email", "first_name", "last_name", "company", "external_id")


def contact_search(queryset: QuerySet, q: str) -> QuerySet:
    """Every word of `q` must match ("ann lee" finds Ann Lee), as migration 0002's
    indexes expect: these exact lookups on these exact fields (istartswith and
    icontains both become UPPER(col::text) LIKE on PostgreSQL)."""
    for word in (q or "").split()[:SEARCH_WORDS]:
        if len(word) >= CONTAINS_MIN_LENGTH:
            fields, lookup = CONTAINS_FIELDS, "icontains"
        else:
            fields, lookup = PREFIX_FIELDS, "istartswith"
        condition = Q()
        for name in fields:
            condition |= Q(**{f"{name}__{lookup}": word})
        queryset = queryset.filter(condition)
    return queryset


@dataclass(frozen=True)
class ListFilter:
    """A filter another app adds to the contact list, registered in its
    AppConfig.ready: segments adds `segment`, the members of a segment."""

    name: str  # the query parameter
    make: Callable[[Workspace], django_filters.Filter]  # the filter, for one workspace
    template: str | None = None  # draws it in the list's filter panel (field=its field)


_registered: dict[str, ListFilter] = {}


def register_filter(list_filter: ListFilter) -> None:
    _registered[list_filter.name] = list_filter


def workspace_attributes(workspace: Workspace) -> dict[str, CustomAttribute]:
    """The workspace's custom attributes by key, in key order, read once per Workspace
    instance: the contact list draws them twice (its filter panel, and the bulk bar's
    mass update, contacts.mass_update), both from request.workspace, which the
    middleware loads afresh for each request."""
    read = getattr(workspace, "_custom_attributes", None)
    if read is None:
        read = {a.key: a for a in scoped(CustomAttribute, workspace).order_by("key")}
        workspace._custom_attributes = read
    return read


class AttributeSelect(forms.Select):
    """A select whose options carry the attribute's type, so the page's script can
    switch the value input to a number, date or yes/no input."""

    def __init__(self, *args, types=dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.types = types  # read when the options are drawn

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        types = self.types()
        if value in types:
            option["attrs"]["data-type"] = types[value]
        return option


class QuickSelect(forms.Select):
    """A select drawn in one pass: the same markup as Django's, without a template per
    option, which took most of the contact list's time with 500 segments to pick from.
    `limit`: at most that many options after the empty one (the chosen one always)."""

    def __init__(self, *args, limit: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit = limit
        self.more = False  # set when drawn: options were left out

    def _pairs(self):
        """The (value, label) pairs. A model field's are read here in one plain query of
        at most `limit` + 1 rows: Django's ModelChoiceIterator reads them through a
        server-side cursor (DECLARE, FETCH, CLOSE: three round trips to the database,
        the FETCH 2,000 rows even when `limit` draws 200)."""
        queryset = getattr(self.choices, "queryset", None)
        field = getattr(self.choices, "field", None)
        if queryset is None or field is None:
            yield from self.choices
            return
        if field.empty_label is not None:
            yield "", field.empty_label
        if getattr(field, "null_label", None) is not None:
            yield field.null_value, field.null_label
        if self.limit is not None:
            queryset = queryset[: self.limit + 1]
        for obj in queryset:
            yield field.prepare_value(obj), field.label_from_instance(obj)

    def render(self, name, value, attrs=None, renderer=None):
        chosen = {str(v) for v in self.format_value(value)}
        options, shown, drawn = [], 0, set()
        self.more = False
        for option_value, label in self._pairs():
            key = "" if option_value is None else str(option_value)
            if key and self.limit is not None:
                if shown >= self.limit:
                    self.more = True
                    break  # the rest is not read
                shown += 1
            options.append((key, " selected" if key in chosen else "", label))
            drawn.add(key)
        missing = [k for k in chosen - drawn if k.isascii() and k.isdigit() and int(k) <= MAX_ID]
        queryset = getattr(self.choices, "queryset", None)
        if missing and queryset is not None:  # chosen, past the limit
            label_of = self.choices.field.label_from_instance
            options += [
                (str(o.pk), " selected", label_of(o)) for o in queryset.filter(pk__in=missing)
            ]
        final = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        # Escaped and joined, not format_html_join: a third of the time for 500 options.
        esc = conditional_escape
        drawn_options = "".join(
            f'<option value="{esc(key)}"{selected}>{esc(label)}</option>'
            for key, selected, label in options
        )
        return format_html("<select{}>{}</select>", flatatt(final), mark_safe(drawn_options))


# The tag filter lists this many tags, by name (and the chosen one); past it, a tag is
# found by its name (the `tag_name` filter), so a workspace of 10,000 tags draws 200.
TAG_PICKER_LIMIT = 200


class ContactFilterForm(forms.Form):
    # The workspace's attributes by key, read only when an attribute is filtered on.
    definitions = staticmethod(dict)

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
        definition = self.definitions().get(key) if key else None
        if definition is None or not raw:
            return
        try:
            data["attr_value"] = attrs.coerce(definition.type, raw, definition.label or key)
        except ValidationError as exc:
            self.add_error("attr_value", exc.messages[0])


def _day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class ContactFilter(django_filters.FilterSet):
    country = django_filters.CharFilter(method="filter_ci", label=field_label("country"))
    city = django_filters.CharFilter(method="filter_ci", label=field_label("city"))
    language = django_filters.CharFilter(method="filter_ci", label=field_label("language"))
    company = django_filters.CharFilter(lookup_expr="icontains", label=field_label("company"))
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
        queryset=Tag.objects.none(),
        method="filter_tag",
        label="Tag",
        empty_label="Any tag",
        widget=QuickSelect(limit=TAG_PICKER_LIMIT),
    )
    attr = django_filters.ChoiceFilter(
        method="filter_nothing", label="Attribute", empty_label="Any attribute"
    )
    attr_value = django_filters.CharFilter(method="filter_nothing", label="Attribute value")
    # Not in the filter panel: the search box, and what the API filters on.
    q = django_filters.CharFilter(method="filter_search", label="search")
    email = django_filters.CharFilter(method="filter_lookup", label="email")
    external_id = django_filters.CharFilter(method="filter_lookup", label="external id")
    tag_name = django_filters.CharFilter(method="filter_tag_name", label="tag")
    OFF_PANEL = ("q", "email", "external_id", "tag_name")

    class Meta:
        model = Contact
        fields: list[str] = []
        form = ContactFilterForm

    def __init__(self, data=None, queryset=None, *, workspace, **kwargs):
        super().__init__(data, queryset, **kwargs)
        self.workspace = workspace
        self.filters["tag"].queryset = scoped(Tag, workspace).only("id", "name").order_by("name")
        self.registered = []
        for list_filter in _registered.values():
            added = self.filters[list_filter.name] = list_filter.make(workspace)
            added.parent, added.model = self, Contact
            self.registered.append(list_filter)
        self._definitions = None

    @property
    def definitions(self) -> dict[str, CustomAttribute]:
        if self._definitions is None:
            self._definitions = workspace_attributes(self.workspace)
        return self._definitions

    @property
    def form(self):
        if not hasattr(self, "_form"):
            # The attributes are read when the select is drawn or a key is checked,
            # not for a list (the API's) that filters on none.
            attr_filter = self.filters["attr"]
            attr_filter.extra["choices"] = lambda: [
                (k, a.label or k) for k, a in self.definitions.items()
            ]
            attr_filter.extra["widget"] = AttributeSelect(
                types=lambda: {k: a.type for k, a in self.definitions.items()}
            )
            form = super().form
            form.definitions = lambda: self.definitions
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

    def filter_search(self, queryset, name, value):
        return contact_search(queryset, value)

    def filter_ci(self, queryset, name, value):
        # LOWER(field) = LOWER(value), the form of the (workspace, LOWER(field))
        # indexes (iexact's UPPER() could use none).
        return queryset.alias(**{f"_{name}_ci": Lower(name)}).filter(
            **{f"_{name}_ci": Lower(Value(value.strip()))}
        )

    def filter_lookup(self, queryset, name, value):
        # LOWER(field) = value uses the unique (workspace, LOWER(field)) index.
        return queryset.alias(**{f"_{name}_key": Lower(name)}).filter(
            **{f"_{name}_key": clean_lookup(value)}
        )

    def filter_tag_name(self, queryset, name, value):
        key = clean_lookup(value)
        tags = scoped(Tag, self.workspace).alias(_key=Lower("name")).filter(_key=key)
        links = ContactTag.objects.filter(contact=OuterRef("pk"), tag__in=tags)
        return queryset.filter(Exists(links))

    def filter_tag(self, queryset, name, tag):
        links = ContactTag.objects.filter(contact=OuterRef("pk"), tag=tag)
        return queryset.filter(Exists(links))

    def panel_names(self) -> list[str]:
        """The filters the list's panel draws (the search box is apart)."""
        hidden = {*self.OFF_PANEL, *(f.name for f in self.registered if not f.template)}
        return [name for name in self.filters if name not in hidden]

    @property
    def panel_fields(self) -> list:
        return [self.form[name] for name in self.panel_names()]

    @property
    def panel_extras(self) -> list[dict]:
        """The registered filters the panel draws: their template and bound field."""
        return [
            {"template": f.template, "field": self.form[f.name]}
            for f in self.registered
            if f.template
        ]

    @property
    def active_count(self) -> int:
        """How many of the panel's filters are set, for the "Filters (2)" badge."""
        if not self.is_bound or not self.form.is_valid():
            return 0
        data = self.form.cleaned_data
        return sum(
            1
            for name in self.panel_names()
            if name != "attr_value" and data.get(name) not in (None, "", [], ())
        )

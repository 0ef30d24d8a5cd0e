"""Filters of segments (django-filter): the dashboard's, which the selector hands
request.GET, and the API's list hands its query; and the contact list's `segment`
filter, the members of a segment, which SegmentsConfig.ready adds to contacts'
FilterSet (contacts.filters.register_filter)."""

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q

from contacts.filters import ListFilter, QuickSelect
from contacts.models import Topic
from segments.models import Segment, SegmentMember
from workspaces.models import Workspace
from workspaces.scoping import scoped

STATUS_CHOICES = [("archived", "Archived"), ("all", "All")]


class SegmentFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Search")
    kind = django_filters.ChoiceFilter(
        choices=Segment.Kind.choices, label="Kind", empty_label="Any kind"
    )
    origin = django_filters.ChoiceFilter(
        choices=Segment.Origin.choices, label="Made by", empty_label="Any way"
    )
    # Empty means active only: the dashboard shows what is in use day to day.
    status = django_filters.ChoiceFilter(
        method="filter_nothing", choices=STATUS_CHOICES, label="Status", empty_label="Active"
    )
    topic = django_filters.ModelChoiceFilter(
        queryset=Topic.objects.none(),
        field_name="topics",
        label="Topic",
        empty_label="Any topic",
        # One plain query for the options: Django's own select reads them through a
        # server-side cursor on PostgreSQL (DECLARE, FETCH, CLOSE: three round trips).
        widget=QuickSelect,
    )
    # The API's `q`: part of the name only (api.md); the dashboard's search reads
    # descriptions too.
    name = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name")

    class Meta:
        model = Segment
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, *, workspace, **kwargs):
        super().__init__(data, queryset, **kwargs)
        self.filters["topic"].queryset = scoped(Topic, workspace).order_by("name")
        self.form.fields["q"].widget = forms.TextInput(
            attrs={"type": "search", "placeholder": "Search names and descriptions"}
        )

    def filter_queryset(self, queryset):
        status = self.form.cleaned_data.get("status")
        if status != "all":
            queryset = queryset.filter(archived=status == "archived")
        return super().filter_queryset(queryset)

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))

    def filter_nothing(self, queryset, name, value):
        return queryset  # applied in filter_queryset, where "empty" can mean something

    @property
    def active_count(self) -> int:
        """How many filters (not the search) are set, for the Filters button."""
        if not self.form.is_valid():
            return 0
        data = self.form.cleaned_data
        return sum(1 for name in ("kind", "origin", "status", "topic") if data.get(name))


# ---------------------------------------------------------------- the contact list's filter


def _members(queryset, name, segment):
    # EXISTS on the members table's (segment, contact) unique index: one probe per
    # contact, and no JOIN that could repeat a contact or upset the keyset order.
    return queryset.filter(
        Exists(SegmentMember.objects.filter(segment=segment, contact=OuterRef("pk")))
    )


def members_filter(workspace: Workspace) -> django_filters.Filter:
    """`segment`: the contacts in a segment of the workspace, picked among all of them,
    active ones first, each by name."""
    return django_filters.ModelChoiceFilter(
        queryset=scoped(Segment, workspace)
        .only("id", "name", "archived")
        .order_by("archived", "name", "id"),
        method=_members,
        label="Segment",
        empty_label="Any segment",
        widget=QuickSelect,  # 500 segments: one pass, no template per option
    )


CONTACT_LIST_FILTER = ListFilter(
    name="segment", make=members_filter, template="segments/_contact_list_filter.html"
)

"""Django admin for contacts and what hangs off them.

Built for tables of millions of rows: no full COUNT(*) (a capped count instead), prefix
searches that the PostgreSQL indexes of migration 0002 serve, ordering by -id, and
contacts always chosen with an autocomplete box, never a <select> of every row.

A contact is saved through the services (contact_create / contact_update). The other
models are written directly, so it checks here what the services check (same
workspace on both sides of a link, unique email per workspace, typed attributes) and
reports changes to the segment engine through contacts.changes, as the services do.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html

from contacts.changes import Change, contacts_changed, contacts_deleting
from contacts.models import (
    TEXT_FIELDS,
    Contact,
    ContactTag,
    CustomAttribute,
    Device,
    Event,
    Tag,
    Topic,
    TopicOptOut,
)
from contacts.services.attributes import clean_attributes
from contacts.services.contacts import (
    DuplicateContact,
    check_unique,
    contact_create,
    contact_update,
)
from contacts.services.fields import EDITABLE_FIELDS, clean_fields
from workspaces.admin_ids import IdSafeAdminMixin
from workspaces.params import parse_id

COUNT_CAP = 10_000
SEARCH_COUNT_CAP = 1_000


class CappedCountPaginator(Paginator):
    """Counts at most `cap` + 1 rows: COUNT(*) over millions of rows on every page view
    is what makes admin changelists slow. Pages past the cap are reached by searching or
    filtering instead."""

    def __init__(self, *args, cap: int = COUNT_CAP, **kwargs):
        super().__init__(*args, **kwargs)
        self.cap = cap

    @cached_property
    def count(self):
        return self.object_list[: self.cap + 1].count()

    @property
    def is_capped(self) -> bool:
        return self.count > self.cap


class LargeTableAdmin(IdSafeAdminMixin, admin.ModelAdmin):
    """Defaults for a table that grows with the number of contacts: a capped count
    (lower while searching, when counting means reading matching rows), newest first,
    and only the id column sortable (the other columns have no index of their own, so
    sorting by them would sort the whole table)."""

    show_full_result_count = False
    ordering = ("-id",)
    sortable_by = ("id",)
    list_per_page = 50

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        # "q": the changelist's search box; "term": an autocomplete box.
        searching = (request.GET.get("q") or request.GET.get("term") or "").strip()
        cap = SEARCH_COUNT_CAP if searching else COUNT_CAP
        return CappedCountPaginator(queryset, per_page, orphans, allow_empty_first_page, cap=cap)


def _same_workspace(left_workspace_id, right_workspace_id, message: str) -> None:
    if left_workspace_id and right_workspace_id and left_workspace_id != right_workspace_id:
        raise ValidationError(message)


# ---------------------------------------------------------------- inlines on a contact


class RecentFirstFormSet(BaseInlineFormSet):
    """Only the newest rows: a contact may have thousands of events."""

    limit = 20

    def get_queryset(self):
        if not hasattr(self, "_limited"):
            self._limited = super().get_queryset()[: self.limit]
        return self._limited


class ContactTagInlineForm(forms.ModelForm):
    class Meta:
        model = ContactTag
        fields = ("tag",)

    def clean(self):
        cleaned = super().clean()
        tag = cleaned.get("tag")
        if tag is not None and self.instance.contact_id:
            _same_workspace(
                tag.workspace_id,
                self.instance.contact.workspace_id,
                "This tag belongs to another workspace.",
            )
        return cleaned


class ContactTagInline(IdSafeAdminMixin, admin.TabularInline):
    model = ContactTag
    form = ContactTagInlineForm
    autocomplete_fields = ("tag",)
    readonly_fields = ("created_at",)
    extra = 0
    verbose_name = "tag"
    verbose_name_plural = "tags"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("tag")


class EventInline(admin.TabularInline):
    model = Event
    formset = RecentFirstFormSet
    fields = ("name", "occurred_at", "properties")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = f"latest {RecentFirstFormSet.limit} events"

    def has_add_permission(self, request, obj=None):
        return False


class DeviceInline(admin.TabularInline):
    model = Device
    fields = ("platform", "identifier", "last_seen_at")
    extra = 0


# ---------------------------------------------------------------- contacts


class ContactAdminForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ("workspace", *TEXT_FIELDS, "score", "attributes", "last_activity_at")

    def clean(self):
        cleaned = super().clean()
        workspace = cleaned.get("workspace") or getattr(self.instance, "workspace", None)
        if workspace is None:
            return cleaned
        builtins = {name: cleaned[name] for name in cleaned if name in EDITABLE_FIELDS}
        try:
            cleaned.update(clean_fields(builtins))
        except ValidationError as exc:
            self._add_errors(exc)
        else:
            self._check_unique(workspace, cleaned)
        if "attributes" in cleaned:
            try:
                typed = clean_attributes(workspace, cleaned["attributes"], define_missing=False)
            except ValidationError as exc:
                self._add_errors(exc)
            else:
                cleaned["attributes"] = {k: v for k, v in typed.items() if v is not None}
        return cleaned

    def _add_errors(self, exc: ValidationError) -> None:
        for name, messages in exc.message_dict.items():
            self.add_error(name if name in self.fields else None, messages)

    def _check_unique(self, workspace, cleaned) -> None:
        # The database enforces this on LOWER(email); Django skips the constraint check
        # when `workspace` is read-only, so it is done here to avoid an IntegrityError.
        try:
            check_unique(workspace, cleaned, exclude_id=self.instance.pk)
        except DuplicateContact as exc:
            self._add_errors(exc)

    def save(self, commit=True):
        # clean() normalised the values (empty email -> NULL, stripped text).
        for name in EDITABLE_FIELDS:
            if name in self.cleaned_data:
                setattr(self.instance, name, self.cleaned_data[name])
        return super().save(commit)


@admin.register(Contact)
class ContactAdmin(LargeTableAdmin):
    form = ContactAdminForm
    list_display = (
        "id",
        "email",
        "first_name",
        "last_name",
        "company",
        "country",
        "score",
        "workspace",
        "last_activity_at",
    )
    list_display_links = ("id", "email")
    list_select_related = ("workspace",)
    list_filter = ("workspace",)
    # Prefix and exact lookups only: they use the indexes of migration 0002 (substring
    # search over millions of rows is the contact list's job, with trigram indexes).
    search_fields = ("^email", "^first_name", "^last_name", "=external_id")
    search_help_text = "Start of an email, first or last name; an exact external id or id."
    readonly_fields = ("created_at", "updated_at", "events_link")
    autocomplete_fields = ("workspace",)
    inlines = (ContactTagInline, DeviceInline, EventInline)
    fieldsets = (
        (None, {"fields": ("workspace", "email", "external_id", "score")}),
        (
            "Profile",
            {
                "fields": (
                    ("first_name", "last_name"),
                    "phone",
                    "company",
                    ("country", "state", "city"),
                    "language",
                )
            },
        ),
        ("Custom attributes", {"fields": ("attributes",)}),
        ("Activity", {"fields": ("created_at", "updated_at", "last_activity_at", "events_link")}),
    )

    def get_readonly_fields(self, request, obj=None):
        # Moving a contact to another workspace would leave its tags, events and
        # segment memberships behind in the old one.
        if obj is not None:
            return ("workspace", *self.readonly_fields)
        return self.readonly_fields

    def get_search_results(self, request, queryset, search_term):
        matches, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if parse_id(term) is not None:  # ASCII digits: '²'.isdigit() is true too
            matches = matches | queryset.filter(pk=parse_id(term))
        if not term:
            return matches, may_have_duplicates
        # For a rare term PostgreSQL guesses a few hundred matches and walks the primary
        # key backwards (newest first) hoping to meet them early, reading every row when
        # there are none (about 0.5 s at a million contacts). So first take the ids of up
        # to SEARCH_COUNT_CAP matches in no order, which the indexes serve in a few ms;
        # when that is all of them, list exactly those.
        ids = list(matches.order_by().values_list("pk", flat=True)[: SEARCH_COUNT_CAP + 1])
        if len(ids) <= SEARCH_COUNT_CAP:
            return queryset.filter(pk__in=ids), False
        return matches, may_have_duplicates

    @admin.display(description="Events")
    def events_link(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        url = reverse("admin:contacts_event_changelist") + f"?contact__id__exact={obj.pk}"
        return format_html('<a href="{}">All events of this contact</a>', url)

    def save_model(self, request, obj, form, change):
        """Through the services, which save and announce (the form has checked the
        values already, so they find nothing more to refuse)."""
        cleaned = form.cleaned_data
        data = {name: cleaned[name] for name in EDITABLE_FIELDS if name in cleaned}
        attributes = cleaned.get("attributes") or {}
        if change:
            stored = Contact.objects.get(pk=obj.pk)
            last_activity_at = stored.last_activity_at
            # The form holds every attribute: a key left out of it is removed.
            data["attributes"] = {**dict.fromkeys(stored.attributes), **attributes}
            saved = contact_update(contact=stored, data=data)
        else:
            last_activity_at = None
            saved = contact_create(workspace=obj.workspace, data={**data, "attributes": attributes})
        if "last_activity_at" in cleaned and cleaned["last_activity_at"] != last_activity_at:
            # Not a field the services take (events move it); support may correct it.
            Contact.objects.filter(pk=saved.pk).update(
                last_activity_at=cleaned["last_activity_at"], updated_at=timezone.now()
            )
            if change:
                contacts_changed(
                    saved.workspace_id,
                    [saved.pk],
                    Change(fields={"last_activity_at", "updated_at"}),
                )
        # The inlines are saved next, against this instance.
        obj.pk, obj.created_at, obj.updated_at = saved.pk, saved.created_at, saved.updated_at
        obj._state.adding, obj._state.db = False, saved._state.db

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.has_changed():
            contact = form.instance
            what = Change(tags=formset.model is ContactTag, devices=formset.model is Device)
            contacts_changed(contact.workspace_id, [contact.pk], what)

    def delete_model(self, request, obj):
        workspace_id, contact_id = obj.workspace_id, obj.pk
        with transaction.atomic():
            contacts_deleting(workspace_id, [contact_id])
            super().delete_model(request, obj)
        contacts_changed(workspace_id, [contact_id], Change(deleted=True))

    def delete_queryset(self, request, queryset):
        gone: dict[int, list[int]] = {}
        for workspace_id, contact_id in queryset.values_list("workspace_id", "id"):
            gone.setdefault(workspace_id, []).append(contact_id)
        with transaction.atomic():
            for workspace_id, ids in gone.items():
                contacts_deleting(workspace_id, ids)
            super().delete_queryset(request, queryset)
        for workspace_id, ids in gone.items():
            contacts_changed(workspace_id, ids, Change(deleted=True))


# ---------------------------------------------------------------- attributes, tags, topics


class WorkspaceOwnedAdmin(IdSafeAdminMixin, admin.ModelAdmin):
    """The workspace is chosen once, when the row is made."""

    list_select_related = ("workspace",)
    list_filter = ("workspace",)

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(self.readonly_fields)
        return ("workspace", *fields) if obj is not None else fields


@admin.register(CustomAttribute)
class CustomAttributeAdmin(WorkspaceOwnedAdmin):
    list_display = ("key", "label", "type", "workspace", "created_at")
    list_filter = ("workspace", "type")
    search_fields = ("^key", "^label")
    readonly_fields = ("created_at",)

    def get_readonly_fields(self, request, obj=None):
        # Values are stored under the key, typed by the type: changing either after
        # the fact would orphan or mistype every stored value.
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "key", "type") if obj is not None else fields


@admin.register(Tag)
class TagAdmin(WorkspaceOwnedAdmin):
    list_display = ("name", "workspace", "created_at")
    search_fields = ("^name",)
    readonly_fields = ("created_at",)
    ordering = ("workspace__name", "name")


@admin.register(Topic)
class TopicAdmin(WorkspaceOwnedAdmin):
    list_display = ("name", "description", "workspace", "created_at")
    search_fields = ("^name",)
    readonly_fields = ("created_at",)


class SameWorkspaceForm(forms.ModelForm):
    """A link between a contact and something of its workspace (`other`): both ends
    must be of the same workspace."""

    other = ""

    def clean(self):
        cleaned = super().clean()
        contact, other = cleaned.get("contact"), cleaned.get(self.other)
        if contact and other:
            _same_workspace(
                contact.workspace_id,
                other.workspace_id,
                f"The contact and the {self.other} belong to different workspaces.",
            )
        return cleaned


class ContactTagForm(SameWorkspaceForm):
    other = "tag"

    class Meta:
        model = ContactTag
        fields = ("contact", "tag")


@admin.register(ContactTag)
class ContactTagAdmin(LargeTableAdmin):
    form = ContactTagForm
    list_display = ("id", "contact", "tag", "created_at")
    list_select_related = ("contact", "tag")
    autocomplete_fields = ("contact", "tag")
    search_fields = ("^contact__email", "^tag__name")
    readonly_fields = ("created_at",)

    def get_readonly_fields(self, request, obj=None):
        return ("contact", "tag", "created_at") if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        contacts_changed(obj.contact.workspace_id, [obj.contact_id], Change(tags=True))

    def delete_model(self, request, obj):
        workspace_id, contact_id = obj.contact.workspace_id, obj.contact_id
        super().delete_model(request, obj)
        contacts_changed(workspace_id, [contact_id], Change(tags=True))


class TopicOptOutForm(SameWorkspaceForm):
    other = "topic"

    class Meta:
        model = TopicOptOut
        fields = ("topic", "contact")


@admin.register(TopicOptOut)
class TopicOptOutAdmin(LargeTableAdmin):
    form = TopicOptOutForm
    list_display = ("id", "contact", "topic", "created_at")
    list_select_related = ("contact", "topic")
    list_filter = ("topic",)
    autocomplete_fields = ("contact", "topic")
    search_fields = ("^contact__email",)
    readonly_fields = ("created_at",)


# ---------------------------------------------------------------- events and devices


class EventAdminForm(forms.ModelForm):
    class Meta:
        model = Event
        fields = ("contact", "name", "occurred_at", "properties")


@admin.register(Event)
class EventAdmin(LargeTableAdmin):
    form = EventAdminForm
    list_display = ("id", "name", "contact", "workspace", "occurred_at")
    list_select_related = ("contact", "workspace")
    list_filter = ("workspace",)
    # One contact's events: ?contact__id__exact=N (linked from the contact page); one
    # name: ?name=purchase. Searching by name would read the whole table: no index on
    # the name alone (rules always look names up within a workspace or a contact).
    search_fields = ("^contact__email",)
    search_help_text = "The start of the contact's email."
    autocomplete_fields = ("contact",)
    readonly_fields = ("workspace", "created_at")

    def get_readonly_fields(self, request, obj=None):
        # An event belongs to the contact (and workspace) it happened to.
        if obj is not None:
            return ("contact", "workspace", "created_at")
        return ("created_at",)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("contact", "name", "occurred_at", "properties")
        return ("contact", "workspace", "name", "occurred_at", "properties", "created_at")

    def save_model(self, request, obj, form, change):
        obj.workspace_id = obj.contact.workspace_id
        super().save_model(request, obj, form, change)
        contacts_changed(obj.workspace_id, [obj.contact_id], Change(event_names={obj.name}))


@admin.register(Device)
class DeviceAdmin(LargeTableAdmin):
    list_display = ("id", "platform", "identifier", "contact", "last_seen_at")
    list_select_related = ("contact",)
    list_filter = ("platform",)
    search_fields = ("=identifier", "^contact__email")
    autocomplete_fields = ("contact",)
    readonly_fields = ("created_at",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        contacts_changed(obj.contact.workspace_id, [obj.contact_id], Change(devices=True))

"""Mass update: one field (built-in, or a custom attribute "attributes.<key>") set to
one value for every contact of a set (contacts.sets.ContactSet).

- The value is checked against the field's type first (contacts.services: the
  built-in fields' rules, the attribute's type); a bad one is a KithError on the
  form's `value` field, before anything is written.
- `preview` counts, capped, the contacts whose value would change.
- `update_chunk` reads which of a chunk's contacts differ and changes them with one
  set-based UPDATE, then announces them through contacts.changes (membership
  follows). Email and external id are unique: they are not offered.

Registered as the contact list's bulk action "mass_update" (a job on more than
BULK_JOB_THRESHOLD contacts); the segment page starts the same job on its members."""

import json

from django import forms
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from contacts import bulk, selectors
from contacts.changes import Change, contacts_changed
from contacts.models import Contact, CustomAttribute
from contacts.selectors import attribute_definitions
from contacts.services import clean_attributes, clean_fields
from workspaces.errors import KithError
from workspaces.models import Workspace
from workspaces.scoping import scoped

BUILT_IN = [
    "first_name",
    "last_name",
    "company",
    "phone",
    "city",
    "state",
    "country",
    "language",
    "score",
]
ATTRIBUTE = "attributes."
PREVIEW_CAP = 10_000


def field_choices(workspace: Workspace | None = None) -> list[tuple[str, str]]:
    choices = [(n, str(Contact._meta.get_field(n).verbose_name).capitalize()) for n in BUILT_IN]
    if workspace is not None:
        for attribute in scoped(CustomAttribute, workspace).order_by("key"):
            choices.append((ATTRIBUTE + attribute.key, f"{attribute.key} (custom)"))
    return choices


class MassUpdateForm(forms.Form):
    # The bulk bar's form is built without a workspace: the built-in fields only. With
    # one, its custom attributes too; `clean_change` checks against the workspace.
    field = forms.ChoiceField(label="Field", choices=field_choices)
    value = forms.CharField(
        label="New value",
        required=False,
        max_length=2000,
        strip=False,
        help_text="Empty clears it.",
    )

    def __init__(self, *args, workspace: Workspace | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if workspace is not None:
            self.fields["field"] = forms.ChoiceField(
                label="Field", choices=field_choices(workspace)
            )


def clean_change(workspace: Workspace, field: str, value) -> tuple[str, object]:
    """(field, the value as stored), or KithError on `field` or `value`."""
    field = (field or "").strip()
    if field.startswith(ATTRIBUTE):
        key = field.removeprefix(ATTRIBUTE)
        definition = attribute_definitions(workspace).get(key.lower())
        if definition is None:
            raise KithError(f"There is no custom attribute '{key}'.", field="field")
        try:
            cleaned = clean_attributes(workspace, {definition.key: value}, define_missing=False)
        except KithError as exc:
            raise KithError(exc.message, field="value") from None
        return ATTRIBUTE + definition.key, cleaned[definition.key]
    if field not in BUILT_IN:
        raise KithError("Pick a field from the list.", field="field")
    try:
        return field, clean_fields({field: value})[field]
    except KithError as exc:
        raise KithError(" ".join(exc.by_field().get(field, [exc.message])), field="value") from None


def _changing(contacts: QuerySet, field: str, value) -> QuerySet:
    if not field.startswith(ATTRIBUTE):
        return contacts.exclude(**{field: value})
    key = field.removeprefix(ATTRIBUTE)
    if value is None:
        return contacts.filter(attributes__has_key=key)
    return contacts.exclude(**{f"attributes__{key}": value}) | contacts.exclude(
        attributes__has_key=key
    )


def preview(workspace: Workspace, contacts: QuerySet, field: str, value) -> tuple[int, bool]:
    """How many contacts of `contacts` would change: (count, more than PREVIEW_CAP)."""
    field, value = clean_change(workspace, field, value)
    return selectors.capped_count(_changing(contacts, field, value), cap=PREVIEW_CAP)


def _attribute_sql(key: str, value) -> tuple[str, list]:
    path_pg, path_lite = "{" + key + "}", '$."' + key + '"'
    postgres = connection.vendor == "postgresql"
    if value is None:
        return (
            ("attributes - %s", [key]) if postgres else ("json_remove(attributes, %s)", [path_lite])
        )
    data = json.dumps(value)
    if postgres:
        return "jsonb_set(attributes, %s, %s::jsonb)", [path_pg, data]
    return "json_set(attributes, %s, json(%s))", [path_lite, data]


def update_chunk(workspace: Workspace, contact_ids: list[int], field: str, value) -> int:
    """Set `field` to `value` (already cleaned) on these contacts of the workspace;
    one UPDATE for those that differ. Returns how many changed."""
    chunk = Contact.objects.filter(workspace=workspace, pk__in=contact_ids)
    ids = list(_changing(chunk, field, value).values_list("pk", flat=True))
    if not ids:
        return 0
    now = timezone.now()
    if field.startswith(ATTRIBUTE):
        key = field.removeprefix(ATTRIBUTE)
        expression, params = _attribute_sql(key, value)
        marks = ", ".join(["%s"] * len(ids))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Contact._meta.db_table} SET attributes = {expression}, updated_at = %s "
                f"WHERE workspace_id = %s AND id IN ({marks})",
                [*params, now, workspace.pk, *ids],
            )
    else:
        Contact.objects.filter(pk__in=ids).update(**{field: value, "updated_at": now})
    contacts_changed(workspace.pk, ids, Change(fields={field, "updated_at"}))
    return len(ids)


def field_label(workspace: Workspace, field: str) -> str:
    return dict(field_choices(workspace)).get(field, field)


def describe(workspace: Workspace, data: dict) -> str:
    value = data.get("value")
    shown = f"“{value}”" if value not in (None, "") else "empty"
    return f"Set {field_label(workspace, data['field'])} to {shown}"


def _chunk(*, workspace, contact_ids, data, user=None) -> dict:
    field, value = clean_change(workspace, data["field"], data.get("value"))
    return {"changed": update_chunk(workspace, contact_ids, field, value)}


def _message(*, workspace, data, counters) -> str:
    n = counters.get("changed", 0)
    return f"{describe(workspace, data)}: {n:,} contact{'s' * (n != 1)} changed."


def _title(*, workspace, data) -> str:
    clean_change(workspace, data["field"], data.get("value"))  # refuse a bad value
    return describe(workspace, data)


def _run(*, workspace, contact_ids, data, user=None) -> str:
    return _message(
        workspace=workspace,
        data=data,
        counters=_chunk(workspace=workspace, contact_ids=contact_ids, data=data),
    )


ACTION = bulk.BulkAction(
    name="mass_update",
    label="Mass update",
    form_class=MassUpdateForm,
    template="contacts/bulk/mass_update.html",
    run=_run,
    order=40,
    job=bulk.BulkJob(run_chunk=_chunk, message=_message, title=_title),
)

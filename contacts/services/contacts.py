"""A contact created, changed or deleted one at a time (the pages, the API, the
admin): fields and attributes checked before anything is saved, emails and external
ids unique per workspace case-insensitively (a lost race on the unique indexes is the
same DuplicateContact as the check before it), and every change announced with what
it touched (contacts.changes) so membership follows. Many contacts at once go
through contacts.writer, which keeps these same rules."""

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from contacts.changes import Change, contacts_changed, contacts_deleting
from contacts.models import Contact
from contacts.services.attributes import apply_attributes, clean_attributes
from contacts.services.fields import clean_fields
from contacts.services.tags import tags_link
from workspaces.errors import KithError
from workspaces.models import Workspace


class DuplicateContact(KithError):
    """Another contact of the workspace has this email or external id."""

    code, status = "duplicate_contact", 409

    def __init__(self, field_name: str, value: str):
        label = "email" if field_name == "email" else "external id"
        super().__init__(f"Another contact already has the {label} '{value}'.", field=field_name)


def check_unique(workspace: Workspace, fields: dict, exclude_id: int | None = None) -> None:
    for name in ("email", "external_id"):
        value = fields.get(name)
        if not value:
            continue
        others = Contact.objects.annotate(_key=Lower(name)).filter(
            workspace=workspace, _key=value.lower()
        )
        if exclude_id:
            others = others.exclude(pk=exclude_id)
        if others.exists():
            raise DuplicateContact(name, value)


def _save_unique(contact: Contact, fields: dict) -> None:
    """Save, turning a lost race on the unique indexes into DuplicateContact."""
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError:
        check_unique(contact.workspace, fields, exclude_id=contact.pk)
        raise


@transaction.atomic
def contact_create(*, workspace: Workspace, data: dict, tags: list[str] | None = None) -> Contact:
    fields = clean_fields(data)
    cleaned_attrs = clean_attributes(workspace, data.get("attributes") or {})
    check_unique(workspace, fields)
    contact = Contact(workspace=workspace, **fields)
    apply_attributes(contact, cleaned_attrs)
    _save_unique(contact, fields)
    if tags:
        tags_link(contact, tags)
    contacts_changed(workspace.id, [contact.id], Change(created=True, tags=bool(tags)))
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, data: dict) -> Contact:
    """Change some fields; `attributes` merges key by key, a None value removes a key."""
    fields = clean_fields(data)
    cleaned_attrs = (
        clean_attributes(contact.workspace, data["attributes"])
        if data.get("attributes") is not None
        else {}
    )
    check_unique(contact.workspace, fields, exclude_id=contact.pk)
    changed = {name for name, value in fields.items() if getattr(contact, name) != value}
    for name, value in fields.items():
        setattr(contact, name, value)
    changed |= apply_attributes(contact, cleaned_attrs)
    if changed:
        _save_unique(contact, fields)
        contacts_changed(
            contact.workspace_id, [contact.id], Change(fields=changed | {"updated_at"})
        )
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact) -> None:
    workspace_id, contact_id = contact.workspace_id, contact.id
    contacts_deleting(workspace_id, [contact_id])
    contact.delete()
    contacts_changed(workspace_id, [contact_id], Change(deleted=True))

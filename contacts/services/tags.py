"""Tags: names checked once (trimmed, case-insensitively unique per workspace, a tag
made on first use), put on and taken off one contact or many, renamed and deleted.
Tag rules name tags, so every change that moves a contact in or out of a tag
announces those contacts (contacts.changes) and the segment engine follows."""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from contacts.changes import Change, contacts_changed
from contacts.models import Contact, ContactTag, Tag
from contacts.services.fields import TOUCHED, touch
from workspaces import audit
from workspaces.errors import KithError
from workspaces.models import Workspace

MAX_TAG_LENGTH = 100


def clean_tag_names(names) -> list[str]:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise KithError("Tags must be a list of names.", field="tags")
    cleaned, seen = [], set()
    for name in names:
        text = name.strip()
        if not text:
            continue
        if "\x00" in text or len(text) > MAX_TAG_LENGTH:
            raise KithError(f"'{text[:40]}' is not a valid tag name.", field="tags")
        if text.lower() not in seen:
            seen.add(text.lower())
            cleaned.append(text)
    return cleaned


def tags_get_or_create(workspace: Workspace, names: list[str]) -> list[Tag]:
    """The tags of these names (case-insensitively), creating the missing ones."""
    wanted = {name.lower(): name for name in names}
    found = {
        t.name.lower(): t
        for t in Tag.objects.annotate(_key=Lower("name")).filter(
            workspace=workspace, _key__in=list(wanted)
        )
    }
    for key, name in wanted.items():
        if key not in found:
            try:
                with transaction.atomic():
                    found[key] = Tag.objects.create(workspace=workspace, name=name)
            except IntegrityError:
                found[key] = Tag.objects.get(workspace=workspace, name__iexact=name)
    return [found[key] for key in wanted]


def tags_link(contact: Contact, names) -> int:
    """Put these tags on the contact (made if new); how many it did not have yet.
    Announces nothing: the caller does, once for all it changed."""
    tags = tags_get_or_create(contact.workspace, clean_tag_names(names))
    links = [ContactTag(contact=contact, tag=tag) for tag in tags]
    before = ContactTag.objects.filter(contact=contact).count()
    ContactTag.objects.bulk_create(links, ignore_conflicts=True)
    return ContactTag.objects.filter(contact=contact).count() - before


@transaction.atomic
def contact_tags_add(*, contact: Contact, names) -> Contact:
    if tags_link(contact, names):
        touch([contact.id])
        contacts_changed(contact.workspace_id, [contact.id], Change(tags=True, fields=TOUCHED))
    return contact


@transaction.atomic
def contact_tags_remove(*, contact: Contact, names) -> Contact:
    keys = [name.lower() for name in clean_tag_names(names)]
    removed, _ = (
        ContactTag.objects.annotate(_key=Lower("tag__name"))
        .filter(contact=contact, _key__in=keys)
        .delete()
    )
    if removed:
        touch([contact.id])
        contacts_changed(contact.workspace_id, [contact.id], Change(tags=True, fields=TOUCHED))
    return contact


@transaction.atomic
def contacts_tag(*, workspace: Workspace, contact_ids: list[int], names) -> int:
    """Tag many contacts at once (the contact list's bulk action); returns how many."""
    tags = tags_get_or_create(workspace, clean_tag_names(names))
    ids = list(
        Contact.objects.filter(workspace=workspace, id__in=contact_ids).values_list("id", flat=True)
    )
    links = [ContactTag(contact_id=cid, tag=tag) for cid in ids for tag in tags]
    ContactTag.objects.bulk_create(links, ignore_conflicts=True, batch_size=2000)
    touch(ids)
    contacts_changed(workspace.id, ids, Change(tags=True, fields=TOUCHED))
    return len(ids)


# Renaming or deleting a tag changes which contacts match the rules that name it.


def _tagged_contact_ids(tag: Tag) -> list[int]:
    """The contacts to announce: at most one past MEMBERSHIP_FULL_REFRESH_AFTER. Past
    that many, the segment engine (the only listener) refreshes the segments whole
    whatever the ids, so the ids of a tag on a million contacts are not read."""
    limit = settings.MEMBERSHIP_FULL_REFRESH_AFTER + 1
    return list(ContactTag.objects.filter(tag=tag).values_list("contact_id", flat=True)[:limit])


@transaction.atomic
def tag_rename(*, tag: Tag, name: str) -> Tag:
    cleaned = clean_tag_names([name]) if isinstance(name, str) else []
    if not cleaned:
        raise KithError("Give the tag a name.", field="name")
    new_name = cleaned[0]
    taken = Tag.objects.filter(workspace=tag.workspace, name__iexact=new_name).exclude(pk=tag.pk)
    if taken.exists():
        raise KithError(f"There is already a tag '{new_name}'.", field="name")
    if new_name != tag.name:
        audit.record_on(
            tag, audit.Verb.RENAMED, audit.Subject.TAG, new_name, old=tag.name, new=new_name
        )
        tag.name = new_name
        tag.save(update_fields=["name"])
        contacts_changed(tag.workspace_id, _tagged_contact_ids(tag), Change(tags=True))
    return tag


@transaction.atomic
def tag_delete(*, tag: Tag) -> None:
    contact_ids = _tagged_contact_ids(tag)
    tagged = len(contact_ids)
    if tagged >= settings.MEMBERSHIP_FULL_REFRESH_AFTER:
        tagged = ContactTag.objects.filter(tag=tag).count()
    workspace_id = tag.workspace_id
    audit.record_on(tag, audit.Verb.DELETED, audit.Subject.TAG, tag.name, contacts=tagged)
    tag.delete()
    contacts_changed(workspace_id, contact_ids, Change(tags=True))

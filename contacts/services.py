"""Every write to contacts, tags, attributes and events. The web pages, the API, the
importer and the commands all call these, so the rules live here once."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce, Greatest, Lower
from django.utils import timezone

from contacts import attributes as attrs
from contacts.changes import Change, contacts_changed, contacts_deleting
from contacts.models import TEXT_FIELDS, Contact, ContactTag, CustomAttribute, Event, Tag, Topic
from workspaces.errors import KithError
from workspaces.models import Workspace

EDITABLE_FIELDS = [*TEXT_FIELDS, "score"]
LOOKUP_FIELDS = ("id", "email", "external_id")
MAX_TAG_LENGTH = 100
MAX_EVENT_NAME = 200
MAX_PROPERTIES_BYTES = 16_000
SCORE_LIMIT = 2_147_483_647
_email_validator = EmailValidator(message="Enter a valid email address.")


class DuplicateContact(KithError):
    """Another contact of the workspace has this email or external id."""

    code, status = "duplicate_contact", 409

    def __init__(self, field_name: str, value: str):
        label = "email" if field_name == "email" else "external id"
        super().__init__(f"Another contact already has the {label} '{value}'.", field=field_name)


# ---------------------------------------------------------------- normalising input


def clean_lookup(value) -> str:
    """Emails and external ids are matched case-insensitively, ignoring spaces."""
    return str(value).strip().lower()


def _clean_field(name: str, value):
    if name == "score":
        if value is None or value == "":
            return 0
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise KithError("Score must be a whole number.", field=name)
        try:
            number = float(value)
        except ValueError:
            raise KithError("Score must be a whole number.", field=name) from None
        if not number.is_integer() or abs(number) > SCORE_LIMIT:
            raise KithError("Score must be a whole number.", field=name)
        return int(number)
    if value is None:
        return None if name in ("email", "external_id") else ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise KithError("Give a text value.", field=name)
    text = str(value).strip()
    if "\x00" in text:
        raise KithError("Contains a NUL character.", field=name)
    max_length = Contact._meta.get_field(name).max_length
    if len(text) > max_length:
        raise KithError(f"At most {max_length} characters.", field=name)
    if name == "email" and text:
        try:
            _email_validator(text)
        except ValidationError:  # Django's validator's
            raise KithError(f"'{text}' is not a valid email address.", field=name) from None
    if name in ("email", "external_id") and not text:
        return None
    return text


def clean_fields(data: dict) -> dict:
    """The built-in fields of `data`, cleaned; every error collected, by field."""
    cleaned, errors = {}, {}
    for name in EDITABLE_FIELDS:
        if name in data:
            try:
                cleaned[name] = _clean_field(name, data[name])
            except KithError as exc:
                errors.update(exc.fields)
    if errors:
        raise KithError(fields=errors)
    return cleaned


def attribute_definitions(workspace: Workspace) -> dict[str, CustomAttribute]:
    """The workspace's attributes by lower-cased key."""
    return {a.key.lower(): a for a in CustomAttribute.objects.filter(workspace=workspace)}


def attribute_define(
    *, workspace: Workspace, key: str, type: str, label: str = ""
) -> CustomAttribute:
    attrs.validate_key(key)
    if type not in CustomAttribute.Type.values:
        raise KithError(f"Unknown attribute type '{type}'.", field="type")
    existing = CustomAttribute.objects.filter(workspace=workspace, key__iexact=key).first()
    if existing:
        raise KithError(f"The attribute '{existing.key}' already exists.", field="key")
    try:
        with transaction.atomic():
            return CustomAttribute.objects.create(
                workspace=workspace, key=key, type=type, label=label
            )
    except IntegrityError:
        raise KithError(f"The attribute '{key}' already exists.", field="key") from None


def clean_attributes(
    workspace: Workspace,
    incoming,
    *,
    definitions: dict[str, CustomAttribute] | None = None,
    define_missing: bool = True,
) -> dict:
    """{stored key: stored value or None (remove)}. Keys the workspace does not define
    yet are defined on first use, typed from their value (api.md)."""
    if not isinstance(incoming, dict):
        raise KithError("Attributes must be an object of key: value.", field="attributes")
    if definitions is None:
        definitions = attribute_definitions(workspace)
    cleaned, errors = {}, []
    for key, value in incoming.items():
        try:
            cleaned.update(_clean_attribute(workspace, definitions, key, value, define_missing))
        except KithError as exc:
            errors.extend(exc.messages)
    if errors:
        raise KithError(fields={"attributes": errors})
    return cleaned


def _clean_attribute(workspace, definitions, key, value, define_missing) -> dict:
    attrs.validate_key(key)
    definition = definitions.get(key.lower())
    if value is None or value == "":
        return {definition.key if definition else key: None}
    if definition is None:
        if not define_missing:
            raise KithError(f"Unknown attribute '{key}'.")
        attr_type = attrs.infer_type(value)
        attrs.coerce(attr_type, value, key)  # refuse lists, NULs... before defining
        definition = _define_on_first_use(workspace, key, attr_type)
        definitions[key.lower()] = definition
    return {definition.key: attrs.coerce(definition.type, value, definition.key)}


def _define_on_first_use(workspace, key, attr_type) -> CustomAttribute:
    try:
        with transaction.atomic():
            return CustomAttribute.objects.create(workspace=workspace, key=key, type=attr_type)
    except IntegrityError:  # defined meanwhile by a concurrent request
        return CustomAttribute.objects.get(workspace=workspace, key__iexact=key)


def _apply_attributes(contact: Contact, cleaned: dict) -> set[str]:
    changed = set()
    for key, value in cleaned.items():
        if value is None:
            if key in contact.attributes:
                del contact.attributes[key]
                changed.add(f"attributes.{key}")
        elif contact.attributes.get(key) != value:
            contact.attributes[key] = value
            changed.add(f"attributes.{key}")
    return changed


# ---------------------------------------------------------------- contacts


def _check_unique(workspace: Workspace, fields: dict, exclude_id: int | None = None) -> None:
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
        _check_unique(contact.workspace, fields, exclude_id=contact.pk)
        raise


@transaction.atomic
def contact_create(*, workspace: Workspace, data: dict, tags: list[str] | None = None) -> Contact:
    fields = clean_fields(data)
    cleaned_attrs = clean_attributes(workspace, data.get("attributes") or {})
    _check_unique(workspace, fields)
    contact = Contact(workspace=workspace, **fields)
    _apply_attributes(contact, cleaned_attrs)
    _save_unique(contact, fields)
    if tags:
        _tags_link(contact, tags)
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
    _check_unique(contact.workspace, fields, exclude_id=contact.pk)
    changed = {name for name, value in fields.items() if getattr(contact, name) != value}
    for name, value in fields.items():
        setattr(contact, name, value)
    changed |= _apply_attributes(contact, cleaned_attrs)
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


def contacts_find(workspace: Workspace, match_on: str, values: list) -> dict:
    """{cleaned value: contact} for the values that name a contact of the workspace."""
    if match_on == "id":
        ids = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
        return {c.id: c for c in Contact.objects.filter(workspace=workspace, id__in=ids)}
    keys = {clean_lookup(v) for v in values if isinstance(v, str | int) and str(v).strip()}
    found = Contact.objects.annotate(_key=Lower(match_on)).filter(
        workspace=workspace, _key__in=keys
    )
    return {c._key: c for c in found}


# ---------------------------------------------------------------- tags


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


def _touch(contact_ids: list[int]) -> None:
    """A contact's tags, events and devices are its data too: moving updated_at tells
    the segment engine that what it knew about these contacts is older than now."""
    Contact.objects.filter(pk__in=contact_ids).update(updated_at=timezone.now())


TOUCHED = {"updated_at"}


def _tags_link(contact: Contact, names) -> int:
    tags = tags_get_or_create(contact.workspace, clean_tag_names(names))
    links = [ContactTag(contact=contact, tag=tag) for tag in tags]
    before = ContactTag.objects.filter(contact=contact).count()
    ContactTag.objects.bulk_create(links, ignore_conflicts=True)
    return ContactTag.objects.filter(contact=contact).count() - before


@transaction.atomic
def contact_tags_add(*, contact: Contact, names) -> Contact:
    if _tags_link(contact, names):
        _touch([contact.id])
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
        _touch([contact.id])
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
    _touch(ids)
    contacts_changed(workspace.id, ids, Change(tags=True, fields=TOUCHED))
    return len(ids)


# ---------------------------------------------------------------- events


@dataclass
class EventsResult:
    accepted: int = 0
    errors: list[dict] = field(default_factory=list)


def _clean_event(item, now: datetime) -> tuple[str, object, str, datetime, dict]:
    if not isinstance(item, dict):
        raise KithError("Each event must be an object.")
    who = item.get("contact")
    if not isinstance(who, dict) or len([k for k in LOOKUP_FIELDS if k in who]) != 1:
        raise KithError("'contact' must hold exactly one of id, email or external_id.")
    kind = next(k for k in LOOKUP_FIELDS if k in who)
    value = who[kind]
    if kind == "id" and (isinstance(value, bool) or not isinstance(value, int)):
        raise KithError("'contact.id' must be a whole number.")
    if kind != "id" and (not isinstance(value, str | int) or isinstance(value, bool)):
        raise KithError(f"'contact.{kind}' must be text.")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_EVENT_NAME:
        raise KithError(f"'name' must be text of 1 to {MAX_EVENT_NAME} characters.")
    if "\x00" in name:
        raise KithError("'name' contains a NUL character.")
    occurred_at = _clean_occurred_at(item.get("occurred_at"), now)
    properties = item.get("properties") or {}
    if not isinstance(properties, dict):
        raise KithError("'properties' must be an object.")
    if len(repr(properties)) > MAX_PROPERTIES_BYTES or "\\x00" in repr(properties):
        raise KithError("'properties' is too large or contains a NUL character.")
    key = value if kind == "id" else clean_lookup(value)
    return kind, key, name.strip(), occurred_at, properties


def _clean_occurred_at(value, now: datetime) -> datetime:
    if value is None:
        return now
    moment = value if isinstance(value, datetime) else None
    if isinstance(value, str):
        moment = attrs.parse_iso_moment(value)
        if moment is not None and not isinstance(moment, datetime):
            moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    if moment is None:
        raise KithError("'occurred_at' must be an ISO 8601 date or datetime.")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    if moment > now + timedelta(days=1):
        raise KithError("'occurred_at' is more than a day in the future.")
    if moment.year < 1900:
        raise KithError("'occurred_at' is too far in the past.")
    return moment


@transaction.atomic
def events_record(*, workspace: Workspace, items: list) -> EventsResult:
    """Record events for existing contacts; an unknown contact is an error for that
    item. Moves each contact's last_activity_at forward to its newest event."""
    result, now, cleaned = EventsResult(), timezone.now(), []
    for index, item in enumerate(items):
        try:
            cleaned.append((index, *_clean_event(item, now)))
        except KithError as exc:
            result.errors.append({"index": index, "message": str(exc)})
    contacts = {
        kind: contacts_find(workspace, kind, [c[2] for c in cleaned if c[1] == kind])
        for kind in LOOKUP_FIELDS
    }
    events = []
    for index, kind, key, name, occurred_at, properties in cleaned:
        contact = contacts[kind].get(key)
        if contact is None:
            result.errors.append({"index": index, "message": f"No contact with {kind} {key}."})
            continue
        events.append(
            Event(
                workspace=workspace,
                contact=contact,
                name=name,
                occurred_at=occurred_at,
                properties=properties,
            )
        )
    Event.objects.bulk_create(events, batch_size=1000)
    _touch_last_activity(events)
    result.accepted = len(events)
    result.errors.sort(key=lambda e: e["index"])
    if events:
        contacts_changed(
            workspace.id,
            [e.contact_id for e in events],
            Change(fields={"last_activity_at", *TOUCHED}, event_names={e.name for e in events}),
        )
    return result


def _touch_last_activity(events: list[Event]) -> None:
    newest: dict[int, datetime] = {}
    for event in events:
        if event.contact_id not in newest or event.occurred_at > newest[event.contact_id]:
            newest[event.contact_id] = event.occurred_at
    if not newest:
        return
    whens = [
        When(pk=cid, then=Greatest(Coalesce(F("last_activity_at"), Value(moment)), Value(moment)))
        for cid, moment in newest.items()
    ]
    Contact.objects.filter(pk__in=list(newest)).update(
        last_activity_at=Case(*whens, default=F("last_activity_at")), updated_at=timezone.now()
    )


# ---------------------------------------------------------------- the workspace's catalog
# Renaming or deleting a tag changes which contacts match tag rules (rules name tags),
# and deleting an attribute changes their attributes, so both report the contacts.


def _tagged_contact_ids(tag: Tag) -> list[int]:
    return list(ContactTag.objects.filter(tag=tag).values_list("contact_id", flat=True))


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
        tag.name = new_name
        tag.save(update_fields=["name"])
        contacts_changed(tag.workspace_id, _tagged_contact_ids(tag), Change(tags=True))
    return tag


@transaction.atomic
def tag_delete(*, tag: Tag) -> None:
    contact_ids = _tagged_contact_ids(tag)
    workspace_id = tag.workspace_id
    tag.delete()
    contacts_changed(workspace_id, contact_ids, Change(tags=True))


def attribute_update(*, attribute: CustomAttribute, label: str) -> CustomAttribute:
    """Only the label changes: the key is what the API and rules use, and the type
    is what stored values were coerced to."""
    label = (label or "").strip()
    if len(label) > 100:
        raise KithError("At most 100 characters.", field="label")
    attribute.label = label
    attribute.save(update_fields=["label"])
    return attribute


# Functions that name what uses a custom attribute (the segment engine registers
# one: segments whose rules read it), so a delete cannot silently empty them.
_attribute_users: list = []


def register_attribute_user(find_users) -> None:
    if find_users not in _attribute_users:
        _attribute_users.append(find_users)


@transaction.atomic
def attribute_delete(*, attribute: CustomAttribute) -> int:
    """Delete the definition and its values on every contact; returns how many
    contacts had a value. Refused while anything uses the attribute."""
    users = [name for find in _attribute_users for name in find(attribute)]
    if users:
        raise KithError(
            f"“{attribute.key}” is used by {', '.join(users)}; change those conditions first."
        )
    key, workspace_id = attribute.key, attribute.workspace_id
    if connection.vendor == "postgresql":
        # One statement, however many contacts: jsonb's "-" drops the key in place.
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Contact._meta.db_table} SET attributes = attributes - %s "
                "WHERE workspace_id = %s AND attributes ? %s RETURNING id",
                [key, workspace_id, key],
            )
            changed_ids = [row[0] for row in cursor.fetchall()]
    else:
        holders = Contact.objects.filter(workspace_id=workspace_id, attributes__has_key=key)
        changed = []
        for contact in holders.only("id", "attributes").iterator(chunk_size=2000):
            contact.attributes.pop(key, None)
            changed.append(contact)
        Contact.objects.bulk_update(changed, ["attributes"], batch_size=2000)
        changed_ids = [c.id for c in changed]
    attribute.delete()
    contacts_changed(workspace_id, changed_ids, Change(fields={f"attributes.{key}"}))
    return len(changed_ids)


def topic_create(*, workspace: Workspace, name: str, description: str = "") -> Topic:
    name, description = (name or "").strip(), (description or "").strip()
    if not name:
        raise KithError("Give the topic a name.", field="name")
    if len(name) > 100:
        raise KithError("At most 100 characters.", field="name")
    if len(description) > 300:
        raise KithError("At most 300 characters.", field="description")
    if Topic.objects.filter(workspace=workspace, name__iexact=name).exists():
        raise KithError(f"There is already a topic '{name}'.", field="name")
    try:
        with transaction.atomic():
            return Topic.objects.create(workspace=workspace, name=name, description=description)
    except IntegrityError:
        raise KithError(f"There is already a topic '{name}'.", field="name") from None


def topic_delete(*, topic: Topic) -> None:
    topic.delete()

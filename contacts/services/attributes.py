"""Custom attributes: defining them (by hand, or on first use by the API, typed from
the first value), checking values against their type, relabelling, and deleting a
definition with every contact's value of it. The values' typing rules themselves
live in contacts.attributes; a delete is refused while a segment's rule reads the
attribute (the segment engine registers that check), so none is silently emptied."""

from django.db import IntegrityError, connection, transaction

from contacts import attributes as attrs
from contacts.changes import Change, contacts_changed
from contacts.models import Contact, CustomAttribute
from contacts.selectors import attribute_definitions
from workspaces import audit
from workspaces.errors import KithError
from workspaces.models import Workspace

MAX_LABEL = 100


@transaction.atomic
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
            attribute = CustomAttribute.objects.create(
                workspace=workspace, key=key, type=type, label=label
            )
    except IntegrityError:
        raise KithError(f"The attribute '{key}' already exists.", field="key") from None
    audit.record_on(attribute, audit.Verb.CREATED, audit.Subject.ATTRIBUTE, key, type=type)
    return attribute


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


def apply_attributes(contact: Contact, cleaned: dict) -> set[str]:
    """Put cleaned values on the contact (not saved); the names of what changed."""
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


def attribute_update(*, attribute: CustomAttribute, label: str) -> CustomAttribute:
    """Only the label changes: the key is what the API and rules use, and the type
    is what stored values were coerced to."""
    label = (label or "").strip()
    if len(label) > MAX_LABEL:
        raise KithError(f"At most {MAX_LABEL} characters.", field="label")
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
    audit.record_on(attribute, audit.Verb.DELETED, audit.Subject.ATTRIBUTE, key)
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

"""Every write to contacts, custom attributes, tags, events and topics. The pages,
the API, the admin, the commands and other apps all call these, so each rule lives
here once. One module per topic:

- `fields`: a contact's built-in fields checked and normalised;
- `contacts`: one contact created, changed or deleted (emails unique per workspace);
- `attributes`: custom attributes defined, values checked against their type,
  relabelled, deleted with their values;
- `tags`: tags put on and taken off, renamed, deleted;
- `events`: events recorded in batches, moving last_activity_at;
- `topics`: topics created and deleted.

Reads live in contacts.selectors; many contacts at once are written by
contacts.writer. Other apps import the names below from `contacts.services`, the one
door into these modules."""

from contacts.models import clean_lookup
from contacts.selectors import attribute_definitions, contacts_find
from contacts.services.attributes import (
    apply_attributes,
    attribute_define,
    attribute_delete,
    attribute_update,
    clean_attributes,
    register_attribute_user,
)
from contacts.services.contacts import (
    DuplicateContact,
    check_unique,
    contact_create,
    contact_delete,
    contact_update,
)
from contacts.services.events import EventsResult, events_record
from contacts.services.fields import EDITABLE_FIELDS, clean_fields
from contacts.services.tags import (
    clean_tag_names,
    contact_tags_add,
    contact_tags_remove,
    contacts_tag,
    tag_delete,
    tag_rename,
    tags_get_or_create,
)
from contacts.services.topics import topic_create, topic_delete

# contacts.writer's names for two of them, until it imports them by these.
_apply_attributes = apply_attributes
_check_unique = check_unique

__all__ = [
    "EDITABLE_FIELDS",
    "DuplicateContact",
    "EventsResult",
    "_apply_attributes",
    "_check_unique",
    "apply_attributes",
    "attribute_define",
    "attribute_definitions",
    "attribute_delete",
    "attribute_update",
    "check_unique",
    "clean_attributes",
    "clean_fields",
    "clean_lookup",
    "clean_tag_names",
    "contact_create",
    "contact_delete",
    "contact_tags_add",
    "contact_tags_remove",
    "contact_update",
    "contacts_find",
    "contacts_tag",
    "events_record",
    "register_attribute_user",
    "tag_delete",
    "tag_rename",
    "tags_get_or_create",
    "topic_create",
    "topic_delete",
]

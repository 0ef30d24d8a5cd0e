"""The shapes of the contacts and events API (api.md), for validation and for the
OpenAPI schema and docs.

Request bodies refuse unknown fields (a typo like "emial" is a 400, not silently
dropped), but their values are typed loosely here on purpose: contacts.services
checks them, with the same rules and messages for the API, the pages and the
importer. The `Loose` annotations only tell the docs what a field takes.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict, WithJsonSchema

from contacts.models import Contact

MAX_LIMIT = 500


def _loose(json_schema: dict) -> Any:
    """A value that contacts.services checks, documented as `json_schema`."""
    return Annotated[Any, WithJsonSchema(json_schema)]


Text = _loose({"type": ["string", "null"]})
Whole = _loose({"type": ["integer", "null"]})
Attributes = _loose(
    {
        "type": ["object", "null"],
        "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
        "description": "Custom attributes, merged key by key; a null value removes a key. "
        "An unknown key is defined on first use, typed from its value (number, "
        "boolean, ISO 8601 date or datetime, else text).",
    }
)
TagNames = _loose({"type": "array", "items": {"type": "string", "maxLength": 100}})


# ---------------------------------------------------------------- contacts


class ContactOut(Schema):
    id: int
    external_id: str | None
    email: str | None
    phone: str
    first_name: str
    last_name: str
    company: str
    country: str
    state: str
    city: str
    language: str
    score: int
    attributes: dict[str, Any]
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime | None

    @staticmethod
    def resolve_tags(contact: Contact) -> list[str]:
        # contact.tags.all() reads the prefetched tags: no query per contact.
        return sorted((tag.name for tag in contact.tags.all()), key=str.lower)


class ContactPage(Schema):
    results: list[ContactOut]
    next_cursor: str | None


class ContactFields(Schema):
    """The writable fields of a contact."""

    model_config = ConfigDict(extra="forbid")

    external_id: Text = None
    email: Text = Field(None, json_schema_extra={"format": "email"})
    phone: Text = None
    first_name: Text = None
    last_name: Text = None
    company: Text = None
    country: Text = None
    state: Text = None
    city: Text = None
    language: Text = None
    score: Whole = None
    attributes: Attributes = None


class ContactIn(ContactFields):
    """A new contact (or one item of an upsert), with the names of its tags."""

    tags: TagNames = None


class ContactPatch(ContactFields):
    """Some fields of a contact; fields left out keep their value."""


class UpsertIn(Schema):
    model_config = ConfigDict(extra="forbid")

    match_on: Literal["email", "external_id"]
    # Items are checked one by one so that a bad one does not stop the others.
    contacts: Annotated[
        list[Any],
        WithJsonSchema(
            {
                "type": "array",
                "items": ContactIn.model_json_schema(),
                "maxItems": 1000,
            }
        ),
    ]


class ItemError(Schema):
    index: int
    message: str


class UpsertOut(Schema):
    created: int
    updated: int
    errors: list[ItemError]


class TagsIn(Schema):
    model_config = ConfigDict(extra="forbid")

    tags: TagNames


class ContactFilters(Schema):
    email: str | None = Field(None, description="Case-insensitive, surrounding spaces ignored.")
    external_id: str | None = Field(None, description="Case-insensitive, spaces ignored.")
    tag: str | None = Field(None, description="Contacts with this tag (case-insensitive).")
    segment: int | None = Field(None, description="Members of this segment (its id).")
    q: str | None = Field(
        None, max_length=200, description="Words found in the email, name or company."
    )
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(None, description="next_cursor of the previous page.")


# ---------------------------------------------------------------- events


ContactRef = _loose(
    {
        "type": "object",
        "description": "The contact, by exactly one of id, email or external_id.",
        "properties": {
            "id": {"type": "integer"},
            "email": {"type": "string"},
            "external_id": {"type": "string"},
        },
    }
)
EventName = _loose({"type": "string", "maxLength": 200})
Moment = _loose(
    {
        "type": ["string", "null"],
        "format": "date-time",
        "description": "ISO 8601; defaults to now; at most a day ahead.",
    }
)
Properties = _loose({"type": ["object", "null"]})


class EventIn(Schema):
    model_config = ConfigDict(extra="forbid")

    contact: ContactRef
    name: EventName
    occurred_at: Moment = None
    properties: Properties = None


class EventsIn(Schema):
    """One event, or {"events": [one event, ...]} with at most 1000 of them."""

    model_config = ConfigDict(extra="forbid")

    contact: ContactRef = None
    name: EventName = None
    occurred_at: Moment = None
    properties: Properties = None
    events: Annotated[
        list[Any],
        WithJsonSchema(
            {
                "type": "array",
                "items": EventIn.model_json_schema(),
                "maxItems": 1000,
                "description": "Many events at once, with nothing beside it.",
            }
        ),
    ] = None


class EventsOut(Schema):
    accepted: int
    errors: list[ItemError]

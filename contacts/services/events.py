"""Events: recorded in batches (the API's POST /events) for contacts named by id,
email or external id. Each item is checked on its own: a bad or unknown one is an
error for that item, the others are recorded. Recording moves each contact's
last_activity_at forward to its newest event (never back: events can arrive late)."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from contacts import attributes as attrs
from contacts.changes import Change, contacts_changed
from contacts.models import Contact, Event, clean_lookup
from contacts.selectors import contacts_find
from contacts.services.fields import TOUCHED
from workspaces.errors import KithError
from workspaces.models import Workspace

LOOKUP_FIELDS = ("id", "email", "external_id")
MAX_EVENT_NAME = 200
MAX_PROPERTIES_BYTES = 16_000


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

"""Showing contact data: typed attribute values, event properties, initials."""

import json
from datetime import date, datetime

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils import formats, timezone
from django.utils.timesince import timesince

from contacts.attributes import parse_iso_moment
from contacts.models import CustomAttribute, field_label

register = template.Library()
Type = CustomAttribute.Type

PROPERTY_PREVIEW = 6
PROPERTY_VALUE_CHARS = 60


@register.simple_tag(name="field_label")
def field_label_tag(name: str) -> str:
    """What pages call a contact's built-in field, from the model: {% field_label "state" %}."""
    return field_label(name)


@register.filter
def attribute_display(value, attr_type: str | None = None) -> str:
    """A stored attribute value as a person reads it, by the attribute's type."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool) or attr_type == Type.BOOLEAN:
        return "Yes" if value is True else "No" if value is False else str(value)
    if attr_type == Type.DATE and isinstance(value, str):
        moment = parse_iso_moment(value)
        if isinstance(moment, datetime):
            return formats.date_format(timezone.localtime(moment), "M j, Y H:i")
        if isinstance(moment, date):
            return formats.date_format(moment, "M j, Y")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return intcomma(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _short(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) > PROPERTY_VALUE_CHARS:
        return text[: PROPERTY_VALUE_CHARS - 1] + "…"
    return text


@register.filter
def property_preview(properties) -> dict:
    """The first few properties of an event as short key/value pairs, and how many
    more there are (the page shows those in a disclosure)."""
    if not isinstance(properties, dict):
        return {"pairs": [], "more": 0}
    items = [(key, _short(value)) for key, value in list(properties.items())[:PROPERTY_PREVIEW]]
    return {"pairs": items, "more": max(0, len(properties) - PROPERTY_PREVIEW)}


@register.filter
def ago(moment) -> str:
    """ "3 hours ago": one unit, short enough for a table cell."""
    if not moment:
        return ""
    now = timezone.now()
    if moment > now:
        return f"in {timesince(now, moment, depth=1)}"
    if (now - moment).total_seconds() < 60:
        return "just now"
    return f"{timesince(moment, now, depth=1)} ago"


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


@register.filter
def initials(contact) -> str:
    parts = [p for p in (contact.first_name, contact.last_name) if p]
    if parts:
        return "".join(p[0] for p in parts[:2]).upper()
    text = contact.email or contact.external_id or "?"
    return text[:1].upper()


@register.filter
def display_name(contact) -> str:
    """The name, or else the email / external id / number: what a list shows."""
    return contact.full_name or contact.email or contact.external_id or f"Contact {contact.pk}"

"""Custom attribute values: type inference on first use and coercion to a defined type.

Values are stored in Contact.attributes as JSON: text as strings, numbers as numbers,
booleans as booleans, and dates as ISO 8601 strings in UTC with a fixed width
("2024-05-01" for a date, "2024-05-01T09:30:00Z" for a moment) so that comparing the
strings compares the dates, in SQL as in Python.
"""

import math
import re
from datetime import UTC, date, datetime

from django.utils.dateparse import parse_date, parse_datetime

from contacts.models import CustomAttribute
from workspaces.errors import KithError

Type = CustomAttribute.Type
KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
TRUE_WORDS = {"true", "yes", "y", "1", "on"}
FALSE_WORDS = {"false", "no", "n", "0", "off"}
MAX_TEXT = 1000


def validate_key(key: str) -> str:
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise KithError(
            f"'{key}' is not a valid attribute name: use letters, digits and _, "
            "starting with a letter, at most 64 characters.",
            field="key",
        )
    return key


def parse_iso_moment(value: str) -> date | datetime | None:
    """A date or datetime from ISO 8601 text, or None when it is neither."""
    text = value.strip()
    try:
        if len(text) == 10:
            return parse_date(text)
        moment = parse_datetime(text)
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def format_moment(moment: date | datetime) -> str:
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.isoformat()


def infer_type(value) -> str:
    """The type a new attribute gets from its first value (api.md)."""
    if isinstance(value, bool):
        return Type.BOOLEAN
    if isinstance(value, int | float):
        return Type.NUMBER
    if isinstance(value, str) and parse_iso_moment(value) is not None:
        return Type.DATE
    return Type.TEXT


def coerce(attr_type: str, value, key: str):
    """The stored form of `value` for an attribute of `attr_type`; KithError
    naming the key when it does not fit."""
    if attr_type == Type.NUMBER:
        return _coerce_number(value, key)
    if attr_type == Type.BOOLEAN:
        return _coerce_boolean(value, key)
    if attr_type == Type.DATE:
        return _coerce_date(value, key)
    return _coerce_text(value, key)


def _coerce_number(given, key):
    value = given
    if isinstance(value, str):
        try:
            value = float(value.strip().replace(",", "")) if value.strip() else None
        except ValueError:
            value = None
        if value is not None and value.is_integer() and abs(value) < 2**53:
            value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise KithError(f"'{key}' is a number attribute; {given!r} is not a number.")
    if isinstance(value, float) and not math.isfinite(value):
        raise KithError(f"'{key}' must be a finite number.")
    if abs(value) > 1e15:
        raise KithError(f"'{key}' is out of range.")
    return value


def _coerce_boolean(value, key):
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower() if isinstance(value, str | int) else None
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise KithError(f"'{key}' is a yes/no attribute; {value!r} is neither true nor false.")


def _coerce_date(value, key):
    if isinstance(value, datetime | date):
        return format_moment(value)
    moment = parse_iso_moment(value) if isinstance(value, str) else None
    if moment is None:
        raise KithError(
            f"'{key}' is a date attribute; {value!r} is not an ISO 8601 date (2024-05-31)."
        )
    return format_moment(moment)


def _coerce_text(value, key):
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise KithError(f"'{key}' is a text attribute; give it a string.")
    text = str(value).strip()
    if "\x00" in text:
        raise KithError(f"'{key}' contains a NUL character.")
    if len(text) > MAX_TEXT:
        raise KithError(f"'{key}' is longer than {MAX_TEXT} characters.")
    return text

"""A contact's built-in fields as the services take them: each value checked and
normalised once (text trimmed, an empty email or external id stored as NULL so the
unique indexes ignore it, the score a whole number in PostgreSQL's integer range),
every error collected by field so a form shows each beside its input."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils import timezone

from contacts.models import TEXT_FIELDS, Contact
from workspaces.errors import KithError

EDITABLE_FIELDS = [*TEXT_FIELDS, "score"]
SCORE_LIMIT = 2_147_483_647
# What a change to a contact's tags, events or devices announces: its updated_at.
TOUCHED = {"updated_at"}


def _compiled(lazy) -> re.Pattern:
    return re.compile(lazy.pattern, lazy.flags)


class _EmailValidator(EmailValidator):
    """Django's checks with its patterns compiled once, here: its own are lazy, and
    the proxy in front of them cost a fifth of an import's email checks."""

    user_regex = _compiled(EmailValidator.user_regex)
    domain_regex = _compiled(EmailValidator.domain_regex)
    literal_regex = _compiled(EmailValidator.literal_regex)


_email_validator = _EmailValidator(message="Enter a valid email address.")
MAX_LENGTHS = {name: Contact._meta.get_field(name).max_length for name in EDITABLE_FIELDS}


def _clean_field(name: str, value):
    if name == "score":
        return _clean_score(value)
    if value is None:
        return None if name in ("email", "external_id") else ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise KithError("Give a text value.", field=name)
    text = str(value).strip()
    if "\x00" in text:
        raise KithError("Contains a NUL character.", field=name)
    max_length = MAX_LENGTHS[name]
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


def _clean_score(value) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise KithError("Score must be a whole number.", field="score")
    try:
        number = float(value)
    except ValueError:
        raise KithError("Score must be a whole number.", field="score") from None
    if not number.is_integer() or abs(number) > SCORE_LIMIT:
        raise KithError("Score must be a whole number.", field="score")
    return int(number)


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


def touch(contact_ids: list[int]) -> None:
    """A contact's tags, events and devices are its data too: moving updated_at tells
    the segment engine that what it knew about these contacts is older than now."""
    Contact.objects.filter(pk__in=contact_ids).update(updated_at=timezone.now())

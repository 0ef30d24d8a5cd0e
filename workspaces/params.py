"""Reading ids, numbers, text and JSON from requests: the one way every page, form
and API route does it, so that no input, however hostile, reaches the database in a
shape it refuses (a 500).

- Ids and numbers are ASCII digits, in range. `str.isdigit()` is true for '²' and
  '٣', which int() then refuses or reads as 3; ids are bigints (1 to 2**63 - 1), and
  anything else names nothing.
- Text the database cannot store is refused where it comes in, with the name of the
  field: NUL (PostgreSQL keeps none in text or JSONB) and lone UTF-16 surrogates
  (no encoding can carry them to the driver). config.middleware checks every query
  and form parameter; JSON is checked as it is parsed.
- JSON from a request (API bodies, the rule builder's field) holds finite numbers
  that fit a bigint, nests at most MAX_DEPTH levels (Python's own parser would raise
  RecursionError past about 1,000) and only storable text.
"""

import json
import math
import re

from django import forms

MAX_ID = 2**63 - 1  # ids are bigints: a larger one names nothing
MAX_INT = 2**63 - 1  # nothing Kith stores is wider than a bigint
MAX_DEPTH = 32
_INTEGER = re.compile(r"-?[0-9]{1,40}")  # ASCII only: \d would take '٣'
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class BadInput(ValueError):
    """Input Kith cannot take; the message says why, in words for the caller."""


# ---------------------------------------------------------------- ids and numbers


def parse_int(value, *, min_value: int = -MAX_INT, max_value: int = MAX_INT) -> int | None:
    """`value` as an int when it is a whole number written in ASCII digits (an
    optional '-', surrounding spaces ignored) between the bounds; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        return None
    return number if min_value <= number <= max_value else None


def parse_id(value) -> int | None:
    """An id (1 to 2**63 - 1) from a request, else None: it names nothing."""
    return parse_int(value, min_value=1, max_value=MAX_ID)


def parse_ids(values, *, limit: int | None = None) -> list[int]:
    """The ids among `values` (the first `limit` of them), once each, in order;
    values that are not ids are left out."""
    values = list(values)[:limit] if limit is not None else values
    return list(dict.fromkeys(i for i in map(parse_id, values) if i is not None))


class IdField(forms.Field):
    """One id (a hidden input or a select of objects checked by a service)."""

    default_error_messages = {"invalid": "Pick one from the list."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        number = parse_id(value)
        if number is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return number


class IdListField(forms.Field):
    """Several ids from checkboxes of the same name; one that is not an id makes the
    whole list invalid (a request no page of ours sends)."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"invalid": "Pick from the list."}

    def __init__(self, *, max_items: int | None = None, **kwargs):
        self.max_items = max_items
        super().__init__(**kwargs)

    def to_python(self, value):
        values = value if isinstance(value, list | tuple) else [value] if value else []
        ids = [parse_id(v) for v in values]
        if None in ids or (self.max_items is not None and len(ids) > self.max_items):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return list(dict.fromkeys(ids))


class ModelIdsField(forms.ModelMultipleChoiceField):
    """ModelMultipleChoiceField whose values are ids before they reach a query: Django
    would send `pk__in=[10**30]` to the database, which refuses it (a 500)."""

    def _check_values(self, value):
        for pk in value:
            if parse_id(pk) is None:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super()._check_values(value)


class IntField(forms.IntegerField):
    """A whole number in ASCII digits, between min_value and max_value (a bigint's
    range when not given): Django's IntegerField takes '٣' as 3 and has no bounds."""

    def __init__(self, *, min_value: int = -MAX_INT, max_value: int = MAX_INT, **kwargs):
        super().__init__(min_value=min_value, max_value=max_value, **kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        number = parse_int(value, min_value=-(10**30), max_value=10**30)
        if number is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return number  # the bounds are checked by the validators, with their message


# ---------------------------------------------------------------- text


def unstorable(text: str) -> str | None:
    """What in `text` a database cannot store, in words, or None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "a NUL character (\\u0000)"
    return f"a lone UTF-16 surrogate (\\u{ord(found.group()):04x})"


def check_text(text: str, where: str) -> None:
    """BadInput naming `where` when `text` holds what a database cannot store."""
    problem = unstorable(text)
    if problem:
        raise BadInput(f"{where} contains {problem}, which cannot be stored.")


# ---------------------------------------------------------------- JSON


def loads_json(text: str | bytes, *, what: str = "The body", max_depth: int = MAX_DEPTH):
    """JSON from a request, with finite numbers that fit a bigint, at most
    `max_depth` levels and storable text; BadInput otherwise (`what` names it)."""
    try:
        data = json.loads(
            text, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_bounded_int
        )
    except RecursionError:
        raise BadInput(f"{what} is nested more than {max_depth} levels deep.") from None
    except BadInput:
        raise
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise BadInput(f"{what} is not valid JSON. {exc.msg} at {where}.") from None
    except ValueError as exc:  # UnicodeDecodeError, or an int of more than 4,300 digits
        raise BadInput(f"{what} is not valid JSON: {exc}.") from None
    check_tree(data, what=what, max_depth=max_depth)
    return data


def _refuse_constant(name: str):
    raise BadInput(f"{name} is not a number Kith can store.")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise BadInput(f"The number {text[:40]} is out of range.")
    return number


def _bounded_int(text: str) -> int:
    if len(text) > 20 or abs(int(text)) > MAX_INT:
        raise BadInput(f"The number {text[:40]} is out of range.")
    return int(text)


def check_tree(data, *, what: str = "The body", max_depth: int = MAX_DEPTH) -> None:
    """Refuse nesting deeper than `max_depth` and text a database cannot store,
    naming where (`contacts[3].email`). Iterative: no depth makes it recurse."""
    stack = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > max_depth:
            raise BadInput(f"{what} is nested more than {max_depth} levels deep.")
        if isinstance(value, str):
            if _UNSTORABLE.search(value):
                check_text(value, path or what)
        elif isinstance(value, dict):
            for key, item in value.items():
                if _UNSTORABLE.search(key):
                    check_text(key, f"A key in {path or what.lower()}")
                stack.append((item, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))


class JSONTextField(forms.CharField):
    """JSON typed into a form field (the rule builder's textarea), parsed by
    loads_json: at most `max_chars` characters, `max_depth` levels, storable text;
    `what` names it in the errors ("The rule is not valid JSON: ...")."""

    def __init__(self, *, what: str, max_chars: int, max_depth: int = MAX_DEPTH, **kwargs):
        self.what, self.max_chars, self.max_depth = what, max_chars, max_depth
        super().__init__(**kwargs)  # no max_length: its validator would measure the result

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return None
        if len(text) > self.max_chars:
            raise forms.ValidationError(
                f"{self.what} has {len(text):,} characters; at most {self.max_chars:,}."
            )
        try:
            return loads_json(text, what=self.what, max_depth=self.max_depth)
        except BadInput as exc:
            raise forms.ValidationError(str(exc)) from None


class StoredJSONField(forms.JSONField):
    """Django's JSONField read by loads_json: RecursionError past about 1,000 levels,
    infinite numbers, NUL and lone surrogates become a form error."""

    def to_python(self, value):
        if not self.disabled and isinstance(value, str) and value not in self.empty_values:
            try:
                loads_json(value, what="This value")
            except BadInput as exc:
                raise forms.ValidationError(str(exc), code="invalid") from None
        return super().to_python(value)

    def bound_data(self, data, initial):
        if not self.disabled and isinstance(data, str):
            try:
                loads_json(data)
            except BadInput:
                return forms.fields.InvalidJSONInput(data)
        return super().bound_data(data, initial)

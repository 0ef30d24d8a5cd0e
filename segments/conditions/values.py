"""Values of one type (text, number, date, boolean) compared by an operator: the one
place that says which operators a type has, what value each takes (its shape), what
each is called in the builder, how a value is checked, compiled to SQL, evaluated in
Python and put into words. Contact fields and event properties both use it.

In SQL every predicate gets `target`, an expression that is NULL unless the value has
the right type, and `missing`, a Q that holds when there is no value at all (NULL,
absent or ""). A value of the wrong type is neither: it matches no comparison, not
even a negative one, but it exists (conditions.md). Text is compared
case-insensitively: `eq` and `in` as LOWER(column) = LOWER(value), the expression of
contacts' LOWER() indexes (contacts/migrations/0006), so that a rule on country, city
or language uses them on PostgreSQL (Django's iexact writes UPPER(), which no index
has); the other text operators with Django's i-lookups (LIKE, which no b-tree index
serves). Both sides are folded by the database, so one value folds the same way on
both: PostgreSQL folds every letter ('Ü' = 'ü'), SQLite ASCII letters only.
"""

import math
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Q, Value
from django.db.models.functions import Lower
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IContains,
    IEndsWith,
    In,
    IsNull,
    IStartsWith,
    LessThan,
    LessThanOrEqual,
)

from contacts.attributes import parse_iso_moment
from segments import dates
from segments.conditions.base import RuleError, curly, one_of, quoted

MAX_LIST = 1000
MAX_TEXT = 1000
MAX_DAYS = 36_500

NONE, SINGLE, LIST, RANGE, DAYS = "none", "single", "list", "range", "days"


@dataclass(frozen=True)
class Operator:
    value: str
    label: str  # in the builder's menu, and in the words of "why"
    shape: str  # what its value looks like: none, single, list, range or days
    spoken: str = ""  # the words with the value, when the label alone does not fit
    unit: str = ""  # what follows a number of days in the builder ("days ago")


# Every operator: its label and the shape of its value. Where types call one operator
# differently, the type's own is "type:op".
_OPERATORS = {
    "eq": ("is", SINGLE),
    "neq": ("is not", SINGLE),
    "contains": ("contains", SINGLE),
    "not_contains": ("does not contain", SINGLE),
    "starts_with": ("starts with", SINGLE),
    "ends_with": ("ends with", SINGLE),
    "in": ("is one of", LIST),
    "not_in": ("is none of", LIST),
    "number:eq": ("equals", SINGLE),
    "number:neq": ("does not equal", SINGLE),
    "gt": ("is greater than", SINGLE),
    "gte": ("is at least", SINGLE),
    "lt": ("is less than", SINGLE),
    "lte": ("is at most", SINGLE),
    "between": ("is between", RANGE),
    "within_last_days": ("is within the last", DAYS),
    "more_than_days_ago": ("is more than … ago", DAYS),
    "before": ("is before", SINGLE),
    "after": ("is after", SINGLE),
    "is_true": ("is yes", NONE),
    "is_false": ("is no", NONE),
    "exists": ("exists", NONE),
    "not_exists": ("does not exist", NONE),
}
# Where the label alone does not fit around the value: what "why" says, and the
# word after the number of days in the builder.
_SPOKEN = {
    "within_last_days": ("is within the last {} days", "days"),
    "more_than_days_ago": ("is more than {} days ago", "days ago"),
}
# The operators of each type (conditions.md), in the order of the builder's menu.
_ORDER = {
    "text": "eq neq contains not_contains starts_with ends_with in not_in exists not_exists",
    "number": "eq neq gt gte lt lte between exists not_exists",
    "date": "within_last_days more_than_days_ago before after between exists not_exists",
    "boolean": "is_true is_false exists not_exists",
}


def _operator(kind: str, op: str) -> Operator:
    label, shape = _OPERATORS.get(f"{kind}:{op}") or _OPERATORS[op]
    return Operator(op, label, shape, *_SPOKEN.get(op, ()))


TYPES: dict[str, tuple[Operator, ...]] = {
    kind: tuple(_operator(kind, op) for op in order.split()) for kind, order in _ORDER.items()
}
OPERATORS = {kind: {op.value for op in ops} for kind, ops in TYPES.items()}
SHAPES = {op.value: op.shape for ops in TYPES.values() for op in ops}
PRESENCE_OPS = {"exists", "not_exists"}
NEGATIVE_OPS = {"neq", "not_contains", "not_in"}  # they also match a missing value
NEGATIONS = {"neq": "eq", "not_contains": "contains", "not_in": "in"}
LIST_OPS = {op for op, shape in SHAPES.items() if shape == LIST}
DAYS_OPS = {op for op, shape in SHAPES.items() if shape == DAYS}
BOOLEAN_OPS = OPERATORS["boolean"] - PRESENCE_OPS
TEXT_OPS = {op for op in OPERATORS["text"] if SHAPES[op] == SINGLE}


def _property_operators() -> tuple[Operator, ...]:
    """An event's property takes the text and the number operators (conditions.md):
    the text ones with their labels, then those only numbers have, then presence."""
    text = [op for op in TYPES["text"] if op.value not in PRESENCE_OPS]
    number = [op for op in TYPES["number"] if op.value not in OPERATORS["text"]]
    return (*text, *number, *(_operator("text", op) for op in ("exists", "not_exists")))


PROPERTY_OPERATORS = _property_operators()
PROPERTY_OPS = {op.value for op in PROPERTY_OPERATORS}
# The types a property operator compares: eq, neq, exists and not_exists both.
PROPERTY_TYPES = {
    op: tuple(kind for kind in ("text", "number") if op in OPERATORS[kind]) for op in PROPERTY_OPS
}


def shape(op: str) -> str:
    return SHAPES.get(op, SINGLE)


def is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def property_type(op: str, value) -> str:
    """How a property condition compares: as numbers when only numbers have the
    operator, or when it has both and its value is a number; else as text."""
    types = PROPERTY_TYPES.get(op, ("text",))
    if types == ("number",) or ("number" in types and is_number(value)):
        return "number"
    return "text"


def operator(value_type: str, op: str) -> Operator | None:
    return next((o for o in TYPES.get(value_type, ()) if o.value == op), None)


def label(value_type: str, op: str) -> str:
    found = operator(value_type, op)
    return found.label if found else str(op)


def menu(value_type: str) -> list[dict]:
    return [
        {
            "value": o.value,
            "label": o.label,
            "shape": o.shape,
            **({"unit": o.unit} if o.unit else {}),
        }
        for o in TYPES[value_type]
    ]


def property_menu() -> list[dict]:
    return [
        {
            "value": o.value,
            "label": o.label,
            "shape": o.shape,
            "types": list(PROPERTY_TYPES[o.value]),
        }
        for o in PROPERTY_OPERATORS
    ]


# ---------------------------------------------------------------- checks


def fail(path: str, template: str, op: str, value_type: str, name: str = "") -> RuleError:
    """A RuleError whose template names the operator (or key) as {op}: quoted as the
    JSON writes it in `message`, as the builder says it (`name`, else the operator's
    label) in `words`."""
    return RuleError(
        path,
        template.format(op=quoted(op)),
        template.format(op=curly(name or label(value_type, op))),
    )


def check_operator(node: dict, path: str, value_type: str, allowed: set[str] | None = None) -> None:
    op = node.get("op")
    allowed = OPERATORS[value_type] if allowed is None else allowed
    if not one_of(op, allowed):
        choices = [o for o in TYPES[value_type] if o.value in allowed]
        names = ", ".join(sorted(o.value for o in choices))
        words = ", ".join(curly(o.label) for o in choices)
        raise RuleError(
            path,
            f"'{op}' is not an operator for a {value_type} value; use one of {names}.",
            f"'{op}' is not an operator for a {value_type} value; use one of {words}.",
        )
    check_value(op, node.get("value"), value_type, path)


def check_value(op: str, value, value_type: str, path: str) -> None:
    kind = shape(op)
    if kind == NONE:
        if value is not None:
            raise fail(path, "{op} takes no value.", op, value_type)
        return
    if kind == RANGE:
        if not isinstance(value, list) or len(value) != 2:
            raise fail(path, "{op} needs two values.", op, value_type)
        low, high = (single(value_type, v, path, op) for v in value)
        if order_key(low) > order_key(high):
            raise fail(path, "{op} needs the lower value first.", op, value_type)
        return
    if kind == LIST:
        if not isinstance(value, list) or not value:
            raise fail(path, "{op} needs a list of values.", op, value_type)
        if len(value) > MAX_LIST:
            raise fail(path, f"{{op}} takes at most {MAX_LIST} values.", op, value_type)
        for item in value:
            text(item, path, op, value_type)
        return
    if kind == DAYS:
        whole(value, path, op, minimum=1, maximum=MAX_DAYS, value_type=value_type)
        return
    single(value_type, value, path, op)


def single(value_type: str, value, path: str, op: str):
    if value_type == "number":
        if not is_number(value) or not math.isfinite(value):
            raise fail(path, "{op} needs a number.", op, value_type)
        return value
    if value_type == "date":
        return moment(value, path, op, value_type)
    return text(value, path, op, value_type)


def moment(value, path: str, op: str, value_type: str = "date", name: str = "") -> date:
    found = parse_iso_moment(value) if isinstance(value, str) else None
    if found is None:
        template = "{op} needs a date like 2024-05-31 or 2024-05-31T09:00:00Z."
        raise fail(path, template, op, value_type, name)
    return found


def text(value, path: str, op: str, value_type: str = "text") -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(path, "{op} needs a text value.", op, value_type)
    if len(value) > MAX_TEXT or "\x00" in value:
        raise fail(path, "The value of {op} is too long or not valid text.", op, value_type)
    return value


def whole(
    value, path: str, op: str, *, minimum: int, maximum: int, value_type: str = "", name: str = ""
) -> int:
    """A whole number in [minimum, maximum]; `op` names what needs it ('count')."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        template = f"{{op}} needs a whole number from {minimum} to {maximum:,}."
        raise fail(path, template, op, value_type, name)
    return value


def order_key(value):
    if isinstance(value, date):  # dates and datetimes alike, as moments
        return dates.as_moment(value)
    return value


# ---------------------------------------------------------------- SQL


def _q(lookup) -> Q:
    return Q(lookup)


def blank(target) -> Q:
    """`missing` for a text column or text expression."""
    return _q(IsNull(target, True)) | _q(Exact(target, ""))


def _presence(op: str, missing: Q) -> Q:
    return ~missing if op == "exists" else missing


TEXT_LOOKUPS = {
    "contains": IContains,
    "starts_with": IStartsWith,
    "ends_with": IEndsWith,
}
NUMBER_LOOKUPS = {
    "eq": Exact,
    "gt": GreaterThan,
    "gte": GreaterThanOrEqual,
    "lt": LessThan,
    "lte": LessThanOrEqual,
}


def _folded(value: str) -> Lower:
    """LOWER(value) in SQL, beside LOWER(column): folded by the same function as the
    column, so that the letters SQLite does not fold (non-ASCII) still match their
    own spelling. PostgreSQL folds LOWER(constant) once when it plans, so the index
    on LOWER(column) serves `=` and `IN`."""
    return Lower(Value(value))


def text_q(target, op: str, value, missing: Q) -> Q:
    if op in PRESENCE_OPS:
        return _presence(op, missing)
    typed = ~blank(target)
    positive = NEGATIONS.get(op, op)
    if positive == "eq":
        core = _q(Exact(Lower(target), _folded(value)))
    elif positive == "in":
        core = _q(In(Lower(target), [_folded(v) for v in sorted(set(value))]))
    else:
        core = _q(TEXT_LOOKUPS[positive](target, value))
    if op in NEGATIVE_OPS:
        # `core` is never NULL once `typed` holds, so its negation is two-valued.
        return missing | (typed & ~core)
    return typed & core


def number_q(target, op: str, value, missing: Q) -> Q:
    if op in PRESENCE_OPS:
        return _presence(op, missing)
    typed = _q(IsNull(target, False))
    if op == "neq":
        return missing | (typed & ~_q(Exact(target, value)))
    if op == "between":
        low, high = value
        return typed & _q(GreaterThanOrEqual(target, low)) & _q(LessThanOrEqual(target, high))
    return typed & _q(NUMBER_LOOKUPS[op](target, value))


def moment_q(target, op: str, value, now: datetime, missing: Q, *, as_text: bool) -> Q:
    """`target` is a datetime column, or (as_text) an ISO text of a date attribute."""
    if op in PRESENCE_OPS:
        return _presence(op, missing)
    span = dates.bounds(op, value, now)
    q = ~blank(target) if as_text else _q(IsNull(target, False))
    if span.lower is not None:
        bound = (
            dates.text_bound(span.lower, short_at_midnight=span.lower_inclusive)
            if as_text
            else span.lower
        )
        q &= _q((GreaterThanOrEqual if span.lower_inclusive else GreaterThan)(target, bound))
    if span.upper is not None:
        bound = (
            dates.text_bound(span.upper, short_at_midnight=not span.upper_inclusive)
            if as_text
            else span.upper
        )
        q &= _q((LessThanOrEqual if span.upper_inclusive else LessThan)(target, bound))
    return q


def boolean_q(target, op: str, missing: Q) -> Q:
    if op in PRESENCE_OPS:
        return _presence(op, missing)
    return _q(IsNull(target, False)) & _q(Exact(target, op == "is_true"))


# ---------------------------------------------------------------- Python


def is_missing(value) -> bool:
    return value is None or value == ""


def has_type(kind: str, value) -> bool:
    """The value is of the type (a value of another type is not missing, but matches
    no comparison)."""
    if is_missing(value):
        return False
    if kind in ("text", "date") and isinstance(value, str):
        return True
    if kind == "number":
        return is_number(value)
    if kind == "boolean":
        return isinstance(value, bool)
    return kind == "date" and isinstance(value, datetime)


def compare(kind: str, op: str, wanted, actual, now: datetime) -> bool:
    if op == "exists":
        return not is_missing(actual)
    if op == "not_exists":
        return is_missing(actual)
    if op in NEGATIVE_OPS:
        return is_missing(actual) or (
            has_type(kind, actual) and not compare(kind, NEGATIONS[op], wanted, actual, now)
        )
    if not has_type(kind, actual):
        return False
    if kind == "text":
        return _text(op, wanted, actual)
    if kind == "number":
        return _number(op, wanted, actual)
    if kind == "boolean":
        return actual is (op == "is_true")
    found = dates.as_moment(actual)
    return found is not None and dates.bounds(op, wanted, now).contains(found)


def _text(op: str, wanted, actual: str) -> bool:
    actual = actual.lower()
    if op == "in":
        return actual in {v.lower() for v in wanted}
    wanted = wanted.lower()
    return {
        "eq": actual == wanted,
        "contains": wanted in actual,
        "starts_with": actual.startswith(wanted),
        "ends_with": actual.endswith(wanted),
    }[op]


def _number(op: str, wanted, actual) -> bool:
    if op == "between":
        return wanted[0] <= actual <= wanted[1]
    return {
        "eq": actual == wanted,
        "gt": actual > wanted,
        "gte": actual >= wanted,
        "lt": actual < wanted,
        "lte": actual <= wanted,
    }[op]


# ---------------------------------------------------------------- words


def phrase(value_type: str, op: str, value) -> str:
    """The operator and its value as the builder says them: "is one of DE, FR",
    "is within the last 7 days", "is between 1 and 5", "exists"."""
    found = operator(value_type, op)
    if found is None:
        return f"{op} {value}".strip()
    if found.shape == NONE:
        return found.label
    if found.spoken:
        return found.spoken.format(f"{value:,}" if is_number(value) else value)
    spell = dates.spoken if value_type == "date" else spoken
    if found.shape == RANGE and isinstance(value, list) and len(value) == 2:
        return f"{found.label} {spell(value[0])} and {spell(value[1])}"
    if isinstance(value, list):
        return f"{found.label} {', '.join(spell(v) for v in value)}"
    return f"{found.label} {spell(value)}"


def spoken(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def shown(value) -> str:
    """A contact's value as "why" shows it."""
    if is_missing(value):
        return "empty"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return repr(value) if isinstance(value, str) else str(value)

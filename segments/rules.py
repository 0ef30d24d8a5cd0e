"""The rule language of filter segments (conditions.md): validation and what a rule
reads.

Validation speaks to marketers: every error names the place of the bad node as a
JSON path (`all[2].any[0]`) and says what is wrong in plain words. `check` is pure
(it gets what it needs to know about the workspace in a RuleContext), so it is
tested without a database; `validate` builds that context from the database.
"""

import math
from dataclasses import dataclass, field
from datetime import date

from contacts.attributes import parse_iso_moment
from contacts.models import BUILTIN_FIELD_TYPES
from segments.dates import as_moment

MAX_DEPTH = 5
MAX_CONDITIONS = 100
MAX_LIST = 1000
MAX_TEXT = 1000
MAX_DAYS = 36_500
MAX_COUNT = 1_000_000

TEXT_OPS = {"eq", "neq", "contains", "not_contains", "starts_with", "ends_with"}
LIST_OPS = {"in", "not_in"}
PRESENCE_OPS = {"exists", "not_exists"}
NUMBER_OPS = {"eq", "neq", "gt", "gte", "lt", "lte"}
DATE_OPS = {"before", "after"}
DAYS_OPS = {"within_last_days", "more_than_days_ago"}
BOOLEAN_OPS = {"is_true", "is_false"}
OPERATORS = {
    "text": TEXT_OPS | LIST_OPS | PRESENCE_OPS,
    "number": NUMBER_OPS | {"between"} | PRESENCE_OPS,
    "date": DATE_OPS | {"between"} | DAYS_OPS | PRESENCE_OPS,
    "boolean": BOOLEAN_OPS | PRESENCE_OPS,
}
# Operators a property of an event may use: the text and number ones.
PROPERTY_OPS = OPERATORS["text"] | OPERATORS["number"]
NEGATIVE_OPS = {"neq", "not_contains", "not_in"}
EVENT_OPS = {"at_least", "at_most", "exactly"}
HAS_OPS = {"has", "has_not"}
DEVICES = {"ios", "android", "web", "*"}
ACTIVITIES = {"sent", "opened", "clicked"}
CONDITION_KINDS = ("field", "tag", "event", "device", "segment", "campaign")
ALLOWED_KEYS = {
    "field": {"field", "op", "value"},
    "tag": {"tag", "op"},
    "event": {"event", "op", "count", "within_days", "where"},
    "device": {"device", "op"},
    "segment": {"segment", "op"},
    "campaign": {"campaign", "activity", "op", "within_days"},
}


class RuleError(ValueError):
    def __init__(self, path: str, message: str):
        super().__init__(f"{path or 'rule'}: {message}" if path else message)
        self.path = path
        self.message = message


@dataclass
class RuleContext:
    """What validation must know about the workspace."""

    attributes: dict[str, tuple[str, str]] = field(default_factory=dict)  # lower key: (key, type)
    # Segments of the workspace: id -> ids its rule names (empty for manual ones).
    segments: dict[int, set[int]] = field(default_factory=dict)
    self_id: int | None = None


@dataclass
class Reads:
    """What a rule looks at, so a change to anything else cannot change its members."""

    fields: set[str] = field(default_factory=set)
    tags: bool = False
    event_names: set[str] = field(default_factory=set)
    devices: bool = False
    segments: set[int] = field(default_factory=set)
    campaigns: bool = False
    time_based: bool = False


# ---------------------------------------------------------------- structure


def is_group(node) -> bool:
    return isinstance(node, dict) and ("all" in node or "any" in node)


def group_parts(node: dict) -> tuple[str, list]:
    kind = "all" if "all" in node else "any"
    return kind, node[kind]


def condition_kind(node: dict) -> str | None:
    kinds = [k for k in CONDITION_KINDS if k in node]
    return kinds[0] if len(kinds) == 1 else None


def walk_conditions(doc):
    """Every condition of a (valid) rule, depth first."""
    stack = [doc]
    while stack:
        node = stack.pop()
        if is_group(node):
            stack.extend(reversed(group_parts(node)[1]))
        else:
            yield node


def field_type(name: str, context: RuleContext) -> tuple[str, str] | None:
    """(canonical name, type) of a field, or None when the workspace has no such field."""
    if name in BUILTIN_FIELD_TYPES:
        return name, BUILTIN_FIELD_TYPES[name]
    if name.startswith("attributes."):
        found = context.attributes.get(name.split(".", 1)[1].lower())
        if found:
            return f"attributes.{found[0]}", found[1]
    return None


# ---------------------------------------------------------------- validation


def check(doc, context: RuleContext) -> None:
    """Raise RuleError for the first thing wrong with `doc`."""
    if not isinstance(doc, dict):
        raise RuleError("", 'A rule must be a group: {"all": [...]} or {"any": [...]}.')
    root = dict(doc)
    version = root.pop("version", 1)
    if version != 1 or isinstance(version, bool):
        raise RuleError("version", f"Unknown rule version {version!r}; only version 1 exists.")
    if not is_group(root):
        raise RuleError("", 'A rule must be a group: {"all": [...]} or {"any": [...]}.')
    counter = [0]
    _check_group(root, "", 1, context, counter)
    _check_cycles(doc, context)


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


def _check_group(node: dict, path: str, depth: int, context: RuleContext, counter) -> None:
    if len(node) != 1:
        raise RuleError(path, 'A group holds either "all" or "any", and nothing else.')
    kind, children = group_parts(node)
    if depth > MAX_DEPTH:
        raise RuleError(path, f"Groups nest at most {MAX_DEPTH} levels deep.")
    if not isinstance(children, list) or not children:
        raise RuleError(_join(path, kind), "A group needs at least one condition.")
    for index, child in enumerate(children):
        child_path = _join(path, f"{kind}[{index}]")
        if is_group(child):
            _check_group(child, child_path, depth + 1, context, counter)
        else:
            counter[0] += 1
            if counter[0] > MAX_CONDITIONS:
                raise RuleError(child_path, f"A rule holds at most {MAX_CONDITIONS} conditions.")
            _check_condition(child, child_path, context)


def _check_condition(node, path: str, context: RuleContext) -> None:
    if not isinstance(node, dict):
        raise RuleError(path, "Each item of a group must be a condition or a group.")
    kind = condition_kind(node)
    if kind is None:
        raise RuleError(
            path,
            "A condition names one of: field, tag, event, device, segment or campaign.",
        )
    extra = set(node) - ALLOWED_KEYS[kind]
    if extra:
        raise RuleError(path, f"Unexpected key '{sorted(extra)[0]}' in a {kind} condition.")
    CHECKERS[kind](node, path, context)


def _check_field(node, path, context) -> None:
    name = node["field"]
    if not isinstance(name, str):
        raise RuleError(path, "'field' must be a field name.")
    found = field_type(name, context)
    if found is None:
        raise RuleError(path, f"Unknown field '{name}'.")
    _check_operator(node, path, found[1], OPERATORS[found[1]])


def _check_operator(node, path, value_type: str, allowed: set[str]) -> None:
    op = node.get("op")
    if op not in allowed:
        names = ", ".join(sorted(allowed))
        raise RuleError(
            path, f"'{op}' is not an operator for a {value_type} value; use one of {names}."
        )
    _check_value(op, node.get("value"), value_type, path)


def _check_value(op: str, value, value_type: str, path: str) -> None:
    if op in PRESENCE_OPS or op in BOOLEAN_OPS:
        if value is not None:
            raise RuleError(path, f"'{op}' takes no value.")
        return
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise RuleError(path, "'between' needs two values.")
        low, high = (_single(value_type, v, path, op) for v in value)
        if _order_key(low) > _order_key(high):
            raise RuleError(path, "'between' needs the lower value first.")
        return
    if op in LIST_OPS:
        if not isinstance(value, list) or not value:
            raise RuleError(path, f"'{op}' needs a list of values.")
        if len(value) > MAX_LIST:
            raise RuleError(path, f"'{op}' takes at most {MAX_LIST} values.")
        for item in value:
            _text(item, path, op)
        return
    if op in DAYS_OPS:
        _whole(value, path, f"'{op}'", minimum=1, maximum=MAX_DAYS)
        return
    _single(value_type, value, path, op)


def _single(value_type: str, value, path: str, op: str):
    if value_type == "number":
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise RuleError(path, f"'{op}' needs a number.")
        return value
    if value_type == "date":
        moment = parse_iso_moment(value) if isinstance(value, str) else None
        if moment is None:
            raise RuleError(path, f"'{op}' needs a date like 2024-05-31 or 2024-05-31T09:00:00Z.")
        return moment
    return _text(value, path, op)


def _text(value, path: str, op: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RuleError(path, f"'{op}' needs a text value.")
    if len(value) > MAX_TEXT or "\x00" in value:
        raise RuleError(path, f"The value of '{op}' is too long or not valid text.")
    return value


def _order_key(value):
    if isinstance(value, date):  # dates and datetimes alike, as moments
        return as_moment(value)
    return value


def _whole(value, path: str, what: str, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise RuleError(path, f"{what} needs a whole number from {minimum} to {maximum:,}.")
    return value


def _check_tag(node, path, context) -> None:
    if not isinstance(node["tag"], str) or not node["tag"].strip():
        raise RuleError(path, "'tag' needs a tag name, or \"*\" for any tag.")
    if node.get("op") not in HAS_OPS:
        raise RuleError(path, "A tag condition's operator is 'has' or 'has_not'.")


def _check_event(node, path, context) -> None:
    name = node["event"]
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise RuleError(path, "'event' needs an event name.")
    if node.get("op") not in EVENT_OPS:
        raise RuleError(
            path, "An event condition's operator is 'at_least', 'at_most' or 'exactly'."
        )
    _whole(node.get("count"), path, "'count'", minimum=0, maximum=MAX_COUNT)
    if node.get("within_days") is not None:
        _whole(node["within_days"], path, "'within_days'", minimum=1, maximum=MAX_DAYS)
    where = node.get("where", [])
    if where is None:
        where = []
    if not isinstance(where, list) or len(where) > 20:
        raise RuleError(path, "'where' must be a list of at most 20 property conditions.")
    for index, item in enumerate(where):
        _check_property(item, f"{path}.where[{index}]")


def _check_property(item, path) -> None:
    if not isinstance(item, dict) or not isinstance(item.get("property"), str):
        raise RuleError(path, "A property condition needs 'property', 'op' and 'value'.")
    if set(item) - {"property", "op", "value"}:
        raise RuleError(path, "A property condition has only 'property', 'op' and 'value'.")
    if not item["property"].strip() or len(item["property"]) > 200:
        raise RuleError(path, "'property' needs a property name.")
    op = item.get("op")
    if op not in PROPERTY_OPS:
        raise RuleError(path, f"'{op}' is not an operator for an event property.")
    numeric = op in {"gt", "gte", "lt", "lte", "between"} or (
        op in {"eq", "neq"}
        and isinstance(item.get("value"), int | float)
        and not isinstance(item.get("value"), bool)
    )
    _check_value(op, item.get("value"), "number" if numeric else "text", path)


def _check_device(node, path, context) -> None:
    if node["device"] not in DEVICES:
        raise RuleError(path, "'device' is one of ios, android, web or \"*\".")
    if node.get("op") not in HAS_OPS:
        raise RuleError(path, "A device condition's operator is 'has' or 'has_not'.")


def _check_segment(node, path, context) -> None:
    segment_id = node["segment"]
    if isinstance(segment_id, bool) or not isinstance(segment_id, int):
        raise RuleError(path, "'segment' needs a segment id.")
    if segment_id not in context.segments:
        raise RuleError(path, f"There is no segment {segment_id} in this workspace.")
    if segment_id == context.self_id:
        raise RuleError(path, "A segment cannot depend on itself.")
    if node.get("op") not in {"in", "not_in"}:
        raise RuleError(path, "A segment condition's operator is 'in' or 'not_in'.")


def _check_campaign(node, path, context) -> None:
    campaign = node["campaign"]
    if campaign != "*" and (isinstance(campaign, bool) or not isinstance(campaign, int)):
        raise RuleError(path, "'campaign' needs a campaign id, or \"*\" for any campaign.")
    if node.get("activity") not in ACTIVITIES:
        raise RuleError(path, "'activity' is one of sent, opened or clicked.")
    if node.get("op") not in HAS_OPS:
        raise RuleError(path, "A campaign condition's operator is 'has' or 'has_not'.")
    if node.get("within_days") is not None:
        _whole(node["within_days"], path, "'within_days'", minimum=1, maximum=MAX_DAYS)


CHECKERS = {
    "field": _check_field,
    "tag": _check_tag,
    "event": _check_event,
    "device": _check_device,
    "segment": _check_segment,
    "campaign": _check_campaign,
}


def _check_cycles(doc, context: RuleContext) -> None:
    """A rule may not make its segment depend on itself through other segments."""
    if context.self_id is None:
        return
    for path, node in _segment_refs_with_paths(doc):
        seen, stack = set(), [node["segment"]]
        while stack:
            current = stack.pop()
            if current == context.self_id:
                raise RuleError(
                    path,
                    f"Segment {node['segment']} depends on this segment, so this rule "
                    "would make the segment depend on itself.",
                )
            if current not in seen:
                seen.add(current)
                stack.extend(context.segments.get(current, ()))


def _segment_refs_with_paths(node, path=""):
    if is_group(node):
        kind, children = group_parts(node)
        for index, child in enumerate(children):
            yield from _segment_refs_with_paths(child, _join(path, f"{kind}[{index}]"))
    elif "segment" in node:
        yield path, node


# ---------------------------------------------------------------- what a rule reads


def reads(doc) -> Reads:
    result = Reads()
    for node in walk_conditions(doc):
        kind = condition_kind(node)
        if kind == "field":
            result.fields.add(node["field"].lower())
            result.time_based |= node["op"] in DAYS_OPS
        elif kind == "tag":
            result.tags = True
        elif kind == "event":
            result.event_names.add(node["event"])
            result.time_based |= node.get("within_days") is not None
        elif kind == "device":
            result.devices = True
        elif kind == "segment":
            result.segments.add(node["segment"])
        elif kind == "campaign":
            result.campaigns = True
            result.time_based |= node.get("within_days") is not None
    return result


def segment_refs(doc) -> set[int]:
    return reads(doc).segments if doc else set()

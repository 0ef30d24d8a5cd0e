"""A rule evaluated in plain Python for one contact.

Two uses: it explains "why is this contact in this segment", condition by condition
with the contact's own values; and it is the reference the SQL compiler
(segments/query.py) is tested against on random rules. Keep the two in step: every
semantic here has its twin there.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from contacts.models import BUILTIN_FIELD_TYPES, Contact
from segments import dates
from segments.rules import NEGATIVE_OPS, condition_kind, group_parts, is_group


@dataclass
class Snapshot:
    """Everything a rule can read about one contact."""

    fields: dict
    attributes: dict
    tags: set[str] = field(default_factory=set)  # lower-cased names
    events: list[tuple[str, datetime, dict]] = field(default_factory=list)
    devices: set[str] = field(default_factory=set)
    segments: set[int] = field(default_factory=set)
    deliveries: list[dict] = field(default_factory=list)


@dataclass
class Explanation:
    text: str
    result: bool
    children: list["Explanation"] = field(default_factory=list)


def snapshot(contact: Contact, event_names: set[str] | None = None) -> Snapshot:
    """Load what rules read about `contact` (a handful of queries, for one contact).
    With `event_names`, only those events: a contact may have a great many."""
    from campaigns.models import Delivery

    events = contact.events.all()
    if event_names is not None:
        events = events.filter(name__in=event_names)

    return Snapshot(
        fields={name: getattr(contact, name) for name in BUILTIN_FIELD_TYPES},
        attributes=dict(contact.attributes or {}),
        tags={name.lower() for name in contact.tags.values_list("name", flat=True)},
        events=list(events.values_list("name", "occurred_at", "properties")),
        devices=set(contact.devices.values_list("platform", flat=True)),
        segments=set(contact.memberships.values_list("segment_id", flat=True)),
        deliveries=list(
            Delivery.objects.filter(contact=contact).values(
                "campaign_id", "sent_at", "opened_at", "clicked_at"
            )
        ),
    )


class Evaluator:
    def __init__(self, *, attributes: dict, now: datetime, segment_names: dict | None = None):
        self.attributes = attributes  # lower key: (key, type)
        self.now = now
        self.segment_names = segment_names or {}

    def matches(self, doc: dict, snap: Snapshot) -> bool:
        return self.explain(doc, snap).result

    def explain(self, node: dict, snap: Snapshot) -> Explanation:
        if is_group(node):
            kind, children = group_parts(node)
            parts = [self.explain(child, snap) for child in children]
            result = all(p.result for p in parts) if kind == "all" else any(p.result for p in parts)
            label = "All of these hold" if kind == "all" else "At least one of these holds"
            return Explanation(label, result, parts)
        kind = condition_kind(node)
        result, text = getattr(self, f"_{kind}")(node, snap)
        return Explanation(text, result)

    # ------------------------------------------------------------ fields

    def _field(self, node, snap):
        name, op, value = node["field"], node["op"], node.get("value")
        if name.startswith("attributes."):
            fallback = (name.split(".", 1)[1], "text")
            key, kind = self.attributes.get(name.split(".", 1)[1].lower(), fallback)
            actual = snap.attributes.get(key)
            label = f"attribute {key}"
        else:
            kind, actual, label = BUILTIN_FIELD_TYPES[name], snap.fields.get(name), name
        result = compare(kind, op, value, actual, self.now)
        return result, f"{label} {describe(op, value)} — the contact's value: {shown(actual)}"

    def _tag(self, node, snap):
        name = node["tag"].strip().lower()
        has = bool(snap.tags) if name == "*" else name in snap.tags
        wanted = node["op"] == "has"
        what = "any tag" if name == "*" else f"tag '{node['tag']}'"
        verb = "has" if wanted else "has not"
        tags = ", ".join(sorted(snap.tags)) or "none"
        return has == wanted, f"{verb} {what} — the contact's tags: {tags}"

    def _event(self, node, snap):
        since = None
        if node.get("within_days"):
            since = self.now - timedelta(days=node["within_days"])
        count = sum(
            1
            for name, occurred_at, properties in snap.events
            if name == node["event"]
            and (since is None or occurred_at >= since)
            and all(property_matches(item, properties) for item in node.get("where") or [])
        )
        n, op = node["count"], node["op"]
        result = {"at_least": count >= n, "at_most": count <= n, "exactly": count == n}[op]
        window = f" in the last {node['within_days']} days" if node.get("within_days") else ""
        where = " (with conditions on its properties)" if node.get("where") else ""
        text = (
            f"did '{node['event']}'{where} {op.replace('_', ' ')} {n} time(s){window} — "
            f"the contact did it {count} time(s)"
        )
        return result, text

    def _device(self, node, snap):
        has = bool(snap.devices) if node["device"] == "*" else node["device"] in snap.devices
        wanted = node["op"] == "has"
        what = "any device" if node["device"] == "*" else f"a {node['device']} device"
        devices = ", ".join(sorted(snap.devices)) or "none"
        return has == wanted, f"{'has' if wanted else 'has no'} {what} — devices: {devices}"

    def _segment(self, node, snap):
        inside = node["segment"] in snap.segments
        wanted = node["op"] == "in"
        name = self.segment_names.get(node["segment"], f"segment {node['segment']}")
        state = "is" if inside else "is not"
        return inside == wanted, f"{'in' if wanted else 'not in'} '{name}' — the contact {state}"

    def _campaign(self, node, snap):
        column = f"{node['activity']}_at"
        since = None
        if node.get("within_days"):
            since = self.now - timedelta(days=node["within_days"])
        has = any(
            d[column] is not None
            and (node["campaign"] == "*" or d["campaign_id"] == node["campaign"])
            and (since is None or d[column] >= since)
            for d in snap.deliveries
        )
        wanted = node["op"] == "has"
        which = "any campaign" if node["campaign"] == "*" else f"campaign {node['campaign']}"
        return has == wanted, f"{'has' if wanted else 'has not'} {node['activity']} {which}"


# ---------------------------------------------------------------- comparisons


def is_missing(value) -> bool:
    return value is None or value == ""


def has_type(kind: str, value) -> bool:
    """The value is of the field's type (a value of another type is not missing, but
    matches no comparison)."""
    if is_missing(value):
        return False
    if kind in ("text", "date") and isinstance(value, str):
        return True
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    return kind == "date" and isinstance(value, datetime)


def compare(kind: str, op: str, wanted, actual, now: datetime) -> bool:
    if op == "exists":
        return not is_missing(actual)
    if op == "not_exists":
        return is_missing(actual)
    if op in NEGATIVE_OPS:
        positive = {"neq": "eq", "not_contains": "contains", "not_in": "in"}[op]
        return is_missing(actual) or (
            has_type(kind, actual) and not compare(kind, positive, wanted, actual, now)
        )
    if not has_type(kind, actual):
        return False
    if kind == "text":
        return _text(op, wanted, actual)
    if kind == "number":
        return _number(op, wanted, actual)
    if kind == "boolean":
        return actual is (op == "is_true")
    moment = dates.as_moment(actual)
    return moment is not None and dates.bounds(op, wanted, now).contains(moment)


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


def property_matches(item: dict, properties: dict) -> bool:
    op, value = item["op"], item.get("value")
    actual = (properties or {}).get(item["property"])
    numeric = op in {"gt", "gte", "lt", "lte", "between"} or (
        op in {"eq", "neq"} and isinstance(value, int | float) and not isinstance(value, bool)
    )
    return compare("number" if numeric else "text", op, value, actual, datetime.min)


def describe(op: str, value) -> str:
    words = op.replace("_", " ")
    if value is None:
        return words
    if isinstance(value, list):
        return f"{words} {', '.join(str(v) for v in value)}"
    return f"{words} {value}"


def shown(value) -> str:
    if value is None or value == "":
        return "empty"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return repr(value) if isinstance(value, str) else str(value)

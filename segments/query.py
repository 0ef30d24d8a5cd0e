"""A rule (conditions.md) compiled to one SQL query: a Q over contacts, with EXISTS
and counting subqueries for tags, events, devices, segment membership and campaign
activity. `segments/evaluator.py` is the same rule in plain Python; the two are
tested against each other on random rules (tests/segments/test_agreement.py).

Every condition compiles to a predicate that is TRUE or FALSE, never NULL, so
groups and the negative operators behave as conditions.md says: `neq`,
`not_contains` and `not_in` also match a missing value; every other operator never
matches one. Text is compared case-insensitively with Django's i-lookups.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Lower
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IContains,
    IEndsWith,
    IExact,
    In,
    IsNull,
    IStartsWith,
    LessThan,
    LessThanOrEqual,
)
from django.utils import timezone

from campaigns.models import Delivery
from contacts.models import BUILTIN_FIELD_TYPES, ContactTag, Device, Event
from segments import dates
from segments.jsonsql import JsonBool, JsonNumber, JsonText
from segments.models import SegmentMember
from segments.rules import condition_kind, group_parts, is_group

NOTHING = Q(pk__in=[])
EVERYTHING = ~Q(pk__in=[])
TEXT_LOOKUPS = {
    "eq": IExact,
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
NEGATIONS = {"neq": "eq", "not_contains": "contains", "not_in": "in"}


@dataclass(frozen=True)
class Context:
    now: datetime
    # Custom attribute types by lower-cased key: {"plan": ("plan", "text")}.
    attributes: dict = field(default_factory=dict)


def compile_rule(doc: dict, *, attributes: dict, now: datetime | None = None) -> Q:
    """The Q selecting the contacts that satisfy `doc` (a validated rule)."""
    return _node(doc, Context(now=now or timezone.now(), attributes=attributes))


def _node(node: dict, ctx: Context) -> Q:
    if is_group(node):
        kind, children = group_parts(node)
        parts = [_node(child, ctx) for child in children]
        combined = parts[0]
        for part in parts[1:]:
            combined = (combined & part) if kind == "all" else (combined | part)
        return combined
    return COMPILERS[condition_kind(node)](node, ctx)


# ---------------------------------------------------------------- values of one type


def _q(lookup) -> Q:
    return Q(lookup)


def text_q(target, op: str, value) -> Q:
    """`target` is a text expression that may be NULL or ''."""
    present = _q(IsNull(target, False)) & ~_q(Exact(target, ""))
    if op == "exists":
        return present
    if op == "not_exists":
        return ~present
    if op in NEGATIONS:
        return ~(present & text_q(target, NEGATIONS[op], value))
    if op == "in":
        return present & _q(In(Lower(target), sorted({v.lower() for v in value})))
    return present & _q(TEXT_LOOKUPS[op](target, value))


def number_q(target, op: str, value) -> Q:
    """`target` is a number expression, NULL where there is no number."""
    present = _q(IsNull(target, False))
    if op == "exists":
        return present
    if op == "not_exists":
        return ~present
    if op == "neq":
        return ~(present & _q(Exact(target, value)))
    if op == "between":
        low, high = value
        return present & _q(GreaterThanOrEqual(target, low)) & _q(LessThanOrEqual(target, high))
    return present & _q(NUMBER_LOOKUPS[op](target, value))


def moment_q(target, op: str, value, now: datetime, *, as_text: bool) -> Q:
    """`target` is a datetime column, or (as_text) an ISO text of a date attribute."""
    present = _q(IsNull(target, False))
    if as_text:
        present &= ~_q(Exact(target, ""))
    if op == "exists":
        return present
    if op == "not_exists":
        return ~present
    span = dates.bounds(op, value, now)
    q = present
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


def boolean_q(target, op: str) -> Q:
    present = _q(IsNull(target, False))
    if op == "exists":
        return present
    if op == "not_exists":
        return ~present
    return present & _q(Exact(target, op == "is_true"))


# ---------------------------------------------------------------- conditions


def _field(node, ctx: Context) -> Q:
    name, op, value = node["field"], node["op"], node.get("value")
    if name.startswith("attributes."):
        key, kind = ctx.attributes[name.split(".", 1)[1].lower()]
        return _attribute(key, kind, op, value, ctx.now)
    kind = BUILTIN_FIELD_TYPES[name]
    if kind == "text":
        return text_q(F(name), op, value)
    if kind == "number":
        return number_q(F(name), op, value)
    return moment_q(F(name), op, value, ctx.now, as_text=False)


def _attribute(key, kind, op, value, now) -> Q:
    if kind == "number":
        return number_q(JsonNumber("attributes", key), op, value)
    if kind == "boolean":
        return boolean_q(JsonBool("attributes", key), op)
    if kind == "date":
        return moment_q(JsonText("attributes", key), op, value, now, as_text=True)
    return text_q(JsonText("attributes", key), op, value)


def _tag(node, ctx) -> Q:
    links = ContactTag.objects.filter(contact=OuterRef("pk"))
    if node["tag"] != "*":
        links = links.filter(tag__name__iexact=node["tag"].strip())
    has = Q(Exists(links))
    return has if node["op"] == "has" else ~has


def _property_q(item) -> Q:
    key, op, value = item["property"], item["op"], item.get("value")
    numeric = op in {"gt", "gte", "lt", "lte", "between"} or (
        op in {"eq", "neq"} and isinstance(value, int | float) and not isinstance(value, bool)
    )
    if numeric:
        return number_q(JsonNumber("properties", key), op, value)
    if op in {"exists", "not_exists"}:
        # A property exists when it holds a number or a non-empty text.
        present = Q(IsNull(JsonNumber("properties", key), False)) | text_q(
            JsonText("properties", key), "exists", None
        )
        return present if op == "exists" else ~present
    return text_q(JsonText("properties", key), op, value)


def _event(node, ctx: Context) -> Q:
    events = Event.objects.filter(contact=OuterRef("pk"), name=node["event"])
    if node.get("within_days"):
        events = events.filter(occurred_at__gte=ctx.now - timedelta(days=node["within_days"]))
    for item in node.get("where") or []:
        events = events.filter(_property_q(item))
    op, count = node["op"], node["count"]
    if op == "at_least" and count <= 1:
        return EVERYTHING if count == 0 else Q(Exists(events))
    if op in ("at_most", "exactly") and count == 0:
        return ~Q(Exists(events))
    counted = Coalesce(
        Subquery(
            events.order_by().values("contact").annotate(n=Count("pk")).values("n")[:1],
            output_field=IntegerField(),
        ),
        Value(0),
    )
    lookup = {"at_least": GreaterThanOrEqual, "at_most": LessThanOrEqual, "exactly": Exact}[op]
    return Q(lookup(counted, count))


def _device(node, ctx) -> Q:
    devices = Device.objects.filter(contact=OuterRef("pk"))
    if node["device"] != "*":
        devices = devices.filter(platform=node["device"])
    has = Q(Exists(devices))
    return has if node["op"] == "has" else ~has


def _segment(node, ctx) -> Q:
    members = SegmentMember.objects.filter(contact=OuterRef("pk"), segment_id=node["segment"])
    inside = Q(Exists(members))
    return inside if node["op"] == "in" else ~inside


def _campaign(node, ctx: Context) -> Q:
    deliveries = Delivery.objects.filter(contact=OuterRef("pk"))
    if node["campaign"] != "*":
        deliveries = deliveries.filter(campaign_id=node["campaign"])
    column = {"sent": "sent_at", "opened": "opened_at", "clicked": "clicked_at"}[node["activity"]]
    deliveries = deliveries.filter(**{f"{column}__isnull": False})
    if node.get("within_days"):
        since = ctx.now - timedelta(days=node["within_days"])
        deliveries = deliveries.filter(**{f"{column}__gte": since})
    has = Q(Exists(deliveries))
    return has if node["op"] == "has" else ~has


COMPILERS = {
    "field": _field,
    "tag": _tag,
    "event": _event,
    "device": _device,
    "segment": _segment,
    "campaign": _campaign,
}

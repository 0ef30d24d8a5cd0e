"""Event conditions (behaviour): `{"event": NAME, "op": "at_least" | "at_most" |
"exactly", "count": N, WINDOW, "where": [property_condition, ...]}` counts the
contact's events named NAME (case-sensitive) in the time window (segments.conditions.
windows) whose properties satisfy every `where` item (text and number operators of
segments.conditions.values). Page views are events named `page_view` with a `url`
property: the builder offers them as a category of their own.

The builder's lists are read in one query each whatever the workspace's size: event
names by a skip scan over the (workspace, name) index, property hints from a small
sample of recent events.
"""

from collections import Counter, defaultdict

from django.db import connection
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact, GreaterThanOrEqual, LessThanOrEqual

from contacts.models import Event
from segments.conditions import base, values, windows
from segments.conditions.base import (
    Kind,
    RuleError,
    Verdict,
    category,
    check_op,
    choice,
    one_of,
    times,
)
from segments.jsonsql import JsonMissing, JsonNumber, JsonText

EVENT_OPS = {"at_least": "at least", "at_most": "at most", "exactly": "exactly"}
MAX_COUNT = 1_000_000
MAX_WHERE = 20
PROPERTY_KEYS = ("property", "op", "value")
PAGE_VIEW = "page_view"
# What a page view's URL is compared with.
URL_OPERATORS = ["contains", "eq", "starts_with", "ends_with", "not_contains", "neq"]

EVENT_NAME_LIMIT = 300
PROPERTY_SAMPLE = 500
HINTS_PER_EVENT = 20
NEVER = "Matches contacts who never did this."
NEVER_IN_WINDOW = "Matches contacts who never did this in that time."


def property_q(item: dict) -> Q:
    key, op, value = item["property"], item["op"], item.get("value")
    missing = Q(JsonMissing("properties", key))
    if values.property_type(op, value) == "number":
        return values.number_q(JsonNumber("properties", key), op, value, missing)
    return values.text_q(JsonText("properties", key), op, value, missing)


def property_matches(item: dict, properties) -> bool:
    op, value = item["op"], item.get("value")
    actual = (properties or {}).get(item["property"]) if isinstance(properties, dict) else None
    return values.compare(values.property_type(op, value), op, value, actual, None)


def property_words(item: dict) -> str:
    op, value = item["op"], item.get("value")
    return f"{item['property']} {values.phrase(values.property_type(op, value), op, value)}"


def check_property(item, path: str) -> None:
    if not isinstance(item, dict) or not isinstance(item.get("property"), str):
        raise RuleError(path, "A property condition needs 'property', 'op' and 'value'.")
    if set(item) - set(PROPERTY_KEYS):
        raise RuleError(path, "A property condition has only 'property', 'op' and 'value'.")
    if not item["property"].strip() or len(item["property"]) > 200:
        raise RuleError(path, "'property' needs a property name.")
    op = item.get("op")
    if not one_of(op, values.PROPERTY_OPS):
        raise RuleError(path, f"'{op}' is not an operator for an event property.")
    values.check_value(op, item.get("value"), values.property_type(op, item.get("value")), path)


class EventKind(Kind):
    name = "event"
    keys = ("event", "op", "count", *windows.KEYS, "where")
    required = ("event", "op", "count")

    def check(self, node, path, vocabulary):
        name = node["event"]
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise RuleError(path, "'event' needs an event name.")
        check_op(node, path, "event", EVENT_OPS)
        values.whole(
            node.get("count"), path, "count", minimum=0, maximum=MAX_COUNT, name="number of times"
        )
        windows.check(node, path)
        where = node.get("where")
        if where is None:
            where = []
        if not isinstance(where, list) or len(where) > MAX_WHERE:
            raise RuleError(
                path, f"'where' must be a list of at most {MAX_WHERE} property conditions."
            )
        for index, item in enumerate(where):
            check_property(item, f"{path}.where[{index}]")

    def reads(self, node, into: base.Reads):
        into.event_names.add(node["event"])
        into.time_based |= windows.time_based(node)

    def q(self, node, ctx: base.Context) -> Q:
        events = Event.objects.filter(contact=OuterRef("pk"), name=node["event"])
        events = events.filter(windows.q("occurred_at", node, ctx.now))
        for item in node.get("where") or []:
            events = events.filter(property_q(item))
        op, count = node["op"], node["count"]
        if op == "at_least" and count <= 1:
            return base.EVERYTHING if count == 0 else Q(Exists(events))
        if op in ("at_most", "exactly") and count == 0:
            return ~Q(Exists(events))
        if op == "at_least" and _counted_once(node, ctx):
            return Q(pk__in=_done_often(node, ctx, count))
        counted = Coalesce(
            Subquery(
                events.order_by().values("contact").annotate(n=Count("pk")).values("n")[:1],
                output_field=IntegerField(),
            ),
            Value(0),
        )
        lookup = {"at_least": GreaterThanOrEqual, "at_most": LessThanOrEqual, "exactly": Exact}
        return Q(lookup[op](counted, count))

    def facts(self, contact, reads):
        """The contact's events, only those named in the rule when `reads` is given: a
        contact may have a great many."""
        events = contact.events.all()
        if reads is not None:
            events = events.filter(name__in=reads.event_names)
        return list(events.values_list("name", "occurred_at", "properties"))

    def evaluate(self, node, facts, ctx):
        where = node.get("where") or []
        count = sum(
            1
            for name, occurred_at, properties in facts
            if name == node["event"]
            and windows.contains(node, occurred_at, ctx.now)
            and all(property_matches(item, properties) for item in where)
        )
        n, op = node["count"], node["op"]
        result = {"at_least": count >= n, "at_most": count <= n, "exactly": count == n}[op]
        if count:
            return Verdict(result, f"the contact did it {times(count)}")
        return Verdict(
            result, "the contact never did" + (" in that time" if windows.present(node) else "")
        )

    def words(self, node, vocabulary):
        n, op = node["count"], node["op"]
        where = node.get("where") or []
        what = node["event"]
        if where:
            what += " where " + " and ".join(property_words(item) for item in where)
        if n == 0 and op in ("at_most", "exactly"):
            return f"Never did {what}{windows.words(node)}"
        return f"Did {what} {EVENT_OPS[op]} {times(n)}{windows.words(node)}"

    def menu(self, workspace, vocabulary, *, segment=None):
        names = event_names(workspace)
        properties, urls = property_hints(workspace)
        counting = [
            choice("op", "How often", EVENT_OPS, role="event-op"),
            {
                "type": "number",
                "key": "count",
                "role": "count",
                "label": "Number of times",
                "min": 0,
            },
            {"type": "word", "text": "times"},
            {"type": "window"},
        ]
        name = {
            "type": "text",
            "key": "event",
            "label": "Event name",
            "role": "event",
            "list": "event_names",
            "placeholder": "event name",
            "redraws": "where",  # the property hints follow the event's name
        }
        never = {"op": "at_most", "count": 0}
        notes = [{"when": never, "text": NEVER, "windowed": NEVER_IN_WINDOW}]
        others = [n for n in names if n != PAGE_VIEW]
        url = {"property": "url", "op": "contains", "value": ""}
        page_view = {"event": PAGE_VIEW, "op": "at_least", "count": 1, "where": [url]}
        return {
            "categories": [
                category(
                    "event",
                    "Event",
                    "event",
                    [name, *counting],
                    {"event": others[0] if others else "", "op": "at_least", "count": 1},
                    below="where",
                    notes=notes,
                ),
                category(
                    "page_view",
                    "Page view",
                    "event",
                    [{"type": "url"}, *counting],
                    page_view,
                    match="page_view",
                    notes=notes,
                ),
            ],
            "event_names": names,
            "event_properties": properties,
            "url_hints": urls,
            "property_keys": list(PROPERTY_KEYS),
            "property_operators": values.property_menu(),
            "url_operators": URL_OPERATORS,
            "windows": windows.MENU,
            "window_keys": list(windows.KEYS),
        }


def _counted_once(node, ctx: base.Context) -> bool:
    """Whether "did it at least N times" is better counted once for the whole
    workspace than once per contact: for a rule evaluated over the whole workspace (a
    preview), whose window starts somewhere (the index range of its events is read
    alone, no property to look at). At a million contacts the per-contact count ran
    for each of the 89,000 contacts another condition kept: 370 ms for the example
    rule of conditions.md, against 195 ms once."""
    span = windows.bounds(node, ctx.now)
    return (
        ctx.whole
        and ctx.vocabulary.workspace_id is not None
        and not node.get("where")
        and span is not None
        and span.lower is not None
    )


def _done_often(node, ctx: base.Context, count: int):
    """The ids of the workspace's contacts with at least `count` of these events in the
    window: one pass over the (workspace, name, occurred_at, contact) index."""
    return (
        Event.objects.filter(workspace_id=ctx.vocabulary.workspace_id, name=node["event"])
        .filter(windows.q("occurred_at", node, ctx.now))
        .order_by()
        .values("contact_id")
        .annotate(n=Count("*"))
        .filter(n__gte=count)
        .values("contact_id")
    )


def event_names(workspace, limit: int = EVENT_NAME_LIMIT) -> list[str]:
    """The distinct event names of the workspace, sorted. A recursive query jumps from
    one name to the next on the (workspace, name) index, so it reads one index entry
    per name instead of every event (millions of them)."""
    table = Event._meta.db_table
    sql = f"""
        WITH RECURSIVE names(name, n) AS (
            SELECT MIN(name), 1 FROM {table} WHERE workspace_id = %s
            UNION ALL
            SELECT (SELECT MIN(e.name) FROM {table} e
                    WHERE e.workspace_id = %s AND e.name > names.name), n + 1
            FROM names WHERE names.name IS NOT NULL AND n < %s
        )
        SELECT name FROM names WHERE name IS NOT NULL
    """  # noqa: S608 (the table name is ours; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [workspace.pk, workspace.pk, limit])
        return [row[0] for row in cursor.fetchall()]


def property_hints(workspace) -> tuple[dict, list[str]]:
    """From the most recent events: the property keys seen for each event name (most
    common first, flagged when their values are numbers), and the most viewed page URLs.
    Hints only: any property can be typed."""
    keys: dict[str, Counter] = defaultdict(Counter)
    numeric: dict[str, set] = defaultdict(set)
    urls: Counter = Counter()
    recent = (
        Event.objects.filter(workspace=workspace)
        .order_by("-id")
        .values_list("name", "properties")[:PROPERTY_SAMPLE]
    )
    for name, properties in recent:
        if not isinstance(properties, dict):
            continue
        for key, value in properties.items():
            keys[name][key] += 1
            if values.is_number(value):
                numeric[name].add(key)
        if name == PAGE_VIEW and isinstance(properties.get("url"), str):
            urls[properties["url"][:200]] += 1
    hints = {
        name: [
            {"key": key, "numeric": key in numeric[name]}
            for key, _ in counter.most_common(HINTS_PER_EVENT)
        ]
        for name, counter in keys.items()
    }
    return hints, [url for url, _ in urls.most_common(HINTS_PER_EVENT)]

"""What the rule builder offers: the catalog of fields, operators, tags, events,
segments and campaigns of a workspace, as one JSON-able dict for the page.

The operator sets come from segments.rules, so the builder can never offer an
operator that validation refuses (tests/segments/test_builder_catalog.py checks
that every operator of rules.OPERATORS has a label here and nothing more). The
labels are what a marketer reads; the JSON keeps the contract's names.

Every list is read in one query whatever the workspace's size: event names by a
skip scan over the (workspace, name) index, property hints from a small sample
of recent events.
"""

from collections import Counter, defaultdict

from django.db import connection

from campaigns.models import Campaign
from contacts.models import BUILTIN_FIELD_TYPES, CustomAttribute, Event, Tag
from segments import rules
from segments.models import Segment
from workspaces.models import Workspace
from workspaces.scoping import scoped

# The contact's own fields, in the order a person scans them.
BUILTIN_LABELS = {
    "email": "Email",
    "first_name": "First name",
    "last_name": "Last name",
    "phone": "Phone",
    "company": "Company",
    "country": "Country",
    "state": "State / region",
    "city": "City",
    "language": "Language",
    "external_id": "External id",
    "score": "Score",
    "created_at": "Created",
    "updated_at": "Updated",
    "last_activity_at": "Last activity",
}

# Operators by value type, in menu order, with their labels.
OPERATOR_LABELS = {
    "text": [
        ("eq", "is"),
        ("neq", "is not"),
        ("contains", "contains"),
        ("not_contains", "does not contain"),
        ("starts_with", "starts with"),
        ("ends_with", "ends with"),
        ("in", "is one of"),
        ("not_in", "is none of"),
        ("exists", "exists"),
        ("not_exists", "does not exist"),
    ],
    "number": [
        ("eq", "equals"),
        ("neq", "does not equal"),
        ("gt", "is greater than"),
        ("gte", "is at least"),
        ("lt", "is less than"),
        ("lte", "is at most"),
        ("between", "is between"),
        ("exists", "exists"),
        ("not_exists", "does not exist"),
    ],
    "date": [
        ("within_last_days", "is within the last"),
        ("more_than_days_ago", "is more than … ago"),
        ("before", "is before"),
        ("after", "is after"),
        ("between", "is between"),
        ("exists", "exists"),
        ("not_exists", "does not exist"),
    ],
    "boolean": [
        ("is_true", "is yes"),
        ("is_false", "is no"),
        ("exists", "exists"),
        ("not_exists", "does not exist"),
    ],
}

# Operators on an event's property: the text and number ones (conditions.md).
PROPERTY_OPERATOR_LABELS = [
    ("eq", "is"),
    ("neq", "is not"),
    ("contains", "contains"),
    ("not_contains", "does not contain"),
    ("starts_with", "starts with"),
    ("ends_with", "ends with"),
    ("in", "is one of"),
    ("not_in", "is none of"),
    ("gt", "is greater than"),
    ("gte", "is at least"),
    ("lt", "is less than"),
    ("lte", "is at most"),
    ("between", "is between"),
    ("exists", "exists"),
    ("not_exists", "does not exist"),
]

# What a page view's URL is compared with.
URL_OPERATORS = ["contains", "eq", "starts_with", "ends_with", "not_contains", "neq"]


def value_shape(op: str) -> str:
    """What the value of `op` looks like: none, list, range, days or single."""
    if op in rules.PRESENCE_OPS or op in rules.BOOLEAN_OPS:
        return "none"
    if op in rules.LIST_OPS:
        return "list"
    if op == "between":
        return "range"
    if op in rules.DAYS_OPS:
        return "days"
    return "single"


ALL_OPS = {op for ops in rules.OPERATORS.values() for op in ops}

CATEGORIES = [
    ("field", "Contact field"),
    ("tag", "Tag"),
    ("event", "Event"),
    ("page_view", "Page view"),
    ("device", "Device"),
    ("segment", "Segment"),
    ("campaign", "Campaign activity"),
]
DEVICES = [
    ("*", "any device"),
    ("ios", "an iOS device"),
    ("android", "an Android device"),
    ("web", "a web browser"),
]
ACTIVITIES = [("opened", "opened"), ("clicked", "clicked"), ("sent", "was sent")]
EVENT_OPS = [("at_least", "at least"), ("at_most", "at most"), ("exactly", "exactly")]

EVENT_NAME_LIMIT = 300
PROPERTY_SAMPLE = 500
HINTS_PER_EVENT = 20
LIST_LIMIT = 1000


def catalog(workspace: Workspace, *, segment: Segment | None = None) -> dict:
    """Everything the builder's menus offer in `workspace`; `segment` (the one being
    edited) is left out of the segment picker: a rule cannot name its own segment."""
    properties, urls = property_hints(workspace)
    return {
        "categories": [{"value": v, "label": label} for v, label in CATEGORIES],
        "fields": field_list(workspace),
        "operators": {
            kind: [{"value": op, "label": label, "shape": value_shape(op)} for op, label in ops]
            for kind, ops in OPERATOR_LABELS.items()
        },
        "property_operators": [
            {
                "value": op,
                "label": label,
                "shape": value_shape(op),
                "numeric": op in {"gt", "gte", "lt", "lte", "between"},
            }
            for op, label in PROPERTY_OPERATOR_LABELS
        ],
        "url_operators": URL_OPERATORS,
        "negative_operators": sorted(rules.NEGATIVE_OPS),
        "tags": list(
            scoped(Tag, workspace).order_by("name").values_list("name", flat=True)[:LIST_LIMIT]
        ),
        "event_names": event_names(workspace),
        "event_properties": properties,
        "url_hints": urls,
        "event_ops": [{"value": v, "label": label} for v, label in EVENT_OPS],
        "devices": [{"value": v, "label": label} for v, label in DEVICES],
        "activities": [{"value": v, "label": label} for v, label in ACTIVITIES],
        "segments": segment_choices(workspace, exclude=segment),
        "campaigns": [
            {"id": pk, "name": name}
            for pk, name in scoped(Campaign, workspace)
            .order_by("name", "id")
            .values_list("id", "name")[:LIST_LIMIT]
        ],
        "limits": {"depth": rules.MAX_DEPTH, "conditions": rules.MAX_CONDITIONS},
    }


def field_list(workspace: Workspace) -> list[dict]:
    builtin = [
        {
            "value": name,
            "label": label,
            "type": BUILTIN_FIELD_TYPES[name],
            "group": "Contact fields",
        }
        for name, label in BUILTIN_LABELS.items()
    ]
    attributes = scoped(CustomAttribute, workspace).order_by("key")
    custom = [
        {
            "value": f"attributes.{key}",
            "label": label or key,
            "type": kind,
            "group": "Custom attributes",
        }
        for key, label, kind in attributes.values_list("key", "label", "type")
    ]
    return builtin + custom


def segment_choices(workspace: Workspace, *, exclude: Segment | None = None) -> list[dict]:
    segments = scoped(Segment, workspace).order_by("archived", "name", "id")
    if exclude is not None:
        segments = segments.exclude(pk=exclude.pk)
    return [
        {"id": pk, "name": name, "kind": kind, "archived": archived}
        for pk, name, kind, archived in segments.values_list("id", "name", "kind", "archived")[
            :LIST_LIMIT
        ]
    ]


def event_names(workspace: Workspace, limit: int = EVENT_NAME_LIMIT) -> list[str]:
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


def property_hints(workspace: Workspace) -> tuple[dict, list[str]]:
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
            if isinstance(value, int | float) and not isinstance(value, bool):
                numeric[name].add(key)
        if name == "page_view" and isinstance(properties.get("url"), str):
            urls[properties["url"][:200]] += 1
    hints = {
        name: [
            {"key": key, "numeric": key in numeric[name]}
            for key, _ in counter.most_common(HINTS_PER_EVENT)
        ]
        for name, counter in keys.items()
    }
    return hints, [url for url, _ in urls.most_common(HINTS_PER_EVENT)]

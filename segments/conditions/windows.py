"""Time windows of event and campaign-activity conditions (conditions.md): at most one
of `"within_days": D`, `"after": DATE` (on or after), `"before": DATE` (strictly
before), `"between": [FROM, TO]` (inclusive); none means all time. Check, SQL,
Python, words and the builder's menu, for both kinds; the boundaries themselves are
drawn by segments.dates.window_bounds, the same for SQL and Python.

A null window key counts as absent (the builder and older rules write
`"within_days": null` for "any time").
"""

from datetime import datetime

from django.db.models import Q

from segments import dates
from segments.conditions import values
from segments.conditions.base import RuleError

KEYS = ("within_days", "after", "before", "between")
MENU = [
    {"value": "", "label": "at any time"},
    {"value": "within_days", "label": "in the last", "shape": "days", "unit": "days"},
    {"value": "after", "label": "on or after", "shape": "single"},
    {"value": "before", "label": "before", "shape": "single"},
    {"value": "between", "label": "between", "shape": "range"},
]
LABELS = {item["value"]: item["label"] for item in MENU}


def present(node: dict) -> list[str]:
    return [key for key in KEYS if node.get(key) is not None]


def check(node: dict, path: str) -> None:
    keys = present(node)
    if len(keys) > 1:
        raise RuleError(
            path,
            f"A condition has at most one time window; this one has {', '.join(keys)}.",
        )
    if not keys:
        return
    key, value = keys[0], node[keys[0]]
    if key == "within_days":
        values.whole(value, path, key, minimum=1, maximum=values.MAX_DAYS, name="in the last")
    elif key == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise values.fail(path, "{op} needs two dates.", key, "", LABELS[key])
        start, end = (values.moment(v, path, key, name=LABELS[key]) for v in value)
        if values.order_key(start) > values.order_key(end):
            raise values.fail(path, "{op} needs the earlier date first.", key, "", LABELS[key])
    else:
        values.moment(value, path, key, name=LABELS[key])


def bounds(node: dict, now: datetime) -> dates.Bounds | None:
    keys = present(node)
    return dates.window_bounds(keys[0], node[keys[0]], now) if keys else None


def q(column: str, node: dict, now: datetime) -> Q:
    """The window as a filter on a datetime column of the counted rows."""
    span = bounds(node, now)
    q = Q()
    if span is None:
        return q
    if span.lower is not None:
        q &= Q(**{f"{column}__{'gte' if span.lower_inclusive else 'gt'}": span.lower})
    if span.upper is not None:
        q &= Q(**{f"{column}__{'lte' if span.upper_inclusive else 'lt'}": span.upper})
    return q


def contains(node: dict, moment: datetime, now: datetime) -> bool:
    span = bounds(node, now)
    return span is None or span.contains(moment)


def time_based(node: dict) -> bool:
    """Whether the window moves with the clock (then membership does too)."""
    return node.get("within_days") is not None


def words(node: dict) -> str:
    """ " in the last 30 days", " on or after 1 May 2024"... or "" for all time."""
    keys = present(node)
    if not keys:
        return ""
    key, value = keys[0], node[keys[0]]
    if key == "within_days":
        return " in the last day" if value == 1 else f" in the last {value:,} days"
    if key == "between":
        return f" between {dates.spoken(value[0])} and {dates.spoken(value[1])}"
    return f" {LABELS[key]} {dates.spoken(value)}"

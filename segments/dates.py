"""Date semantics of rules, shared by the SQL compiler and the Python evaluator so
both draw every boundary in the same place.

Operators of date fields: a date without a time means a whole day (UTC): `before
2024-05-01` is earlier than that day, `after 2024-05-01` is from the next day on,
`between [2024-05-01, 2024-05-31]` includes both days whole. A datetime is a moment:
`after T` is strictly later than T, `between [A, B]` includes A and B.

Time windows of event and campaign conditions (conditions.md): `after` is on or after,
`before` strictly before, `between` inclusive, and a date alone is that whole day in
the workspace's time zone (the site's TIME_ZONE: workspaces have no zone of their own).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from django.utils import timezone

from contacts.attributes import parse_iso_moment


@dataclass(frozen=True)
class Bounds:
    lower: datetime | None = None
    lower_inclusive: bool = True
    upper: datetime | None = None
    upper_inclusive: bool = False

    def contains(self, moment: datetime) -> bool:
        above = (
            self.lower is None
            or moment > self.lower
            or (moment == self.lower and self.lower_inclusive)
        )
        below = (
            self.upper is None
            or moment < self.upper
            or (moment == self.upper and self.upper_inclusive)
        )
        return above and below


def day_start(day: date, zone: tzinfo = UTC) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def as_moment(value, zone: tzinfo = UTC) -> datetime | None:
    """A stored or given date/datetime (object or ISO text) as an aware datetime; a
    day is its start in `zone`."""
    if isinstance(value, str):
        value = parse_iso_moment(value)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return day_start(value, zone)
    return None


def _is_day(value) -> bool:
    moment = parse_iso_moment(value) if isinstance(value, str) else value
    return isinstance(moment, date) and not isinstance(moment, datetime)


def bounds(op: str, value, now: datetime) -> Bounds:
    if op == "before":
        return Bounds(upper=as_moment(value), upper_inclusive=False)
    if op == "after":
        if _is_day(value):
            return Bounds(lower=as_moment(value) + timedelta(days=1), lower_inclusive=True)
        return Bounds(lower=as_moment(value), lower_inclusive=False)
    if op == "between":
        start, end = value
        if _is_day(end):
            upper, upper_inclusive = as_moment(end) + timedelta(days=1), False
        else:
            upper, upper_inclusive = as_moment(end), True
        return Bounds(as_moment(start), True, upper, upper_inclusive)
    if op == "within_last_days":
        return Bounds(now - timedelta(days=value), True, now, True)
    if op == "more_than_days_ago":
        return Bounds(upper=now - timedelta(days=value), upper_inclusive=False)
    raise ValueError(f"{op} has no date bounds")


def window_zone() -> tzinfo:
    return timezone.get_default_timezone()


def window_bounds(key: str, value, now: datetime) -> Bounds:
    """The span of a time window of an event or campaign condition."""
    zone = window_zone()
    if key == "within_days":
        return Bounds(lower=now - timedelta(days=value), lower_inclusive=True)
    if key == "after":
        return Bounds(lower=as_moment(value, zone), lower_inclusive=True)
    if key == "before":
        return Bounds(upper=as_moment(value, zone), upper_inclusive=False)
    if key == "between":
        start, end = value
        if _is_day(end):
            following = parse_iso_moment(end) + timedelta(days=1)
            return Bounds(as_moment(start, zone), True, day_start(following, zone), False)
        return Bounds(as_moment(start, zone), True, as_moment(end, zone), True)
    raise ValueError(f"{key} is not a time window")


def spoken(value) -> str:
    """A date or datetime (object or ISO text) as a person writes it: "31 May 2024",
    "31 May 2024, 09:00 UTC"."""
    moment = parse_iso_moment(value) if isinstance(value, str) else value
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC)
        return f"{moment.day} {moment:%B %Y}, {moment:%H:%M} UTC"
    if isinstance(moment, date):
        return f"{moment.day} {moment:%B %Y}"
    return str(value)


def text_bound(moment: datetime, *, short_at_midnight: bool) -> str:
    """A bound as text comparable with stored date attributes ("2024-05-01" or
    "2024-05-01T09:30:00Z"). A stored day sorts before any moment of that day, so a
    midnight bound is written as a day where the stored day must count as equal
    (inclusive lower, exclusive upper) and as a moment where it must not."""
    moment = moment.astimezone(UTC)
    if short_at_midnight and moment == day_start(moment.date()):
        return moment.date().isoformat()
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

"""Date semantics of rules, shared by the SQL compiler and the Python evaluator so
both draw every boundary in the same place.

A date without a time means a whole day (UTC): `before 2024-05-01` is earlier than
that day, `after 2024-05-01` is from the next day on, `between [2024-05-01,
2024-05-31]` includes both days whole. A datetime is a moment: `after T` is strictly
later than T, `between [A, B]` includes A and B.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

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


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def as_moment(value) -> datetime | None:
    """A stored or given date/datetime (object or ISO text) as an aware datetime."""
    if isinstance(value, str):
        value = parse_iso_moment(value)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return day_start(value)
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


def text_bound(moment: datetime, *, short_at_midnight: bool) -> str:
    """A bound as text comparable with stored date attributes ("2024-05-01" or
    "2024-05-01T09:30:00Z"). A stored day sorts before any moment of that day, so a
    midnight bound is written as a day where the stored day must count as equal
    (inclusive lower, exclusive upper) and as a moment where it must not."""
    moment = moment.astimezone(UTC)
    if short_at_midnight and moment == day_start(moment.date()):
        return moment.date().isoformat()
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

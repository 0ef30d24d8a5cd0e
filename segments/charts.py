"""The History tab's chart, drawn on the server as SVG: members at the end of each
day as a line over a shaded area, and the day's entries and exits as bars in a strip
below. This module only computes geometry; templates/segments/_member_chart.html
draws it with classes (no inline styles: CSP), and a table beside it holds the same
numbers for screen readers and for copying."""

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from segments.selectors import Day

WIDTH, HEIGHT = 1100, 280
LEFT, RIGHT, TOP = 56, 16, 14
PLOT_BOTTOM = 188  # the members plot ends here; the x labels sit under it
STRIP_TOP, STRIP_BOTTOM = 222, 266  # entries above the middle line, exits below


@dataclass
class Tick:
    pos: float
    label: str
    anchor: str = "middle"  # the last x label ends at the plot's edge instead


@dataclass
class Column:
    """One day: where it is, its bars, and the text shown when hovering it."""

    x: float
    left_edge: float
    width: float
    title: str
    entered_y: float
    entered_h: float
    left_h: float


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_top: int = TOP
    plot_bottom: int = PLOT_BOTTOM
    strip_top: int = STRIP_TOP
    strip_middle: float = (STRIP_TOP + STRIP_BOTTOM) / 2
    strip_bottom: int = STRIP_BOTTOM
    line: str = ""
    area: str = ""
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)
    last_x: float = 0
    last_y: float = 0
    bar_max: int = 0
    bar_width: float = 0
    summary: str = ""


def nice_ceiling(value: int) -> tuple[int, int]:
    """(top, step) of a y axis holding `value`: 4 to 5 steps of 1, 2, 2.5 or 5 x 10^k."""
    if value <= 4:  # a few members: still a readable axis of 0 to 4
        return 4, 1
    raw = value / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * magnitude
        if step >= raw and step == int(step):
            step = int(step)
            return step * math.ceil(value / step), step
    return value, max(1, value // 4)  # unreachable: 10 x magnitude always fits


def _count(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:g}M"
    if n >= 10_000:
        return f"{n / 1000:g}k"
    return f"{n:,}"


def _day(d) -> str:
    return f"{d:%b} {d.day}"


def member_chart(series: "list[Day]") -> Chart:
    chart = Chart()
    if not series:
        return chart
    top, step = nice_ceiling(max(day.members for day in series))
    plot_height = PLOT_BOTTOM - TOP
    plot_width = chart.plot_right - LEFT
    slot = plot_width / len(series)

    def x_of(i: int) -> float:
        return round(LEFT + slot * (i + 0.5), 1)

    def y_of(members: int) -> float:
        return round(PLOT_BOTTOM - plot_height * members / top, 1)

    points = [(x_of(i), y_of(day.members)) for i, day in enumerate(series)]
    chart.line = "M" + " L".join(f"{x},{y}" for x, y in points)
    chart.area = f"{chart.line} L{points[-1][0]},{PLOT_BOTTOM} L{points[0][0]},{PLOT_BOTTOM} Z"
    chart.last_x, chart.last_y = points[-1]
    chart.y_ticks = [Tick(y_of(v), _count(v)) for v in range(0, top + 1, step)]
    label_every = 7 if len(series) <= 31 else 14
    chart.x_ticks = [
        Tick(x_of(i), _day(day.day))
        for i, day in enumerate(series)
        if (len(series) - 1 - i) % label_every == 0
    ]
    chart.x_ticks[-1].anchor = "end"
    chart.bar_max = max(max(day.entered, day.left) for day in series)
    half = (STRIP_BOTTOM - STRIP_TOP) / 2
    bar_width = max(1.0, round(slot * 0.6, 1))
    for i, day in enumerate(series):
        entered_h = round(half * day.entered / chart.bar_max, 1) if chart.bar_max else 0
        left_h = round(half * day.left / chart.bar_max, 1) if chart.bar_max else 0
        chart.columns.append(
            Column(
                x=round(x_of(i) - bar_width / 2, 1),
                left_edge=round(LEFT + slot * i, 1),
                width=round(slot, 1),
                title=(
                    f"{_day(day.day)}: {day.members:,} member{'s' if day.members != 1 else ''}"
                    f" · {day.entered:,} entered · {day.left:,} left"
                ),
                entered_y=round(chart.strip_middle - entered_h, 1),
                entered_h=entered_h,
                left_h=left_h,
            )
        )
    chart.bar_width = bar_width
    first, last = series[0], series[-1]
    change = last.members - first.members
    chart.summary = (
        f"From {first.members:,} on {_day(first.day)} to {last.members:,} on {_day(last.day)} "
        f"({'+' if change >= 0 else '−'}{abs(change):,}); "
        f"{sum(d.entered for d in series):,} entered and {sum(d.left for d in series):,} left."
    )
    return chart

"""The History tab's chart geometry (segments/charts.py): honest axes, every day
drawn, labels that fit."""

import re
from datetime import date, timedelta

import pytest

from segments.charts import HEIGHT, WIDTH, member_chart, nice_ceiling
from segments.selectors import Day


@pytest.mark.parametrize(
    ("value", "top", "step"),
    [
        (0, 4, 1),
        (3, 4, 1),
        (7, 8, 2),
        (13, 15, 5),
        (99, 100, 25),
        (101, 150, 50),
        (1234, 1500, 500),
    ],
)
def test_the_y_axis_holds_the_value_in_round_steps(value, top, step):
    assert nice_ceiling(value) == (top, step)
    assert top >= value and top % step == 0 and 2 <= top // step <= 5


def series(counts, moves=None):
    start = date(2026, 3, 1)
    moves = moves or {}
    return [Day(start + timedelta(days=i), n, *moves.get(i, (0, 0))) for i, n in enumerate(counts)]


def test_every_day_is_a_point_inside_the_plot():
    chart = member_chart(series([0, 5, 5, 10, 20, 20, 18] * 4 + [30, 31]))
    points = [tuple(map(float, p.split(","))) for p in re.findall(r"[\d.]+,[\d.]+", chart.line)]
    assert len(points) == 30
    xs = [x for x, _ in points]
    assert xs == sorted(xs) and chart.plot_left < xs[0] and xs[-1] < chart.plot_right <= WIDTH
    assert all(chart.plot_top <= y <= chart.plot_bottom for _, y in points)
    # 0 sits on the baseline; the highest value at or under the top of the axis.
    assert points[0][1] == chart.plot_bottom
    assert min(y for _, y in points) >= chart.plot_top
    assert chart.y_ticks[0].label == "0" and chart.y_ticks[-1].label == "40"
    assert chart.strip_bottom < HEIGHT


def test_x_labels_end_on_today_and_bars_scale_to_the_busiest_day():
    chart = member_chart(series([1] * 30, {29: (4, 2), 10: (1, 0)}))
    assert chart.x_ticks[-1].label == "Mar 30" and chart.x_ticks[-1].anchor == "end"
    assert [t.label for t in chart.x_ticks] == ["Mar 2", "Mar 9", "Mar 16", "Mar 23", "Mar 30"]
    busiest, quiet = chart.columns[29], chart.columns[10]
    assert busiest.entered_h == 2 * busiest.left_h > 0
    assert quiet.entered_h == busiest.entered_h / 4 and quiet.left_h == 0
    assert busiest.title == "Mar 30: 1 member · 4 entered · 2 left"
    assert chart.summary.startswith("From 1 on Mar 1 to 1 on Mar 30 (+0); 5 entered and 2 left")


def test_ninety_days_are_labelled_every_two_weeks():
    chart = member_chart(series([10] * 90))
    assert len(chart.columns) == 90 and len(chart.x_ticks) == 7


def test_big_counts_are_short_on_the_axis():
    chart = member_chart(series([0, 1_234_567]))
    assert chart.y_ticks[-1].label == "1.5M"

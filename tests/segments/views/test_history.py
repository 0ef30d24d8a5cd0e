"""The History tab (segments/views/history.py): the chart rebuilt from entries and
exits, and the cause of each."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from segments import services
from segments.models import SegmentChange
from tests.factories import (
    ContactFactory,
)
from tests.segments.views.pages import (
    filtered,
    manual,
    text,
)

pytestmark = pytest.mark.django_db


def test_history_chart_is_rebuilt_from_entries_and_exits(client_in, workspace):
    people = ContactFactory.create_batch(5, workspace=workspace)
    segment = manual(workspace, "VIP", people)  # 5 entered today
    services.segment_members_remove(segment=segment, lookup="id", values=[people[0].pk])
    now = timezone.now()
    # Move history back: 3 entered 10 days ago, 2 five days ago; the exit 2 days ago.
    entered = list(SegmentChange.objects.filter(segment=segment, action="entered").order_by("id"))
    for change, days in zip(entered, [10, 10, 10, 5, 5], strict=True):
        change.at = now - timedelta(days=days)
        change.save()
    SegmentChange.objects.filter(segment=segment, action="left").update(at=now - timedelta(days=2))
    response = client_in.get(reverse("segments:history", args=[segment.pk]))
    page = text(response)
    assert "<svg" in page and "style=" not in page.split("<svg", 1)[1].split("</svg>")[0]
    table = dict(re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">(\d+)</td>", page))
    day = lambda n: (timezone.localdate() - timedelta(days=n)).strftime("%a, %b %-d, %Y")  # noqa: E731
    assert table[day(11)] == "0"
    assert table[day(10)] == "3"
    assert table[day(5)] == "5"
    assert table[day(2)] == "4"
    assert table[day(0)] == "4"
    assert "From 0 on" in page and "to 4 on" in page
    assert "Added by hand" in page and "Entered" in page and "Left" in page
    ninety = text(client_in.get(reverse("segments:history", args=[segment.pk]), {"days": "90"}))
    assert "last 90 days" in ninety and ninety.count("<tr><td>") == 90


def test_history_names_the_cause(client_in, workspace, django_capture_on_commit_callbacks):
    ContactFactory(workspace=workspace, country="FR")
    french = filtered(workspace, django_capture_on_commit_callbacks)
    page = text(client_in.get(reverse("segments:history", args=[french.pk])))
    assert "The rule changed" in page and "no campaign trigger" in page

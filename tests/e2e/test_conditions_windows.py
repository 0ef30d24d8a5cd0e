"""A time window in a real browser (conditions.md: `between` for an event): a marketer
builds "did webinar_attended at least once between 1 and 31 May 2024" by clicking,
saves it, and reads on a member's page why they are in the segment, in words."""

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from contacts.demo_data import demo_workspace
from contacts.models import Contact, Event
from segments.models import Segment
from tests.e2e.test_builder import condition, live_count, rule_on_page, sign_in

pytestmark = pytest.mark.e2e

EVENT = "webinar_attended"
WORDS = f"Did {EVENT} at least 1 time between 1 May 2024 and 31 May 2024"


def contact_with_events(workspace, name: str, *days: datetime) -> Contact:
    first, last = name.split()
    contact = Contact.objects.create(
        workspace=workspace, first_name=first, last_name=last, email=f"{first.lower()}@windows.test"
    )
    Event.objects.bulk_create(
        Event(workspace=workspace, contact=contact, name=EVENT, occurred_at=day) for day in days
    )
    return contact


def expect_why(scope, verdict: str, actual: str, mark: str) -> None:
    """The explanation shown in `scope`: its verdict, and its one condition in words
    with what the contact did and whether it holds."""
    expect(scope.locator(".why-verdict")).to_contain_text(verdict)
    line = scope.locator(".why-root .why-node:not(:has(.why-tree))")
    expect(line.locator(".why-words")).to_have_text(WORDS)
    expect(line.locator(".why-actual")).to_have_text(actual)
    expect(line.locator(".why-mark")).to_have_text(mark)


def test_build_an_event_condition_with_a_between_window_and_read_why(page, base_url, screenshot):
    workspace = demo_workspace()
    # 31 May at 23:30 is still May (a date alone is the whole day); 1 June is not.
    wendy = contact_with_events(
        workspace,
        "Wendy Window",
        datetime(2024, 5, 31, 23, 30, tzinfo=UTC),
        datetime(2024, 6, 1, tzinfo=UTC),
    )
    oscar = contact_with_events(workspace, "Oscar Outside", datetime(2024, 6, 1, 0, 0, tzinfo=UTC))

    sign_in(page, base_url)
    page.goto(f"{base_url}/segments/new/")
    page.get_by_label("Name").fill("May webinar")
    first = condition(page, 0)
    first.get_by_label("Condition type").select_option(label="Event")
    first.get_by_label("Event name").fill(EVENT)
    expect(first.get_by_label("How often")).to_have_value(re.compile("at_least"))
    first.get_by_label("Number of times").fill("1")
    first.get_by_label("When").select_option(label="between")
    # Until both dates are there, the condition says so (the server: "“between” needs…").
    expect(first.locator("[data-node-error]")).to_have_text("Enter both values.")
    first.get_by_label("From", exact=True).fill("2024-05-01")
    first.get_by_label("To", exact=True).fill("2024-05-31")
    expect(page.locator(".b-cond.has-error")).to_have_count(0)
    expected = {
        "all": [
            {"event": EVENT, "op": "at_least", "count": 1, "between": ["2024-05-01", "2024-05-31"]}
        ]
    }
    assert rule_on_page(page) == expected
    assert live_count(page) == 1
    expect(page.locator(".preview-sample")).to_contain_text("Wendy Window")
    screenshot("window-between")

    page.get_by_role("button", name="Create segment").click()
    expect(page).to_have_url(re.compile(r"/segments/\d+/$"))
    segment = Segment.objects.get(workspace=workspace, name="May webinar")
    assert segment.conditions == expected
    assert list(segment.members.values_list("contact_id", flat=True)) == [wendy.pk]

    # On the member's page: the Segments section says why, in the builder's words.
    page.goto(f"{base_url}/contacts/{wendy.pk}/")
    section = page.get_by_role("region", name=re.compile("^Segments"))
    row = section.locator(".membership-row", has=page.get_by_role("link", name="May webinar"))
    expect(row.locator(".type-badge")).to_have_text("Filter")
    row.get_by_text("Why are they in it?").click()
    expect_why(row, "In this segment", "the contact did it 1 time", "✓")
    screenshot("window-why")

    # Someone whose event falls outside the window: not in it, and why not.
    why_url = reverse("segments:contact_why", args=[oscar.pk])
    page.goto(f"{base_url}{why_url}?segment={segment.pk}")
    expect_why(page, "Not in this segment", "the contact never did in that time", "✗")
    assert page.errors == [], f"Errors in the browser console: {page.errors}"

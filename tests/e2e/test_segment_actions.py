"""A segment's actions in a real browser (tasks run inline here): a dashboard row's
Actions menu opens Reset contact score, which wants a reason and "I agree", then the
job's page says it is done and the bell's notification says so too."""

import re
import uuid

import pytest
from playwright.sync_api import expect

from contacts.demo_data import demo_workspace
from contacts.models import Contact
from segments import services as segment_services
from tests.e2e.test_segments import sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def segment(base_url):
    """A manual segment of five demo contacts with scores, made before the browser
    opens a page."""
    workspace = demo_workspace()
    people = list(Contact.objects.filter(workspace=workspace)[:5])
    Contact.objects.filter(pk__in=[p.pk for p in people]).update(score=40)
    made = segment_services.segment_create(
        workspace=workspace, name=f"Reset me {uuid.uuid4().hex[:6]}", kind="manual"
    )
    segment_services.segment_members_add(segment=made, lookup="id", values=[p.pk for p in people])
    return made, [p.pk for p in people]


def test_reset_score_from_a_dashboard_row_then_the_notification(
    page, base_url, segment, screenshot
):
    made, ids = segment
    sign_in(page, base_url)
    page.goto(f"{base_url}/segments/?q={made.name}")
    row = page.locator(f"tr[data-segment-id='{made.pk}']")
    row.get_by_label(f"Actions on {made.name}").click()
    expect(row.get_by_role("link", name="Delete all contacts")).to_be_visible()
    expect(row.get_by_role("link", name="Remove all members")).to_be_visible()
    row.get_by_role("link", name="Reset contact score").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Reset the score of")
    page.get_by_role("button", name="Reset now").click()
    expect(page.get_by_text("Give a reason for resetting the scores.")).to_be_visible()
    page.get_by_label("Reason").fill("New scoring model")
    page.get_by_role("button", name="Reset now").click()
    expect(page.get_by_text("Check “I agree” to reset the scores.")).to_be_visible()
    page.get_by_label("Reason").fill("New scoring model")
    page.get_by_label(re.compile("^I agree")).check()
    screenshot("reset-score-form")
    page.get_by_role("button", name="Reset now").click()

    expect(page).to_have_url(re.compile(r"/activity/\d+/$"))
    expect(page.locator("#job-status")).to_have_text("Done")
    expect(page.locator("#job-state")).to_contain_text("5 contacts had their score reset.")
    assert set(Contact.objects.filter(pk__in=ids).values_list("score", flat=True)) == {0}

    page.get_by_role("link", name=re.compile(r"^Notifications")).first.click()
    item = page.locator(".notification").first
    expect(item).to_contain_text(f"Done: Reset score of “{made.name}” by")
    expect(item).to_contain_text("New scoring model")
    screenshot("reset-score-notification")
    # The two refused posts answered 400 (the form with its errors); nothing else.
    assert len(page.errors) == 2 and all("reset-score/" in e and "400" in e for e in page.errors)

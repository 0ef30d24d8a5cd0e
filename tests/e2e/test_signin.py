"""Signing in, in a real browser: the member lands in the workspace they used last, a
link into another workspace of theirs opens it, and repeated wrong passwords are
refused for a while with a message on the sign-in page.

Every write of the test's own is made before the browser starts (the live server and
the test share one in-memory SQLite database, where a read meeting a write fails)."""

import re

import pytest
from playwright.sync_api import expect

from contacts.demo_data import demo_workspace
from segments import services as segment_services
from workspaces.models import Membership
from workspaces.services import workspace_create

pytestmark = pytest.mark.e2e


def sign_in(page, base_url, password="demo"):
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def current_workspace(page):
    return page.locator(".workspace-button .ws-name")


def test_sign_in_opens_the_workspace_used_last_and_links_open_theirs(page, base_url, screenshot):
    demo = demo_workspace()
    owner = Membership.objects.get(workspace=demo).user
    workspace_create(name="Acme Marketing", owner=owner)  # before Demo by name
    segment = segment_services.segment_create(workspace=demo, name="Demo regulars", kind="manual")

    sign_in(page, base_url)
    expect(page).to_have_url(re.compile(r"/contacts/$"))
    expect(current_workspace(page)).to_have_text("Acme Marketing")  # never used: the first
    page.locator(".workspace-button").click()
    page.get_by_role("button", name=re.compile("Demo")).click()
    expect(current_workspace(page)).to_have_text("Demo")
    page.locator(".avatar-button").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))

    sign_in(page, base_url)
    expect(current_workspace(page)).to_have_text("Demo")  # the one used last
    screenshot("signed-in-to-the-last-workspace")

    page.locator(".workspace-button").click()
    page.get_by_role("button", name=re.compile("Acme Marketing")).click()
    expect(current_workspace(page)).to_have_text("Acme Marketing")
    # A link to a segment of Demo, say from a colleague's message, opens Demo.
    page.goto(f"{base_url}/segments/{segment.pk}/")
    expect(page.get_by_text("You are now in Demo.")).to_be_visible()
    expect(current_workspace(page)).to_have_text("Demo")
    expect(page.get_by_role("heading", name="Demo regulars")).to_be_visible()
    expect(page.get_by_text("No segment here")).to_have_count(0)
    screenshot("a-link-into-another-workspace")
    assert page.errors == [], f"Errors in the browser console: {page.errors}"


def test_wrong_passwords_then_the_right_one_is_refused_with_a_message(page, base_url, screenshot):
    for attempt in range(5):
        sign_in(page, base_url, password=f"wrong-{attempt}")
    paused = page.get_by_text(re.compile("Too many failed sign-in attempts"))
    expect(paused).to_be_visible()
    sign_in(page, base_url)  # the right password, too soon
    expect(paused).to_be_visible()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_label("Password")).to_be_visible()  # the sign-in page, not an error page
    screenshot("sign-in-paused")

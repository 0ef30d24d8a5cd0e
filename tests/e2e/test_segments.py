"""The segment pages in a real browser, through the UI only (and the JSON API where
the UI would need the builder), so they also run against a live `make run`:

(a) create manual segments and add three contacts from the contact list to two of
    them at once;
(b) open a contact's "why" for a filter segment;
(c) try to delete a segment another segment's rule uses, and follow the guard's link;
(d) archive two segments from the dashboard.

Names carry a random suffix: against E2E_BASE_URL the data stays between runs."""

import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def sign_in(page, base_url):
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/contacts/$"))


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:6]}"


def create_manual_segment(page, base_url, name: str, description: str = "") -> int:
    page.goto(f"{base_url}/segments/")
    page.get_by_role("link", name="Create manual segment").first.click()
    expect(page.get_by_role("heading", name="Create manual segment", level=1)).to_be_visible()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Description").fill(description)
    page.get_by_role("button", name="Create manual segment").click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    return int(re.search(r"/segments/(\d+)/$", page.url).group(1))


def member_names(page) -> list[str]:
    cells = page.locator("#member-table tbody td.col-name a span:not(.avatar)")
    return [name.strip() for name in cells.all_text_contents()]


def test_add_three_contacts_from_the_list_to_two_segments(page, base_url, screenshot):
    sign_in(page, base_url)
    page.goto(f"{base_url}/segments/")
    expect(page.get_by_role("heading", name="Segments", level=1)).to_be_visible()
    screenshot("segments-dashboard")

    spring = unique("Spring VIPs")
    beta = unique("Beta group")
    spring_id = create_manual_segment(page, base_url, spring, "Customers for the spring launch")
    expect(page.get_by_role("heading", name="No members yet")).to_be_visible()
    screenshot("segment-created")
    beta_id = create_manual_segment(page, base_url, beta)

    # On the contact list: check three people, then "Add to segments" with both.
    page.goto(f"{base_url}/contacts/")
    rows = page.locator("#contact-table tbody tr")
    chosen = []
    for index in range(3):
        row = rows.nth(index)
        row.locator("input[data-select-row]").check()
        chosen.append(row.locator("td.col-name a span:not(.avatar)").text_content().strip())
    expect(page.locator("[data-selected-count]")).to_have_text("3")
    page.locator("summary", has_text="Add to segments").click()
    picker = page.locator(".segment-bulk .picker-list")
    picker.get_by_label(spring).check()
    picker.get_by_label(beta).check()
    screenshot("contacts-add-to-segments")
    page.get_by_role("button", name="Add to these segments").click()
    expect(page.locator(".message-success")).to_contain_text("Added 3 contacts to")
    expect(page.locator(".message-success")).to_contain_text(spring)
    expect(page.locator(".message-success")).to_contain_text(beta)
    screenshot("contacts-added")

    for segment_id in (spring_id, beta_id):
        page.goto(f"{base_url}/segments/{segment_id}/")
        expect(page.locator("#segment-member-count")).to_have_text("3 members")
        assert sorted(member_names(page)) == sorted(chosen)
    screenshot("segment-members")
    assert page.errors == [], f"Errors in the browser console: {page.errors}"


def test_a_contacts_why_for_a_filter_segment(page, base_url, screenshot):
    sign_in(page, base_url)
    page.goto(f"{base_url}/segments/?kind=filter&q=Country+known")
    page.get_by_role("link", name="Country known", exact=True).click()
    expect(page.get_by_role("heading", name="Country known", level=1)).to_be_visible()
    screenshot("filter-segment-members")

    first = page.locator("#member-table tbody td.col-name a").first
    name = first.locator("span:not(.avatar)").text_content().strip()
    first.click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    section = page.get_by_role("region", name=re.compile("^Segments"))
    row = section.locator(".membership-row", has=page.get_by_role("link", name="Country known"))
    expect(row.locator(".type-badge")).to_have_text("Filter")
    row.get_by_text("Why are they in it?").click()
    why = row.locator(".why-root")
    expect(why).to_be_visible()
    expect(row.locator(".why-verdict")).to_contain_text("In this segment")
    condition = why.locator(".why-node:not(:has(.why-tree))", has_text="country exists")
    expect(condition).to_have_class(re.compile(r"\bholds\b"))
    expect(condition.locator(".why-mark")).to_have_text("✓")
    expect(condition.locator(".why-actual")).to_contain_text("the contact's value:")
    screenshot("contact-why")
    assert page.errors == [], f"Errors in the browser console: {page.errors}"


def test_deleting_a_segment_a_rule_uses_shows_the_guard(page, base_url, screenshot):
    sign_in(page, base_url)
    base = unique("Newsletter readers")
    base_id = create_manual_segment(page, base_url, base)

    # A rule naming it, made through the JSON API with a key from the settings page.
    page.goto(f"{base_url}/workspaces/settings/api-keys/")
    page.get_by_label("Key name").fill(unique("e2e"))
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-api-key").input_value()
    user = unique("Readers in Germany")
    response = page.request.post(
        f"{base_url}/api/v1/segments",
        headers={"Authorization": f"Bearer {key}"},
        data={
            "name": user,
            "kind": "filter",
            "conditions": {
                "all": [
                    {"segment": base_id, "op": "in"},
                    {"field": "country", "op": "eq", "value": "DE"},
                ]
            },
        },
    )
    assert response.status == 201, response.text()
    user_id = response.json()["id"]

    page.goto(f"{base_url}/segments/{base_id}/")
    page.get_by_role("link", name="Delete").click()
    guard = page.locator("#delete-guard")
    expect(guard.get_by_role("heading", level=1)).to_have_text(f"“{base}” is in use")
    expect(guard.get_by_role("button", name="Delete segment")).to_have_count(0)
    screenshot("delete-guard")

    # The guard's link leads to the segment whose rule uses it.
    guard.get_by_role("link", name=user, exact=True).click()
    expect(page).to_have_url(f"{base_url}/segments/{user_id}/")
    expect(page.get_by_role("heading", name=user, level=1)).to_be_visible()
    page.get_by_role("link", name="Usage").click()
    expect(page).to_have_url(f"{base_url}/segments/{user_id}/usage/")
    screenshot("user-segment-usage")
    page.goto(f"{base_url}/segments/{base_id}/")
    expect(page.get_by_role("heading", name=base, level=1)).to_be_visible()
    assert page.errors == [], f"Errors in the browser console: {page.errors}"


def test_archive_two_segments_from_the_dashboard(page, base_url, screenshot):
    sign_in(page, base_url)
    tag = uuid.uuid4().hex[:6]
    names = [f"Old promo {tag} A", f"Old promo {tag} B", f"Old promo {tag} C"]
    for name in names:
        create_manual_segment(page, base_url, name)

    page.goto(f"{base_url}/segments/")
    page.get_by_label("Search segments").fill(tag)
    table = page.locator("#segment-table tbody tr")
    expect(table).to_have_count(3)
    screenshot("dashboard-search")
    for name in names[:2]:
        page.get_by_role("checkbox", name=f"Select {name}").check()
    expect(page.locator("[data-selected-count]")).to_have_text("2")
    page.get_by_role("button", name="Archive", exact=True).click()
    expect(page.locator(".message-success")).to_contain_text("Archived 2 segments")
    expect(table).to_have_count(1)
    expect(table.first).to_contain_text(names[2])
    screenshot("dashboard-archived")

    page.get_by_label("Status").select_option("archived")
    expect(page).to_have_url(re.compile(r"status=archived"))
    expect(table).to_have_count(2)
    shown = page.locator("#segment-table .segment-link").all_text_contents()
    assert sorted(s.strip() for s in shown) == names[:2]
    screenshot("dashboard-archived-list")
    assert page.errors == [], f"Errors in the browser console: {page.errors}"

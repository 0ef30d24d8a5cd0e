"""A marketer's first minutes: sign in, find people in the contact list by search and
by a filter, open one of them."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.any_site]


def rows(page):
    return page.locator("#contact-table tbody tr")


def column(page, header: str) -> list[str]:
    """The texts of one column of the contact table, found by its header. (Text content,
    not inner text: the stylesheet may show headers in capitals.)"""
    headers = [h.strip() for h in page.locator("#contact-table thead th").all_text_contents()]
    index = headers.index(header)
    cells = rows(page).locator(f"td:nth-child({index + 1})").all_text_contents()
    return [cell.strip() for cell in cells]


def shown_count(page) -> str:
    """ "1,234 contacts", whitespace normalised as expect().to_have_text does."""
    return " ".join(page.locator("#results-count").text_content().split())


def test_sign_in_search_filter_and_open_a_contact(page, base_url, screenshot):
    # Signing in
    page.goto(f"{base_url}/accounts/login/")
    screenshot("login")
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()

    # ... lands on the contact list
    expect(page).to_have_url(re.compile(r"/contacts/$"))
    expect(page.get_by_role("heading", name="Contacts", level=1)).to_be_visible()
    expect(rows(page).first).to_be_visible()
    screenshot("contacts")
    everyone = shown_count(page)
    assert rows(page).count() > 1

    # Search for one person by email: only they are left.
    email = next(e for e in column(page, "Email") if "@" in e)
    page.get_by_label("Search contacts").fill(email)
    page.get_by_label("Search contacts").press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q="))
    expect(rows(page)).to_have_count(1)
    assert column(page, "Email") == [email]
    assert shown_count(page) != everyone
    screenshot("search")

    # Clear the search and filter by a country instead: every row is from there.
    page.get_by_label("Search contacts").fill("")
    page.get_by_label("Search contacts").press("Enter")
    expect(page.locator("#results-count")).to_have_text(everyone)
    country = next(c for c in column(page, "Country") if c and c != "—")
    page.get_by_text("Filters", exact=True).click()
    page.get_by_label("Country").fill(country)
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(rf"[?&]country={country}"))
    expect(page.locator("#results-count")).not_to_have_text(everyone)
    shown = column(page, "Country")
    assert shown and set(shown) == {country}
    screenshot("filter")

    # Open the first of them: their page shows who they are.
    first = rows(page).first.locator("td.col-name a")
    name = first.locator("span:not(.avatar)").text_content().strip()  # not the initials
    first.click()
    expect(page).to_have_url(re.compile(r"/contacts/\d+/$"))
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    expect(page.get_by_role("region", name="Profile")).to_contain_text(country)
    screenshot("contact")

    assert page.errors == [], f"Errors in the browser console: {page.errors}"

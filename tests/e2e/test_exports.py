"""Exporting a segment in a real browser: its page's Export opens the form for its
members, the job runs (tasks run inline here), its page offers the file, the file
downloaded holds the header and every member with formula-safe cells, and the Exports
page lists it."""

import csv
import io
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from contacts.demo_data import demo_workspace
from contacts.models import Contact
from segments import services as segment_services
from tests.e2e.test_segments import sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def segment(base_url):
    """A manual segment of seven demo contacts, one of them with a formula for a
    company. Made before the browser opens a page."""
    workspace = demo_workspace()
    people = list(Contact.objects.filter(workspace=workspace, email__isnull=False)[:7])
    Contact.objects.filter(pk=people[0].pk).update(company='=HYPERLINK("http://x")')
    made = segment_services.segment_create(
        workspace=workspace, name=f"Export me {uuid.uuid4().hex[:6]}", kind="manual"
    )
    segment_services.segment_members_add(segment=made, lookup="id", values=[p.pk for p in people])
    return made, sorted(p.email for p in people), people[0].email


def test_export_a_segment_from_its_page_and_download_the_file(page, base_url, segment, screenshot):
    made, emails, formula_email = segment
    name = f"vip-{uuid.uuid4().hex[:6]}"
    sign_in(page, base_url)
    page.goto(f"{base_url}/segments/{made.pk}/")
    page.get_by_role("link", name="Export", exact=True).click()

    expect(page.get_by_role("heading", name="Export contacts", level=1)).to_be_visible()
    expect(page.locator("#export-set")).to_contain_text(f"segment {made.name}: 7 contacts")
    fields = page.locator("#export-fields")
    for box in fields.locator("input[type=checkbox]").all():
        box.uncheck()
    for field in ("email", "company", "tags"):
        fields.locator(f"input[value='{field}']").check()
    page.get_by_label("File name").fill(name)
    screenshot("export-form")
    page.get_by_role("button", name="Export", exact=True).click()

    expect(page).to_have_url(re.compile(r"/activity/\d+/$"))
    expect(page.locator("#job-status")).to_have_text("Done")
    expect(page.locator("#job-state")).to_contain_text(f"Exported 7 contacts to {name}.csv.")
    with page.expect_download() as downloading:
        page.get_by_role("link", name=f"Download {name}.csv").click()
    download = downloading.value
    assert download.suggested_filename == f"{name}.csv"
    text = Path(download.path()).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["email", "company", "tags"]
    assert sorted(row[0] for row in rows[1:]) == emails
    formula_row = next(row for row in rows if row[0] == formula_email)
    assert formula_row[1] == '\'=HYPERLINK("http://x")'
    screenshot("export-done")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Exports").click()
    row = page.locator("#export-table tbody tr").first
    expect(row).to_contain_text(f"{name}.csv")
    expect(row).to_contain_text(f"segment {made.name}")
    expect(row).to_contain_text("Done")
    expect(row.get_by_role("link", name="Download")).to_be_visible()
    assert page.errors == []


def test_export_the_checked_contacts_from_the_bulk_bar(page, base_url):
    sign_in(page, base_url)
    rows = page.locator("input[data-select-row]")
    rows.nth(0).check()
    rows.nth(2).check()
    page.get_by_role("button", name="Export…").click()

    expect(page).to_have_url(re.compile(r"/exports/new/\?selection="))
    expect(page.locator("#export-set")).to_have_text("2 checked contacts: 2 contacts.")
    expect(page.locator("#export-form input[name=ids]")).to_have_count(2)
    page.get_by_label("Excel (XLSX)").check()
    page.get_by_role("button", name="Export", exact=True).click()
    expect(page.locator("#job-status")).to_have_text("Done")
    expect(page.locator("#job-state")).to_contain_text("Exported 2 contacts to contacts-")
    expect(
        page.get_by_role("link", name=re.compile(r"^Download contacts-.*\.xlsx$"))
    ).to_be_visible()
    assert page.errors == []

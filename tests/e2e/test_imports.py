"""The imports wizard in a real browser, with the real engine on a background worker
(tests/e2e/test_jobs.py's `background_worker`: jobs.runner on a thread for each job
the app sends, a pause between chunks).

- A messy CSV (Windows-1252, semicolons, quoted cells with doubled quotes and the
  delimiter inside, a blank line, an email repeated in another case, an invalid
  email, "lots" for a number) from "Import contacts" on the contact list: map (one
  column to a new custom attribute; the preview follows each change without a
  reload), review (the dry run's counts and rejected rows), run, result, and the
  error file downloaded and read.
- "Add people from a file" on a manual segment: the wizard opens with the segment
  and the mode chosen, and ends with those people in the segment."""

import csv
import io
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from contacts.models import Contact, CustomAttribute
from imports.models import Import
from segments import services as segment_services
from segments.models import SegmentMember
from tests.e2e.test_jobs import background_worker  # noqa: F401 (a fixture)
from tests.e2e.test_segments import sign_in
from workspaces.models import Workspace

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("background_worker")]


def messy_csv(token: str) -> bytes:
    lines = [
        "E-mail;First Name;Score;Plan;Tags;Badge level",
        f'ann.{token}@example.com;Ann;12;gold;"vip, fair";3',
        f"eve.{token}@example.com;José;;silver;fair;5",
        f"ANN.{token}@Example.com;Annie;13;gold;;3",
        "",
        "not-an-email;Bob;5;silver;;1",
        f"carl.{token}@example.com;Carl;lots;bronze;;2",
        f'"dora.{token}@example.com";"Dora ""D"" Smith";7;"gold;plus";;4',
    ]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def column_select(page, title: str):
    """The select of the column named `title` (its row's header is its label)."""
    return page.locator("#column-map").get_by_label(title, exact=True)


def counts(page) -> dict[str, str]:
    return {
        key: page.locator(f"#import-counts [data-count='{key}']").text_content()
        for key in ("rows", "create", "update", "unchanged", "reject")
        if page.locator(f"#import-counts [data-count='{key}']").count()
    }


def test_a_messy_csv_through_the_wizard_to_its_error_file(
    page,
    base_url,
    settings,
    screenshot,
):
    settings.IMPORT_CHUNK_ROWS = 1  # a pause after each row: the live server runs here
    token = uuid.uuid4().hex[:8]
    sign_in(page, base_url)

    # Setup, from the contact list.
    page.get_by_role("link", name="Import contacts").click()
    expect(page).to_have_url(re.compile(r"/imports/new/$"))
    page.get_by_label("File").set_input_files(
        files=[{"name": "leads.csv", "mimeType": "text/csv", "buffer": messy_csv(token)}]
    )
    page.get_by_label("Name of the import").fill("Spring leads")
    screenshot("import-setup")
    page.get_by_role("button", name="Upload and map columns").click()

    # Map: each column matched from its header; Badge level to a new attribute.
    expect(page).to_have_url(re.compile(r"/imports/\d+/map/$"))
    imp = Import.objects.get(name="Spring leads")
    assert imp.detected == {"encoding": "cp1252", "delimiter": ";", "sheets": []}
    expect(column_select(page, "E-mail")).to_have_value("email")
    expect(column_select(page, "First Name")).to_have_value("first_name")
    expect(column_select(page, "Score")).to_have_value("score")
    expect(column_select(page, "Plan")).to_have_value("attributes.plan")
    expect(column_select(page, "Tags")).to_have_value("tags")
    expect(column_select(page, "Badge level")).to_have_value("ignore")
    page.evaluate("window.stayedOnThePage = true")  # gone if the page reloads
    preview = page.locator("#preview-table")
    expect(preview).to_contain_text("José")  # read as Windows-1252
    expect(preview.locator("td.cell-rejected")).to_have_count(2)  # the email, "lots"

    # The preview follows the answers: Score ignored, "lots" is no longer refused.
    column_select(page, "Score").select_option("ignore")
    expect(preview.locator("td.cell-rejected")).to_have_count(1)
    column_select(page, "Score").select_option("score")
    expect(preview.locator("td.cell-rejected")).to_have_count(2)
    badge = page.locator("#column-map tr", has=page.locator("th", has_text="Badge level"))
    column_select(page, "Badge level").select_option("new")
    expect(badge.get_by_label("Key")).to_be_visible()
    badge.get_by_label("Key").fill("badge_level")
    badge.get_by_label("Type").select_option("number")
    screenshot("import-map")
    assert page.evaluate("window.stayedOnThePage") is True
    page.get_by_role("button", name="Next: check the file").click()

    # Review: the dry run's progress, then its outcome, without a reload.
    expect(page).to_have_url(re.compile(rf"/imports/{imp.pk}/review/$"))
    page.evaluate("window.stayedOnThePage = true")
    state = page.locator("#import-state")
    assert state.get_attribute("data-import-status") == "reviewing"
    expect(state.locator("progress")).to_be_visible()
    expect(state).to_have_attribute("data-import-status", "reviewed", timeout=30_000)
    assert page.evaluate("window.stayedOnThePage") is True
    assert counts(page) == {"rows": "6", "create": "3", "update": "1", "unchanged": "0",
                            "reject": "2"}  # fmt: skip
    rejected = page.locator("#rejected-table tbody tr")
    expect(rejected).to_have_count(2)
    expect(rejected.nth(0)).to_contain_text("not-an-email")
    expect(rejected.nth(1)).to_contain_text("lots")
    assert not Contact.objects.filter(email__icontains=token).exists()  # nothing written
    screenshot("import-review")
    page.get_by_role("button", name="Start import").click()

    # Run, then the result, on one page that polls itself.
    expect(page).to_have_url(re.compile(rf"/imports/{imp.pk}/$"))
    page.evaluate("window.stayedOnThePage = true")
    assert state.get_attribute("data-import-status") == "running"
    expect(page.get_by_text("Cancel…")).to_be_visible()
    expect(state).to_have_attribute("data-import-status", "done", timeout=30_000)
    assert page.evaluate("window.stayedOnThePage") is True
    assert counts(page) == {"rows": "6", "create": "3", "update": "1", "unchanged": "0",
                            "reject": "2"}  # fmt: skip
    screenshot("import-result")

    ann = Contact.objects.get(email__iexact=f"ann.{token}@example.com")
    assert ann.first_name == "Annie"  # the repeated email updated the contact it made
    assert ann.attributes["badge_level"] == 3
    dora = Contact.objects.get(email=f"dora.{token}@example.com")
    assert dora.first_name == 'Dora "D" Smith' and dora.attributes["plan"] == "gold;plus"
    assert Contact.objects.get(email=f"eve.{token}@example.com").first_name == "José"
    assert Contact.objects.filter(email__icontains=token).count() == 3
    assert CustomAttribute.objects.get(workspace=imp.workspace, key="badge_level").type == "number"

    # The error file: the original columns of each rejected row, its line and why.
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the error file").click()
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["E-mail", "First Name", "Score", "Plan", "Tags", "Badge level", "row",
                       "error"]  # fmt: skip
    assert [row[:6] for row in rows[1:]] == [
        ["not-an-email", "Bob", "5", "silver", "", "1"],
        [f"carl.{token}@example.com", "Carl", "lots", "bronze", "", "2"],
    ]
    assert [row[6] for row in rows[1:]] == ["6", "7"]
    assert "email" in rows[1][7].lower() and "number" in rows[2][7].lower()

    # The Imports page lists it.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Imports").click()
    row = page.locator(f"#import-table tr[data-import-id='{imp.pk}']")
    expect(row).to_contain_text("Spring leads")
    expect(row).to_contain_text("Done")
    expect(row.get_by_role("link", name="Download")).to_be_visible()
    assert page.errors == []


def test_add_people_from_a_file_on_a_manual_segment(
    page,
    base_url,
    screenshot,
):
    workspace = Workspace.objects.get(slug="demo")
    segment = segment_services.segment_create(
        workspace=workspace, name=f"Fair {uuid.uuid4().hex[:6]}", kind="manual"
    )
    people = list(Contact.objects.filter(workspace=workspace).exclude(email="")[:3])
    lines = ["Email Address", people[0].email, people[1].email.upper(), "nobody@example.com",
             people[2].email]  # fmt: skip
    sign_in(page, base_url)
    page.goto(f"{base_url}/segments/{segment.pk}/")
    page.get_by_role("link", name="Add people from a file").click()

    # The wizard opens for this segment, adding existing people by email.
    expect(page).to_have_url(
        re.compile(rf"/imports/new/\?segment={segment.pk}&mode=add_to_segment")
    )
    expect(page.get_by_label("Add existing people to a manual segment")).to_be_checked()
    expect(page.get_by_label("Add everyone imported to a manual segment")).to_have_value(
        str(segment.pk)
    )
    page.get_by_label("File").set_input_files(
        files=[{"name": "fair.csv", "mimeType": "text/csv",
                "buffer": "\n".join(lines).encode()}]
    )  # fmt: skip
    page.get_by_role("button", name="Upload and map columns").click()
    expect(column_select(page, "Email Address")).to_have_value("email")
    page.get_by_role("button", name="Next: check the file").click()

    state = page.locator("#import-state")
    expect(state).to_have_attribute("data-import-status", "reviewed", timeout=30_000)
    assert counts(page) == {"rows": "4", "update": "3", "unchanged": "0", "reject": "1"}
    expect(page.locator("#rejected-table")).to_contain_text("No contact with email")
    screenshot("add-people-review")
    page.get_by_role("button", name="Add people").click()

    expect(state).to_have_attribute("data-import-status", "done", timeout=30_000)
    assert counts(page) == {"rows": "4", "update": "3", "unchanged": "0", "reject": "1"}
    members = set(SegmentMember.objects.filter(segment=segment).values_list("contact", flat=True))
    assert members == {p.pk for p in people}
    page.get_by_role("link", name=f"Open “{segment.name}”").click()
    for person in people:
        expect(page.locator("#member-table")).to_contain_text(person.email)
    screenshot("add-people-members")
    assert page.errors == []

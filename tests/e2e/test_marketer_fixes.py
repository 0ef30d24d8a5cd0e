"""What a marketer tripped on (issue 19), in a real browser:

- every list page fits a phone (390 px wide: no horizontal scroll);
- a searchable segment picker (type, pick, apply) on the contact list and in the bulk bar;
- a bulk segment run twice makes nothing new the second time and says what it skipped;
- "Calculating…" turns into the count by itself;
- the builder asks before leaving with unsaved changes, and only then.

Data is made through the ORM on pytest's live server (the demo workspace)."""

import re
import uuid

import pytest
from django.utils import timezone
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def sign_in(page, base_url):
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/contacts/$"))


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:6]}"


def demo():
    from contacts.demo_data import demo_workspace

    return demo_workspace()


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


# ---------------------------------------------------------------- phone widths


def test_every_list_page_fits_a_phone(page, base_url, screenshot):
    sign_in(page, base_url)
    page.set_viewport_size(PHONE)
    pages = [
        "/segments/",
        "/contacts/",
        "/activity/",
        "/workspaces/notifications/",
        "/segments/new/bulk/?field=country",
    ]
    page.goto(f"{base_url}/workspaces/settings/")
    tabs = page.locator("nav.tabs a").evaluate_all("links => links.map(a => a.pathname)")
    assert len(tabs) >= 4, tabs
    too_wide = {}
    for path in pages + tabs:
        page.goto(f"{base_url}{path}")
        width = scroll_width(page)
        if width > PHONE["width"]:
            too_wide[path] = width
            screenshot("too-wide-" + path.strip("/").replace("/", "-").split("?")[0])
    assert too_wide == {}, too_wide
    # The dashboard's actions are on screen, not off to the right.
    page.goto(f"{base_url}/segments/")
    box = page.get_by_role("link", name="Create segment").first.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


# ---------------------------------------------------------------- searchable pickers


def test_a_searchable_segment_picker_filters_the_contact_list(page, base_url, screenshot):
    from contacts.models import Contact
    from segments import services

    workspace = demo()
    wanted = unique("Zebra fans")
    segment = services.segment_create(workspace=workspace, name=wanted, kind="manual")
    for n in range(40):  # many segments: the point of searching
        services.segment_create(workspace=workspace, name=unique(f"Filler {n}"), kind="manual")
    people = list(Contact.objects.filter(workspace=workspace).order_by("pk")[:3])
    services.segment_members_add(segment=segment, lookup="id", values=[p.pk for p in people])
    sign_in(page, base_url)

    page.locator(".filter-panel > summary").click()
    search = page.get_by_label("Find a segment")
    expect(search).to_be_visible()
    search.fill("zebra")
    visible = page.locator("#id_segment option:not([hidden])")
    expect(visible).to_have_count(2)  # "Any segment" and the match
    search.press("Enter")  # picks the first match: the select's change applies the filter
    expect(page.locator("#id_segment")).to_have_value(str(segment.pk))
    expect(page).to_have_url(re.compile(rf"segment={segment.pk}"))
    expect(page.locator("#contact-table tbody tr")).to_have_count(3)
    screenshot("contacts-filtered-by-segment")
    assert page.errors == [], page.errors


def test_add_to_segments_in_the_bulk_bar_by_typing(page, base_url):
    from segments import services
    from segments.models import SegmentMember

    workspace = demo()
    wanted = unique("Quokka club")
    segment = services.segment_create(workspace=workspace, name=wanted, kind="manual")
    for n in range(30):
        services.segment_create(workspace=workspace, name=unique(f"Other {n}"), kind="manual")
    sign_in(page, base_url)
    rows = page.locator("#contact-table tbody input[data-select-row]")
    rows.nth(0).check()
    rows.nth(1).check()
    page.locator("summary", has_text="Add to segments").click()
    search = page.get_by_label("Find segments to add to")
    search.fill("quokka")
    labels = page.locator(".segment-bulk .picker-list label:visible")
    expect(labels).to_have_count(1)
    search.press("Enter")  # ticks the first match, does not send the form
    expect(labels.first.locator("input")).to_be_checked()
    page.get_by_role("button", name="Add to these segments").click()
    expect(page.get_by_text(re.compile(r"Added 2 contacts"))).to_be_visible()
    assert SegmentMember.objects.filter(segment=segment).count() == 2
    assert page.errors == [], page.errors


# ---------------------------------------------------------------- bulk segment twice


def test_a_bulk_segment_run_twice_skips_the_existing_ones(page, base_url, screenshot):
    from contacts.models import Contact
    from segments.models import Segment

    workspace = demo()
    prefix = unique("Land") + ": "
    values = (
        Contact.objects.filter(workspace=workspace)
        .exclude(country="")
        .exclude(country__isnull=True)
        .values_list("country", flat=True)
    )
    countries = {v.strip().lower() for v in values if v.strip()}
    sign_in(page, base_url)

    for run in (1, 2):
        page.goto(f"{base_url}/segments/new/bulk/")
        page.get_by_label("Split contacts by").select_option("country")
        page.get_by_label("Name each segment").fill(prefix)
        preview = page.locator("#bulk-preview")
        if run == 1:
            expect(preview).to_contain_text(f"{len(countries)} segments will be made")
        else:
            expect(preview).to_contain_text("0 segments will be made")
            expect(preview).to_contain_text(f"{len(countries)} already exist and will be skipped")
            screenshot("bulk-segment-second-run")
        page.get_by_role("button", name="Create segments").click()
        expect(page).to_have_url(re.compile(r"/segments/\?origin=bulk"))
        made = 0 if run == 2 else len(countries)
        skipped = len(countries) if run == 2 else 0
        message = f"Made {made} segments" + (
            f"; skipped {skipped} that already exist" if skipped else ""
        )
        expect(page.get_by_text(message)).to_be_visible()
    names = Segment.objects.filter(workspace=workspace, name__startswith=prefix)
    assert names.count() == len(countries)
    assert all(name.startswith(prefix) for name in names.values_list("name", flat=True))
    assert page.errors == [], page.errors


# ---------------------------------------------------------------- calculating


def test_calculating_turns_into_the_count(page, base_url):
    from segments import pending
    from segments.models import PendingRefresh, Segment

    workspace = demo()
    rule = {"all": [{"field": "email", "op": "exists"}]}
    segment = Segment.objects.create(
        workspace=workspace, name=unique("Being filled"), kind="filter", conditions=rule
    )
    PendingRefresh.objects.create(
        workspace=workspace, segment=segment, source="rule", requested_at=timezone.now()
    )
    sign_in(page, base_url)
    page.goto(f"{base_url}/segments/{segment.pk}/")
    header = page.locator("#segment-member-count")
    expect(header).to_have_text("Calculating…")
    pending.work_through(workspace.pk)
    segment.refresh_from_db()
    assert segment.member_count > 0
    expect(header).to_have_text(re.compile(rf"{segment.member_count:,} members"), timeout=10_000)
    # Polling stopped (286): no more requests for the count.
    requests = []
    page.on("request", lambda r: requests.append(r.url) if "/segments/" in r.url else None)
    page.wait_for_timeout(2_500)
    assert requests == []
    assert page.errors == [], page.errors


# ---------------------------------------------------------------- leaving unsaved


def test_the_builder_asks_before_leaving_unsaved_changes(page, base_url):
    from segments import services

    workspace = demo()
    segment = services.segment_create(
        workspace=workspace,
        name=unique("Germans"),
        kind="filter",
        conditions={"all": [{"field": "country", "op": "eq", "value": "DE"}]},
    )
    sign_in(page, base_url)
    dialogs = []

    def answer(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()  # stay

    page.on("dialog", answer)
    conditions = f"{base_url}/segments/{segment.pk}/conditions/"

    # Nothing changed: leaving does not ask.
    page.goto(conditions)
    expect(page.locator(".b-cond")).to_have_count(1)
    page.goto(f"{base_url}/contacts/")
    assert dialogs == []

    # Changed and not saved: it asks, and staying keeps the change.
    page.goto(conditions)
    page.locator(".b-cond").first.get_by_label("Value").fill("FR")
    page.evaluate("() => { window.location.href = '/contacts/'; }")
    page.wait_for_timeout(500)
    assert dialogs == ["beforeunload"]
    assert page.url.endswith("/conditions/")

    # After a save: no question.
    page.remove_listener("dialog", answer)
    page.on("dialog", lambda dialog: dialogs.append("after save") or dialog.accept())
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Saved")).to_be_visible()
    page.goto(f"{base_url}/contacts/")
    assert dialogs == ["beforeunload"]
    assert page.errors == [], page.errors

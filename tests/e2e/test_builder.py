"""The segment builder in a real browser: a marketer builds a rule by clicking and by
dragging, watches the live count, saves and finds the members; every rule of
conditions.md opens in the builder and saves back unchanged; errors show at the
condition they concern; without JavaScript the page is a plain form."""

import json
import re

import pytest
from django.utils.text import slugify
from playwright.sync_api import expect

from campaigns.conditions import ACTIVITIES
from campaigns.models import Campaign
from contacts.demo_data import demo_workspace
from segments import rules, selectors, services
from segments.conditions.device import DEVICES
from segments.defaults import DEFAULT_SEGMENTS
from segments.models import Segment
from tests.e2e.conftest import SCREENSHOTS
from workspaces.services import api_key_create

pytestmark = pytest.mark.e2e


def sign_in(page, base_url):
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/contacts/$"))


def rule_on_page(page) -> dict:
    """The JSON the form will post (builder.js keeps the hidden textarea in step)."""
    return json.loads(page.locator("[data-rule-json]").input_value())


def live_count(page) -> int:
    """The live panel's count, once it answers for the rule as it is now."""
    expect(page.locator("[data-preview-body]")).to_have_attribute("data-preview-state", "done")
    return int(page.locator("[data-preview-count]").inner_text().replace(",", ""))


def condition(page, index: int):
    return page.locator(".b-cond").nth(index)


def drag_into_group(page, node, group):
    """Drag `node` by its handle to the end of `group`, with real mouse moves, the way a
    person does it: move, watch where the placeholder lands, adjust, let go when it is
    last in the group. Everything is brought to the middle of the window first: near
    an edge SortableJS scrolls the page."""
    page.emulate_media(reduced_motion="reduce")  # no sliding animation to wait for
    moving = node.element_handle()
    children = group.locator(":scope > [data-children]").element_handle()
    handle = node.locator(".b-handle")
    handle.evaluate("el => el.scrollIntoView({block: 'center'})")
    start = handle.bounding_box()
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 4, y - 4, steps=4)
    landed = "(list, node) => list.lastElementChild === node"
    for step in range(16):
        # Aim at the last item of the group (not the one being dragged): over its top,
        # then past its middle, until the placeholder sits after it.
        aim = children.evaluate_handle(
            "(list, node) => [...list.children].filter(c => c !== node).pop() || list", moving
        ).as_element()
        box = aim.bounding_box()
        fraction = 0.3 if step % 2 == 0 else 0.95
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * fraction, steps=12)
        page.wait_for_timeout(120)
        if step % 2 == 1 and children.evaluate(landed, moving):
            break
    page.mouse.up()
    assert children.evaluate(landed, moving), "the drag did not end in the group"


def shoot(page, name: str) -> None:
    """A screenshot of a page other than the `page` fixture's (the screenshot fixture's)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True, caret="initial")


def matching(rule) -> int:
    return selectors.segment_preview(workspace=demo_workspace(), conditions=rule).count


# ---------------------------------------------------------------- build, drag, save


def test_build_a_segment_by_clicking_and_dragging(page, base_url, screenshot):
    sign_in(page, base_url)
    page.goto(f"{base_url}/segments/")
    page.get_by_role("link", name="Create segment").first.click()
    expect(page).to_have_url(re.compile(r"/segments/new/$"))
    expect(page.locator("[data-rule-json]")).to_be_hidden()  # the builder replaced it
    everyone_with_email = live_count(page)
    assert everyone_with_email == matching(rule_on_page(page)) > 0
    screenshot("builder-new")

    page.get_by_label("Name").fill("Engaged Europeans")
    # The starting condition becomes "Country is one of DE, FR".
    first = condition(page, 0)
    first.get_by_label("Field").select_option(label="Country")
    first.get_by_label("Operator").select_option(label="is one of")
    values = first.get_by_label("Add a value")
    values.fill("DE")
    values.press("Enter")
    values.fill("FR")
    values.press("Enter")
    expect(first.locator(".b-chip")).to_have_count(2)
    europeans = live_count(page)
    assert europeans != everyone_with_email
    assert europeans == matching({"all": [{"field": "country", "op": "in", "value": ["DE", "FR"]}]})
    screenshot("builder-country")

    # A nested group: "... and ANY of: has the tag vip".
    root = page.locator(".b-root")
    root.locator(":scope > .b-group-foot").get_by_role("button", name="+ Add group").click()
    group = root.locator(":scope > [data-children] > .b-group")
    expect(group).to_have_count(1)
    expect(group.get_by_role("button", name="ANY")).to_have_attribute("aria-pressed", "true")
    inner = group.locator(".b-cond").first
    inner.get_by_label("Condition type").select_option(label="Tag")
    inner.get_by_label("Tag").select_option(label="vip")
    vip_europeans = live_count(page)
    screenshot("builder-group")

    # One more condition at the top level, then dragged into the group by its handle.
    root.locator(":scope > .b-group-foot").get_by_role("button", name="+ Add condition").click()
    loose = root.locator(":scope > [data-children] > .b-cond").last
    loose.get_by_label("Condition type").select_option(label="Tag")
    loose.get_by_label("Tag").select_option(label="newsletter")
    expect(root.locator(":scope > [data-children] > .b-node")).to_have_count(3)
    both = live_count(page)
    assert both == matching(rule_on_page(page))
    drag_into_group(page, loose, group)
    expect(group.locator(".b-cond")).to_have_count(2)
    expect(root.locator(":scope > [data-children] > .b-node")).to_have_count(2)
    expected = {
        "all": [
            {"field": "country", "op": "in", "value": ["DE", "FR"]},
            {"any": [{"tag": "vip", "op": "has"}, {"tag": "newsletter", "op": "has"}]},
        ]
    }
    assert rule_on_page(page) == expected
    count = live_count(page)
    assert count == matching(expected)
    assert count >= vip_europeans and count != both
    expect(page.locator("[data-preview-entering]")).to_have_count(0)  # a new segment
    sampled = page.locator(".preview-sample .preview-name").first.inner_text().strip()
    screenshot("builder-dragged")

    page.get_by_role("button", name="Create segment").click()
    expect(page).to_have_url(re.compile(r"/segments/\d+/$"))
    segment = Segment.objects.get(workspace=demo_workspace(), name="Engaged Europeans")
    assert segment.conditions == expected
    assert segment.kind == "filter" and segment.member_count == count
    expect(page.locator("#segment-member-count")).to_contain_text(f"{count:,}")
    # The people of the sample are its members.
    page.get_by_label("Search members").fill(sampled)
    page.get_by_label("Search members").press("Enter")
    expect(page.locator("#member-results")).to_contain_text(sampled)
    screenshot("builder-members")
    assert page.errors == [], f"Errors in the browser console: {page.errors}"


def test_edit_shows_who_would_enter_and_leave_then_save_as_new(page, base_url, screenshot):
    workspace = demo_workspace()
    rule = {"all": [{"field": "country", "op": "eq", "value": "DE"}]}
    segment = services.segment_create(
        workspace=workspace, name="Germans", kind="filter", conditions=rule
    )
    segment.refresh_from_db()
    sign_in(page, base_url)
    page.goto(f"{base_url}/segments/{segment.pk}/conditions/")
    assert live_count(page) == segment.member_count > 0
    expect(page.locator("[data-preview-entering]")).to_have_text("+0")
    expect(page.locator("[data-preview-leaving]")).to_have_text("−0")
    condition(page, 0).get_by_label("Value").fill("FR")
    french = live_count(page)
    expect(page.locator("[data-preview-entering]")).to_have_text(f"+{french}")
    expect(page.locator("[data-preview-leaving]")).to_have_text(f"−{segment.member_count}")
    expect(page.locator("[data-dirty-note]")).to_be_visible()
    screenshot("builder-enter-leave")

    page.get_by_text("Save as new segment…").click()
    page.get_by_label("Name of the new segment").fill("French")
    page.get_by_label("Name of the new segment").press("Enter")
    expect(page).to_have_url(re.compile(r"/segments/\d+/$"))
    created = Segment.objects.get(workspace=workspace, name="French")
    assert created.conditions == {"all": [{"field": "country", "op": "eq", "value": "FR"}]}
    assert created.member_count == french
    segment.refresh_from_db()
    assert segment.conditions == rule
    assert page.errors == [], f"Errors in the browser console: {page.errors}"


# ---------------------------------------------------------------- errors at their node


def test_errors_show_at_the_condition_they_concern(page, base_url, screenshot):
    workspace = demo_workspace()
    rule = {
        "all": [{"tag": "vip", "op": "has"}, {"any": [{"field": "score", "op": "gt", "value": 5}]}]
    }
    segment = services.segment_create(
        workspace=workspace, name="Scored", kind="filter", conditions=rule
    )
    sign_in(page, base_url)
    page.goto(f"{base_url}/segments/{segment.pk}/conditions/")
    live_count(page)
    nested = page.locator(".b-group .b-group .b-cond")
    nested.get_by_label("Value").fill("")
    # The live check names the nested condition and nothing else.
    expect(nested.locator("[data-node-error]")).to_have_text("Enter a value.")
    expect(nested).to_have_class(re.compile("has-error"))
    expect(page.locator(".b-cond.has-error")).to_have_count(1)
    expect(page.locator(".preview-error")).to_contain_text("“is greater than” needs a number.")
    screenshot("builder-live-error")

    # Saving anyway: the server refuses and the page opens with the error at its place.
    page.get_by_role("button", name="Save", exact=True).click()
    nested = page.locator(".b-group .b-group .b-cond")
    expect(nested.locator("[data-node-error]")).to_have_text("Enter a value.")
    segment.refresh_from_db()
    assert segment.conditions == rule

    # An operator is named as its menu says it ("is between"), not as the JSON does.
    nested.get_by_label("Operator").select_option(label="is between")
    nested.get_by_label("From", exact=True).fill("9")
    nested.get_by_label("To", exact=True).fill("3")
    expect(nested.locator("[data-node-error]")).to_have_text(
        "“is between” needs the lower value first."
    )
    nested.get_by_label("From", exact=True).fill("2")
    expect(page.locator(".b-cond.has-error")).to_have_count(0)
    screenshot("builder-fixed")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/segments/{segment.pk}/$"))
    segment.refresh_from_db()
    assert segment.conditions["all"][1] == {
        "any": [{"field": "score", "op": "between", "value": [2, 3]}]
    }
    # The refused save answered 400: the browser logs that one as a failed load.
    unexpected = [e for e in page.errors if "status of 400" not in e]
    assert unexpected == [], f"Errors in the browser console: {unexpected}"


def test_keyboard_moves_and_the_limits_of_a_rule(page, base_url, screenshot):
    # Both segments are made before the browser starts, so the test's writes never
    # race the previews the key presses send.
    workspace = demo_workspace()
    rule = {"all": [{"any": [{"tag": "vip", "op": "has"}]}, {"tag": "lead", "op": "has"}]}
    segment = services.segment_create(
        workspace=workspace, name="Keys", kind="filter", conditions=rule
    )
    # A rule holds at most 100 conditions: at 100 nothing more can be added.
    # Field conditions: the limit does not depend on the kind, and on PostgreSQL a rule
    # of 100 tag conditions (100 EXISTS) takes seconds to plan, too slow for the panel.
    full = {
        "all": [{"field": "score", "op": "gt", "value": -i} for i in range(rules.MAX_CONDITIONS)]
    }
    full_segment = services.segment_create(
        workspace=workspace, name="Full", kind="filter", conditions=full
    )
    sign_in(page, base_url)
    page.goto(f"{base_url}/segments/{segment.pk}/conditions/")
    live_count(page)
    # The drag handle is a button: the arrow keys move its condition.
    handle = page.locator(".b-root > [data-children] > .b-cond .b-handle")
    handle.focus()
    page.keyboard.press("ArrowRight")  # into the group above it
    lead, vip = {"tag": "lead", "op": "has"}, {"tag": "vip", "op": "has"}
    assert rule_on_page(page) == {"all": [{"any": [vip, lead]}]}
    page.keyboard.press("ArrowUp")
    assert rule_on_page(page) == {"all": [{"any": [lead, vip]}]}
    page.keyboard.press("ArrowLeft")  # out of the group, right after it
    assert rule_on_page(page) == {"all": [{"any": [vip]}, lead]}
    page.keyboard.press("ArrowUp")
    assert rule_on_page(page) == {"all": [lead, {"any": [vip]}]}
    expect(page.locator(".b-handle:focus")).to_have_count(1)
    live_count(page)

    page.goto(f"{base_url}/segments/{full_segment.pk}/conditions/")
    live_count(page)
    add = page.locator(".b-root > .b-group-foot").get_by_role("button", name="+ Add condition")
    expect(add).to_be_disabled()
    expect(page.locator(".b-limit-note")).to_have_text("A rule holds at most 100 conditions.")
    page.locator(".b-cond").last.get_by_role("button", name="Remove this condition").click()
    expect(add).to_be_enabled()
    expect(page.locator(".b-limit-note")).to_be_hidden()
    add.click()
    expect(add).to_be_disabled()
    # Nothing on its way when the test's database is emptied (the rule with an empty
    # condition gets an error, not a count).
    expect(page.locator("[data-preview-body]")).to_have_attribute("data-preview-state", "done")
    assert page.errors == [], f"Errors in the browser console: {page.errors}"


# ---------------------------------------------------------------- every rule round trips


def example_rules(workspace) -> list[tuple[str, dict]]:
    """The Example of conditions.md (its segment 12 is a real segment here), the five
    default segments, and a rule with every kind of condition and every operator."""
    other = Segment.objects.filter(workspace=workspace).order_by("pk").first()
    example = {
        "version": 1,
        "all": [
            {
                "any": [
                    {"field": "country", "op": "in", "value": ["DE", "FR"]},
                    {"field": "attributes.plan", "op": "eq", "value": "pro"},
                ]
            },
            {"field": "score", "op": "gt", "value": 50},
            {"tag": "vip", "op": "has"},
            {"event": "purchase", "op": "at_least", "count": 2, "within_days": 30},
            {"segment": other.pk, "op": "not_in"},
        ],
    }
    return [("Example", example), *DEFAULT_SEGMENTS, ("Everything", everything(workspace))]


SAMPLE_VALUES = {
    "text": ("city", "Berlin", ["Berlin", "Paris"]),
    "number": ("score", 42, None),
    "date": ("created_at", "2024-05-31", None),
    "boolean": ("attributes.trial", None, None),
}


def field_condition(kind: str, op: str) -> dict:
    field, single, many = SAMPLE_VALUES[kind]
    shape = {"exists", "not_exists", "is_true", "is_false"}
    if op in shape:
        return {"field": field, "op": op}
    if op in rules.LIST_OPS:
        return {"field": field, "op": op, "value": many}
    if op == "between":
        low_high = [10, 20.5] if kind == "number" else ["2024-01-01", "2024-12-31T23:59:59Z"]
        return {"field": field, "op": op, "value": low_high}
    if op in rules.DAYS_OPS:
        return {"field": field, "op": op, "value": 30}
    return {"field": field, "op": op, "value": single}


def property_condition(op: str) -> dict:
    if op in {"exists", "not_exists"}:
        return {"property": "amount", "op": op}
    if op in rules.LIST_OPS:
        return {"property": "currency", "op": op, "value": ["EUR", "USD"]}
    if op == "between":
        return {"property": "amount", "op": op, "value": [1, 99.5]}
    if op in {"gt", "gte", "lt", "lte"}:
        return {"property": "amount", "op": op, "value": 10}
    return {"property": "currency", "op": op, "value": "EUR"}


def everything(workspace) -> dict:
    campaign = Campaign.objects.create(workspace=workspace, name="Spring offer")
    other = Segment.objects.filter(workspace=workspace).order_by("pk").first()
    fields = [
        field_condition(kind, op)
        for kind in ("text", "number", "date", "boolean")
        for op in sorted(rules.OPERATORS[kind])
    ]
    where = [property_condition(op) for op in sorted(rules.PROPERTY_OPS)]
    devices = [{"device": d, "op": op} for d in sorted(DEVICES) for op in ("has", "has_not")]
    campaigns = [
        {"campaign": target, "activity": activity, "op": "has"}
        for target in ("*", campaign.pk)
        for activity in sorted(ACTIVITIES)
    ]
    return {
        "all": [
            {"any": fields},
            # Spellings a person would not pick but the contract accepts: kept as they are.
            {"field": "attributes.PLAN", "op": "eq", "value": "Pro"},
            {"field": "updated_at", "op": "after", "value": "2024-05-31T09:00:00+02:00"},
            {"field": "country", "op": "exists", "value": None},
            {"tag": "VIP", "op": "has"},
            {"tag": "*", "op": "has_not"},
            {"event": "purchase", "op": "at_least", "count": 1, "where": where[:8]},
            {"event": "purchase", "op": "exactly", "count": 2, "where": where[8:]},
            {
                "event": "purchase",
                "op": "at_most",
                "count": 3,
                "within_days": 7,
                "where": [{"property": "amount", "op": "eq", "value": 12.5}],
            },
            {"event": "login", "op": "at_most", "count": 0},
            # Time windows (conditions.md): after, before, between, beside within_days.
            {"event": "login", "op": "at_least", "count": 1, "after": "2024-05-01"},
            {"event": "login", "op": "at_most", "count": 0, "before": "2024-05-01T09:00:00Z"},
            {
                "event": "purchase",
                "op": "exactly",
                "count": 1,
                "between": ["2024-05-01", "2024-05-31T23:00:00+02:00"],
                "where": [{"property": "amount", "op": "gt", "value": 10}],
            },
            {"event": "signup", "op": "at_least", "count": 1, "within_days": None, "where": []},
            {
                "event": "page_view",
                "op": "at_least",
                "count": 2,
                "within_days": 14,
                "where": [{"property": "url", "op": "starts_with", "value": "/docs"}],
            },
            {
                "event": "page_view",
                "op": "at_least",
                "count": 1,
                "where": [
                    {"property": "url", "op": "contains", "value": "/pricing"},
                    {"property": "referrer", "op": "eq", "value": "google"},
                ],
            },
            *devices,
            {"segment": other.pk, "op": "in"},
            {"segment": other.pk, "op": "not_in"},
            *campaigns,
            {"campaign": campaign.pk, "activity": "clicked", "op": "has_not", "within_days": 30},
            {
                "campaign": "*",
                "activity": "opened",
                "op": "has",
                "between": ["2024-01-01", "2024-03-31"],
            },
            {"campaign": campaign.pk, "activity": "sent", "op": "has_not", "after": "2024-06-01"},
            # As deep as groups go: five levels, the root counting as the first.
            {"any": [{"all": [{"any": [{"all": [{"tag": "newsletter", "op": "has"}]}]}]}]},
        ]
    }


def test_every_rule_of_the_contract_saves_back_unchanged(page, base_url, screenshot):
    """Each rule is created through the JSON API, opened in the builder and saved
    without a change: the stored rule is exactly the one the API was given."""
    workspace = demo_workspace()
    key = api_key_create(workspace=workspace, name="e2e")[1]
    api = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    sign_in(page, base_url)
    for name, rule in example_rules(workspace):
        body = {"name": f"Round trip: {name}", "kind": "filter", "conditions": rule}
        created = page.request.post(
            f"{base_url}/api/v1/segments", data=json.dumps(body), headers=api
        )
        assert created.status == 201, created.text()
        segment_id = created.json()["id"]
        page.goto(f"{base_url}/segments/{segment_id}/conditions/")
        expect(page.locator(".b-root")).to_be_visible()
        live_count(page)
        # Drawn with real controls (no condition left as raw JSON), valid, unchanged.
        expect(page.locator(".preview-error")).to_have_count(0)
        expect(page.locator(".b-raw")).to_have_count(0)
        expect(page.locator("[data-dirty-note]")).to_be_hidden()
        assert rule_on_page(page) == rule, name
        screenshot(f"builder-round-trip-{slugify(name)}")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page).to_have_url(re.compile(rf"/segments/{segment_id}/$"))
        assert Segment.objects.get(pk=segment_id).conditions == rule, name
        stored = page.request.get(f"{base_url}/api/v1/segments/{segment_id}", headers=api)
        assert stored.json()["conditions"] == rule, name
    assert page.errors == [], f"Errors in the browser console: {page.errors}"


def test_every_category_and_operator_is_drawn_with_its_own_controls(page, base_url, screenshot):
    workspace = demo_workspace()
    segment = services.segment_create(
        workspace=workspace, name="Everything", kind="filter", conditions=everything(workspace)
    )
    sign_in(page, base_url)
    page.goto(f"{base_url}/segments/{segment.pk}/conditions/")
    live_count(page)
    categories = page.locator(".b-cond").evaluate_all(
        "nodes => nodes.map(n => n.getAttribute('data-category'))"
    )
    assert set(categories) == {
        "field",
        "tag",
        "event",
        "page_view",
        "device",
        "segment",
        "campaign",
    }
    # Values fit their operator: chips for a list, two inputs for between, a date input
    # for a date, days for within_last_days, nothing for exists.
    text_in = page.locator(".b-cond").filter(has=page.locator(".b-chip", has_text="Paris")).first
    expect(text_in.locator(".b-chip")).to_have_count(2)
    between = page.locator(".b-cond").filter(has=page.get_by_label("To", exact=True)).first
    expect(between.get_by_label("From", exact=True)).to_have_value("10")
    expect(between.get_by_label("To", exact=True)).to_have_value("20.5")
    dated = page.locator(".b-cond").filter(has=page.locator("input[type=date]")).first
    expect(dated.locator("input[type=date]")).to_have_value("2024-05-31")
    exists = page.locator(".b-cond", has=page.locator("option:checked", has_text="exists")).first
    expect(exists.locator("input")).to_have_count(0)
    page_view = page.locator(".b-cond[data-category=page_view]").first
    expect(page_view.get_by_label("URL", exact=True)).to_have_value("/docs")
    # Time windows: a menu, then the days, one date or two.
    chosen = page.locator("[data-role=window]").evaluate_all(
        "menus => menus.map(m => m.selectedOptions[0].textContent)"
    )
    assert set(chosen) == {"at any time", "in the last", "on or after", "before", "between"}
    windowed = page.locator(".b-cond[data-category=event]").filter(
        has=page.locator("[data-role=window] option:checked", has_text="between")
    )
    expect(windowed.get_by_label("From", exact=True)).to_have_value("2024-05-01")
    expect(windowed.get_by_label("To", exact=True)).to_have_value("2024-05-31T23:00:00+02:00")
    days = page.locator(".b-cond[data-category=campaign]").filter(
        has=page.locator("[data-role=window] option:checked", has_text="in the last")
    )
    expect(days.get_by_label("Number of days")).to_have_value("30")
    depth = page.locator(".b-group").evaluate_all(
        "groups => Math.max(...groups.map(g => { let d = 0; "
        "for (let n = g; n; n = n.parentElement) if (n.classList.contains('b-group')) d++; "
        "return d; }))"
    )
    assert depth == rules.MAX_DEPTH
    deepest = page.locator(".b-group .b-group .b-group .b-group .b-group")
    expect(deepest.locator(":scope > .b-group-foot [data-add-group]")).to_be_disabled()
    screenshot("builder-everything")
    assert page.errors == [], f"Errors in the browser console: {page.errors}"


# ---------------------------------------------------------------- without JavaScript


def test_without_javascript_the_rule_is_a_json_form(browser, base_url):
    workspace = demo_workspace()
    rule = {"all": [{"field": "country", "op": "eq", "value": "DE"}]}
    segment = services.segment_create(
        workspace=workspace, name="No script", kind="filter", conditions=rule
    )
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    try:
        sign_in(page, base_url)
        page.goto(f"{base_url}/segments/{segment.pk}/conditions/")
        textarea = page.get_by_label("Rule (JSON)")
        expect(textarea).to_be_visible()
        assert json.loads(textarea.input_value()) == rule
        changed = {
            "any": [{"field": "country", "op": "eq", "value": "FR"}, {"tag": "vip", "op": "has"}]
        }
        textarea.fill(json.dumps(changed))
        page.get_by_role("button", name="Preview").click()
        count = matching(changed)
        expect(page.locator("[data-preview-count]")).to_have_text(f"{count:,}")
        shoot(page, "builder-no-js-preview")
        page.get_by_label("Rule (JSON)").fill('{"any": [{"field": "contry", "op": "exists"}]}')
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator(".rule-field .field-errors")).to_have_text(
            "At any[0]: Unknown field 'contry'."
        )
        shoot(page, "builder-no-js-error")
        page.get_by_label("Rule (JSON)").fill(json.dumps(changed))
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page).to_have_url(re.compile(rf"/segments/{segment.pk}/$"))
        segment.refresh_from_db()
        assert segment.conditions == changed
    finally:
        context.close()

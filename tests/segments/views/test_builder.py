"""The rule builder's pages: a new filter segment, the Conditions tab (save, save as a
new segment, preview without JavaScript), the live preview, and who may do what."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Campaign
from contacts.models import CustomAttribute
from segments import services
from segments.models import Segment
from tests.factories import (
    ContactFactory,
    CustomAttributeFactory,
    EventFactory,
    TagFactory,
    WorkspaceFactory,
)
from workspaces.models import Role

pytestmark = pytest.mark.django_db

RULE = {"all": [{"field": "country", "op": "eq", "value": "DE"}]}


def filter_segment(workspace, name="Germans", conditions=None, capture=None):
    """A filter segment whose members are filled (the refresh runs after commit)."""
    if capture is None:
        return services.segment_create(
            workspace=workspace, name=name, kind="filter", conditions=conditions or RULE
        )
    with capture(execute=True):
        return services.segment_create(
            workspace=workspace, name=name, kind="filter", conditions=conditions or RULE
        )


def json_script(page: str, element_id: str):
    found = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', page, re.S
    )
    assert found, f"no json_script #{element_id}"
    return json.loads(found.group(1))


def post_rule(client, url, rule, **fields):
    body = rule if isinstance(rule, str) else json.dumps(rule)
    return client.post(url, {"conditions": body, **fields})


# ---------------------------------------------------------------- a new segment


def test_the_new_segment_page_offers_name_description_and_the_rule(client_in):
    response = client_in.get("/segments/new/")
    page = response.content.decode()
    assert response.status_code == 200
    assert '<label for="id_name">' in page and '<label for="id_conditions">Rule (JSON)' in page
    # Without JavaScript the rule is a labelled textarea already holding a valid rule.
    textarea = re.search(r"<textarea[^>]*data-rule-json[^>]*>(.*?)</textarea>", page, re.S)
    assert json.loads(textarea.group(1).replace("&quot;", '"')) == json_script(page, "builder-rule")
    catalog = json_script(page, "builder-catalog")
    assert {"field", "tag", "event", "page_view", "device", "segment", "campaign"} == {
        c["value"] for c in catalog["categories"]
    }


def test_pages_have_no_inline_script_or_style(client_in, workspace):
    segment = filter_segment(workspace)
    for url in ("/segments/new/", f"/segments/{segment.pk}/conditions/"):
        page = client_in.get(url).content.decode()
        for tag in re.findall(r"<script\b[^>]*>", page):
            assert "src=" in tag or 'type="application/json"' in tag, tag
        assert " style=" not in page
        assert '<script type="module" src="/static/js/builder/main.js">' in page
        assert "Sortable.min.js" in page and "css/builder.css" in page


def test_creating_a_segment_saves_the_rule_as_posted(client_in, workspace, user):
    rule = {
        "version": 1,
        "all": [
            {"any": [{"field": "country", "op": "in", "value": ["DE", "FR"]}]},
            {"tag": "*", "op": "has"},
        ],
    }
    response = post_rule(
        client_in, "/segments/new/", rule, name=" Europe ", description="EU people"
    )
    segment = Segment.objects.get(workspace=workspace, name="Europe")
    assert response.status_code == 302
    assert response["Location"] == f"/segments/{segment.pk}/"
    assert segment.conditions == rule
    assert (segment.kind, segment.origin, segment.created_by) == ("filter", "created", user)
    assert segment.description == "EU people"


def test_a_bad_rule_names_the_condition_and_keeps_what_was_typed(client_in, workspace):
    rule = {"all": [{"tag": "vip", "op": "has"}, {"any": [{"field": "contry", "op": "exists"}]}]}
    response = post_rule(client_in, "/segments/new/", rule, name="Typo")
    page = response.content.decode()
    assert response.status_code == 400
    assert not Segment.objects.filter(workspace=workspace, name="Typo").exists()
    assert "At all[1].any[0]: Unknown field &#x27;contry&#x27;." in page
    assert json_script(page, "builder-error") == {
        "path": "all[1].any[0]",
        "message": "Unknown field 'contry'.",
    }
    # The builder opens on the rule as posted, so the error has its node.
    assert json_script(page, "builder-rule") == rule
    assert 'value="Typo"' in page


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "The rule is not valid JSON"),
        ("", "Write the rule: at least one condition."),
        ('{"all": []}', "A group needs at least one condition."),
        ('["all"]', "A rule must be a group"),
    ],
)
def test_a_rule_that_is_not_a_rule_is_explained(client_in, workspace, body, message):
    response = post_rule(client_in, "/segments/new/", body, name="Broken")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Segment.objects.filter(workspace=workspace).exists()


def test_a_segment_needs_a_name(client_in, workspace):
    page = post_rule(client_in, "/segments/new/", RULE, name="  ").content.decode()
    assert re.search(r'id="id_name_errors"><p class="field-error">Give the segment a name.', page)
    assert not Segment.objects.filter(workspace=workspace).exists()


def test_a_taken_name_is_said_next_to_the_name(client_in, workspace):
    filter_segment(workspace, name="Germans")
    response = post_rule(client_in, "/segments/new/", RULE, name="GERMANS")
    page = response.content.decode()
    assert response.status_code == 400
    assert re.search(r'id="id_name_errors"><p class="field-error">A segment named', page)
    assert Segment.objects.filter(workspace=workspace).count() == 1


# ---------------------------------------------------------------- the Conditions tab


def test_the_conditions_tab_opens_on_the_stored_rule(client_in, workspace):
    rule = {"version": 1, "any": [{"field": "score", "op": "between", "value": [1, 5]}]}
    segment = filter_segment(workspace, conditions=rule)
    page = client_in.get(f"/segments/{segment.pk}/conditions/").content.decode()
    assert json_script(page, "builder-rule") == rule
    assert 'aria-current="page">Conditions' in page
    assert f'data-segment-id="{segment.pk}"' in page
    # The segment cannot be offered to its own rule.
    names = [s["name"] for s in json_script(page, "builder-catalog")["segments"]]
    assert segment.name not in names


def test_saving_the_conditions_changes_the_rule_and_the_members(
    client_in, workspace, django_capture_on_commit_callbacks
):
    de, fr = (
        ContactFactory(workspace=workspace, country="DE"),
        ContactFactory(workspace=workspace, country="FR"),
    )
    segment = filter_segment(workspace, capture=django_capture_on_commit_callbacks)
    rule = {"all": [{"field": "country", "op": "eq", "value": "FR"}]}
    with django_capture_on_commit_callbacks(execute=True):
        response = post_rule(client_in, f"/segments/{segment.pk}/conditions/", rule, action="save")
    segment.refresh_from_db()
    assert response.status_code == 302 and response["Location"] == f"/segments/{segment.pk}/"
    assert segment.conditions == rule
    members = set(segment.members.values_list("contact_id", flat=True))
    assert members == {fr.pk} and de.pk not in members


def test_save_as_new_segment_leaves_the_original_alone(client_in, workspace, user):
    segment = filter_segment(workspace)
    rule = {"all": [{"tag": "vip", "op": "has"}]}
    response = post_rule(
        client_in,
        f"/segments/{segment.pk}/conditions/",
        rule,
        action="save_as",
        new_name="VIPs",
    )
    created = Segment.objects.get(workspace=workspace, name="VIPs")
    segment.refresh_from_db()
    assert response["Location"] == f"/segments/{created.pk}/"
    assert created.conditions == rule and created.kind == "filter"
    assert (created.origin, created.created_by) == ("created", user)
    assert segment.conditions == RULE


@pytest.mark.parametrize(
    ("new_name", "error"), [("", "Give the new segment a name."), ("germans", "already exists")]
)
def test_save_as_new_needs_a_free_name(client_in, workspace, new_name, error):
    segment = filter_segment(workspace)
    response = post_rule(
        client_in, f"/segments/{segment.pk}/conditions/", RULE, action="save_as", new_name=new_name
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert re.search(rf'id="id_new_name_errors"><p class="field-error">[^<]*{error}', page)
    assert '<details class="save-as" open>' in page
    assert Segment.objects.filter(workspace=workspace).count() == 1


def test_a_rule_naming_its_own_segment_is_refused_at_that_condition(client_in, workspace):
    segment = filter_segment(workspace)
    rule = {"all": [{"tag": "vip", "op": "has"}, {"segment": segment.pk, "op": "in"}]}
    response = post_rule(client_in, f"/segments/{segment.pk}/conditions/", rule, action="save")
    page = response.content.decode()
    segment.refresh_from_db()
    assert response.status_code == 400
    assert json_script(page, "builder-error")["path"] == "all[1]"
    assert "cannot depend on itself" in page
    assert segment.conditions == RULE


def test_preview_without_javascript_shows_the_count_and_saves_nothing(client_in, workspace):
    ContactFactory.create_batch(3, workspace=workspace, country="FR")
    segment = filter_segment(workspace)
    rule = {"all": [{"field": "country", "op": "eq", "value": "FR"}]}
    response = post_rule(client_in, f"/segments/{segment.pk}/conditions/", rule, action="preview")
    page = response.content.decode()
    segment.refresh_from_db()
    assert response.status_code == 200
    assert re.search(r"data-preview-count>3</strong>", page)
    assert segment.conditions == RULE


def test_a_manual_segment_has_no_conditions_to_edit(client_in, workspace):
    manual = services.segment_create(workspace=workspace, name="Hand-picked", kind="manual")
    assert (
        "A manual segment has no conditions"
        in client_in.get(f"/segments/{manual.pk}/conditions/").content.decode()
    )
    response = post_rule(client_in, f"/segments/{manual.pk}/conditions/", RULE, action="save")
    manual.refresh_from_db()
    assert response.status_code == 400 and manual.conditions is None


# ---------------------------------------------------------------- who may do what


def test_a_viewer_reads_the_rule_but_cannot_save(member_client, workspace):
    segment = filter_segment(workspace)
    viewer = member_client(Role.VIEWER)
    page = viewer.get(f"/segments/{segment.pk}/conditions/").content.decode()
    assert "data-readonly" in page and "readonly" in re.search(r"<textarea[^>]*>", page).group(0)
    assert 'value="save"' not in page
    rule = {"all": [{"tag": "vip", "op": "has"}]}
    assert post_rule(viewer, f"/segments/{segment.pk}/conditions/", rule).status_code == 403
    assert post_rule(viewer, "/segments/new/", rule, name="Nope").status_code == 403
    assert viewer.get("/segments/new/").status_code == 403
    assert post_rule(viewer, "/segments/preview/", rule).status_code == 403
    segment.refresh_from_db()
    assert segment.conditions == RULE
    assert Segment.objects.filter(workspace=workspace).count() == 1


@pytest.mark.parametrize("role", [Role.MARKETER, Role.ADMIN])
def test_marketers_and_admins_save(member_client, workspace, role):
    segment = filter_segment(workspace)
    rule = {"all": [{"tag": "vip", "op": "has"}]}
    response = post_rule(member_client(role), f"/segments/{segment.pk}/conditions/", rule)
    segment.refresh_from_db()
    assert response.status_code == 302 and segment.conditions == rule


def test_another_workspace_gets_404(client_in, other_workspace):
    theirs = filter_segment(other_workspace, name="Secret")
    url = f"/segments/{theirs.pk}/conditions/"
    assert client_in.get(url).status_code == 404
    rule = {"all": [{"tag": "pwned", "op": "has"}]}
    assert post_rule(client_in, url, rule, action="save").status_code == 404
    assert post_rule(client_in, url, rule, action="save_as", new_name="Mine").status_code == 404
    response = post_rule(client_in, "/segments/preview/", rule, segment=str(theirs.pk))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.conditions == RULE
    assert not Segment.objects.filter(name="Mine").exists()


def test_a_rule_cannot_name_another_workspaces_segment(client_in, workspace, other_workspace):
    theirs = filter_segment(other_workspace, name="Secret")
    rule = {"all": [{"segment": theirs.pk, "op": "in"}]}
    response = post_rule(client_in, "/segments/new/", rule, name="Sneaky")
    assert response.status_code == 400
    assert f"There is no segment {theirs.pk} in this workspace." in response.content.decode()


# ---------------------------------------------------------------- the live preview


def test_preview_counts_who_matches_enters_and_leaves(
    client_in, workspace, django_capture_on_commit_callbacks
):
    germans = ContactFactory.create_batch(4, workspace=workspace, country="DE")
    french = ContactFactory.create_batch(3, workspace=workspace, country="FR")
    ContactFactory(workspace=workspace, country="IT")
    ContactFactory(workspace=WorkspaceFactory(), country="FR")  # someone else's
    segment = filter_segment(workspace, capture=django_capture_on_commit_callbacks)
    assert segment.members.count() == 4
    rule = {"all": [{"field": "country", "op": "in", "value": ["FR", "DE"]}]}
    response = post_rule(client_in, "/segments/preview/", rule, segment=str(segment.pk))
    page = response.content.decode()
    assert response.status_code == 200
    assert "data-preview-count>7<" in page
    assert "data-preview-entering>+3<" in page and "data-preview-leaving>−0<" in page
    # Only French: the Germans would leave.
    rule = {"all": [{"field": "country", "op": "eq", "value": "fr"}]}
    page = post_rule(
        client_in, "/segments/preview/", rule, segment=str(segment.pk)
    ).content.decode()
    assert "data-preview-count>3<" in page
    assert "data-preview-entering>+3<" in page and "data-preview-leaving>−4<" in page
    for contact in french:
        assert f'href="/contacts/{contact.pk}/"' in page
    for contact in germans:
        assert f'href="/contacts/{contact.pk}/"' not in page


def test_preview_of_a_new_rule_shows_a_sample_of_ten(client_in, workspace):
    people = ContactFactory.create_batch(12, workspace=workspace, country="DE")
    page = post_rule(client_in, "/segments/preview/", RULE).content.decode()
    assert "data-preview-count>12<" in page
    assert "would enter" not in page
    linked = set(re.findall(r'href="/contacts/(\d+)/"', page))
    assert len(linked) == 10 and linked <= {str(p.pk) for p in people}


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        (
            {"all": [{"tag": "a", "op": "has"}, {"any": [{"field": "score", "op": "gt"}]}]},
            "all[1].any[0]",
            "“is greater than” needs a number.",
        ),
        ({"any": []}, "any", "A group needs at least one condition."),
        ("nope", "", "The rule is not valid JSON."),
    ],
)
def test_preview_of_a_bad_rule_answers_the_path_and_message(client_in, body, path, message):
    response = post_rule(client_in, "/segments/preview/", body)
    page = response.content.decode()
    assert response.status_code == 200  # an answer about the rule, not a failed request
    assert f'data-error-path="{path}"' in page and message in page


def test_preview_needs_the_csrf_token_the_page_gives(user):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    page = browser.get("/segments/new/").content.decode()
    token = re.search(r'hx-headers=\'{"X-CSRFToken": "([^"]+)"}\'', page).group(1)
    body = {"conditions": json.dumps(RULE)}
    assert browser.post("/segments/preview/", body).status_code == 403
    assert browser.post("/segments/preview/", body, HTTP_X_CSRFTOKEN=token).status_code == 200


def test_preview_refuses_a_segment_that_is_not_an_id(client_in):
    assert post_rule(client_in, "/segments/preview/", RULE, segment="1 OR 1").status_code == 400


# ---------------------------------------------------------------- queries


def _grow(workspace, start: int, n: int) -> None:
    """n more of everything the builder lists or the preview reads."""
    for i in range(start, start + n):
        contact = ContactFactory(workspace=workspace, country="DE")
        TagFactory(workspace=workspace)
        CustomAttributeFactory(workspace=workspace, type=CustomAttribute.Type.NUMBER)
        EventFactory(contact=contact, name=f"event{i}", properties={"url": f"/p{i}", "n": i})
        Campaign.objects.create(workspace=workspace, name=f"Campaign {i}")
        services.segment_create(workspace=workspace, name=f"Other {i}", kind="manual")


def _queries(client, method, url, data=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method)(url, data) if data else getattr(client, method)(url)
    assert response.status_code == 200
    return len(captured)


def test_the_builder_pages_run_a_fixed_number_of_queries(client_in, workspace):
    segment = filter_segment(workspace)
    _grow(workspace, 0, 1)
    preview = {"conditions": json.dumps(RULE), "segment": str(segment.pk)}
    small = (
        _queries(client_in, "get", f"/segments/{segment.pk}/conditions/"),
        _queries(client_in, "get", "/segments/new/"),
        _queries(client_in, "post", "/segments/preview/", preview),
    )
    _grow(workspace, 1, 15)
    large = (
        _queries(client_in, "get", f"/segments/{segment.pk}/conditions/"),
        _queries(client_in, "get", "/segments/new/"),
        _queries(client_in, "post", "/segments/preview/", preview),
    )
    assert small == large
    assert large[0] <= 20


def test_a_preview_past_its_cap_says_more_than(client_in, workspace, monkeypatch):
    """The live panel counts up to selectors.PREVIEW_COUNT_CAP and says so."""
    from segments import selectors

    monkeypatch.setattr(selectors, "PREVIEW_COUNT_CAP", 5)
    ContactFactory.create_batch(7, workspace=workspace, country="DE")
    page = post_rule(client_in, "/segments/preview/", RULE).content.decode()
    assert "More than <strong data-preview-count>5</strong> contacts match now" in page
    assert "data-preview-capped" in page and "counts up to 5 and stops there" in page
    monkeypatch.setattr(selectors, "PREVIEW_COUNT_CAP", 7)
    page = post_rule(client_in, "/segments/preview/", RULE).content.decode()
    assert "data-preview-count>7</strong> contacts match now" in page
    assert "More than" not in page and "data-preview-capped" not in page

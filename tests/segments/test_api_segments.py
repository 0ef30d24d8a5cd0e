"""Every route and error code of the segments part of api.md."""

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from campaigns.models import Campaign, CampaignSegment
from segments import selectors
from segments.models import Segment, SegmentChange, SegmentMember
from tests.api_helpers import ApiClient, error_code
from tests.factories import ContactFactory

pytest_plugins = ["tests.api_fixtures"]  # fixtures: api_key, api, other_api
pytestmark = pytest.mark.django_db(transaction=True)

GERMANS = {"all": [{"field": "country", "op": "eq", "value": "DE"}]}


@pytest.fixture
def people(workspace):
    return [
        ContactFactory(workspace=workspace, email="ann@x.io", external_id="A1", country="DE"),
        ContactFactory(workspace=workspace, email="bob@x.io", external_id="B2", country="FR"),
        ContactFactory(workspace=workspace, email="cid@x.io", external_id="C3", country="de"),
    ]


def create(api, **body):
    response = api.post("/segments", body)
    assert response.status_code == 201, response.content
    return response.json()


def test_create_a_filter_segment_fills_it(api, people):
    segment = create(api, name="Germans", kind="filter", conditions=GERMANS, description="DE")
    assert segment["kind"] == "filter" and segment["origin"] == "created"
    assert segment["member_count"] == 2
    assert segment["conditions"] == GERMANS
    assert set(segment) >= {
        "id",
        "name",
        "description",
        "kind",
        "origin",
        "conditions",
        "member_count",
        "archived",
        "topics",
        "created_at",
        "updated_at",
    }
    members = api.get(f"/segments/{segment['id']}/members").json()
    assert {m["email"] for m in members["results"]} == {"ann@x.io", "cid@x.io"}
    assert set(members["results"][0]) == {"id", "email", "external_id", "joined_at"}


def test_create_errors(api, people):
    create(api, name="Germans", kind="filter", conditions=GERMANS)
    assert (
        error_code(api.post("/segments", {"name": "GERMANS", "kind": "manual"})) == "duplicate_name"
    )
    response = api.post(
        "/segments",
        {
            "name": "X",
            "kind": "filter",
            "conditions": {"all": [{"field": "contry", "op": "exists"}]},
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_conditions",
        "message": "Unknown field 'contry'.",
        "path": "all[0]",
    }
    response = api.post(
        "/segments",
        {"name": "Y", "kind": "filter", "conditions": {"all": [{"segment": 99999, "op": "in"}]}},
    )
    assert error_code(response) == "invalid_conditions"
    assert response.json()["error"]["path"] == "all[0]"
    response = api.post("/segments", {"name": "Z", "kind": "manual", "conditions": GERMANS})
    assert (response.status_code, error_code(response)) == (400, "invalid")
    assert (
        error_code(api.post("/segments", {"name": "Z", "kind": "filter"})) == "invalid_conditions"
    )
    assert error_code(api.post("/segments", {"name": "", "kind": "manual"})) == "invalid"
    assert error_code(api.post("/segments", {"name": "Z", "kind": "smart"})) == "invalid"


def test_segment_limit(api, workspace, settings):
    settings.SEGMENT_LIMIT = 2
    create(api, name="One", kind="manual")
    create(api, name="Two", kind="manual")
    response = api.post("/segments", {"name": "Three", "kind": "manual"})
    assert (response.status_code, error_code(response)) == (409, "segment_limit")


def test_list_filters_and_pages(api, people):
    for name in ["Alpha", "beta", "Gamma", "Alphabet"]:
        create(api, name=name, kind="manual")
    create(api, name="Rule", kind="filter", conditions=GERMANS)
    archived = create(api, name="Old alpha", kind="manual")
    api.patch(f"/segments/{archived['id']}", {"archived": True})
    names = lambda r: [s["name"] for s in r.json()["results"]]  # noqa: E731
    assert names(api.get("/segments", {"q": "ALPHA"})) == ["Alpha", "Alphabet"]
    assert names(api.get("/segments", {"archived": "true"})) == ["Old alpha"]
    assert names(api.get("/segments", {"kind": "filter"})) == ["Rule"]
    seen, cursor = [], None
    while True:
        page = api.get("/segments", {"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += [s["name"] for s in page["results"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ["Alpha", "beta", "Gamma", "Alphabet", "Rule"]


def test_the_list_uses_the_dashboards_filters_and_q_reads_names_only(api, people, workspace):
    """The dashboard's FilterSet (segments/filters.py) answers the API's list; its
    search reads descriptions too, the API's `q` names only (api.md)."""
    create(api, name="Spring", kind="manual", description="alpha launch")
    create(api, name="Alpha", kind="manual")
    names = [s["name"] for s in api.get("/segments", {"q": "alpha"}).json()["results"]]
    assert names == ["Alpha"]
    listing = selectors.segment_dashboard(workspace, QueryDict("q=alpha"))
    assert sorted(s.name for s in listing.queryset) == ["Alpha", "Spring"]


def test_patch_renames_archives_and_changes_the_rule(api, people):
    segment = create(api, name="Germans", kind="filter", conditions=GERMANS)
    french = {"all": [{"field": "country", "op": "eq", "value": "fr"}]}
    response = api.patch(
        f"/segments/{segment['id']}",
        {
            "name": "French",
            "description": "FR",
            "conditions": french,
            "topics": ["News"],
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["member_count"], body["topics"]) == ("French", 1, ["News"])
    # People who entered because the rule changed do not trigger campaigns.
    entered = SegmentChange.objects.get(
        segment_id=segment["id"], action="entered", contact__email="bob@x.io"
    )
    assert entered.triggers is False
    manual = create(api, name="Hand", kind="manual")
    response = api.patch(f"/segments/{manual['id']}", {"conditions": GERMANS})
    assert error_code(response) == "invalid"
    response = api.patch(f"/segments/{segment['id']}", {"conditions": {"any": []}})
    assert error_code(response) == "invalid_conditions"
    assert error_code(api.patch(f"/segments/{segment['id']}", {"name": "HAND"})) == "duplicate_name"


def test_delete_and_its_guard(api, workspace, people):
    base = create(api, name="Base", kind="manual")
    user = create(
        api, name="User", kind="filter", conditions={"all": [{"segment": base["id"], "op": "in"}]}
    )
    campaign = Campaign.objects.create(workspace=workspace, name="Launch")
    CampaignSegment.objects.create(campaign=campaign, segment_id=base["id"], role="exclude")
    usage = api.get(f"/segments/{base['id']}/usage").json()
    assert usage == {
        "campaigns": [{"id": campaign.pk, "name": "Launch", "role": "exclude"}],
        "segments": [{"id": user["id"], "name": "User"}],
    }
    response = api.delete(f"/segments/{base['id']}")
    assert (response.status_code, error_code(response)) == (409, "segment_in_use")
    assert response.json()["error"]["usage"] == usage
    assert Segment.objects.filter(pk=base["id"]).exists()
    assert api.delete(f"/segments/{user['id']}").status_code == 204
    CampaignSegment.objects.all().delete()
    assert api.delete(f"/segments/{base['id']}").status_code == 204
    assert api.get(f"/segments/{base['id']}").status_code == 404


def test_manual_members_add_and_remove(api, people):
    segment = create(api, name="Picked", kind="manual")
    url = f"/segments/{segment['id']}/members"
    response = api.post(url, {"emails": ["ANN@x.io ", "nobody@x.io"]})
    assert response.json() == {"added": 1, "already_members": 0, "not_found": ["nobody@x.io"]}
    response = api.post(url, {"external_ids": ["a1", "b2"]})
    assert response.json() == {"added": 1, "already_members": 1, "not_found": []}
    response = api.post(url, {"ids": [people[2].pk, 10**9]})
    assert response.json() == {"added": 1, "already_members": 0, "not_found": [10**9]}
    assert api.get(f"/segments/{segment['id']}").json()["member_count"] == 3
    response = api.post(f"{url}/remove", {"emails": ["bob@x.io", "nobody@x.io"]})
    assert response.json() == {"removed": 1, "not_members": 0, "not_found": ["nobody@x.io"]}
    response = api.post(f"{url}/remove", {"emails": ["bob@x.io"]})
    assert response.json() == {"removed": 0, "not_members": 1, "not_found": []}
    assert api.get(f"/segments/{segment['id']}").json()["member_count"] == 2
    assert error_code(api.post(url, {"emails": ["a"], "ids": [1]})) == "invalid"
    assert error_code(api.post(url, {"ids": ["x"]})) == "invalid"
    response = api.post(url, {"ids": list(range(10_001))})
    assert (response.status_code, error_code(response)) == (413, "too_large")


def _members_pages(api, segment_id, limit):
    """Every page of the members API: the ids of each, and the SQL each took."""
    pages, sql, cursor = [], [], None
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        with CaptureQueriesContext(connection) as queries:
            response = api.get(f"/segments/{segment_id}/members", params)
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append([m["id"] for m in body["results"]])
        sql.append([q["sql"] for q in queries])
        cursor = body["next_cursor"]
        if not cursor:
            return pages, sql


def test_members_pages_newest_first_by_a_keyset_cursor(api, workspace):
    """Newest first as on the Members tab (joined_at, then id: people added in one
    call share their joined_at), every member once, in the same number of queries
    on every page (no count of the members)."""
    segment = create(api, name="Picked", kind="manual")
    first = [ContactFactory(workspace=workspace) for _ in range(4)]
    later = [ContactFactory(workspace=workspace) for _ in range(3)]
    url = f"/segments/{segment['id']}/members"
    api.post(url, {"ids": [c.pk for c in first]})
    api.post(url, {"ids": [c.pk for c in later]})
    rows = SegmentMember.objects.filter(segment_id=segment["id"])
    newest_first = list(rows.order_by("-joined_at", "-id").values_list("contact_id", flat=True))
    assert set(newest_first[:3]) == {c.pk for c in later}  # the later call first

    pages, sql = _members_pages(api, segment["id"], limit=3)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [i for p in pages for i in p] == newest_first
    assert len({len(page_sql) for page_sql in sql}) == 1  # the same number on every page
    assert not [q for page_sql in sql for q in page_sql if "count(" in q.lower()]


def test_members_cursor_stays_complete_while_members_come_and_go(api, workspace):
    segment = create(api, name="Picked", kind="manual")
    people = [ContactFactory(workspace=workspace) for _ in range(5)]
    url = f"/segments/{segment['id']}/members"
    for person in people:
        api.post(url, {"ids": [person.pk]})
    page = api.get(url, {"limit": 2}).json()
    assert page["results"][0]["id"] == people[-1].pk
    api.post(url, {"ids": [ContactFactory(workspace=workspace).pk]})  # newer: page 1's side
    api.post(f"{url}/remove", {"ids": [people[0].pk]})
    rest = api.get(url, {"limit": 10, "cursor": page["next_cursor"]}).json()
    assert [m["id"] for m in rest["results"]] == [people[2].pk, people[1].pk]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "eyJkIjoibiIsInYiOls1MF19",  # an id-only cursor of the former order
        "eyJkIjoibiIsInYiOlsieCIsMV19",  # ["x", 1]: not a moment
    ],
)
def test_a_members_cursor_that_does_not_fit_is_400(api, people, cursor):
    segment = create(api, name="Germans", kind="filter", conditions=GERMANS)
    response = api.get(f"/segments/{segment['id']}/members", {"cursor": cursor})
    assert (response.status_code, error_code(response)) == (400, "invalid")


def test_members_of_a_filter_segment_are_not_edited_by_hand(api, people):
    segment = create(api, name="Germans", kind="filter", conditions=GERMANS)
    for path in ("members", "members/remove"):
        response = api.post(f"/segments/{segment['id']}/{path}", {"emails": ["bob@x.io"]})
        assert (response.status_code, error_code(response)) == (409, "segment_not_manual")


def test_clone_and_save_as_list(api, people):
    rule = create(api, name="Germans", kind="filter", conditions=GERMANS)
    clone = api.post(f"/segments/{rule['id']}/clone", {"name": "Germans 2"})
    assert clone.status_code == 201
    assert (clone.json()["origin"], clone.json()["conditions"]) == ("clone", GERMANS)
    assert clone.json()["member_count"] == 2
    snapshot = api.post(f"/segments/{rule['id']}/save-as-list", {"name": "Germans today"}).json()
    assert (snapshot["kind"], snapshot["origin"], snapshot["member_count"]) == ("manual", "list", 2)
    manual = create(api, name="Hand", kind="manual")
    api.post(f"/segments/{manual['id']}/members", {"emails": ["bob@x.io"]})
    copy = api.post(f"/segments/{manual['id']}/clone", {"name": "Hand 2"}).json()
    assert (copy["kind"], copy["member_count"]) == ("manual", 1)
    assert (
        error_code(api.post(f"/segments/{manual['id']}/clone", {"name": "hand"}))
        == "duplicate_name"
    )


def test_preview_saves_nothing(api, people):
    before = Segment.objects.count()
    response = api.post("/segments/preview", {"conditions": GERMANS})
    assert response.json()["count"] == 2
    assert {c["email"] for c in response.json()["sample"]} == {"ann@x.io", "cid@x.io"}
    assert Segment.objects.count() == before
    bad = api.post(
        "/segments/preview",
        {"conditions": {"all": [{"field": "score", "op": "between", "value": [1]}]}},
    )
    assert bad.json()["error"]["path"] == "all[0]"


def test_bulk_makes_one_segment_per_value(api, people, workspace):
    ContactFactory(workspace=workspace, email="dan@x.io", country="")
    response = api.post("/segments/bulk", {"field": "country", "name_prefix": "Country "})
    assert response.status_code == 201
    made = response.json()["segments"]
    assert sorted(s["name"] for s in made) == ["Country DE", "Country FR"]
    counts = {s["name"]: s["member_count"] for s in made}
    assert counts == {"Country DE": 2, "Country FR": 1}
    assert {s["origin"] for s in made} == {"bulk"}
    assert error_code(api.post("/segments/bulk", {"field": "score"})) == "invalid"
    assert error_code(api.post("/segments/bulk", {"field": "nope"})) == "invalid"


def test_contact_segments_and_the_segment_filter(api, people):
    segment = create(api, name="Germans", kind="filter", conditions=GERMANS)
    response = api.get(f"/contacts/{people[0].pk}/segments").json()
    assert [(r["id"], r["name"], r["kind"]) for r in response["results"]] == [
        (segment["id"], "Germans", "filter")
    ]
    listed = api.get("/contacts", {"segment": segment["id"]}).json()["results"]
    assert {c["email"] for c in listed} == {"ann@x.io", "cid@x.io"}
    assert api.get("/contacts", {"segment": 10**9}).status_code == 404


def test_another_workspace_sees_nothing_and_touches_nothing(api, other_api, people):
    segment = create(api, name="Germans", kind="filter", conditions=GERMANS)
    manual = create(api, name="Hand", kind="manual")
    sid, mid = segment["id"], manual["id"]
    before = (SegmentMember.objects.count(), Segment.objects.count())
    calls = [
        ("get", f"/segments/{sid}", None),
        ("patch", f"/segments/{sid}", {"name": "Mine"}),
        ("delete", f"/segments/{sid}", None),
        ("get", f"/segments/{sid}/usage", None),
        ("get", f"/segments/{sid}/members", None),
        ("post", f"/segments/{mid}/members", {"ids": [people[0].pk]}),
        ("post", f"/segments/{mid}/members/remove", {"ids": [people[0].pk]}),
        ("post", f"/segments/{sid}/clone", {"name": "Copy"}),
        ("post", f"/segments/{sid}/save-as-list", {"name": "Copy"}),
        ("get", f"/contacts/{people[0].pk}/segments", None),
        ("get", f"/contacts?segment={sid}", None),
    ]
    for method, path, body in calls:
        response = (
            getattr(other_api, method)(path, body) if body else getattr(other_api, method)(path)
        )
        assert response.status_code == 404, (method, path, response.content)
        assert error_code(response) == "not_found"
    assert other_api.get("/segments").json()["results"] == [
        s for s in other_api.get("/segments").json()["results"] if s["id"] not in (sid, mid)
    ]
    response = other_api.post(
        "/segments",
        {"name": "Refs", "kind": "filter", "conditions": {"all": [{"segment": sid, "op": "in"}]}},
    )
    assert error_code(response) == "invalid_conditions"
    assert (SegmentMember.objects.count(), Segment.objects.count()) == before


def test_no_key_is_401(people):
    anonymous = ApiClient(None)
    for path in ("/segments", "/segments/1", "/segments/1/members"):
        response = anonymous.get(path)
        assert (response.status_code, error_code(response)) == (401, "unauthenticated")
    response = anonymous.post("/segments", {"name": "x", "kind": "manual"})
    assert response.status_code == 401


MALFORMED = [
    "x",
    "[]",
    "null",
    '{"name": 5, "kind": 5, "conditions": 5}',
    '{"conditions": {"all": [{"field": "score", "op": "gt", "value": 1e309}]}}',
    '{"name": "a\\u0000"}',
    '{"emails": 5}',
    '{"ids": [1e400]}',
    '{"conditions": ' + '{"all": [' * 50 + "]}" * 50 + "}",
]


@pytest.mark.parametrize("raw", MALFORMED)
def test_malformed_bodies_are_400_on_every_segment_route(api, people, raw):
    segment = create(api, name="Germans", kind="filter", conditions=GERMANS)
    manual = create(api, name="Hand", kind="manual")
    before = (SegmentMember.objects.count(), Segment.objects.count())
    routes = [
        ("post", "/segments"),
        ("post", "/segments/preview"),
        ("post", "/segments/bulk"),
        ("patch", f"/segments/{segment['id']}"),
        ("post", f"/segments/{manual['id']}/members"),
        ("post", f"/segments/{manual['id']}/members/remove"),
        ("post", f"/segments/{segment['id']}/clone"),
        ("post", f"/segments/{segment['id']}/save-as-list"),
    ]
    for method, path in routes:
        response = getattr(api, method)(path, raw=raw)
        assert response.status_code == 400, (path, raw, response.content)
        assert error_code(response) in ("invalid", "invalid_conditions")
    assert (SegmentMember.objects.count(), Segment.objects.count()) == before

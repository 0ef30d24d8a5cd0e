"""The contacts routes of the JSON API (api.md), checked against the database."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact, ContactTag, CustomAttribute, Tag
from tests.api_helpers import error_code
from tests.factories import ContactFactory, CustomAttributeFactory, TagFactory

pytest_plugins = ["tests.api_fixtures"]  # fixtures: api_key, api, other_api

CONTACT_KEYS = {
    "id",
    "external_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "company",
    "country",
    "state",
    "city",
    "language",
    "score",
    "attributes",
    "tags",
    "created_at",
    "updated_at",
    "last_activity_at",
}


def _ids(response) -> list[int]:
    return [c["id"] for c in response.json()["results"]]


# ---------------------------------------------------------------- list


def test_list_answers_contacts_in_the_contract_shape(workspace, api):
    contact = ContactFactory(
        workspace=workspace,
        email="ann@example.com",
        external_id="crm-1",
        first_name="Ann",
        score=7,
        attributes={"plan": "pro"},
    )
    contact.tags.add(TagFactory(workspace=workspace, name="vip"))
    contact.tags.add(TagFactory(workspace=workspace, name="Beta"))
    body = api.get("/contacts").json()
    assert set(body) == {"results", "next_cursor"}
    assert body["next_cursor"] is None
    [item] = body["results"]
    assert set(item) == CONTACT_KEYS
    assert item["id"] == contact.id
    assert item["email"] == "ann@example.com"
    assert item["external_id"] == "crm-1"
    assert item["score"] == 7
    assert item["attributes"] == {"plan": "pro"}
    assert item["tags"] == ["Beta", "vip"]
    assert item["last_activity_at"] is None
    assert item["created_at"].startswith(str(contact.created_at.year))


def test_list_pages_with_a_cursor_50_by_default(workspace, api):
    contacts = ContactFactory.create_batch(120, workspace=workspace)
    first = api.get("/contacts").json()
    assert len(first["results"]) == 50
    seen = [c["id"] for c in first["results"]]
    cursor = first["next_cursor"]
    while cursor:
        page = api.get("/contacts", {"cursor": cursor, "limit": 50}).json()
        seen += [c["id"] for c in page["results"]]
        cursor = page["next_cursor"]
    assert seen == sorted(c.id for c in contacts)


def test_list_limit_is_between_1_and_500(workspace, api):
    ContactFactory.create_batch(3, workspace=workspace)
    assert len(api.get("/contacts", {"limit": 2}).json()["results"]) == 2
    for bad in ("0", "501", "-1", "abc", "1e3", str(10**30)):
        response = api.get("/contacts", {"limit": bad})
        assert response.status_code == 400, bad
        assert error_code(response) == "invalid"
        assert "limit" in response.json()["error"]["message"]


def test_list_stays_complete_while_contacts_are_added_between_pages(workspace, api):
    ContactFactory.create_batch(30, workspace=workspace)
    page = api.get("/contacts", {"limit": 10}).json()
    seen = [c["id"] for c in page["results"]]
    added = []
    while page["next_cursor"]:
        # Someone adds contacts while the integration pages through the list.
        added += [ContactFactory(workspace=workspace).id for _ in range(3)]
        page = api.get("/contacts", {"limit": 10, "cursor": page["next_cursor"]}).json()
        seen += [c["id"] for c in page["results"]]
    all_ids = Contact.objects.filter(workspace=workspace).values_list("id", flat=True)
    assert len(seen) == len(set(seen))  # none twice
    assert sorted(seen) == sorted(all_ids)  # every row, the ones added meanwhile included
    assert set(added) <= set(seen)


def test_list_does_not_repeat_or_skip_when_seen_rows_are_deleted(workspace, api):
    contacts = ContactFactory.create_batch(20, workspace=workspace)
    page = api.get("/contacts", {"limit": 5}).json()
    seen = [c["id"] for c in page["results"]]
    Contact.objects.filter(id__in=seen).delete()
    while page["next_cursor"]:
        page = api.get("/contacts", {"limit": 5, "cursor": page["next_cursor"]}).json()
        seen += [c["id"] for c in page["results"]]
    assert seen == [c.id for c in contacts]


@pytest.mark.parametrize("cursor", ["nonsense", "!!!", "eyJkIjoibiIsInYiOlsiYSJdfQ", "a" * 3000])
def test_list_refuses_a_bad_cursor(workspace, api, cursor):
    ContactFactory(workspace=workspace)
    response = api.get("/contacts", {"cursor": cursor})
    assert response.status_code == 400
    assert error_code(response) == "invalid"
    assert "cursor" in response.json()["error"]["message"]


def test_list_filters_by_email_and_external_id_ignoring_case_and_spaces(workspace, api):
    ann = ContactFactory(workspace=workspace, email="Ann@Example.com", external_id="CRM-1")
    ContactFactory(workspace=workspace, email="bob@example.com", external_id="crm-2")
    assert _ids(api.get("/contacts", {"email": "  ann@EXAMPLE.com "})) == [ann.id]
    assert _ids(api.get("/contacts", {"external_id": " crm-1"})) == [ann.id]
    assert _ids(api.get("/contacts", {"email": "ann@example"})) == []  # exact, not partial


def test_list_filters_by_tag_ignoring_case(workspace, api):
    vip = TagFactory(workspace=workspace, name="VIP")
    tagged = ContactFactory(workspace=workspace)
    tagged.tags.add(vip)
    ContactFactory(workspace=workspace).tags.add(TagFactory(workspace=workspace, name="other"))
    ContactFactory(workspace=workspace)
    assert _ids(api.get("/contacts", {"tag": "vip"})) == [tagged.id]
    assert _ids(api.get("/contacts", {"tag": "nope"})) == []


def test_list_searches_email_names_and_company(workspace, api):
    ann = ContactFactory(
        workspace=workspace, email="ann@acme.io", first_name="Ann", last_name="Lee", company="X"
    )
    bob = ContactFactory(
        workspace=workspace, email="b@z.io", first_name="Bob", last_name="Ng", company="Acme Ltd"
    )
    ContactFactory(workspace=workspace, email="c@z.io", first_name="Cy", last_name="O", company="Y")
    assert sorted(_ids(api.get("/contacts", {"q": "acme"}))) == [ann.id, bob.id]
    assert _ids(api.get("/contacts", {"q": "ANN lee"})) == [ann.id]
    assert _ids(api.get("/contacts", {"q": "ng"})) == [bob.id]
    assert _ids(api.get("/contacts", {"q": "50%"})) == []


def test_list_filters_combine(workspace, api):
    vip = TagFactory(workspace=workspace, name="vip")
    ann = ContactFactory(workspace=workspace, email="ann@acme.io", company="Acme")
    ann.tags.add(vip)
    ContactFactory(workspace=workspace, email="bo@acme.io", company="Acme")
    assert _ids(api.get("/contacts", {"q": "acme", "tag": "VIP"})) == [ann.id]


def test_list_never_shows_another_workspace(workspace, other_workspace, api):
    ContactFactory(workspace=other_workspace, email="ann@example.com")
    TagFactory(workspace=other_workspace, name="vip").contacts.add(
        ContactFactory(workspace=other_workspace)
    )
    assert _ids(api.get("/contacts")) == []
    assert _ids(api.get("/contacts", {"email": "ann@example.com"})) == []
    assert _ids(api.get("/contacts", {"tag": "vip"})) == []


def test_list_runs_the_same_queries_for_10_and_200_contacts(workspace, api):
    tags = [TagFactory(workspace=workspace, name=f"t{i}") for i in range(3)]

    def queries_for_page():
        api.get("/contacts", {"limit": 1})  # the key's last_used_at is written once a minute
        with CaptureQueriesContext(connection) as captured:
            response = api.get("/contacts", {"limit": 500})
        return len(response.json()["results"]), len(captured)

    for contact in ContactFactory.create_batch(10, workspace=workspace):
        contact.tags.add(*tags)
    rows_small, queries_small = queries_for_page()
    for contact in ContactFactory.create_batch(190, workspace=workspace):
        contact.tags.add(*tags)
    rows_large, queries_large = queries_for_page()
    assert (rows_small, rows_large) == (10, 200)
    assert queries_small == queries_large
    assert queries_large <= 3  # the key, the contacts, their tags


# ---------------------------------------------------------------- create


def test_create_saves_the_contact_with_tags_and_answers_201(workspace, api):
    TagFactory(workspace=workspace, name="VIP")
    response = api.post(
        "/contacts",
        {
            "email": " Ann@Example.com ",
            "external_id": "crm-9",
            "first_name": "Ann",
            "country": "FR",
            "score": 12,
            "tags": ["vip", "newsletter", "Newsletter"],
        },
    )
    assert response.status_code == 201
    body = response.json()
    contact = Contact.objects.get(workspace=workspace)
    assert body["id"] == contact.id
    assert contact.email == "Ann@Example.com"
    assert (contact.external_id, contact.first_name, contact.country, contact.score) == (
        "crm-9",
        "Ann",
        "FR",
        12,
    )
    assert sorted(t.name for t in contact.tags.all()) == ["VIP", "newsletter"]
    assert Tag.objects.filter(workspace=workspace).count() == 2  # "vip" reused "VIP"
    assert body["tags"] == ["newsletter", "VIP"]


@pytest.mark.parametrize(
    ("field", "existing", "given"),
    [
        ("email", "ann@example.com", "ANN@example.COM"),
        ("email", "ann@example.com", "  ann@example.com "),
        ("external_id", "crm-1", "CRM-1"),
    ],
)
def test_create_refuses_a_duplicate_email_or_external_id_in_any_case(
    workspace, api, field, existing, given
):
    ContactFactory(workspace=workspace, **{field: existing})
    response = api.post("/contacts", {field: given, "first_name": "Dup"})
    assert response.status_code == 409
    assert error_code(response) == "duplicate_contact"
    assert response.json()["error"]["field"] == field
    assert Contact.objects.filter(workspace=workspace).count() == 1
    assert not Contact.objects.filter(first_name="Dup").exists()


def test_the_same_email_may_live_in_two_workspaces(workspace, other_workspace, api):
    ContactFactory(workspace=other_workspace, email="ann@example.com")
    assert api.post("/contacts", {"email": "ann@example.com"}).status_code == 201


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"emial": "ann@example.com"}, "emial"),
        ({"id": 5}, "id"),
        ({"first_name": ["Ann"]}, "first_name"),
        ({"first_name": "x" * 151}, "first_name"),
        ({"score": "high"}, "score"),
        ({"score": 1.5}, "score"),
        ({"score": 10**15}, "score"),
        ({"score": True}, "score"),
        ({"attributes": ["plan"]}, "attributes"),
        ({"attributes": {"1bad key": 1}}, "1bad key"),
        ({"attributes": {"plan": {"nested": 1}}}, "plan"),
        ({"tags": "vip"}, "tags"),
        ({"tags": [1, 2]}, "tags"),
        ({"tags": ["x" * 101]}, "tags"),
    ],
)
def test_create_refuses_invalid_fields_naming_them(workspace, api, body, named):
    response = api.post("/contacts", body)
    assert response.status_code == 400
    assert error_code(response) == "invalid"
    assert named in response.json()["error"]["message"]
    assert not Contact.objects.exists()
    assert not CustomAttribute.objects.exists()
    assert not Tag.objects.exists()


def test_create_defines_unknown_attributes_with_the_inferred_type(workspace, api):
    response = api.post(
        "/contacts",
        {
            "email": "ann@example.com",
            "attributes": {
                "seats": 12,
                "ratio": 0.5,
                "trial": True,
                "renews_on": "2025-03-01",
                "signed_up_at": "2024-05-01T09:30:00+02:00",
                "plan": "pro",
            },
        },
    )
    assert response.status_code == 201
    types = dict(CustomAttribute.objects.filter(workspace=workspace).values_list("key", "type"))
    assert types == {
        "seats": "number",
        "ratio": "number",
        "trial": "boolean",
        "renews_on": "date",
        "signed_up_at": "date",
        "plan": "text",
    }
    stored = Contact.objects.get().attributes
    assert stored["signed_up_at"] == "2024-05-01T07:30:00Z"  # kept in UTC
    assert stored["seats"] == 12 and stored["trial"] is True
    assert response.json()["attributes"] == stored


@pytest.mark.parametrize(
    ("attr_type", "value"),
    [("number", "lots"), ("boolean", "maybe"), ("date", "next tuesday"), ("text", ["a"])],
)
def test_a_value_that_does_not_fit_the_attribute_type_is_400_naming_the_key(
    workspace, api, attr_type, value
):
    CustomAttributeFactory(workspace=workspace, key="plan_info", type=attr_type)
    response = api.post("/contacts", {"email": "a@example.com", "attributes": {"plan_info": value}})
    assert response.status_code == 400
    assert error_code(response) == "invalid"
    assert "plan_info" in response.json()["error"]["message"]
    assert not Contact.objects.exists()


def test_attribute_keys_match_their_definition_ignoring_case(workspace, api):
    CustomAttributeFactory(workspace=workspace, key="Seats", type="number")
    response = api.post("/contacts", {"email": "a@example.com", "attributes": {"seats": "12"}})
    assert response.status_code == 201
    assert Contact.objects.get().attributes == {"Seats": 12}
    assert CustomAttribute.objects.count() == 1


# ---------------------------------------------------------------- one contact


def test_get_answers_the_contact(workspace, api):
    contact = ContactFactory(workspace=workspace, email="ann@example.com")
    response = api.get(f"/contacts/{contact.id}")
    assert response.status_code == 200
    assert response.json()["email"] == "ann@example.com"
    assert set(response.json()) == CONTACT_KEYS


@pytest.mark.parametrize("contact_id", ["0", "-3", "999999", str(2**63), str(10**30)])
def test_get_of_no_such_id_is_404(workspace, api, contact_id):
    response = api.get(f"/contacts/{contact_id}")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_patch_changes_only_the_fields_given(workspace, api):
    contact = ContactFactory(
        workspace=workspace, email="ann@example.com", first_name="Ann", city="Paris", score=1
    )
    response = api.patch(f"/contacts/{contact.id}", {"city": "Lyon", "score": "5"})
    assert response.status_code == 200
    contact.refresh_from_db()
    assert (contact.email, contact.first_name, contact.city, contact.score) == (
        "ann@example.com",
        "Ann",
        "Lyon",
        5,
    )
    assert response.json()["city"] == "Lyon"


def test_patch_merges_attributes_and_null_removes_a_key(workspace, api):
    CustomAttributeFactory(workspace=workspace, key="plan", type="text")
    CustomAttributeFactory(workspace=workspace, key="seats", type="number")
    contact = ContactFactory(workspace=workspace, attributes={"plan": "pro", "seats": 3})
    response = api.patch(f"/contacts/{contact.id}", {"attributes": {"seats": None, "trial": False}})
    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.attributes == {"plan": "pro", "trial": False}
    assert response.json()["attributes"] == {"plan": "pro", "trial": False}
    assert CustomAttribute.objects.get(key="trial").type == "boolean"


def test_patch_with_a_wrong_attribute_type_changes_nothing(workspace, api):
    CustomAttributeFactory(workspace=workspace, key="seats", type="number")
    contact = ContactFactory(workspace=workspace, city="Paris", attributes={"seats": 3})
    response = api.patch(
        f"/contacts/{contact.id}", {"city": "Lyon", "attributes": {"seats": "many"}}
    )
    assert response.status_code == 400
    assert "seats" in response.json()["error"]["message"]
    contact.refresh_from_db()
    assert (contact.city, contact.attributes) == ("Paris", {"seats": 3})


@pytest.mark.parametrize(
    ("field", "taken", "given"),
    [("email", "bob@example.com", " BOB@example.com"), ("external_id", "crm-2", "CRM-2")],
)
def test_patch_refuses_another_contacts_email_or_external_id(workspace, api, field, taken, given):
    ContactFactory(workspace=workspace, **{field: taken})
    contact = ContactFactory(workspace=workspace, email="ann@example.com", external_id="crm-1")
    response = api.patch(f"/contacts/{contact.id}", {field: given, "first_name": "Changed"})
    assert response.status_code == 409
    assert error_code(response) == "duplicate_contact"
    contact.refresh_from_db()
    assert (contact.email, contact.external_id) == ("ann@example.com", "crm-1")
    assert contact.first_name != "Changed"


def test_patch_may_change_the_case_of_its_own_email_and_clear_it(workspace, api):
    contact = ContactFactory(workspace=workspace, email="ann@example.com")
    assert api.patch(f"/contacts/{contact.id}", {"email": "Ann@Example.com"}).status_code == 200
    contact.refresh_from_db()
    assert contact.email == "Ann@Example.com"
    assert api.patch(f"/contacts/{contact.id}", {"email": None}).status_code == 200
    contact.refresh_from_db()
    assert contact.email is None


def test_delete_removes_the_contact(workspace, api):
    contact = ContactFactory(workspace=workspace)
    response = api.delete(f"/contacts/{contact.id}")
    assert response.status_code == 204
    assert response.content == b""
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert api.get(f"/contacts/{contact.id}").status_code == 404


# ---------------------------------------------------------------- another workspace


def test_another_workspaces_contact_is_404_on_every_route_and_untouched(
    workspace, other_workspace, api
):
    theirs = ContactFactory(workspace=other_workspace, first_name="Theirs", city="Oslo")
    theirs.tags.add(TagFactory(workspace=other_workspace, name="vip"))
    calls = [
        api.get(f"/contacts/{theirs.id}"),
        api.patch(f"/contacts/{theirs.id}", {"city": "Rome"}),
        api.post(f"/contacts/{theirs.id}/tags", {"tags": ["spam"]}),
        api.post(f"/contacts/{theirs.id}/tags/remove", {"tags": ["vip"]}),
        api.delete(f"/contacts/{theirs.id}"),
    ]
    for response in calls:
        assert response.status_code == 404
        assert error_code(response) == "not_found"
        assert "Theirs" not in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.city == "Oslo"
    assert [t.name for t in theirs.tags.all()] == ["vip"]
    assert not Tag.objects.filter(name="spam").exists()


def test_upsert_never_matches_another_workspaces_contact(workspace, other_workspace, api):
    theirs = ContactFactory(workspace=other_workspace, email="ann@example.com", city="Oslo")
    body = {"match_on": "email", "contacts": [{"email": "ann@example.com", "city": "Rome"}]}
    assert api.post("/contacts/upsert", body).json() == {"created": 1, "updated": 0, "errors": []}
    theirs.refresh_from_db()
    assert theirs.city == "Oslo"
    assert Contact.objects.get(workspace=workspace).city == "Rome"


# ---------------------------------------------------------------- upsert


def test_upsert_creates_and_updates_matching_case_insensitively(workspace, api):
    ann = ContactFactory(workspace=workspace, email="ann@example.com", city="Paris")
    body = {
        "match_on": "email",
        "contacts": [
            {"email": "  ANN@example.com ", "city": "Lyon", "tags": ["vip"]},
            {"email": "new@example.com", "first_name": "New", "attributes": {"seats": 2}},
            {"email": "NEW@example.com", "last_name": "Again"},  # the one just created
        ],
    }
    response = api.post("/contacts/upsert", body)
    assert response.status_code == 200
    assert response.json() == {"created": 1, "updated": 2, "errors": []}
    ann.refresh_from_db()
    assert ann.city == "Lyon"
    assert [t.name for t in ann.tags.all()] == ["vip"]
    new = Contact.objects.get(workspace=workspace, email__iexact="new@example.com")
    assert (new.first_name, new.last_name, new.attributes) == ("New", "Again", {"seats": 2})
    assert Contact.objects.filter(workspace=workspace).count() == 2


def test_upsert_on_external_id(workspace, api):
    crm = ContactFactory(workspace=workspace, external_id="CRM-7", email=None, company="Old")
    body = {
        "match_on": "external_id",
        "contacts": [{"external_id": "crm-7", "company": "New"}, {"external_id": 8}],
    }
    assert api.post("/contacts/upsert", body).json() == {"created": 1, "updated": 1, "errors": []}
    crm.refresh_from_db()
    assert crm.company == "New"
    assert Contact.objects.filter(workspace=workspace, external_id="8").exists()


def test_upsert_saves_the_valid_items_and_reports_the_others_by_index(workspace, api):
    ContactFactory(workspace=workspace, email="taken@example.com", external_id="crm-taken")
    CustomAttributeFactory(workspace=workspace, key="seats", type="number")
    body = {
        "match_on": "email",
        "contacts": [
            {"email": "ok1@example.com"},
            {"first_name": "No email"},
            {"email": "bad-email"},
            "not an object",
            {"email": "dup@example.com", "external_id": "CRM-TAKEN"},
            {"email": "ok2@example.com", "attributes": {"seats": "many"}},
            {"email": "ok3@example.com", "surname": "Typo"},
            {"email": "ok4@example.com", "score": 3},
        ],
    }
    response = api.post("/contacts/upsert", body)
    assert response.status_code == 200
    result = response.json()
    assert (result["created"], result["updated"]) == (2, 0)
    assert [e["index"] for e in result["errors"]] == [1, 2, 3, 4, 5, 6]
    messages = {e["index"]: e["message"] for e in result["errors"]}
    assert "email" in messages[1]
    assert "bad-email" in messages[2]
    assert "external" in messages[4]
    assert "seats" in messages[5]
    assert "surname" in messages[6]
    emails = set(Contact.objects.filter(workspace=workspace).values_list("email", flat=True))
    assert emails == {"taken@example.com", "ok1@example.com", "ok4@example.com"}


def test_upsert_forgets_an_attribute_defined_by_an_item_that_failed(workspace, api):
    ContactFactory(workspace=workspace, email="a@example.com", external_id="crm-a")
    body = {
        "match_on": "email",
        "contacts": [
            # Defines "tier" as text, then fails on the taken external id: rolled back.
            {"email": "b@example.com", "external_id": "crm-a", "attributes": {"tier": "gold"}},
            {"email": "c@example.com", "attributes": {"tier": "silver"}},
        ],
    }
    result = api.post("/contacts/upsert", body).json()
    assert (result["created"], [e["index"] for e in result["errors"]]) == (1, [0])
    tier = CustomAttribute.objects.get(workspace=workspace, key="tier")
    assert tier.type == "text"
    assert Contact.objects.get(email="c@example.com").attributes == {"tier": "silver"}


def test_upsert_refuses_more_than_1000_contacts_and_saves_none(workspace, api):
    items = [{"email": f"p{i}@example.com"} for i in range(1001)]
    response = api.post("/contacts/upsert", {"match_on": "email", "contacts": items})
    assert response.status_code == 413
    assert error_code(response) == "too_large"
    assert not Contact.objects.exists()


def test_upsert_takes_1000_contacts(workspace, api):
    items = [{"email": f"p{i}@example.com"} for i in range(1000)]
    response = api.post("/contacts/upsert", {"match_on": "email", "contacts": items})
    assert response.json() == {"created": 1000, "updated": 0, "errors": []}
    assert Contact.objects.filter(workspace=workspace).count() == 1000


@pytest.mark.parametrize(
    "body",
    [
        {"match_on": "phone", "contacts": []},
        {"contacts": [{"email": "a@example.com"}]},
        {"match_on": "email"},
        {"match_on": "email", "contacts": {"email": "a@example.com"}},
        {"match_on": "email", "contacts": [], "extra": 1},
    ],
)
def test_upsert_refuses_a_malformed_request(workspace, api, body):
    response = api.post("/contacts/upsert", body)
    assert response.status_code == 400
    assert error_code(response) == "invalid"
    assert not Contact.objects.exists()


# ---------------------------------------------------------------- tags


def test_tags_are_added_and_removed_ignoring_case(workspace, api):
    TagFactory(workspace=workspace, name="VIP")
    contact = ContactFactory(workspace=workspace)
    response = api.post(f"/contacts/{contact.id}/tags", {"tags": ["vip", "Churn risk", " "]})
    assert response.status_code == 200
    assert response.json()["tags"] == ["Churn risk", "VIP"]
    assert sorted(t.name for t in contact.tags.all()) == ["Churn risk", "VIP"]
    assert Tag.objects.filter(workspace=workspace).count() == 2
    # Adding again changes nothing.
    api.post(f"/contacts/{contact.id}/tags", {"tags": ["VIP"]})
    assert ContactTag.objects.filter(contact=contact).count() == 2

    response = api.post(f"/contacts/{contact.id}/tags/remove", {"tags": ["CHURN RISK", "nope"]})
    assert response.status_code == 200
    assert response.json()["tags"] == ["VIP"]
    assert [t.name for t in contact.tags.all()] == ["VIP"]
    assert Tag.objects.filter(workspace=workspace, name="Churn risk").exists()  # tag kept


@pytest.mark.parametrize("body", [{}, {"tags": "vip"}, {"tags": [None]}, {"tag": ["vip"]}])
def test_tags_refuse_a_malformed_body(workspace, api, body):
    contact = ContactFactory(workspace=workspace)
    for path in (f"/contacts/{contact.id}/tags", f"/contacts/{contact.id}/tags/remove"):
        response = api.post(path, body)
        assert response.status_code == 400, (path, body)
        assert error_code(response) == "invalid"
    assert not Tag.objects.exists()

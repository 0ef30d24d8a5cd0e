"""contacts/selectors.py: search, filters, sorting and pagination of the contact list."""

from datetime import timedelta

import pytest
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone

from contacts import selectors
from contacts.models import Contact, ContactTag
from tests.factories import ContactFactory, CustomAttributeFactory, TagFactory

pytestmark = pytest.mark.django_db


def params(**values) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, value in values.items():
        query[key] = value
    return query


def emails(workspace, **values) -> set[str]:
    listing = selectors.contact_list(workspace, params(**values))
    return {c.email for c in listing.queryset}


def _where(queryset) -> Q:
    return queryset.query.where


# ---------------------------------------------------------------- search


def test_short_search_is_a_prefix_search_on_email_and_names(workspace):
    ContactFactory(workspace=workspace, email="anna@x.com", first_name="Zed", last_name="Q")
    ContactFactory(workspace=workspace, email="z@x.com", first_name="Annika", last_name="Q")
    ContactFactory(workspace=workspace, email="y@x.com", first_name="Y", last_name="Anders")
    ContactFactory(workspace=workspace, email="b@x.com", first_name="Hanna", last_name="Q")
    # last_name fixed: Faker's (say "Anderson") would match "an".
    ContactFactory(
        workspace=workspace, email="c@x.com", first_name="C", last_name="Q", company="Anvil Inc"
    )

    assert emails(workspace, q="an") == {"anna@x.com", "z@x.com", "y@x.com"}
    assert emails(workspace, q="AN") == {"anna@x.com", "z@x.com", "y@x.com"}


def test_search_of_three_or_more_characters_matches_inside_five_fields(workspace):
    ContactFactory(workspace=workspace, email="x1@x.com", first_name="Johanna", company="A")
    ContactFactory(workspace=workspace, email="x2@x.com", first_name="B", company="Hannah Ltd")
    ContactFactory(workspace=workspace, email="x3@x.com", first_name="C", external_id="crm-hann")
    ContactFactory(workspace=workspace, email="hann@x.com", first_name="D", company="B")
    # last_name fixed: Faker's ("Hanna", "Johannsen") would match "hann" (seen once).
    ContactFactory(
        workspace=workspace, email="x5@x.com", first_name="E", last_name="Q", company="Nope"
    )

    assert emails(workspace, q="hann") == {"x1@x.com", "x2@x.com", "x3@x.com", "hann@x.com"}


def test_search_uses_exactly_the_lookups_the_postgres_indexes_cover():
    """Migration 0002 indexes UPPER(col::text) for istartswith/icontains: a change of
    lookup (say to unaccent or iregex) would make search scan the whole table."""
    short = selectors.contact_search(Contact.objects.all(), "ab")
    long = selectors.contact_search(Contact.objects.all(), "abc")
    short_lookups = {(c.lhs.target.name, c.lookup_name) for c in _where(short).children[0].children}
    long_lookups = {(c.lhs.target.name, c.lookup_name) for c in _where(long).children[0].children}
    assert short_lookups == {(f, "istartswith") for f in ("email", "first_name", "last_name")}
    assert long_lookups == {
        (f, "icontains") for f in ("email", "first_name", "last_name", "company", "external_id")
    }


def test_search_ignores_blank_and_surrounding_spaces(workspace):
    ContactFactory(workspace=workspace, email="a@x.com")
    ContactFactory(workspace=workspace, email="b@x.com")
    assert emails(workspace, q="   ") == {"a@x.com", "b@x.com"}
    assert emails(workspace, q="  a@x ") == {"a@x.com"}


def test_list_never_shows_another_workspace(workspace, other_workspace):
    ContactFactory(workspace=workspace, email="mine@x.com")
    ContactFactory(workspace=other_workspace, email="theirs@x.com")
    assert emails(workspace) == {"mine@x.com"}
    assert emails(workspace, q="theirs") == set()


# ---------------------------------------------------------------- filters


def test_field_filters(workspace):
    ContactFactory(workspace=workspace, email="a@x.com", country="DE", city="Berlin", score=10)
    ContactFactory(workspace=workspace, email="b@x.com", country="FR", city="Paris", score=50)
    ContactFactory(workspace=workspace, email="c@x.com", country="de", city="Köln", score=90)
    ContactFactory(workspace=workspace, email=None, external_id="n1", country="DE", score=50)

    assert emails(workspace, country="DE") == {"a@x.com", "c@x.com", None}
    assert emails(workspace, city="paris") == {"b@x.com"}
    assert emails(workspace, score_min="50") == {"b@x.com", "c@x.com", None}
    assert emails(workspace, score_min="20", score_max="60") == {"b@x.com", None}
    assert emails(workspace, has_email="no") == {None}
    assert emails(workspace, has_email="yes", country="DE") == {"a@x.com", "c@x.com"}


def test_company_filter_matches_part_of_the_name(workspace):
    ContactFactory(workspace=workspace, email="a@x.com", company="Acme Robotics")
    ContactFactory(workspace=workspace, email="b@x.com", company="Globex")
    assert emails(workspace, company="robot") == {"a@x.com"}


def test_created_between_counts_whole_days(workspace):
    old = ContactFactory(workspace=workspace, email="old@x.com")
    new = ContactFactory(workspace=workspace, email="new@x.com")
    now = timezone.now().replace(hour=12)
    Contact.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=10))
    Contact.objects.filter(pk=new.pk).update(created_at=now)
    today = now.date().isoformat()
    five_days_ago = (now - timedelta(days=5)).date().isoformat()

    assert emails(workspace, created_after=today) == {"new@x.com"}
    assert emails(workspace, created_before=today) == {"old@x.com", "new@x.com"}
    assert emails(workspace, created_before=five_days_ago) == {"old@x.com"}


def test_tag_filter_offers_only_this_workspaces_tags(workspace, other_workspace):
    vip = TagFactory(workspace=workspace, name="vip")
    foreign = TagFactory(workspace=other_workspace, name="vip")
    tagged = ContactFactory(workspace=workspace, email="vip@x.com")
    ContactFactory(workspace=workspace, email="plain@x.com")
    ContactTag.objects.create(contact=tagged, tag=vip)

    assert emails(workspace, tag=str(vip.pk)) == {"vip@x.com"}
    listing = selectors.contact_list(workspace, params(tag=str(foreign.pk)))
    assert not listing.valid
    assert "tag" in listing.filterset.form.errors
    assert list(listing.queryset) == []


@pytest.mark.parametrize(
    ("attr_type", "stored", "query", "other"),
    [
        ("number", 12, "12", 13),
        ("number", 2.5, "2.5", 3),
        ("text", "Pro", "pro", "Free"),
        ("boolean", True, "yes", False),
        ("boolean", False, "no", True),
        ("date", "2024-05-01", "2024-05-01", "2024-05-02"),
        ("date", "2024-05-01T09:30:00Z", "2024-05-01", "2024-04-30T23:59:00Z"),
    ],
)
def test_attribute_filter_compares_by_the_attribute_type(
    workspace, attr_type, stored, query, other
):
    CustomAttributeFactory(workspace=workspace, key="field", type=attr_type)
    ContactFactory(workspace=workspace, email="hit@x.com", attributes={"field": stored})
    ContactFactory(workspace=workspace, email="miss@x.com", attributes={"field": other})
    ContactFactory(workspace=workspace, email="none@x.com", attributes={})

    assert emails(workspace, attr="field", attr_value=query) == {"hit@x.com"}


def test_attribute_without_value_means_has_the_attribute(workspace):
    CustomAttributeFactory(workspace=workspace, key="plan", type="text")
    ContactFactory(workspace=workspace, email="a@x.com", attributes={"plan": "pro"})
    ContactFactory(workspace=workspace, email="b@x.com", attributes={})
    assert emails(workspace, attr="plan") == {"a@x.com"}


def test_attribute_value_of_the_wrong_type_is_an_error_on_the_value(workspace):
    CustomAttributeFactory(workspace=workspace, key="seats", type="number")
    ContactFactory(workspace=workspace, attributes={"seats": 3})
    listing = selectors.contact_list(workspace, params(attr="seats", attr_value="many"))
    assert not listing.valid
    assert "not a number" in listing.filterset.form.errors["attr_value"][0]
    assert list(listing.queryset) == []


def test_unknown_attribute_key_is_an_error(workspace):
    listing = selectors.contact_list(workspace, params(attr="nope", attr_value="1"))
    assert "attr" in listing.filterset.form.errors


def test_inverted_ranges_are_errors_on_the_second_field(workspace):
    form = selectors.contact_list(workspace, params(score_min="9", score_max="1")).filterset.form
    assert "score_max" in form.errors
    form = selectors.contact_list(
        workspace, params(created_after="2024-02-01", created_before="2024-01-01")
    ).filterset.form
    assert "created_before" in form.errors


def test_active_filter_count(workspace):
    listing = selectors.contact_list(workspace, params(country="DE", score_min="0", q="x"))
    assert listing.filterset.active_count == 2  # 0 is a value; q is not a filter


# ---------------------------------------------------------------- sorting and pages


def _contacts_with_scores(workspace, scores):
    return [
        ContactFactory(workspace=workspace, email=f"s{i}@x.com", score=score)
        for i, score in enumerate(scores)
    ]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("newest", ["s4", "s3", "s2", "s1", "s0"]),
        ("oldest", ["s0", "s1", "s2", "s3", "s4"]),
        ("score_high", ["s3", "s1", "s4", "s2", "s0"]),
        ("score_low", ["s0", "s2", "s4", "s1", "s3"]),
        ("bogus", ["s4", "s3", "s2", "s1", "s0"]),
    ],
)
def test_sorts(workspace, sort, expected):
    _contacts_with_scores(workspace, [1, 50, 5, 90, 5])
    listing = selectors.contact_list(workspace, params(sort=sort))
    page, _ = selectors.contact_page(listing, None, limit=10)
    assert [c.email.split("@")[0] for c in page.items] == expected


@pytest.mark.parametrize("sort", list(selectors.SORTS))
def test_keyset_pages_cover_every_contact_once_in_every_sort(workspace, sort):
    _contacts_with_scores(workspace, [3, 1, 3, 2, 3, 1, 2, 3, 1])
    listing = selectors.contact_list(workspace, params(sort=sort))
    seen, cursor = [], None
    while True:
        page, bad = selectors.contact_page(listing, cursor, limit=2)
        assert not bad
        seen.extend(c.pk for c in page.items)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == [c.pk for c in listing.queryset]
    assert len(set(seen)) == 9

    back, _ = selectors.contact_page(listing, page.previous_cursor, limit=2)
    assert [c.pk for c in back.items] == seen[-2 - len(page.items) : -len(page.items)]


def test_bad_cursor_gives_the_first_page(workspace):
    _contacts_with_scores(workspace, [1, 2, 3])
    listing = selectors.contact_list(workspace, params())
    page, bad = selectors.contact_page(listing, "not-a-cursor", limit=2)
    assert bad
    assert [c.email for c in page.items] == ["s2@x.com", "s1@x.com"]


def test_capped_count(workspace):
    _contacts_with_scores(workspace, [1, 2, 3, 4, 5])
    queryset = selectors.contact_list(workspace, params()).queryset
    assert selectors.capped_count(queryset, cap=10) == (5, False)
    assert selectors.capped_count(queryset, cap=5) == (5, False)
    assert selectors.capped_count(queryset, cap=3) == (3, True)


def test_tag_list_counts_contacts_per_tag(workspace):
    vip, lead, empty = (TagFactory(workspace=workspace, name=n) for n in ("vip", "lead", "empty"))
    for contact in ContactFactory.create_batch(3, workspace=workspace):
        ContactTag.objects.create(contact=contact, tag=vip)
    ContactTag.objects.create(contact=ContactFactory(workspace=workspace), tag=lead)
    counts = {t.name: t.contact_count for t in selectors.tag_list(workspace)}
    assert counts == {"vip": 3, "lead": 1, "empty": 0}


def test_contacts_are_found_by_id_email_or_external_id_in_their_workspace_only(
    workspace, other_workspace
):
    ann = ContactFactory(workspace=workspace, email="Ann@X.io", external_id="CRM-1")
    theirs = ContactFactory(workspace=other_workspace, email="bob@x.io", external_id="CRM-2")
    assert selectors.contacts_find(workspace, "id", [ann.pk, theirs.pk, True, "1"]) == {ann.pk: ann}
    assert selectors.contacts_find(workspace, "email", [" ann@x.IO ", "bob@x.io", None]) == {
        "ann@x.io": ann
    }
    assert selectors.contacts_find(workspace, "external_id", ["crm-1", "CRM-2", ""]) == {
        "crm-1": ann
    }


def test_contact_ids_are_found_as_contacts_are_in_one_query(
    workspace, other_workspace, django_assert_num_queries
):
    ann = ContactFactory(workspace=workspace, email="Ann@X.io", external_id="CRM-1")
    theirs = ContactFactory(workspace=other_workspace, email="bob@x.io", external_id="CRM-2")
    huge = 2**70  # names nobody (not a bigint), and is no error
    with django_assert_num_queries(1):
        found = selectors.contact_ids_find(workspace, "id", [ann.pk, theirs.pk, True, "1", huge])
    assert found == {ann.pk: ann.pk}
    with django_assert_num_queries(1):
        found = selectors.contact_ids_find(workspace, "email", [" ann@x.IO ", "bob@x.io", None])
    assert found == {"ann@x.io": ann.pk}
    found = selectors.contact_ids_find(workspace, "external_id", ["crm-1", "CRM-2", ""])
    assert found == {"crm-1": ann.pk}
    with django_assert_num_queries(0):
        assert selectors.contact_ids_find(workspace, "email", ["", None]) == {}
    many = [f"nobody{n}@x.io" for n in range(5000)] + ["ANN@x.io"]
    assert selectors.contact_ids_find(workspace, "email", many) == {"ann@x.io": ann.pk}


def test_attribute_definitions_by_lower_cased_key(workspace, other_workspace):
    plan = CustomAttributeFactory(workspace=workspace, key="Plan", type="text")
    CustomAttributeFactory(workspace=other_workspace, key="tier", type="text")
    assert selectors.attribute_definitions(workspace) == {"plan": plan}

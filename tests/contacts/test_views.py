"""The contact pages as a browser sees them: list, search, filters, pages, bulk tag,
contact page, tags, create/edit/delete, access."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact, ContactTag, Device, Event, Tag, Topic, TopicOptOut
from tests.factories import (
    ContactFactory,
    CustomAttributeFactory,
    DeviceFactory,
    EventFactory,
    TagFactory,
    TopicFactory,
)
from workspaces.models import Role

pytestmark = pytest.mark.django_db
LIST = reverse("contacts:list")
HTMX = {"HTTP_HX_REQUEST": "true"}


def rows(response) -> list[str]:
    """The contact ids of the result rows, in order."""
    return re.findall(r'<tr data-contact-id="(\d+)"', response.content.decode())


def ids(*contacts) -> list[str]:
    return [str(c.pk) for c in contacts]


# ---------------------------------------------------------------- the list


def test_home_leads_to_the_contact_list(client_in):
    response = client_in.get("/")
    assert response.status_code == 302
    assert response["Location"] == LIST


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(LIST)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_list_shows_the_workspaces_contacts_with_their_columns(client_in, workspace):
    contact = ContactFactory(
        workspace=workspace,
        first_name="Ada",
        last_name="Lovelace",
        email="ada@example.com",
        company="Analytical",
        country="GB",
        score=1234,
    )
    tag = TagFactory(workspace=workspace, name="vip")
    ContactTag.objects.create(contact=contact, tag=tag)
    ContactFactory(workspace=ContactFactory().workspace, email="stranger@example.com")

    response = client_in.get(LIST)
    html = response.content.decode()
    assert response.status_code == 200
    assert rows(response) == ids(contact)
    for text in ("Ada Lovelace", "ada@example.com", "Analytical", "GB", "1,234", "vip"):
        assert text in html
    assert "stranger@example.com" not in html
    assert '<label for="id_q" class="visually-hidden">Search contacts</label>' in html
    assert "1</strong> contact" in html


def test_search_and_htmx_fragment(client_in, workspace):
    ada = ContactFactory(workspace=workspace, first_name="Ada", email="ada@x.com")
    # Not Faker's: a last name or company like "Adams" or "Canada Ltd" would match "ada".
    ContactFactory(
        workspace=workspace, first_name="Bob", last_name="B", company="B", email="bob@x.com"
    )

    full = client_in.get(LIST, {"q": "ada"})
    assert rows(full) == ids(ada)
    assert "<html" in full.content.decode()

    fragment = client_in.get(LIST, {"q": "ada"}, **HTMX)
    html = fragment.content.decode()
    assert rows(fragment) == ids(ada)
    assert "<html" not in html and 'id="contact-filters"' not in html
    assert html.lstrip().startswith('<section id="results"')
    assert "HX-Request" in fragment["Vary"]


def test_history_restore_request_gets_the_whole_page(client_in, workspace):
    ContactFactory(workspace=workspace)
    response = client_in.get(LIST, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in response.content.decode()


def test_filters_work_as_a_plain_get_form(client_in, workspace):
    de = ContactFactory(workspace=workspace, country="DE", score=10)
    ContactFactory(workspace=workspace, country="FR", score=10)
    ContactFactory(workspace=workspace, country="DE", score=99)
    response = client_in.get(LIST, {"country": "DE", "score_max": "50", "q": ""})
    assert rows(response) == ids(de)
    html = response.content.decode()
    assert 'value="DE"' in html  # the form keeps what was asked
    assert '<details class="filter-panel" open>' in html


def test_tag_filter(client_in, workspace):
    vip = TagFactory(workspace=workspace, name="vip")
    tagged = ContactFactory(workspace=workspace)
    ContactFactory(workspace=workspace)
    ContactTag.objects.create(contact=tagged, tag=vip)
    assert rows(client_in.get(LIST, {"tag": vip.pk})) == ids(tagged)


def test_filter_error_is_shown_beside_its_field(client_in, workspace):
    CustomAttributeFactory(workspace=workspace, key="seats", type="number")
    ContactFactory(workspace=workspace, attributes={"seats": 2})

    response = client_in.get(LIST, {"attr": "seats", "attr_value": "lots"})
    html = response.content.decode()
    assert response.status_code == 200
    assert rows(response) == []
    errors = re.search(r'id="id_attr_value_errors">(.*?)</div>', html, re.S).group(1)
    assert "not a number" in errors

    # The HTMX swap does not redraw the filters: the error comes out of band.
    fragment = client_in.get(LIST, {"attr": "seats", "attr_value": "lots"}, **HTMX)
    oob = re.search(
        r'id="id_attr_value_errors" hx-swap-oob="true">(.*?)</div>', fragment.content.decode()
    )
    assert "not a number" in oob.group(1)


def test_sort_and_keyset_pages(client_in, workspace):
    contacts = [ContactFactory(workspace=workspace, score=i) for i in range(120)]
    first = client_in.get(LIST, {"sort": "score_high"})
    assert rows(first) == ids(*reversed(contacts[70:]))
    html = first.content.decode()
    next_url = re.search(r'rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "sort=score_high" in next_url and "cursor=" in next_url

    second = client_in.get(next_url)
    assert rows(second) == ids(*reversed(contacts[20:70]))
    third_url = re.search(r'rel="next" href="([^"]+)"', second.content.decode()).group(1)
    third = client_in.get(third_url.replace("&amp;", "&"))
    assert rows(third) == ids(*reversed(contacts[:20]))
    assert 'rel="next"' not in third.content.decode()

    prev_url = re.search(r'rel="prev" href="([^"]+)"', third.content.decode()).group(1)
    assert rows(client_in.get(prev_url.replace("&amp;", "&"))) == rows(second)


def test_bad_cursor_shows_the_first_page_with_a_note(client_in, workspace):
    ContactFactory(workspace=workspace)
    response = client_in.get(LIST, {"cursor": "garbage!!"})
    assert response.status_code == 200
    assert len(rows(response)) == 1
    assert "no longer fits this list" in response.content.decode()


def test_count_is_capped(client_in, workspace, monkeypatch):
    monkeypatch.setattr("contacts.selectors.COUNT_CAP", 3)
    monkeypatch.setattr("contacts.selectors.capped_count.__defaults__", (3,))
    ContactFactory.create_batch(5, workspace=workspace)
    assert "3+</strong> contacts" in client_in.get(LIST).content.decode()


def test_a_search_counts_to_its_own_cap(client_in, workspace, monkeypatch):
    """A search says "4+" past SEARCH_COUNT_CAP; under it, the exact count."""
    monkeypatch.setattr("contacts.selectors.SEARCH_COUNT_CAP", 4)
    for n in range(6):
        ContactFactory(workspace=workspace, first_name=f"Zebulon{n}")
    ContactFactory(workspace=workspace, first_name="Other")
    assert "4+</strong> contacts match" in client_in.get(LIST, {"q": "zebulon"}).content.decode()
    found = client_in.get(LIST, {"q": "zebulon3"}).content.decode()
    assert "<strong>1</strong> contact match" in found
    assert "6</strong> contacts match" not in found


def test_a_search_under_its_cap_pages_through_its_matches_in_order(
    client_in, workspace, monkeypatch
):
    """Under the cap the page is read among the counted matches: the same rows, in
    the list's order, page after page, as without a cap."""
    monkeypatch.setattr("contacts.selectors.SEARCH_COUNT_CAP", 200)
    monkeypatch.setattr("contacts.views.listing.PAGE_SIZE", 3)
    matching = [
        ContactFactory(workspace=workspace, first_name=f"Quill{n}", score=n) for n in range(7)
    ]
    ContactFactory(workspace=workspace, first_name="Other", score=50)
    first = client_in.get(LIST, {"q": "quill", "sort": "score_high"})
    assert "<strong>7</strong> contacts match" in first.content.decode()
    assert rows(first) == ids(*reversed(matching[4:]))
    next_url = re.search(r'rel="next" href="([^"]+)"', first.content.decode()).group(1)
    second = client_in.get(next_url.replace("&amp;", "&"))
    assert rows(second) == ids(*reversed(matching[1:4]))


def test_empty_states(client_in, workspace):
    assert "No contacts yet" in client_in.get(LIST).content.decode()
    # Names fixed: the search below must match nothing whatever Faker would make.
    ContactFactory(workspace=workspace, email="a@x.com", first_name="A", last_name="B", company="C")
    assert "No contacts match" in client_in.get(LIST, {"q": "zzz"}).content.decode()


# ---------------------------------------------------------------- bulk actions


def test_bulk_tag_tags_the_selected_contacts(client_in, workspace):
    chosen = ContactFactory.create_batch(2, workspace=workspace)
    other = ContactFactory(workspace=workspace)
    response = client_in.post(
        reverse("contacts:bulk"),
        {"action": "tag", "tag-name": "spring", "ids": ids(*chosen), "next": "/contacts/?q=x"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/contacts/?q=x"
    tagged = set(Contact.objects.filter(tags__name="spring").values_list("pk", flat=True))
    assert tagged == {c.pk for c in chosen}
    assert not other.tags.exists()
    follow = client_in.get(response["Location"])
    assert "Tagged 2 contacts with “spring”." in follow.content.decode()


def test_bulk_tag_over_htmx_redirects_the_page(client_in, workspace):
    contact = ContactFactory(workspace=workspace)
    response = client_in.post(
        reverse("contacts:bulk"),
        {"action": "tag", "tag-name": "x", "ids": ids(contact), "next": "/contacts/"},
        **HTMX,
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/contacts/"


def test_bulk_errors(client_in, workspace):
    contact = ContactFactory(workspace=workspace)
    url = reverse("contacts:bulk")
    no_ids = client_in.post(url, {"action": "tag", "tag-name": "x"}, **HTMX)
    assert "Select at least one contact first." in no_ids.content.decode()
    no_name = client_in.post(url, {"action": "tag", "tag-name": "", "ids": ids(contact)}, **HTMX)
    assert 'id="bulk-bar"' in no_name.content.decode()
    assert "Give the tag a name." in no_name.content.decode()
    assert client_in.post(url, {"action": "explode", "ids": ids(contact)}).status_code == 400
    assert not ContactTag.objects.exists()


def test_bulk_error_without_javascript_comes_back_as_a_message(client_in, workspace):
    response = client_in.post(
        reverse("contacts:bulk"), {"action": "tag", "tag-name": "x", "next": "/contacts/?q=a"}
    )
    assert response["Location"] == "/contacts/?q=a"
    follow = client_in.get(response["Location"])
    assert "Select at least one contact first." in follow.content.decode()


def test_bulk_ignores_other_workspaces_contacts(client_in, workspace, other_workspace):
    theirs = ContactFactory(workspace=other_workspace)
    client_in.post(reverse("contacts:bulk"), {"action": "tag", "tag-name": "x", "ids": ids(theirs)})
    assert not ContactTag.objects.exists()
    assert not Tag.objects.filter(workspace=other_workspace).exists()


def test_bulk_next_cannot_leave_the_site(client_in, workspace):
    contact = ContactFactory(workspace=workspace)
    response = client_in.post(
        reverse("contacts:bulk"),
        {"action": "tag", "tag-name": "x", "ids": ids(contact), "next": "https://evil.example/"},
    )
    assert response["Location"] == LIST


# ---------------------------------------------------------------- contact page


def test_contact_page_shows_everything_about_the_contact(client_in, workspace):
    contact = ContactFactory(
        workspace=workspace,
        first_name="Grace",
        last_name="Hopper",
        attributes={"plan": "pro", "seats": 12, "trial": False, "renews": "2024-05-01"},
    )
    CustomAttributeFactory(workspace=workspace, key="plan", label="Plan", type="text")
    CustomAttributeFactory(workspace=workspace, key="seats", type="number")
    CustomAttributeFactory(workspace=workspace, key="trial", label="On trial", type="boolean")
    CustomAttributeFactory(workspace=workspace, key="renews", label="Renews", type="date")
    ContactTag.objects.create(contact=contact, tag=TagFactory(workspace=workspace, name="vip"))
    EventFactory(contact=contact, name="signup", properties={"source": "ads", "campaign": "q4"})
    DeviceFactory(contact=contact, platform=Device.Platform.ANDROID, identifier="tok-123")
    TopicOptOut.objects.create(
        topic=TopicFactory(workspace=workspace, name="Promos"), contact=contact
    )

    response = client_in.get(reverse("contacts:detail", args=[contact.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Grace Hopper</h1>" in html
    for text in ("Plan", "pro", "On trial", "No", "May 1, 2024", "vip", "signup", "source"):
        assert text in html
    assert "ads" in html and "Android" in html and "tok-123" in html and "Promos" in html


def test_contact_of_another_workspace_is_not_found(client_in, other_workspace):
    theirs = ContactFactory(workspace=other_workspace)
    for name in ("contacts:detail", "contacts:edit", "contacts:delete"):
        assert client_in.get(reverse(name, args=[theirs.pk])).status_code == 404
    assert client_in.post(reverse("contacts:delete", args=[theirs.pk])).status_code == 404
    add = client_in.post(reverse("contacts:tags_add", args=[theirs.pk]), {"names": "x"})
    assert add.status_code == 404
    assert Contact.objects.filter(pk=theirs.pk).exists()


def test_timeline_is_newest_first_fifty_at_a_time(client_in, workspace):
    contact = ContactFactory(workspace=workspace)
    start = timezone.now() - timedelta(days=1)
    Event.objects.bulk_create(
        Event(
            workspace=workspace,
            contact=contact,
            name=f"event-{i:03d}",
            occurred_at=start + timedelta(minutes=i),
        )
        for i in range(60)
    )
    url = reverse("contacts:detail", args=[contact.pk])
    html = client_in.get(url).content.decode()
    names = re.findall(r'class="event-name">(event-\d+)<', html)
    assert names == [f"event-{i:03d}" for i in range(59, 9, -1)]
    more = re.search(r'hx-get="([^"]+)"[^>]*>Show older events', html).group(1)

    fragment = client_in.get(more.replace("&amp;", "&"), **HTMX).content.decode()
    assert "<html" not in fragment
    older = re.findall(r'class="event-name">(event-\d+)<', fragment)
    assert older == [f"event-{i:03d}" for i in range(9, -1, -1)]
    assert "Show older events" not in fragment


def test_tags_add_and_remove_over_htmx(client_in, workspace):
    contact = ContactFactory(workspace=workspace)
    add = client_in.post(
        reverse("contacts:tags_add", args=[contact.pk]), {"names": "vip, Lead , vip"}, **HTMX
    )
    html = add.content.decode()
    assert html.lstrip().startswith('<div id="contact-tags"')
    assert sorted(contact.tags.values_list("name", flat=True)) == ["Lead", "vip"]
    assert "Remove tag vip" in html and "Remove tag Lead" in html

    remove = client_in.post(
        reverse("contacts:tags_remove", args=[contact.pk]), {"name": "VIP"}, **HTMX
    )
    assert list(contact.tags.values_list("name", flat=True)) == ["Lead"]
    assert "Remove tag vip" not in remove.content.decode()


def test_tags_without_javascript_redirect_to_the_contact(client_in, workspace):
    contact = ContactFactory(workspace=workspace)
    response = client_in.post(reverse("contacts:tags_add", args=[contact.pk]), {"names": "a"})
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:detail", args=[contact.pk])


def test_bad_tag_name_is_shown_at_the_tag_field(client_in, workspace):
    contact = ContactFactory(workspace=workspace)
    url = reverse("contacts:tags_add", args=[contact.pk])
    response = client_in.post(url, {"names": "x" * 101}, **HTMX)
    errors = re.search(r'id="id_names_errors">(.*?)</div>', response.content.decode(), re.S)
    assert "not a valid tag name" in errors.group(1)
    assert not contact.tags.exists()
    plain = client_in.post(url, {"names": ""})
    assert plain.status_code == 400
    assert "Give the tag a name." in plain.content.decode()


# ---------------------------------------------------------------- create, edit, delete


def test_create_form_has_a_typed_field_per_attribute(client_in, workspace):
    CustomAttributeFactory(workspace=workspace, key="seats", label="Seats", type="number")
    CustomAttributeFactory(workspace=workspace, key="renews", type="date")
    CustomAttributeFactory(workspace=workspace, key="trial", type="boolean")
    html = client_in.get(reverse("contacts:create")).content.decode()
    assert re.search(r'<input type="number" name="attr_seats"[^>]*step="any"', html)
    assert re.search(r'<input type="date" name="attr_renews"', html)
    assert re.search(r'<select name="attr_trial"', html)
    assert '<label for="id_email">Email</label>' in html


def test_create_contact(client_in, workspace):
    CustomAttributeFactory(workspace=workspace, key="seats", type="number")
    CustomAttributeFactory(workspace=workspace, key="renews", type="date")
    CustomAttributeFactory(workspace=workspace, key="trial", type="boolean")
    response = client_in.post(
        reverse("contacts:create"),
        {
            "first_name": "Ada",
            "email": "Ada@Example.com",
            "score": "7",
            "attr_seats": "3",
            "attr_renews": "2025-01-31",
            "attr_trial": "true",
            "tags": "vip, beta",
        },
    )
    contact = Contact.objects.get(workspace=workspace)
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:detail", args=[contact.pk])
    assert contact.first_name == "Ada" and contact.score == 7
    assert contact.attributes == {"seats": 3, "renews": "2025-01-31", "trial": True}
    assert sorted(contact.tags.values_list("name", flat=True)) == ["beta", "vip"]


def test_duplicate_email_is_shown_at_the_email_field(client_in, workspace):
    ContactFactory(workspace=workspace, email="taken@example.com")
    response = client_in.post(reverse("contacts:create"), {"email": "TAKEN@example.com"})
    html = response.content.decode()
    assert response.status_code == 400
    errors = re.search(r'id="id_email_errors">(.*?)</div>', html, re.S).group(1)
    assert "Another contact already has the email" in errors
    assert Contact.objects.filter(workspace=workspace).count() == 1


def test_form_errors_stay_beside_their_fields(client_in, workspace):
    CustomAttributeFactory(workspace=workspace, key="seats", type="number")
    response = client_in.post(
        reverse("contacts:create"), {"email": "not-an-email", "attr_seats": "many"}
    )
    html = response.content.decode()
    assert "valid email" in re.search(r'id="id_email_errors">(.*?)</div>', html, re.S).group(1)
    assert "number" in re.search(r'id="id_attr_seats_errors">(.*?)</div>', html, re.S).group(1)


def test_edit_changes_only_what_was_changed(client_in, workspace):
    CustomAttributeFactory(workspace=workspace, key="renews", type="date")
    CustomAttributeFactory(workspace=workspace, key="plan", type="text")
    contact = ContactFactory(
        workspace=workspace,
        first_name="Old",
        attributes={"renews": "2024-05-01T09:30:00Z", "plan": "pro"},
    )
    url = reverse("contacts:edit", args=[contact.pk])
    form_html = client_in.get(url).content.decode()
    assert 'value="2024-05-01"' in form_html and 'value="Old"' in form_html

    data = {
        "first_name": "New",
        "last_name": contact.last_name,
        "email": contact.email,
        "company": contact.company,
        "city": contact.city,
        "country": contact.country,
        "language": contact.language,
        "score": "0",
        "attr_renews": "2024-05-01",  # unchanged: the moment is kept
        "attr_plan": "",  # cleared: the attribute is removed
    }
    response = client_in.post(url, data)
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.first_name == "New"
    assert contact.attributes == {"renews": "2024-05-01T09:30:00Z"}


def test_edit_to_a_taken_email_is_refused(client_in, workspace):
    ContactFactory(workspace=workspace, email="taken@x.com")
    contact = ContactFactory(workspace=workspace, email="mine@x.com")
    response = client_in.post(
        reverse("contacts:edit", args=[contact.pk]), {"email": "taken@x.com", "score": "0"}
    )
    assert response.status_code == 400
    assert "Another contact already has the email" in response.content.decode()
    contact.refresh_from_db()
    assert contact.email == "mine@x.com"


def test_delete_asks_first_then_deletes(client_in, workspace):
    contact = ContactFactory(workspace=workspace, first_name="Gone", last_name="Soon")
    url = reverse("contacts:delete", args=[contact.pk])
    confirm = client_in.get(url)
    assert "Delete Gone Soon?" in confirm.content.decode()
    assert Contact.objects.filter(pk=contact.pk).exists()
    response = client_in.post(url)
    assert response["Location"] == LIST
    assert not Contact.objects.filter(pk=contact.pk).exists()


# ---------------------------------------------------------------- viewers


def test_viewer_reads_but_sees_no_write_controls(member_client, workspace):
    contact = ContactFactory(workspace=workspace)
    ContactTag.objects.create(contact=contact, tag=TagFactory(workspace=workspace, name="vip"))
    client = member_client(Role.VIEWER)

    listing = client.get(LIST).content.decode()
    assert rows_of(listing) == ids(contact)
    assert "New contact" not in listing and 'id="bulk-bar"' not in listing
    assert 'name="ids"' not in listing

    page = client.get(reverse("contacts:detail", args=[contact.pk])).content.decode()
    assert "vip" in page
    assert "Remove tag" not in page and "Add tags" not in page
    assert reverse("contacts:edit", args=[contact.pk]) not in page


def rows_of(html: str) -> list[str]:
    return re.findall(r'<tr data-contact-id="(\d+)"', html)


def test_viewer_cannot_write(member_client, workspace):
    contact = ContactFactory(workspace=workspace)
    client = member_client(Role.VIEWER)
    assert client.get(reverse("contacts:create")).status_code == 403
    assert client.get(reverse("contacts:edit", args=[contact.pk])).status_code == 403
    posts = [
        (reverse("contacts:create"), {"email": "new@x.com"}),
        (reverse("contacts:edit", args=[contact.pk]), {"first_name": "X"}),
        (reverse("contacts:delete", args=[contact.pk]), {}),
        (reverse("contacts:tags_add", args=[contact.pk]), {"names": "x"}),
        (reverse("contacts:bulk"), {"action": "tag", "tag-name": "x", "ids": ids(contact)}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert Contact.objects.count() == 1 and not ContactTag.objects.exists()


def test_error_pages_keep_the_layout(member_client, workspace):
    client = member_client(Role.VIEWER)
    missing = client.get(reverse("contacts:detail", args=[999_999]))
    assert missing.status_code == 404
    assert "This page does not exist" in missing.content.decode()
    assert 'class="topbar"' in missing.content.decode()
    refused = client.get(reverse("contacts:create"))
    assert "Viewers can only read" in refused.content.decode()


def test_marketer_can_write(member_client, workspace):
    client = member_client(Role.MARKETER)
    response = client.post(reverse("contacts:create"), {"email": "m@x.com"})
    assert response.status_code == 302


# ---------------------------------------------------------------- queries do not grow


def _populate(workspace, count: int, start: int = 0) -> list[Contact]:
    contacts = Contact.objects.bulk_create(
        Contact(workspace=workspace, email=f"c{i}@example.com", first_name=f"N{i}", score=i % 97)
        for i in range(start, start + count)
    )
    tags = [TagFactory(workspace=workspace, name=f"t{start}-{n}") for n in range(3)]
    ContactTag.objects.bulk_create(
        ContactTag(contact=c, tag=tags[n]) for c in contacts for n in range(2)
    )
    now = timezone.now()
    Event.objects.bulk_create(
        Event(workspace=workspace, contact=c, name="view", occurred_at=now, properties={"n": n})
        for c in contacts
        for n in range(2)
    )
    return contacts


def _queries(client, url, data=None, **extra) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, data or {}, **extra)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    ("data", "extra"),
    [
        ({}, {}),
        ({"q": "c1", "sort": "score_high", "country": ""}, {}),
        ({"q": "ex"}, HTMX),
    ],
)
def test_list_queries_do_not_grow_with_contacts(client_in, workspace, data, extra):
    _populate(workspace, 10)
    small = _queries(client_in, LIST, data, **extra)
    _populate(workspace, 990, start=10)
    large = _queries(client_in, LIST, data, **extra)
    assert small == large


def test_list_reads_the_custom_attributes_once_for_filters_and_mass_update(client_in, workspace):
    for key in ("plan", "seats"):
        CustomAttributeFactory(workspace=workspace, key=key)
    ContactFactory(workspace=workspace)  # the bulk bar is drawn over a list of someone
    with CaptureQueriesContext(connection) as ctx:
        page = client_in.get(LIST).content.decode()
    reads = [q for q in ctx.captured_queries if "customattribute" in q["sql"].lower()]
    assert len(reads) == 1
    assert '<option value="plan"' in page  # the filter panel's attribute picker
    assert '<option value="attributes.seats">seats (custom)</option>' in page  # mass update


def test_list_counts_with_a_limit_and_pages_without_offset(client_in, workspace):
    _populate(workspace, 60)
    with CaptureQueriesContext(connection) as ctx:
        client_in.get(LIST, {"sort": "score_low"})
    sql = [q["sql"].upper() for q in ctx.captured_queries]
    counts = [s for s in sql if "COUNT(" in s and "CONTACTS_CONTACT" in s]
    assert counts and all("LIMIT" in s for s in counts)
    assert not any("OFFSET" in s for s in sql)


def test_contact_page_queries_do_not_grow(client_in, workspace):
    contacts = _populate(workspace, 10)
    contact = contacts[0]
    DeviceFactory(contact=contact)
    TopicOptOut.objects.create(topic=TopicFactory(workspace=workspace), contact=contact)
    CustomAttributeFactory(workspace=workspace, key="plan")
    url = reverse("contacts:detail", args=[contact.pk])
    small = _queries(client_in, url)

    _populate(workspace, 990, start=10)
    Event.objects.bulk_create(
        Event(workspace=workspace, contact=contact, name="more", occurred_at=timezone.now())
        for _ in range(200)
    )
    ContactTag.objects.bulk_create(
        ContactTag(contact=contact, tag=TagFactory(workspace=workspace)) for _ in range(20)
    )
    DeviceFactory.create_batch(5, contact=contact)
    for topic in TopicFactory.create_batch(5, workspace=workspace):
        TopicOptOut.objects.create(topic=topic, contact=contact)
    assert _queries(client_in, url) == small
    assert Topic.objects.count() == 6

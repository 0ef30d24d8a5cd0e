"""The segment pages: dashboard, the segment page's tabs and actions, the contact's
Segments section, and the contact list's segment actions."""

import html
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact, Topic
from segments import services
from segments.models import Segment, SegmentChange, SegmentMember, Source
from tests.factories import (
    CampaignSegmentFactory,
    ContactFactory,
    CustomAttributeFactory,
    TopicFactory,
)
from workspaces.models import Role

pytestmark = pytest.mark.django_db
LIST = reverse("segments:list")
HTMX = {"HTTP_HX_REQUEST": "true"}
FRANCE = {"all": [{"field": "country", "op": "eq", "value": "FR"}]}


def manual(workspace, name="VIP", contacts=(), **kwargs) -> Segment:
    segment = services.segment_create(workspace=workspace, name=name, kind="manual", **kwargs)
    if contacts:
        services.segment_members_add(segment=segment, lookup="id", values=[c.pk for c in contacts])
    segment.refresh_from_db()
    return segment


def filtered(workspace, capture, name="French", conditions=FRANCE) -> Segment:
    """A filter segment, its members refreshed (the refresh runs after commit)."""
    with capture(execute=True):
        segment = services.segment_create(
            workspace=workspace, name=name, kind="filter", conditions=conditions
        )
    segment.refresh_from_db()
    return segment


def text(response) -> str:
    return response.content.decode()


def names_in_table(response) -> list[str]:
    return re.findall(r'class="segment-link" href="/segments/\d+/">([^<]+)</a>', text(response))


def next_cursor(page: str) -> str:
    href = html.unescape(re.search(r'rel="next" href="([^"]+)"', page).group(1))
    return parse_qs(urlsplit(href).query)["cursor"][0]


def in_use_by_campaign(segment, name="Spring", role="include"):
    link = CampaignSegmentFactory(
        campaign__workspace=segment.workspace, campaign__name=name, segment=segment, role=role
    )
    return link.campaign


# ---------------------------------------------------------------- dashboard


def test_dashboard_shows_each_segments_columns(client_in, workspace):
    topic = TopicFactory(workspace=workspace, name="Newsletter")
    segment = manual(workspace, "VIP", [ContactFactory(workspace=workspace)] * 1)
    segment.description = "Our best customers"
    segment.save()
    segment.topics.add(topic)
    page = text(client_in.get(LIST))
    row = page[page.index(f'data-segment-id="{segment.pk}"') :].split("</tr>")[0]
    assert f'href="/segments/{segment.pk}/">VIP</a>' in row
    assert "Our best customers" in row and "Manual" in row and "Newsletter" in row
    assert '<td class="num">1</td>' in row
    assert timezone.localdate().strftime("%b") in row


def test_dashboard_search_and_filters(client_in, workspace, django_capture_on_commit_callbacks):
    topic = TopicFactory(workspace=workspace, name="News")
    vip = manual(workspace, "VIP buyers", description="spend a lot")
    vip.topics.add(topic)
    old = manual(workspace, "Old list")
    services.segments_set_archived(workspace=workspace, ids=[old.pk], archived=True)
    filtered(workspace, django_capture_on_commit_callbacks, "French")

    assert names_in_table(client_in.get(LIST, {"q": "buyers"})) == ["VIP buyers"]
    assert names_in_table(client_in.get(LIST, {"q": "a LOT"})) == ["VIP buyers"]
    assert names_in_table(client_in.get(LIST, {"kind": "filter"})) == ["French"]
    assert names_in_table(client_in.get(LIST, {"topic": topic.pk})) == ["VIP buyers"]
    # Archived segments are hidden until asked for.
    assert "Old list" not in names_in_table(client_in.get(LIST))
    assert names_in_table(client_in.get(LIST, {"status": "archived"})) == ["Old list"]
    everything = names_in_table(client_in.get(LIST, {"status": "all", "sort": "name"}))
    assert {"VIP buyers", "Old list", "French"} <= set(everything)
    # A topic of another workspace is a filter error, not a leak or a 500.
    response = client_in.get(LIST, {"topic": 999999})
    assert response.status_code == 200 and names_in_table(response) == []
    assert "need fixing" in text(response)


def test_dashboard_sorts_and_pages_without_offset(client_in, workspace):
    Segment.objects.bulk_create(
        Segment(workspace=workspace, name=f"S{i:03}", kind="manual", member_count=i % 7)
        for i in range(60)
    )
    first = client_in.get(LIST, {"sort": "name"})
    shown = names_in_table(first)
    assert shown == sorted(shown) and len(shown) == 50
    cursor = next_cursor(text(first))
    second = names_in_table(client_in.get(LIST, {"sort": "name", "cursor": cursor}))
    assert len(second) >= 10 and not set(second) & set(shown)
    by_members = client_in.get(LIST, {"sort": "-members"})
    counts = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', text(by_members))]
    assert counts == sorted(counts, reverse=True)
    with CaptureQueriesContext(connection) as ctx:
        client_in.get(LIST, {"sort": "name", "cursor": cursor})
    assert not any("OFFSET" in q["sql"].upper() for q in ctx.captured_queries)
    bad = client_in.get(LIST, {"cursor": "garbage"})
    assert bad.status_code == 200 and "no longer fits" in text(bad)


def test_dashboard_htmx_gets_only_the_results(client_in, workspace):
    manual(workspace, "VIP")
    response = client_in.get(LIST, {"q": "VIP"}, **HTMX)
    body = text(response)
    assert '<section id="results"' in body and "<html" not in body
    assert "HX-Request" in response["Vary"]


def _dashboard_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(LIST)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_dashboard_queries_do_not_grow_with_segments(client_in, workspace):
    topics = [TopicFactory(workspace=workspace) for _ in range(3)]

    def make(start, n):
        made = Segment.objects.bulk_create(
            Segment(workspace=workspace, name=f"Seg {i}", kind="manual", description="d")
            for i in range(start, start + n)
        )
        for segment in made:
            segment.topics.set(topics[: segment.pk % 3])

    make(0, 5)
    small = _dashboard_queries(client_in)
    make(5, 495)
    assert Segment.objects.filter(workspace=workspace).count() >= 500
    assert _dashboard_queries(client_in) == small


def test_create_segment_button_follows_the_builder(client_in, workspace, monkeypatch):
    from segments import views

    page = text(client_in.get(LIST))
    assert "Create manual segment" in page and "Bulk segment" in page
    builder = views.url_or_none("segments:create")
    assert (builder is not None) == (f'href="{builder}"' in page)
    monkeypatch.setattr(views, "url_or_none", lambda name, *args: None)
    assert ">Create segment</a>" not in text(client_in.get(LIST))


def test_bulk_archive_and_unarchive(client_in, workspace):
    a, b, c = (manual(workspace, name) for name in ("A", "B", "C"))
    response = client_in.post(
        reverse("segments:bulk"), {"action": "archive", "ids": [a.pk, b.pk], "next": LIST}
    )
    assert response.status_code == 302 and response["Location"] == LIST
    assert set(Segment.objects.filter(archived=True).values_list("name", flat=True)) == {"A", "B"}
    assert "Archived 2 segments" in text(client_in.get(LIST))
    client_in.post(reverse("segments:bulk"), {"action": "unarchive", "ids": [a.pk]})
    assert list(Segment.objects.filter(archived=True).values_list("name", flat=True)) == ["B"]
    response = client_in.post(reverse("segments:bulk"), {"action": "archive"}, follow=True)
    assert "Select at least one segment" in text(response)


def test_bulk_delete_asks_then_skips_segments_in_use(client_in, workspace):
    free = manual(workspace, "Free")
    used = manual(workspace, "Used by a campaign")
    in_use_by_campaign(used, "Spring launch")
    named = manual(workspace, "Named by a rule")
    user = services.segment_create(
        workspace=workspace,
        name="Rule user",
        kind="filter",
        conditions={"all": [{"segment": named.pk, "op": "in"}]},
    )
    ids = [free.pk, used.pk, named.pk]
    confirm = client_in.post(reverse("segments:bulk"), {"action": "delete", "ids": ids})
    assert confirm.status_code == 200 and "Delete 1 segment?" in text(confirm)
    assert "Will be kept" in text(confirm) and "Spring launch" in text(confirm)
    assert Segment.objects.filter(pk__in=ids).count() == 3  # nothing yet

    response = client_in.post(
        reverse("segments:bulk"), {"action": "delete", "ids": ids, "confirm": "yes"}
    )
    assert response.status_code == 302
    assert set(Segment.objects.filter(pk__in=ids).values_list("name", flat=True)) == {
        "Used by a campaign",
        "Named by a rule",
    }
    page = text(client_in.get(LIST))
    assert "Deleted 1 segment." in page and "2 segments not deleted" in page
    assert "Spring launch" in page
    assert f'href="/segments/{user.pk}/">“Rule user”</a>' in page
    assert f'href="/segments/{used.pk}/usage/"' in page
    assert "not deleted" not in text(client_in.get(LIST))  # said once


def test_bulk_delete_takes_a_segment_and_the_rule_that_uses_it(client_in, workspace):
    named = manual(workspace, "A named one")
    user = services.segment_create(
        workspace=workspace,
        name="B its user",
        kind="filter",
        conditions={"all": [{"segment": named.pk, "op": "in"}]},
    )
    client_in.post(
        reverse("segments:bulk"),
        {"action": "delete", "ids": [named.pk, user.pk], "confirm": "yes"},
    )
    assert not Segment.objects.filter(pk__in=[named.pk, user.pk]).exists()


def test_viewer_sees_but_cannot_change(member_client, workspace):
    segment = manual(workspace, "VIP")
    client = member_client(Role.VIEWER)
    page = text(client.get(LIST))
    assert "VIP" in page and "Create manual segment" not in page and "data-select-all" not in page
    detail = text(client.get(reverse("segments:detail", args=[segment.pk])))
    assert "Save as list" not in detail and "Add people" not in detail
    settings_page = text(client.get(reverse("segments:settings", args=[segment.pk])))
    assert "Save settings" not in settings_page and "viewer" in settings_page
    for name in ("create_manual", "bulk_create"):
        assert client.get(reverse(f"segments:{name}")).status_code == 403
    for name in ("clone", "save_as_list", "delete"):
        assert client.get(reverse(f"segments:{name}", args=[segment.pk])).status_code == 403
    posts = [
        (reverse("segments:bulk"), {"action": "delete", "ids": [segment.pk], "confirm": "yes"}),
        (reverse("segments:archive", args=[segment.pk]), {"archived": "1"}),
        (reverse("segments:settings", args=[segment.pk]), {"name": "Hacked"}),
        (reverse("segments:members_add", args=[segment.pk]), {"ids": ["1"]}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403
    segment.refresh_from_db()
    assert segment.name == "VIP" and not segment.archived


# ---------------------------------------------------------------- create


def test_create_manual_segment(client_in, workspace):
    url = reverse("segments:create_manual")
    response = client_in.post(url, {"name": "  Beta testers ", "description": "Signed up"})
    segment = Segment.objects.get(workspace=workspace, name="Beta testers")
    assert response["Location"] == reverse("segments:detail", args=[segment.pk])
    assert segment.kind == "manual" and segment.description == "Signed up"
    duplicate = client_in.post(url, {"name": "beta TESTERS"})
    assert duplicate.status_code == 400
    assert re.search(r'id_name_errors"><p class="field-error">A segment named', text(duplicate))
    blank = client_in.post(url, {"name": ""})
    assert blank.status_code == 400 and "id_name_errors" in text(blank)


def test_bulk_segment_counts_then_creates(client_in, workspace):
    for country in ("FR", "fr", "DE", "ES", ""):
        ContactFactory(workspace=workspace, country=country)
    url = reverse("segments:bulk_create")
    preview = client_in.get(url, {"field": "country"})
    assert "3 segments" in text(preview) and "Country: FR" in text(preview)
    fragment = client_in.get(url, {"field": "country", "name_prefix": "Land "}, **HTMX)
    assert 'id="bulk-preview"' in text(fragment) and "<html" not in text(fragment)
    assert "Land DE" in text(fragment)
    response = client_in.post(url, {"field": "country"})
    assert response.status_code == 302
    made = Segment.objects.filter(workspace=workspace, origin="bulk").order_by("name")
    assert [s.name for s in made] == ["Country: DE", "Country: ES", "Country: FR"]
    assert all(s.kind == "filter" for s in made)


def test_bulk_segment_refuses_beyond_the_limit(client_in, workspace, settings):
    settings.SEGMENT_LIMIT = 4
    manual(workspace, "Existing")
    for country in ("FR", "DE", "ES", "IT"):
        ContactFactory(workspace=workspace, country=country)
    url = reverse("segments:bulk_create")
    preview = text(client_in.get(url, {"field": "country"}))
    assert "This would make 4 segments" in preview and "room for 3 more" in preview
    response = client_in.post(url, {"field": "country"})
    assert response.status_code == 400 and "room for 3 more" in text(response)
    assert Segment.objects.filter(workspace=workspace).count() == 1


def test_bulk_segment_on_a_text_attribute_and_bad_fields(client_in, workspace):
    CustomAttributeFactory(workspace=workspace, key="plan", label="Plan")
    CustomAttributeFactory(workspace=workspace, key="seats", type="number")
    ContactFactory(workspace=workspace, attributes={"plan": "pro"})
    url = reverse("segments:bulk_create")
    page = text(client_in.get(url))
    assert 'value="attributes.plan"' in page and "attributes.seats" not in page
    assert "1 segment" in text(client_in.get(url, {"field": "attributes.plan"}))
    wrong = client_in.post(url, {"field": "attributes.seats"})
    assert wrong.status_code == 400 and "id_field_errors" in text(wrong)


# ---------------------------------------------------------------- the segment page


def test_tabs_are_pages_and_htmx_fragments(
    client_in, workspace, django_capture_on_commit_callbacks
):
    segment = manual(workspace, "VIP")
    french = filtered(workspace, django_capture_on_commit_callbacks)
    for name in ("detail", "usage", "history", "settings"):
        url = reverse(f"segments:{name}", args=[segment.pk])
        page = text(client_in.get(url))
        assert "<html" in page and 'id="segment-tabs"' in page and "<h1>VIP</h1>" in page
        fragment = client_in.get(url, **HTMX)
        body = text(fragment)
        assert "<html" not in body and "<h1>" not in body
        assert (
            'id="segment-tabs" class="tabs segment-tabs"' in body and 'hx-swap-oob="true"' in body
        )
        assert re.search(rf'href="{url}"[^>]*class="active"', body)
        assert "HX-Request" in fragment["Vary"]
    # Conditions: for filter segments only, the builder's page.
    assert "Conditions</a>" not in text(
        client_in.get(reverse("segments:detail", args=[segment.pk]))
    )
    page = text(client_in.get(reverse("segments:detail", args=[french.pk])))
    conditions = reverse("segments:conditions", args=[french.pk])
    assert f'href="{conditions}"' in page


def test_members_tab_lists_searches_and_pages(client_in, workspace):
    people = [ContactFactory(workspace=workspace, first_name=f"P{i:02}") for i in range(55)]
    ContactFactory(workspace=workspace, first_name="Outsider")
    segment = manual(workspace, "VIP", people)
    url = reverse("segments:detail", args=[segment.pk])
    page = text(client_in.get(url))
    assert "55</strong> members" in page and "Outsider" not in page
    assert page.count("data-select-row") == 50
    cursor = next_cursor(page)
    rest = text(client_in.get(url, {"cursor": cursor}))
    assert rest.count("data-select-row") == 5
    found = text(
        client_in.get(url, {"q": people[3].email}, HTTP_HX_TARGET="member-results", **HTMX)
    )
    assert '<section id="member-results"' in found and "segment-tabs" not in found
    assert people[3].email in found and people[4].email not in found


def test_add_people_by_type_ahead(client_in, workspace, other_workspace):
    ann = ContactFactory(workspace=workspace, first_name="Annabel", email="annabel@x.test")
    member = ContactFactory(workspace=workspace, first_name="Annette", email="annette@x.test")
    ContactFactory(workspace=other_workspace, first_name="Annika", email="annika@x.test")
    segment = manual(workspace, "VIP", [member])
    url = reverse("segments:detail", args=[segment.pk])
    candidates = text(client_in.get(url, {"find": "anna"}, HTTP_HX_TARGET="candidates", **HTMX))
    assert "Annabel" in candidates and "Annette" not in candidates and "Annika" not in candidates
    add = reverse("segments:members_add", args=[segment.pk])
    response = client_in.post(add, {"ids": [ann.pk], "find": "anna"}, **HTMX)
    body = text(response)
    assert "Added 1 person." in body
    assert 'id="segment-member-count" hx-swap-oob="true"><strong>2</strong>' in body
    assert 'value="anna"' in body  # the search stays, to add more
    assert SegmentMember.objects.filter(segment=segment, source=Source.MANUAL).count() == 2
    # Without JavaScript: back to the page, with a message.
    plain = client_in.post(add, {"ids": [ann.pk]})
    assert plain.status_code == 302 and plain["Location"] == url


def test_remove_members(client_in, workspace):
    people = ContactFactory.create_batch(3, workspace=workspace)
    segment = manual(workspace, "VIP", people)
    url = reverse("segments:members_remove", args=[segment.pk])
    response = client_in.post(url, {"ids": [people[0].pk, people[1].pk]}, **HTMX)
    assert "Removed 2 people." in text(response)
    segment.refresh_from_db()
    assert segment.member_count == 1
    assert SegmentChange.objects.filter(segment=segment, action="left").count() == 2
    nothing = client_in.post(url, {}, **HTMX)
    assert "Select the people to remove first." in text(nothing)


def test_filter_segment_members_cannot_be_changed_by_hand(
    client_in, workspace, django_capture_on_commit_callbacks
):
    french = filtered(workspace, django_capture_on_commit_callbacks)
    someone = ContactFactory(workspace=workspace, country="DE")
    page = text(client_in.get(reverse("segments:detail", args=[french.pk])))
    assert "Add people" not in page and "on their own" in page
    response = client_in.post(
        reverse("segments:members_add", args=[french.pk]), {"ids": [someone.pk]}, **HTMX
    )
    assert "filter segment" in text(response)
    assert not SegmentMember.objects.filter(segment=french).exists()


def _members_queries(client, segment) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("segments:detail", args=[segment.pk]))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_members_tab_queries_do_not_grow_with_members(client_in, workspace):
    people = ContactFactory.create_batch(300, workspace=workspace)
    segment = manual(workspace, "VIP", people[:10])
    small = _members_queries(client_in, segment)
    services.segment_members_add(segment=segment, lookup="id", values=[p.pk for p in people[10:]])
    segment.refresh_from_db()
    assert segment.member_count == 300
    assert _members_queries(client_in, segment) == small


def test_usage_tab_links_campaigns_and_rules(client_in, workspace):
    segment = manual(workspace, "VIP")
    in_use_by_campaign(segment, "Spring launch", role="trigger")
    user = services.segment_create(
        workspace=workspace,
        name="Uses VIP",
        kind="filter",
        conditions={"all": [{"segment": segment.pk, "op": "in"}]},
    )
    page = text(client_in.get(reverse("segments:usage", args=[segment.pk])))
    assert "Spring launch" in page and "Trigger" in page
    assert f'href="/segments/{user.pk}/">Uses VIP</a>' in page
    free = manual(workspace, "Free")
    assert "Nothing uses" in text(client_in.get(reverse("segments:usage", args=[free.pk])))


def test_history_chart_is_rebuilt_from_entries_and_exits(client_in, workspace):
    people = ContactFactory.create_batch(5, workspace=workspace)
    segment = manual(workspace, "VIP", people)  # 5 entered today
    services.segment_members_remove(segment=segment, lookup="id", values=[people[0].pk])
    now = timezone.now()
    # Move history back: 3 entered 10 days ago, 2 five days ago; the exit 2 days ago.
    entered = list(SegmentChange.objects.filter(segment=segment, action="entered").order_by("id"))
    for change, days in zip(entered, [10, 10, 10, 5, 5], strict=True):
        change.at = now - timedelta(days=days)
        change.save()
    SegmentChange.objects.filter(segment=segment, action="left").update(at=now - timedelta(days=2))
    response = client_in.get(reverse("segments:history", args=[segment.pk]))
    page = text(response)
    assert "<svg" in page and "style=" not in page.split("<svg", 1)[1].split("</svg>")[0]
    table = dict(re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">(\d+)</td>", page))
    day = lambda n: (timezone.localdate() - timedelta(days=n)).strftime("%a, %b %-d, %Y")  # noqa: E731
    assert table[day(11)] == "0"
    assert table[day(10)] == "3"
    assert table[day(5)] == "5"
    assert table[day(2)] == "4"
    assert table[day(0)] == "4"
    assert "From 0 on" in page and "to 4 on" in page
    assert "Added by hand" in page and "Entered" in page and "Left" in page
    ninety = text(client_in.get(reverse("segments:history", args=[segment.pk]), {"days": "90"}))
    assert "last 90 days" in ninety and ninety.count("<tr><td>") == 90


def test_history_names_the_cause(client_in, workspace, django_capture_on_commit_callbacks):
    ContactFactory(workspace=workspace, country="FR")
    french = filtered(workspace, django_capture_on_commit_callbacks)
    page = text(client_in.get(reverse("segments:history", args=[french.pk])))
    assert "The rule changed" in page and "no campaign trigger" in page


def test_settings_rename_describe_and_topics(client_in, workspace):
    TopicFactory(workspace=workspace, name="News")
    segment = manual(workspace, "VIP")
    url = reverse("segments:settings", args=[segment.pk])
    news = Topic.objects.get(name="News")
    response = client_in.post(
        url,
        {"name": "VIP 2", "description": "Updated", "topics": [news.pk], "new_topics": "Sales, x"},
    )
    assert response.status_code == 302
    segment.refresh_from_db()
    assert (segment.name, segment.description) == ("VIP 2", "Updated")
    assert sorted(segment.topics.values_list("name", flat=True)) == ["News", "Sales", "x"]
    manual(workspace, "Taken")
    clash = client_in.post(url, {"name": "taken"})
    assert clash.status_code == 400
    assert re.search(r'id_name_errors"><p class="field-error">A segment named', text(clash))
    over_htmx = client_in.post(url, {"name": "taken"}, **HTMX)
    assert over_htmx.status_code == 200 and "A segment named" in text(over_htmx)
    ok_htmx = client_in.post(url, {"name": "VIP 3"}, **HTMX)
    assert ok_htmx["HX-Redirect"] == url


# ---------------------------------------------------------------- actions


def test_clone_a_manual_segment_copies_members(client_in, workspace):
    people = ContactFactory.create_batch(3, workspace=workspace)
    segment = manual(workspace, "VIP", people)
    url = reverse("segments:clone", args=[segment.pk])
    assert 'value="Copy of VIP"' in text(client_in.get(url))
    response = client_in.post(url, {"name": "VIP copy"})
    clone = Segment.objects.get(name="VIP copy")
    assert response["Location"] == reverse("segments:detail", args=[clone.pk])
    assert clone.origin == "clone" and clone.member_count == 3
    duplicate = client_in.post(url, {"name": "vip COPY"})
    assert duplicate.status_code == 400 and "already exists" in text(duplicate)


def test_clone_a_filter_segment_opens_its_conditions(
    client_in, workspace, django_capture_on_commit_callbacks
):
    french = filtered(workspace, django_capture_on_commit_callbacks)
    response = client_in.post(reverse("segments:clone", args=[french.pk]), {"name": "French 2"})
    clone = Segment.objects.get(name="French 2")
    assert clone.conditions == french.conditions and clone.kind == "filter"
    assert response["Location"] == reverse("segments:conditions", args=[clone.pk])


def test_save_as_list_freezes_members(client_in, workspace, django_capture_on_commit_callbacks):
    ContactFactory.create_batch(2, workspace=workspace, country="FR")
    french = filtered(workspace, django_capture_on_commit_callbacks)
    url = reverse("segments:save_as_list", args=[french.pk])
    response = client_in.post(url, {"name": "French today"})
    saved = Segment.objects.get(name="French today")
    assert response["Location"] == reverse("segments:detail", args=[saved.pk])
    assert (saved.kind, saved.origin, saved.member_count) == ("manual", "list", 2)
    assert client_in.post(url, {"name": ""}).status_code == 400


def test_archive_and_unarchive(client_in, workspace):
    segment = manual(workspace, "VIP")
    url = reverse("segments:archive", args=[segment.pk])
    client_in.post(url, {"archived": "1"})
    segment.refresh_from_db()
    assert segment.archived
    page = text(client_in.get(reverse("segments:detail", args=[segment.pk])))
    assert "Unarchive" in page and "Archived" in page
    client_in.post(url, {"archived": "0"})
    segment.refresh_from_db()
    assert not segment.archived


def test_delete_asks_then_deletes(client_in, workspace):
    segment = manual(workspace, "VIP")
    url = reverse("segments:delete", args=[segment.pk])
    page = text(client_in.get(url))
    assert "Delete “VIP”?" in page and "Delete segment" in page
    assert Segment.objects.filter(pk=segment.pk).exists()
    response = client_in.post(url)
    assert response["Location"] == LIST and not Segment.objects.filter(pk=segment.pk).exists()


def test_delete_guard_says_what_uses_it_with_links(client_in, workspace):
    segment = manual(workspace, "VIP")
    in_use_by_campaign(segment, "Spring launch", role="exclude")
    user = services.segment_create(
        workspace=workspace,
        name="Uses VIP",
        kind="filter",
        conditions={"all": [{"segment": segment.pk, "op": "not_in"}]},
    )
    url = reverse("segments:delete", args=[segment.pk])
    guard = text(client_in.get(url))
    assert "is in use" in guard and "Delete segment" not in guard
    assert "Spring launch" in guard and "Exclude" in guard
    assert f'href="/segments/{user.pk}/">Uses VIP</a>' in guard
    assert "Archive instead" in guard
    refused = client_in.post(url)
    assert refused.status_code == 409 and "is in use" in text(refused)
    assert Segment.objects.filter(pk=segment.pk).exists()


def test_pages_of_another_workspace_are_404(client, workspace, other_workspace, user):
    theirs = manual(other_workspace, "Theirs")
    contact = ContactFactory(workspace=other_workspace)
    client.force_login(user)
    for name in ("detail", "usage", "history", "settings", "clone", "delete"):
        assert client.get(reverse(f"segments:{name}", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("segments:contact_segments", args=[contact.pk])).status_code == 404
    mine = ContactFactory(workspace=workspace)
    why = reverse("segments:contact_why", args=[mine.pk])
    assert client.get(why, {"segment": theirs.pk}).status_code == 404
    assert client.get(why, {"segment": "x"}).status_code == 404
    add = reverse("segments:contact_add", args=[mine.pk])
    response = client.post(add, {"segments": [theirs.pk]}, **HTMX)
    assert "no longer exist" in text(response)
    assert not SegmentMember.objects.filter(segment=theirs).exists()


# ---------------------------------------------------------------- the contact's Segments


def test_contact_page_lists_segments_with_why_and_actions(
    client_in, workspace, django_capture_on_commit_callbacks
):
    contact = ContactFactory(workspace=workspace, country="FR")
    vip = manual(workspace, "VIP", [contact])
    manual(workspace, "Beta")
    french = filtered(workspace, django_capture_on_commit_callbacks)
    page = text(client_in.get(reverse("contacts:detail", args=[contact.pk])))
    section = page[page.index('id="segments"') :]
    assert f'href="/segments/{vip.pk}/" class="segment-link">VIP</a>' in section
    assert f'href="/segments/{french.pk}/" class="segment-link">French</a>' in section
    why = reverse("segments:contact_why", args=[contact.pk])
    assert f"{why}?segment={french.pk}" in section and f"{why}?segment={vip.pk}" not in section
    assert f'name="segment" value="{vip.pk}"' in section  # remove from the manual one
    picker = section[section.index("segment-picker") :].split("</fieldset>")[0]
    assert "Beta" in picker and "VIP" not in picker and "French" not in picker
    assert "Entries and exits" in section and "rule change" in section


def test_why_explains_each_condition_with_the_contacts_value(
    client_in, workspace, django_capture_on_commit_callbacks
):
    contact = ContactFactory(workspace=workspace, country="FR", language="de")
    rule = {
        "all": [
            {"field": "country", "op": "eq", "value": "FR"},
            {
                "any": [
                    {"field": "language", "op": "eq", "value": "fr"},
                    {"tag": "vip", "op": "has_not"},
                ]
            },
        ]
    }
    segment = filtered(workspace, django_capture_on_commit_callbacks, "French", rule)
    url = reverse("segments:contact_why", args=[contact.pk])
    fragment = text(client_in.get(url, {"segment": segment.pk}, **HTMX))
    assert "<html" not in fragment and "In this segment" in fragment
    assert fragment.count("✓") == 4 and fragment.count("✗") == 1
    assert "Language is fr" in fragment and "the contact&#x27;s value: &#x27;de&#x27;" in fragment
    page = text(client_in.get(url, {"segment": segment.pk}))
    assert "<html" in page and "Back to" in page


def test_add_contact_to_several_segments_and_remove(client_in, workspace):
    contact = ContactFactory(workspace=workspace)
    a, b = manual(workspace, "A"), manual(workspace, "B")
    add = reverse("segments:contact_add", args=[contact.pk])
    response = client_in.post(add, {"segments": [a.pk, b.pk]}, **HTMX)
    assert "Added to “A”, “B”." in text(response) and "<html" not in text(response)
    assert set(
        SegmentMember.objects.filter(contact=contact).values_list("segment__name", flat=True)
    ) == {"A", "B"}
    remove = reverse("segments:contact_remove", args=[contact.pk])
    plain = client_in.post(remove, {"segment": a.pk})
    assert plain["Location"] == reverse("contacts:detail", args=[contact.pk]) + "#segments"
    assert list(
        SegmentMember.objects.filter(contact=contact).values_list("segment__name", flat=True)
    ) == ["B"]
    assert "Pick at least one segment." in text(client_in.post(add, {}, **HTMX))


def test_contact_cannot_be_added_to_a_filter_segment(
    client_in, workspace, django_capture_on_commit_callbacks
):
    contact = ContactFactory(workspace=workspace, country="DE")
    french = filtered(workspace, django_capture_on_commit_callbacks)
    add = reverse("segments:contact_add", args=[contact.pk])
    assert "filter segment" in text(client_in.post(add, {"segments": [french.pk]}, **HTMX))
    assert not SegmentMember.objects.filter(segment=french).exists()


def test_contact_page_queries_do_not_grow_with_segments(client_in, workspace):
    contact = ContactFactory(workspace=workspace)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client_in.get(reverse("contacts:detail", args=[contact.pk])).status_code == 200
        return len(ctx.captured_queries)

    manual(workspace, "S0", [contact])
    small = queries()
    for i in range(1, 30):
        manual(workspace, f"S{i}", [contact])
    assert queries() == small


# ---------------------------------------------------------------- contact list actions


BULK = reverse("contacts:bulk")


def test_add_checked_contacts_to_two_segments(client_in, workspace):
    people = ContactFactory.create_batch(3, workspace=workspace)
    a, b = manual(workspace, "A", people[:1]), manual(workspace, "B")
    response = client_in.post(
        BULK,
        {
            "action": "add_to_segments",
            "ids": [p.pk for p in people],
            "add_to_segments-segments": [a.pk, b.pk],
        },
    )
    assert response.status_code == 302
    a.refresh_from_db(), b.refresh_from_db()
    assert (a.member_count, b.member_count) == (3, 3)
    page = text(client_in.get(reverse("contacts:list")))
    assert "Added 2 contacts to “A” and 3 contacts to “B”." in page
    assert "Add to segments" in page and "Remove from segment" in page


def test_remove_checked_contacts_from_a_segment(client_in, workspace):
    people = ContactFactory.create_batch(3, workspace=workspace)
    segment = manual(workspace, "A", people)
    client_in.post(
        BULK,
        {
            "action": "remove_from_segment",
            "ids": [people[0].pk],
            "remove_from_segment-segment": segment.pk,
        },
    )
    segment.refresh_from_db()
    assert segment.member_count == 2


def test_all_that_match_the_filter_goes_beyond_the_page(client_in, workspace):
    french = ContactFactory.create_batch(60, workspace=workspace, country="FR")
    ContactFactory.create_batch(5, workspace=workspace, country="DE")
    segment = manual(workspace, "A")
    listing = text(client_in.get(reverse("contacts:list"), {"country": "FR"}))
    assert "All 60 contacts that match" in listing and 'name="query" value="country=FR"' in listing
    client_in.post(
        BULK,
        {
            "action": "add_to_segments",
            "all_matching": "1",
            "query": "country=FR",
            "add_to_segments-segments": [segment.pk],
        },
    )
    members = set(
        SegmentMember.objects.filter(segment=segment).values_list("contact_id", flat=True)
    )
    assert members == {p.pk for p in french}
    segment.refresh_from_db()
    assert segment.member_count == 60
    client_in.post(
        BULK,
        {
            "action": "remove_from_segment",
            "all_matching": "1",
            "query": "country=FR&q=" + french[0].email,
            "remove_from_segment-segment": segment.pk,
        },
    )
    segment.refresh_from_db()
    assert segment.member_count == 59


def test_tagging_all_that_match_below_the_threshold_is_done_at_once(client_in, workspace):
    from jobs.models import Job

    french = ContactFactory.create_batch(3, workspace=workspace, country="FR")
    other = ContactFactory(workspace=workspace, country="DE")
    response = client_in.post(
        BULK,
        {"action": "tag", "all_matching": "1", "query": "country=FR", "tag-name": "x"},
        **HTMX,
    )
    assert response.status_code in (200, 204, 302)
    tagged = set(Contact.objects.filter(tags__name="x").values_list("pk", flat=True))
    assert tagged == {c.pk for c in french} and other.pk not in tagged
    assert not Job.objects.exists()


def test_bulk_add_refuses_filter_segments(client_in, workspace, django_capture_on_commit_callbacks):
    person = ContactFactory(workspace=workspace, country="DE")
    french = filtered(workspace, django_capture_on_commit_callbacks)
    response = client_in.post(
        BULK,
        {"action": "add_to_segments", "ids": [person.pk], "add_to_segments-segments": [french.pk]},
        **HTMX,
    )
    assert "filter segment" in text(response)
    assert not SegmentMember.objects.filter(segment=french).exists()


def test_set_based_add_runs_the_same_queries_for_any_number(workspace):
    from contacts.models import Contact

    segment = manual(workspace, "A")
    ContactFactory.create_batch(10, workspace=workspace, country="FR")

    def add_all():
        with CaptureQueriesContext(connection) as ctx:
            services.segment_contacts_add(
                segment=segment, contacts=Contact.objects.filter(workspace=workspace)
            )
        return len(ctx.captured_queries)

    small = add_all()
    ContactFactory.create_batch(200, workspace=workspace, country="FR")
    assert add_all() == small
    segment.refresh_from_db()
    assert segment.member_count == 210

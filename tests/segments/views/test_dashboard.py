"""The segments dashboard (segments/views/dashboard.py): columns, search, filters,
sorts and keyset pages in a fixed number of queries, and the bulk actions: archive,
restore, delete (asking first, skipping what is in use and saying by what)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, CampaignSegment
from segments import services
from segments.models import Segment
from tests.factories import (
    ContactFactory,
    TopicFactory,
)
from tests.segments.views.pages import (
    HTMX,
    LIST,
    campaign_named,
    filtered,
    in_use_by_campaign,
    manual,
    names_in_table,
    next_cursor,
    text,
    unescaped,
    uses,
)
from workspaces.models import Role

pytestmark = pytest.mark.django_db


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


def test_each_rows_actions_link_to_its_own_segment(
    client_in, workspace, django_capture_on_commit_callbacks
):
    """The row menus' links (reversed once for the page, each row's id put in)."""
    hand = manual(workspace, "Hand")
    rule = filtered(workspace, django_capture_on_commit_callbacks, "French")
    page = text(client_in.get(LIST))
    for segment, edit in ((hand, "segments:settings"), (rule, "segments:conditions")):
        row = page[page.index(f'data-segment-id="{segment.pk}"') :].split("</tr>")[0]
        links = re.findall(r'href="([^"]+)"', row)
        wanted = [reverse(edit, args=[segment.pk])] + [
            reverse(name, args=[segment.pk])
            for name in ("segments:mass_update", "segments:reset_score", "segments:delete_all")
        ]
        assert reverse("segments:detail", args=[segment.pk]) in links
        assert set(wanted) <= set(links)
        assert (reverse("segments:remove_all", args=[segment.pk]) in links) == (segment is hand)
        assert all(str(segment.pk) in link for link in links if link.startswith("/segments/"))


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


def test_the_topic_picker_is_drawn_from_one_plain_query(client_in, workspace, monkeypatch):
    news, alerts = (
        TopicFactory(workspace=workspace, name="News <daily>"),
        TopicFactory(workspace=workspace, name="Alerts"),
    )

    def server_side_cursor(*args, **kwargs):  # DECLARE, FETCH, CLOSE on PostgreSQL
        raise AssertionError("the dashboard read rows through a server-side cursor")

    monkeypatch.setattr(connection, "chunked_cursor", server_side_cursor)
    page = client_in.get(LIST, {"topic": news.pk}).content.decode()
    assert (
        '<option value="">Any topic</option>'
        f'<option value="{alerts.pk}">Alerts</option>'
        f'<option value="{news.pk}" selected>News &lt;daily&gt;</option>'
    ) in page


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
    from segments.views import common, dashboard

    page = text(client_in.get(LIST))
    assert "Create manual segment" in page and "Bulk segment" in page
    builder = common.url_or_none("segments:create")
    assert (builder is not None) == (f'href="{builder}"' in page)
    monkeypatch.setattr(dashboard, "url_or_none", lambda name, *args: None)
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
    campaign = in_use_by_campaign(used, "Spring launch")
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
    assert f"Used by the campaign {campaign_named(campaign)} (include)." in page
    assert f'Used by the segment <a href="/segments/{user.pk}/">Rule user</a>.' in page
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


# ---------------------------------------------------------------- the bulk delete's confirmation
# It counts only the deletable segments on its button and names the kept ones with
# what uses them.


def confirm(client, ids):
    return unescaped(client.post(reverse("segments:bulk"), {"action": "delete", "ids": ids}))


def test_the_button_counts_only_what_will_be_deleted(client_in, workspace):
    free = manual(workspace, "Free")
    used = manual(workspace, "Used")
    campaign = Campaign.objects.create(workspace=workspace, name="Spring launch")
    CampaignSegment.objects.create(campaign=campaign, segment=used, role="include")
    page = confirm(client_in, [free.pk, used.pk])
    assert "Delete 1 segment?" in page and ">Delete 1 segment</button>" in page
    going = page.split('id="bulk-delete-going"')[1].split("</ul>")[0]
    kept = page.split('id="bulk-delete-kept"')[1].split("</ul>")[0]
    assert "Free" in going and "Used" not in going
    assert "Used" in kept
    assert f"Used by the campaign {campaign_named(campaign)} (include)." in kept
    assert f'name="ids" value="{used.pk}"' not in page  # only the deletable ones are sent


def test_a_segment_named_by_a_selected_rule_goes_with_it_else_stays(client_in, workspace):
    named = manual(workspace, "Named")
    user = uses(named, "User")
    other = manual(workspace, "Other named")
    uses(other, "Outside user")
    page = confirm(client_in, [named.pk, user.pk, other.pk])
    assert ">Delete 2 segments</button>" in page
    kept = page.split('id="bulk-delete-kept"')[1].split("</ul>")[0]
    outside = Segment.objects.get(name="Outside user")
    assert "Other named" in kept
    assert f'Used by the segment <a href="/segments/{outside.pk}/">Outside user</a>.' in kept


def test_when_nothing_can_go_there_is_no_delete_button(client_in, workspace):
    named = manual(workspace, "Named")
    uses(named, "User")
    page = confirm(client_in, [named.pk])
    assert "This segment is in use" in page and "</button>" not in page.split("<form")[-1]

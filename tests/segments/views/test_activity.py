"""The segment page's Activity tab (segments/views/activity.py): the segment's audit
trail in words, newest first, a keyset page at a time ("Older"), only its own
workspace's entries, a fixed number of queries."""

import html
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from segments import services
from segments.views import activity
from tests.factories import UserFactory
from tests.segments.views.pages import HTMX, manual
from tests.workspaces.test_audit import make_entries
from workspaces import audit
from workspaces.models import AuditEntry, Membership, Role

pytestmark = pytest.mark.django_db


def address(segment) -> str:
    return reverse("segments:activity", args=[segment.pk])


def listed(response) -> list[str]:
    page = response.content.decode()
    found = re.findall(
        r'<li class="event audit-entry"[^>]*>\s*<span>([^<]*)</span>\s*· <time[^>]*>([^<]*)</time>',
        page,
    )
    return [f"{html.unescape(words)} · {html.unescape(when)}" for words, when in found]


def test_the_tab_tells_what_happened_newest_first(client_in, workspace):
    ann = UserFactory(username="ann")
    Membership.objects.create(workspace=workspace, user=ann, role=Role.MARKETER)
    with audit.acting_as(ann):
        segment = manual(workspace, "VIP")
        segment = services.segment_update(segment=segment, name="Gold")
    created, renamed = AuditEntry.objects.order_by("id")
    AuditEntry.objects.filter(pk=created.pk).update(created_at=timezone.now() - timedelta(days=2))
    AuditEntry.objects.filter(pk=renamed.pk).update(
        created_at=timezone.now() - timedelta(minutes=3)
    )
    response = client_in.get(address(segment))
    assert response.status_code == 200
    assert listed(response) == [
        "ann renamed it from “VIP” to “Gold” · 3\xa0minutes ago",
        "ann created it · 2\xa0days ago",
    ]
    assert 'aria-current="page">Activity</a>' in response.content.decode()
    # From another tab, HTMX swaps the tab in.
    fragment = client_in.get(address(segment), **HTMX)
    assert "<html" not in fragment.content.decode() and len(listed(fragment)) == 2


def test_a_viewer_reads_it_too(member_client, workspace):
    segment = manual(workspace, "VIP")
    response = member_client(Role.VIEWER).get(address(segment))
    assert [line.split(" · ")[0] for line in listed(response)] == ["system created it"]


def test_older_entries_by_keyset_and_htmx(client_in, workspace, monkeypatch):
    monkeypatch.setattr(activity, "PAGE_SIZE", 4)
    segment = manual(workspace, "S0")
    for n in range(1, 10):
        segment = services.segment_update(segment=segment, name=f"S{n}")
    seen, response = [], client_in.get(address(segment))
    while True:
        seen += [line.split(" · ")[0] for line in listed(response)]
        older = re.search(r'rel="next" href="([^"]+)"', response.content.decode())
        if not older:
            break
        response = client_in.get(html.unescape(older.group(1)), HTTP_HX_TARGET="activity", **HTMX)
        assert 'id="activity"' in response.content.decode()
        assert "segment-tabs" not in response.content.decode()
    renames = [f"system renamed it from “S{n - 1}” to “S{n}”" for n in range(9, 0, -1)]
    assert seen == [*renames, "system created it"]
    bad = client_in.get(address(segment), {"cursor": "not-a-cursor"})
    assert bad.status_code == 200 and "no longer fits" in bad.content.decode()


def test_only_its_own_entries_and_never_another_workspaces(client_in, workspace, other_workspace):
    segment = manual(workspace, "VIP")
    manual(workspace, "Other")
    theirs = manual(other_workspace, "Theirs")
    # An entry of the other workspace that happens to name the same id.
    AuditEntry.objects.create(
        workspace=other_workspace,
        actor_name="mallory",
        verb="renamed",
        subject_type="segment",
        subject_id=segment.pk,
        subject_name="Secret",
        details={"old": "Secret", "new": "Plans"},
    )
    lines = listed(client_in.get(address(segment)))
    assert [line.split(" · ")[0] for line in lines] == ["system created it"]
    assert client_in.get(address(theirs)).status_code == 404


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_same_queries_for_5_and_50_entries(client_in, workspace, monkeypatch):
    monkeypatch.setattr(activity, "PAGE_SIZE", 50)
    segment = manual(workspace, "VIP")

    make_entries(workspace, segment, 4)
    five = _queries(client_in, address(segment))
    make_entries(workspace, segment, 45)
    assert _queries(client_in, address(segment)) == five
    assert len(listed(client_in.get(address(segment)))) == 50


def test_the_history_tabs_pager_is_the_same_and_keeps_the_period(client_in, workspace, monkeypatch):
    from segments.views import history
    from tests.factories import ContactFactory

    monkeypatch.setattr(history, "CHANGES_PAGE_SIZE", 2)
    segment = manual(workspace, "VIP", ContactFactory.create_batch(3, workspace=workspace))
    url = reverse("segments:history", args=[segment.pk])
    page = html.unescape(client_in.get(url, {"days": "90"}).content.decode())
    older = re.search(r'rel="next" href="([^"]+)"', page).group(1)
    assert older.startswith(f"{url}?days=90&cursor=") and older.endswith("#changes")
    rest = client_in.get(older.split("#")[0], HTTP_HX_TARGET="changes", **HTMX)
    assert rest.content.decode().count("<tr>") == 2  # the header and the third entry
    assert 'rel="prev"' in rest.content.decode()

"""The audit trail (workspaces/audit.py): each change through the services, a page and
the API leaves exactly one entry naming who, in words; an action's start and how it
ended; nothing when the change rolls back; the workspace's Audit log page (owners and
admins only, filtered, paged, a fixed number of queries) and its read-only admin."""

import html
import io
import re

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts import exports
from contacts.services.tags import contact_tags_add
from contacts.sets import ContactSet
from jobs import runner
from jobs.models import Job
from jobs.services import job_cancel
from segments import actions, services
from segments.models import Segment
from tests.api_helpers import ApiClient
from tests.factories import ContactFactory, UserFactory
from workspaces import audit
from workspaces.models import AuditEntry, Membership, Role
from workspaces.services import api_key_create, api_key_revoke, membership_add

pytestmark = pytest.mark.django_db

AUDIT = reverse("workspaces:audit")
FRANCE = {"all": [{"field": "country", "op": "eq", "value": "FR"}]}


def entries(**filters) -> list[AuditEntry]:
    if "subject_id" in filters:
        filters.setdefault("subject_type", "segment")
    return list(AuditEntry.objects.filter(**filters).order_by("created_at", "id"))


def said(entry, on_subject=True) -> str:
    return audit.words(entry, on_subject=on_subject)


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def listed(response) -> list[str]:
    """The sentences of the page's entries, in order."""
    found = re.findall(
        r'<li class="event audit-entry"[^>]*>\s*<span>([^<]*)</span>', page_text(response)
    )
    return [html.unescape(s) for s in found]


@pytest.fixture
def ann(workspace):
    user = UserFactory(username="ann")
    Membership.objects.create(workspace=workspace, user=user, role=Role.MARKETER)
    return user


# ---------------------------------------------------------------- through the services


def test_each_change_of_a_segment_leaves_one_entry_in_words(workspace, ann):
    with audit.acting_as(ann):
        segment = services.segment_create(
            workspace=workspace, name="French", kind="filter", conditions=FRANCE
        )
        segment = services.segment_update(segment=segment, name="France")
        services.segment_update(segment=segment, description="Our French friends")
        services.segment_update(
            segment=segment,
            conditions={"all": [{"field": "country", "op": "eq", "value": "BE"}]},
        )
        services.segment_update(segment=segment, name="France", description="Our French friends")
        services.segments_set_archived(workspace=workspace, ids=[segment.pk], archived=True)
        services.segments_set_archived(workspace=workspace, ids=[segment.pk], archived=True)
        services.segment_update(segment=segment, archived=False)
        services.segment_update(segment=segment, topics=["Spring"])
        copy = services.segment_clone(segment=segment, name="France copy")
        snapshot = services.segment_save_as_list(segment=segment, name="France today")
        services.segment_delete(segment=copy)
    mine = entries(subject_id=segment.pk)
    assert [e.verb for e in mine] == [
        "created",
        "renamed",
        "described",
        "rule_changed",
        "archived",
        "unarchived",
        "topics",
    ]  # saving unchanged values, or archiving twice, records nothing
    assert all(e.actor == ann and e.actor_name == "ann" for e in mine)
    assert [said(e) for e in mine] == [
        "ann created it",
        "ann renamed it from “French” to “France”",
        "ann changed its description",
        "ann changed its rule: added “Country is BE”; removed “Country is FR”",
        "ann archived it",
        "ann unarchived it",
        "ann set its topics to Spring",
    ]
    assert mine[1].details == {"old": "French", "new": "France"}
    (cloned, deleted) = entries(subject_id=copy.pk)
    assert said(cloned) == "ann created it as a copy of “France”"
    assert said(deleted, on_subject=False) == "ann deleted the segment “France copy”"
    assert not Segment.objects.filter(pk=copy.pk).exists()  # its entries still read well
    (saved,) = entries(subject_id=snapshot.pk)
    assert said(saved) == "ann saved the members of “France” as it (0 contacts)"


def test_no_request_is_the_system(workspace):
    segment = services.segment_create(workspace=workspace, name="VIP", kind="manual")
    (entry,) = entries(subject_id=segment.pk)
    assert entry.actor is None and entry.actor_key is None
    assert said(entry, on_subject=False) == "system created the segment “VIP”"


def test_a_change_that_rolls_back_leaves_no_entry(workspace, ann):
    segment = services.segment_create(workspace=workspace, name="VIP", kind="manual")
    services.segment_create(workspace=workspace, name="Gold", kind="manual")
    before = AuditEntry.objects.count()
    with pytest.raises(services.DuplicateName):
        services.segment_update(segment=segment, name="gold")
    with pytest.raises(RuntimeError), transaction.atomic():
        services.segment_update(segment=segment, name="Platinum")
        raise RuntimeError("something after it failed")
    assert AuditEntry.objects.count() == before
    segment.refresh_from_db()
    assert segment.name == "VIP"


def test_an_action_records_its_start_with_the_reason_and_its_outcome(
    workspace, user, django_capture_on_commit_callbacks
):
    ContactFactory.create_batch(3, workspace=workspace, country="FR", score=5)
    with django_capture_on_commit_callbacks(execute=True):
        segment = services.segment_create(
            workspace=workspace, name="French", kind="filter", conditions=FRANCE
        )
    with audit.acting_as(user):
        job = actions.action_start(
            segment=segment, action="reset_score", user=user, reason="New model"
        )
    runner.run(job.pk)
    started, done = entries(subject_id=segment.pk, job_id=job.pk)
    assert started.verb == "action_started" and done.verb == "action_done"
    assert started.details["reason"] == "New model"
    assert said(started) == "owner started “Reset score” on its members (reason: New model)"
    assert said(done) == "owner’s “Reset score” on its members finished: 3 contacts"
    assert done.actor == user and done.details["message"] == Job.objects.get().message


def test_a_cancelled_action_says_how_far_it_got(workspace, user, monkeypatch):
    people = ContactFactory.create_batch(4, workspace=workspace)
    segment = services.segment_create(workspace=workspace, name="VIP", kind="manual")
    services.segment_members_add(segment=segment, lookup="id", values=[p.pk for p in people])
    monkeypatch.setattr(actions, "CHUNK_SIZE", 2)
    job = actions.action_start(segment=segment, action="remove_all", user=user)
    remove = actions.ACTIONS["remove_all"].chunk

    def then_cancel(segment, ids):
        job_cancel(job=job)
        return remove(segment, ids)

    monkeypatch.setitem(
        actions.ACTIONS,
        "remove_all",
        actions.Action("remove_all", "Remove all members", "removed", then_cancel),
    )
    runner.run(job.pk)
    outcome = entries(job_id=job.pk)[-1]
    assert outcome.verb == "action_cancelled"
    assert said(outcome, on_subject=False) == (
        "owner’s “Remove all members” on the segment “VIP”’s members was cancelled after "
        "2 of 4 contacts"
    )


def test_a_mass_update_and_an_export_of_a_segments_members_are_recorded_on_it(
    client_in, workspace, user, django_capture_on_commit_callbacks
):
    people = ContactFactory.create_batch(3, workspace=workspace, country="DE")
    segment = services.segment_create(workspace=workspace, name="VIP", kind="manual")
    services.segment_members_add(segment=segment, lookup="id", values=[p.pk for p in people])
    data = {"field": "country", "value": "FR", "confirm": "1"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client_in.post(reverse("segments:mass_update", args=[segment.pk]), data)
    assert response.status_code == 302
    with audit.acting_as(user):
        exports.export_start(
            workspace=workspace,
            user=user,
            contact_set=ContactSet.matching(workspace, f"segment={segment.pk}"),
            format="csv",
            fields=["email"],
            name="vip",
        )
        # A list filtered further is not the segment's members: nothing on the segment.
        exports.export_start(
            workspace=workspace,
            user=user,
            contact_set=ContactSet.matching(workspace, f"segment={segment.pk}&country=FR"),
            format="csv",
            fields=["email"],
        )
    update, update_done, export = entries(subject_id=segment.pk)[1:]
    assert said(update) == "owner started “Mass update” on its members: Set Country to “FR”"
    assert said(update_done) == "owner’s “Mass update” on its members finished: 3 contacts"
    assert said(export) == "owner started “Export” on its members: vip.csv"
    assert AuditEntry.objects.filter(verb="action_started").count() == 2


def test_the_export_segment_command_is_recorded_as_the_systems(
    workspace, tmp_path, django_capture_on_commit_callbacks
):
    ContactFactory.create_batch(2, workspace=workspace, country="FR")
    with django_capture_on_commit_callbacks(execute=True):
        segment = services.segment_create(
            workspace=workspace, name="VIP", kind="filter", conditions=FRANCE
        )
    out = tmp_path / "vip.csv"
    call_command("export_segment", "VIP", "--workspace", "acme", "--output", str(out),
                 stdout=io.StringIO(), stderr=io.StringIO())  # fmt: skip
    exported = entries(subject_id=segment.pk)[-1]
    assert said(exported) == "system’s “Export” on its members finished: 2 contacts"
    assert exported.details["message"] == "export_segment wrote vip.csv on the server."


def test_members_and_api_keys_are_recorded(workspace, user):
    UserFactory(username="bob")
    with audit.acting_as(user):
        bob = membership_add(workspace=workspace, username="bob", role=Role.VIEWER)
        from workspaces.services import membership_remove, membership_set_role

        membership_set_role(membership=bob, role=Role.MARKETER)
        membership_remove(membership=bob)
        key, _ = api_key_create(workspace=workspace, name="Zapier")
        api_key_revoke(api_key=key)
        api_key_revoke(api_key=key)  # already revoked: nothing more
    assert [said(e, on_subject=False) for e in entries(workspace=workspace)] == [
        "owner added bob as viewer",
        "owner changed bob’s role from viewer to marketer",
        "owner removed bob from the workspace",
        "owner created the API key “Zapier”",
        "owner revoked the API key “Zapier”",
    ]


def test_attributes_tags_and_topics_are_recorded(workspace, user):
    from contacts.services import attribute_define, attribute_delete, tag_delete, tag_rename
    from contacts.services.topics import topic_create, topic_delete

    tagged = ContactFactory(workspace=workspace)
    with audit.acting_as(user):
        attribute = attribute_define(workspace=workspace, key="plan", type="text")
        attribute_delete(attribute=attribute)
        (tag,) = contact_tags_add(contact=tagged, names=["vip"]).tags.all()
        tag_rename(tag=tag, name="VIP")
        tag_rename(tag=tag, name="VIP")  # the same name: nothing
        tag_delete(tag=tag)
        topic = topic_create(workspace=workspace, name="News")
        topic_delete(topic=topic)
    assert [said(e, on_subject=False) for e in entries(workspace=workspace)] == [
        "owner created the custom attribute “plan”",
        "owner deleted the custom attribute “plan”",
        "owner renamed the tag “VIP” from “vip” to “VIP”",
        "owner deleted the tag “VIP”",
        "owner created the topic “News”",
        "owner deleted the topic “News”",
    ]


def test_an_import_run_and_a_campaign_send_are_recorded_with_their_outcome(
    workspace, user, django_capture_on_commit_callbacks
):
    from campaigns.services import CampaignData, campaign_create, campaign_send
    from tests.imports import helpers

    imp = helpers.make(workspace, user, b"email\nann@x.io\nbob@x.io\n", name="leads.csv")
    helpers.run(imp, user)
    segment = services.segment_create(workspace=workspace, name="All", kind="manual")
    data = CampaignData(name="Spring", subject="Hi", body="Hello", include=[segment])
    campaign = campaign_create(workspace=workspace, data=data)
    with django_capture_on_commit_callbacks(execute=True):
        campaign_send(campaign=campaign, user=user)
    lines = [said(e, on_subject=False) for e in entries(verb__startswith="action_")]
    assert lines == [
        f"owner started “Import” of the import “{imp.name}”: leads.csv",
        f"owner’s “Import” of the import “{imp.name}” finished: 2 contacts",
        "owner started “Send” of the campaign “Spring”",
        "owner’s “Send” of the campaign “Spring” finished: 0 contacts",
    ]


# ---------------------------------------------------------------- through a page and the API


def test_a_page_names_the_signed_in_member(client, workspace, ann):
    segment = services.segment_create(workspace=workspace, name="VIP", kind="manual")
    client.force_login(ann)
    data = {"name": "Gold", "description": ""}
    response = client.post(reverse("segments:settings", args=[segment.pk]), data)
    assert response.status_code == 302
    client.post(reverse("segments:archive", args=[segment.pk]))
    last = entries(subject_id=segment.pk)[1:]
    assert [said(e) for e in last] == ["ann renamed it from “VIP” to “Gold”", "ann archived it"]
    assert all(e.actor == ann for e in last)


def test_the_api_names_its_key(workspace):
    key, raw = api_key_create(workspace=workspace, name="CRM sync")
    api = ApiClient(raw)
    created = api.post("/segments", {"name": "Germans", "kind": "manual"}).json()
    response = api.patch(f"/segments/{created['id']}", {"name": "Deutsch"})
    assert response.status_code == 200
    first, renamed = entries(subject_id=created["id"])
    assert first.actor_key == key and renamed.actor_key == key and renamed.actor is None
    assert said(renamed) == "API key “CRM sync” renamed it from “Germans” to “Deutsch”"


# ---------------------------------------------------------------- the Audit log page


def test_the_log_is_for_owners_and_admins(client, workspace, user, member_client):
    services.segment_create(workspace=workspace, name="VIP", kind="manual")
    for role, status in [(Role.VIEWER, 403), (Role.MARKETER, 403), (Role.ADMIN, 200)]:
        member = member_client(role)
        assert member.get(AUDIT).status_code == status
        settings_page = page_text(member.get(reverse("workspaces:members")))
        assert ("Audit log" in settings_page) == (status == 200)
    client.force_login(user)
    assert listed(client.get(AUDIT)) == ["system created the segment “VIP”"]


def test_another_workspaces_entries_never_show(client_in, workspace, other_workspace):
    services.segment_create(workspace=other_workspace, name="Theirs", kind="manual")
    mine = services.segment_create(workspace=workspace, name="Mine", kind="manual")
    theirs = Segment.objects.get(name="Theirs")
    assert listed(client_in.get(AUDIT)) == ["system created the segment “Mine”"]
    assert listed(client_in.get(AUDIT, {"segment": theirs.pk})) == []
    assert listed(client_in.get(AUDIT, {"segment": mine.pk})) == [
        "system created the segment “Mine”"
    ]


def test_filters_by_who_what_and_segment(client_in, workspace, user, ann):
    with audit.acting_as(ann):
        vip = services.segment_create(workspace=workspace, name="VIP", kind="manual")
        services.segment_update(segment=vip, name="Gold")
    with audit.acting_as(user):
        other = services.segment_create(workspace=workspace, name="Other", kind="manual")
    assert listed(client_in.get(AUDIT, {"who": f"user:{ann.pk}"})) == [
        "ann renamed the segment “Gold” from “VIP” to “Gold”",
        "ann created the segment “VIP”",
    ]
    assert listed(client_in.get(AUDIT, {"verb": "created"})) == [
        "owner created the segment “Other”",
        "ann created the segment “VIP”",
    ]
    response = client_in.get(AUDIT, {"segment": other.pk})
    assert listed(response) == ["owner created the segment “Other”"]
    assert "Only the segment “Other”" in page_text(response)
    assert listed(client_in.get(AUDIT, {"who": "system"})) == []
    bad = client_in.get(AUDIT, {"verb": "nonsense", "segment": "99999999999999999999"})
    assert bad.status_code == 200 and listed(bad) == []
    assert "Some filters need fixing" in page_text(bad)


def test_older_pages_by_keyset(client_in, workspace, monkeypatch):
    from workspaces import views_audit

    monkeypatch.setattr(views_audit, "PAGE_SIZE", 3)
    for n in range(7):
        services.segment_create(workspace=workspace, name=f"S{n}", kind="manual")
    seen, response = [], client_in.get(AUDIT)
    while True:
        seen += listed(response)
        older = re.search(r'rel="next" href="([^"]+)"', response.content.decode())
        if not older:
            break
        response = client_in.get(AUDIT + html.unescape(older.group(1)))
    assert seen == [f"system created the segment “S{n}”" for n in reversed(range(7))]


def _queries(client, address) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(address).status_code == 200
    return len(ctx.captured_queries)


def make_entries(workspace, segment, n):
    """`n` entries "ann renamed" on `segment` (for query counts and paging)."""
    AuditEntry.objects.bulk_create(
        AuditEntry(
            workspace=workspace,
            actor_name="ann",
            verb="renamed",
            subject_type="segment",
            subject_id=segment.pk,
            subject_name=segment.name,
            details={"old": f"A{i}", "new": f"B{i}"},
        )
        for i in range(n)
    )


def test_the_log_runs_the_same_queries_for_5_and_50_entries(client_in, workspace, ann):
    segment = services.segment_create(workspace=workspace, name="VIP", kind="manual")
    make_entries(workspace, segment, 4)
    five = _queries(client_in, AUDIT)
    make_entries(workspace, segment, 45)
    assert _queries(client_in, AUDIT) == five
    assert len(listed(client_in.get(AUDIT))) == 50


def test_the_admin_only_reads_entries(admin_client, workspace):
    services.segment_create(workspace=workspace, name="VIP", kind="manual")
    entry = AuditEntry.objects.get()
    assert admin_client.get(reverse("admin:workspaces_auditentry_changelist")).status_code == 200
    page = admin_client.get(reverse("admin:workspaces_auditentry_change", args=[entry.pk]))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert admin_client.get(reverse("admin:workspaces_auditentry_add")).status_code == 403
    delete = reverse("admin:workspaces_auditentry_delete", args=[entry.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()

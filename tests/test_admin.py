import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts import admin as contacts_admin
from contacts.models import Contact, ContactTag, Event, TopicOptOut
from tests.factories import (
    ContactFactory,
    CustomAttributeFactory,
    DeviceFactory,
    EventFactory,
    TagFactory,
    TopicFactory,
    UserFactory,
)
from workspaces.models import ApiKey, Membership, Role
from workspaces.services import api_key_create, notification_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def one_of_each(workspace, user):
    """A row of every registered model, all in one workspace."""
    contact = ContactFactory(workspace=workspace, email="alice@example.com", first_name="Alice")
    tag = TagFactory(workspace=workspace, name="vip")
    ContactTag.objects.create(contact=contact, tag=tag)
    EventFactory(contact=contact, name="page_view", properties={"url": "/pricing"})
    DeviceFactory(contact=contact)
    topic = TopicFactory(workspace=workspace, name="Product news")
    TopicOptOut.objects.create(topic=topic, contact=contact)
    CustomAttributeFactory(workspace=workspace, key="plan")
    api_key_create(workspace=workspace, name="CRM sync")
    notification_create(workspace=workspace, user=user, title="Export ready")
    return contact


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


# one_of_each makes a row of every model of these apps; other apps' models are opened
# when a row exists.
APPS_WITH_ROWS = {"auth", "workspaces", "contacts"}


def test_every_changelist_change_and_add_page_renders(admin_client, one_of_each):
    Group.objects.create(name="Support")
    for model, model_admin in admin.site._registry.items():
        response = admin_client.get(_url(model, "changelist"))
        assert response.status_code == 200, model

        obj = model_admin.get_queryset(response.wsgi_request).first()
        if model._meta.app_label in APPS_WITH_ROWS:
            assert obj is not None, f"no {model.__name__} to open"
        if obj is not None:
            response = admin_client.get(_url(model, "change", obj.pk))
            assert response.status_code == 200, model

        expected = 200 if model_admin.has_add_permission(response.wsgi_request) else 403
        assert admin_client.get(_url(model, "add")).status_code == expected, model


def test_contact_search_finds_by_start_of_email_or_name(admin_client, workspace):
    ContactFactory(workspace=workspace, email="alice@example.com", first_name="Alice")
    ContactFactory(workspace=workspace, email="bob@example.com", first_name="Bob", last_name="Ray")
    ContactFactory(workspace=workspace, email="carol@example.com", last_name="Alison")

    response = admin_client.get(_url(Contact, "changelist"), {"q": "ali"})
    found = {c.email for c in response.context["cl"].result_list}
    assert found == {"alice@example.com", "carol@example.com"}

    # Text never reaches the id lookup (it would be an error, not "no match").
    response = admin_client.get(_url(Contact, "changelist"), {"q": "nobody"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


def test_contact_search_by_id(admin_client, workspace):
    contact = ContactFactory(workspace=workspace)
    ContactFactory(workspace=workspace)
    response = admin_client.get(_url(Contact, "changelist"), {"q": str(contact.pk)})
    assert list(response.context["cl"].result_list) == [contact]


def test_contact_changelist_queries_do_not_grow_with_rows(admin_client, workspace):
    def queries_for_changelist():
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(_url(Contact, "changelist")).status_code == 200
        return len(ctx.captured_queries)

    ContactFactory.create_batch(3, workspace=workspace)
    few = queries_for_changelist()
    ContactFactory.create_batch(40, workspace=workspace)
    assert queries_for_changelist() == few


def test_contact_page_shows_only_the_latest_events(admin_client, workspace):
    contact = ContactFactory(workspace=workspace)
    EventFactory.create_batch(25, contact=contact)
    page = admin_client.get(_url(Contact, "change", contact.pk))
    events = next(f for f in page.context["inline_admin_formsets"] if f.opts.model is Event)
    assert len(events.formset.forms) == 20
    assert f"?contact__id__exact={contact.pk}" in page.content.decode()


def test_contacts_are_chosen_by_autocomplete_not_a_select(admin_client, workspace):
    ContactFactory.create_batch(30, workspace=workspace, first_name="Bob", last_name="Stone")
    alice = ContactFactory(workspace=workspace, email="alice@example.com")
    page = admin_client.get(_url(ContactTag, "add")).content.decode()
    assert "admin-autocomplete" in page
    assert "person" not in page  # no <option> per contact

    response = admin_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "contacts",
            "model_name": "contacttag",
            "field_name": "contact",
            "term": "ali",
        },
    )
    assert [r["id"] for r in response.json()["results"]] == [str(alice.pk)]


def test_contact_changelist_caps_the_count(admin_client, workspace, monkeypatch):
    monkeypatch.setattr(contacts_admin, "COUNT_CAP", 5)
    ContactFactory.create_batch(8, workspace=workspace)
    response = admin_client.get(_url(Contact, "changelist"))
    assert b"more than 5 contacts" in response.content
    # Every row is still reachable: 8 rows at 50 a page is one page.
    assert len(response.context["cl"].result_list) == 8


def test_search_with_many_matches_lists_the_newest(admin_client, workspace, monkeypatch):
    monkeypatch.setattr(contacts_admin, "SEARCH_COUNT_CAP", 3)
    older = ContactFactory.create_batch(4, workspace=workspace, first_name="Ann", last_name="Li")
    newest = ContactFactory(workspace=workspace, first_name="Anna", last_name="Li")
    ContactFactory(workspace=workspace, first_name="Bob", last_name="Ray")
    response = admin_client.get(_url(Contact, "changelist"), {"q": "ann"})
    assert b"more than 3 contacts" in response.content
    assert list(response.context["cl"].result_list) == [newest, *reversed(older)]


def test_revoke_action_revokes_only_the_selected_keys(admin_client, workspace):
    chosen, _ = api_key_create(workspace=workspace, name="old")
    kept, _ = api_key_create(workspace=workspace, name="current")
    response = admin_client.post(
        _url(ApiKey, "changelist"),
        {"action": "revoke_keys", "_selected_action": [chosen.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Revoked 1 key(s)." in [str(m) for m in response.context["messages"]]
    chosen.refresh_from_db()
    kept.refresh_from_db()
    assert chosen.revoked_at is not None
    assert kept.revoked_at is None


def test_api_keys_cannot_be_added_in_admin(admin_client):
    assert admin_client.get(_url(ApiKey, "add")).status_code == 403


def test_contact_change_keeps_workspace_and_normalises(admin_client, workspace, other_workspace):
    contact = ContactFactory(workspace=workspace, email="dora@example.com")
    EventFactory.create_batch(3, contact=contact)
    CustomAttributeFactory(workspace=workspace, key="seats", type="number")
    page = admin_client.get(_url(Contact, "change", contact.pk))
    data = _form_data(page.context["adminform"].form, page.context["inline_admin_formsets"])
    data.update(
        workspace=other_workspace.pk,  # read-only: ignored
        email="",  # a missing email is stored as NULL
        first_name="  Dora ",
        attributes='{"seats": "12"}',
    )
    response = admin_client.post(_url(Contact, "change", contact.pk), data)
    assert response.status_code == 302, _errors(response)
    contact.refresh_from_db()
    assert contact.workspace == workspace
    assert contact.email is None
    assert contact.first_name == "Dora"
    assert contact.attributes == {"seats": 12}
    assert contact.events.count() == 3


def test_contact_form_refuses_a_duplicate_email_and_unknown_attribute(admin_client, workspace):
    ContactFactory(workspace=workspace, email="taken@example.com")
    contact = ContactFactory(workspace=workspace, email="free@example.com")
    page = admin_client.get(_url(Contact, "change", contact.pk))
    data = _form_data(page.context["adminform"].form, page.context["inline_admin_formsets"])
    data.update(email="TAKEN@example.com", attributes='{"nope": 1}')
    response = admin_client.post(_url(Contact, "change", contact.pk), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "already has" in str(errors["email"])
    assert "Unknown attribute" in str(errors["attributes"])


def test_tag_from_another_workspace_is_refused(admin_client, workspace, other_workspace):
    contact = ContactFactory(workspace=workspace)
    foreign = TagFactory(workspace=other_workspace)
    response = admin_client.post(
        _url(ContactTag, "add"), {"contact": contact.pk, "tag": foreign.pk}
    )
    assert response.status_code == 200
    assert "different workspaces" in str(response.context["adminform"].form.errors)
    assert not ContactTag.objects.exists()


def test_last_owner_keeps_the_role_and_cannot_be_deleted(admin_client, workspace, user):
    owner = Membership.objects.get(user=user)
    response = admin_client.post(_url(Membership, "change", owner.pk), {"role": Role.VIEWER})
    assert response.status_code == 200
    assert "at least one owner" in str(response.context["adminform"].form.errors)
    assert admin_client.get(_url(Membership, "delete", owner.pk)).status_code == 403
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_workspace_added_in_admin_goes_through_the_service(admin_client, monkeypatch):
    from workspaces import services

    started = []
    monkeypatch.setattr(services, "_workspace_initializers", [started.append])
    response = admin_client.post(
        reverse("admin:workspaces_workspace_add"),
        {"name": "Initech", "slug": "initech", **_empty_inline("memberships")},
    )
    assert response.status_code == 302, _errors(response)
    assert [w.slug for w in started] == ["initech"]


# ---------------------------------------------------------------- helpers


def _empty_inline(prefix):
    return {
        f"{prefix}-TOTAL_FORMS": "0",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def _form_data(form, inline_formsets):
    """What the browser would post back for an admin change page, unchanged."""
    data = {}
    for bound in form:
        value = bound.value()
        if value is None:
            continue
        data[bound.html_name] = bound.field.widget.format_value(value) or value
    for inline in inline_formsets:
        formset = inline.formset
        for bound in formset.management_form:
            data[bound.html_name] = bound.value()
        for sub in formset.forms:
            for bound in sub:
                value = bound.value()
                if value is not None:
                    data[bound.html_name] = value
    return data


def _errors(response):
    context = response.context or {}
    form = context.get("adminform")
    return form.form.errors if form else response.status_code


# ---------------------------------------------------------------- names and read-only fields


def _plural_looks_wrong(singular: str, plural: str) -> bool:
    """English plurals Django's default (singular + "s") gets wrong: "deliverys",
    "refreshs", "statuss"."""
    consonant_y = len(singular) > 1 and singular.endswith("y") and singular[-2] not in "aeiou"
    return plural == singular + "s" and (
        consonant_y or singular.endswith(("s", "x", "z", "ch", "sh"))
    )


def test_every_model_has_a_right_plural():
    from django.apps import apps

    wrong = [
        f"{model._meta.label}: {model._meta.verbose_name_plural}"
        for model in apps.get_models()
        if _plural_looks_wrong(str(model._meta.verbose_name), str(model._meta.verbose_name_plural))
    ]
    assert wrong == []
    assert _plural_looks_wrong("delivery", "deliverys") and not _plural_looks_wrong("key", "keys")


def test_the_admin_index_names_models_in_plain_english(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()
    for name in ("Deliveries", "Segment dependencies", "Topic opt-outs"):
        assert f">{name}<" in html, name
    assert "Deliverys" not in html and "dependencys" not in html


def test_what_the_app_works_out_about_a_segment_is_read_only(admin_client, workspace, user):
    from segments import services as segment_services
    from segments.models import Segment

    segment = segment_services.segment_create(
        workspace=workspace,
        name="French",
        kind="filter",
        conditions={"all": [{"field": "country", "op": "eq", "value": "FR"}]},
        created_by=user,
    )
    segment.refresh_from_db()
    url = _url(Segment, "change", segment.pk)
    html = admin_client.get(url).content.decode()
    for field in ("origin", "rule_changed_at", "created_by", "member_count", "refreshed_at"):
        assert f'name="{field}' not in html, field
    assert "Rule changed at" in html and "Origin" in html  # shown, as text
    response = admin_client.post(
        url,
        {
            "name": "French people",
            "description": "",
            "origin": "bulk",
            "rule_changed_at_0": "2001-01-01",
            "rule_changed_at_1": "00:00:00",
            "member_count": "999",
        },
    )
    assert response.status_code == 302
    stored = Segment.objects.get(pk=segment.pk)
    assert stored.name == "French people"
    assert (stored.origin, stored.rule_changed_at) == (segment.origin, segment.rule_changed_at)
    assert stored.member_count == segment.member_count
    assert stored.created_by == user


def test_when_a_member_last_used_a_workspace_is_shown_not_edited(admin_client, workspace, user):
    membership = Membership.objects.get(user=user, workspace=workspace)
    html = admin_client.get(_url(Membership, "change", membership.pk)).content.decode()
    assert "Last used at" in html and 'name="last_used_at' not in html

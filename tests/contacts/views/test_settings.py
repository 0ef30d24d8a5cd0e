"""The settings sections of contacts (contacts/views/settings.py): custom attributes,
tags and topics, with who may do what."""

import re

import pytest
from django.urls import reverse

from contacts import selectors
from contacts.models import Contact, ContactTag, CustomAttribute, Tag, Topic
from tests.factories import ContactFactory, CustomAttributeFactory, TagFactory, TopicFactory
from workspaces.models import Role

pytestmark = pytest.mark.django_db


def field_errors(response, field_id: str) -> str:
    match = re.search(rf'id="{field_id}_errors">(.*?)</div>', response.content.decode(), re.S)
    return match.group(1) if match else ""


# ---------------------------------------------------------------- attributes


def test_attribute_create_edit_delete(client_in, workspace):
    response = client_in.post(
        reverse("contacts:attribute_create"),
        {"key": "plan_name", "label": "Plan", "type": "text"},
    )
    assert response.status_code == 302
    attribute = CustomAttribute.objects.get(workspace=workspace)
    assert (attribute.key, attribute.label, attribute.type) == ("plan_name", "Plan", "text")

    client_in.post(reverse("contacts:attribute_edit", args=[attribute.pk]), {"label": "Tier"})
    attribute.refresh_from_db()
    assert attribute.label == "Tier"

    holder = ContactFactory(workspace=workspace, attributes={"plan_name": "pro", "x": 1})
    client_in.post(reverse("contacts:attribute_delete", args=[attribute.pk]))
    assert not CustomAttribute.objects.filter(pk=attribute.pk).exists()
    holder.refresh_from_db()
    assert holder.attributes == {"x": 1}


def test_an_attribute_a_segment_reads_is_not_deleted(client_in, workspace):
    from segments.models import Segment

    attribute = CustomAttribute.objects.create(workspace=workspace, key="plan", type="text")
    Segment.objects.create(
        workspace=workspace,
        name="Pro plans",
        kind="filter",
        conditions={"all": [{"field": "attributes.PLAN", "op": "eq", "value": "pro"}]},
    )
    holder = ContactFactory(workspace=workspace, attributes={"plan": "pro"})
    response = client_in.post(
        reverse("contacts:attribute_delete", args=[attribute.pk]), follow=True
    )
    assert "is used by segment &#x27;Pro plans&#x27;" in response.content.decode()
    assert CustomAttribute.objects.filter(pk=attribute.pk).exists()
    holder.refresh_from_db()
    assert holder.attributes == {"plan": "pro"}


def test_attribute_errors_are_beside_the_key(client_in, workspace):
    CustomAttributeFactory(workspace=workspace, key="plan")
    bad_key = client_in.post(reverse("contacts:attribute_create"), {"key": "1 bad", "type": "text"})
    assert bad_key.status_code == 400
    assert "not a valid attribute name" in field_errors(bad_key, "id_key")
    taken = client_in.post(reverse("contacts:attribute_create"), {"key": "PLAN", "type": "text"})
    assert "already exists" in field_errors(taken, "id_key")
    assert CustomAttribute.objects.count() == 1


# ---------------------------------------------------------------- tags


def test_tags_page_counts_contacts(client_in, workspace):
    vip = TagFactory(workspace=workspace, name="vip")
    for contact in ContactFactory.create_batch(3, workspace=workspace):
        ContactTag.objects.create(contact=contact, tag=vip)
    TagFactory(workspace=workspace, name="unused")
    html = client_in.get(reverse("contacts:tags")).content.decode()
    row = re.search(r'data-tag="vip">(.*?)</tr>', html, re.S).group(1)
    assert f'?tag={vip.pk}" title="Show these contacts">3</a>' in row
    unused = re.search(r'data-tag="unused">(.*?)</tr>', html, re.S).group(1)
    assert 'title="Show these contacts">0</a>' in unused


def test_tags_page_counts_up_to_a_cap_then_says_more(client_in, workspace, monkeypatch):
    monkeypatch.setattr(selectors, "TAG_COUNT_CAP", 2)
    vip, lead = TagFactory(workspace=workspace, name="vip"), TagFactory(workspace=workspace)
    people = ContactFactory.create_batch(3, workspace=workspace)
    ContactTag.objects.bulk_create([ContactTag(contact=c, tag=vip) for c in people])
    ContactTag.objects.bulk_create([ContactTag(contact=c, tag=lead) for c in people[:2]])
    html = client_in.get(reverse("contacts:tags")).content.decode()
    row = re.search(r'data-tag="vip">(.*?)</tr>', html, re.S).group(1)
    assert f'?tag={vip.pk}" title="Show these contacts">2+</a>' in row
    assert "take it off 2+ contacts?" in row
    row = re.search(rf'data-tag="{lead.name}">(.*?)</tr>', html, re.S).group(1)
    assert 'title="Show these contacts">2</a>' in row and "take it off 2 contacts?" in row


def test_tag_rename_and_delete(client_in, workspace):
    tag = TagFactory(workspace=workspace, name="vip")
    TagFactory(workspace=workspace, name="lead")
    contact = ContactFactory(workspace=workspace)
    ContactTag.objects.create(contact=contact, tag=tag)

    taken = client_in.post(reverse("contacts:tag_rename", args=[tag.pk]), {"name": "LEAD"})
    assert taken.status_code == 400
    assert "already a tag" in field_errors(taken, f"id_tag{tag.pk}_name")

    client_in.post(reverse("contacts:tag_rename", args=[tag.pk]), {"name": "VIP customers"})
    tag.refresh_from_db()
    assert tag.name == "VIP customers"

    client_in.post(reverse("contacts:tag_delete", args=[tag.pk]))
    assert not Tag.objects.filter(pk=tag.pk).exists()
    assert not contact.tags.exists()
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_each_delete_asks_first_naming_what_it_deletes(client_in, workspace):
    CustomAttribute.objects.create(workspace=workspace, key="plan", type="text")
    tag = TagFactory(workspace=workspace, name="<b>vip</b>")
    for contact in ContactFactory.create_batch(2, workspace=workspace):
        ContactTag.objects.create(contact=contact, tag=tag)
    TopicFactory(workspace=workspace, name="News & offers")
    panels = {
        "contacts:attributes": (
            reverse("contacts:attribute_delete", args=[CustomAttribute.objects.get().pk]),
            "Delete “plan” and its value on every contact?",
            "Delete plan",
        ),
        "contacts:tags": (
            reverse("contacts:tag_delete", args=[tag.pk]),
            "Delete “&lt;b&gt;vip&lt;/b&gt;” and take it off 2 contacts?",
            "Delete &lt;b&gt;vip&lt;/b&gt;",
        ),
        "contacts:topics": (
            reverse("contacts:topic_delete", args=[Topic.objects.get().pk]),
            "Delete the topic “News &amp; offers” and its opt-outs?",
            "Delete News &amp; offers",
        ),
    }
    for page, (action, question, confirm) in panels.items():
        html = client_in.get(reverse(page)).content.decode()
        panel = re.search(rf'action="{action}" class="confirm-panel">(.*?)</form>', html, re.S)
        assert panel, page
        assert f"<p>{question}</p>" in panel.group(1), page
        assert f'class="button small danger">{confirm}</button>' in panel.group(1), page


# ---------------------------------------------------------------- topics


def test_topic_create_and_delete(client_in, workspace):
    response = client_in.post(
        reverse("contacts:topic_create"), {"name": "Newsletter", "description": "Monthly"}
    )
    assert response.status_code == 302
    topic = Topic.objects.get(workspace=workspace)
    assert topic.description == "Monthly"
    dup = client_in.post(reverse("contacts:topic_create"), {"name": "newsletter"})
    assert "already a topic" in field_errors(dup, "id_name")
    client_in.post(reverse("contacts:topic_delete", args=[topic.pk]))
    assert not Topic.objects.exists()


# ---------------------------------------------------------------- viewers and scoping


def test_viewer_cannot_change_settings(member_client, workspace):
    tag = TagFactory(workspace=workspace, name="vip")
    attribute = CustomAttributeFactory(workspace=workspace, key="plan")
    topic = TopicFactory(workspace=workspace)
    client = member_client(Role.VIEWER)
    posts = [
        (reverse("contacts:attribute_create"), {"key": "x", "type": "text"}),
        (reverse("contacts:attribute_edit", args=[attribute.pk]), {"label": "y"}),
        (reverse("contacts:attribute_delete", args=[attribute.pk]), {}),
        (reverse("contacts:tag_rename", args=[tag.pk]), {"name": "z"}),
        (reverse("contacts:tag_delete", args=[tag.pk]), {}),
        (reverse("contacts:topic_create"), {"name": "t"}),
        (reverse("contacts:topic_delete", args=[topic.pk]), {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert Tag.objects.get(pk=tag.pk).name == "vip"
    assert CustomAttribute.objects.count() == 1 and Topic.objects.count() == 1


def test_settings_objects_of_another_workspace_are_not_found(client_in, other_workspace):
    tag = TagFactory(workspace=other_workspace)
    attribute = CustomAttributeFactory(workspace=other_workspace)
    topic = TopicFactory(workspace=other_workspace)
    for url, data in [
        (reverse("contacts:tag_rename", args=[tag.pk]), {"name": "mine"}),
        (reverse("contacts:tag_delete", args=[tag.pk]), {}),
        (reverse("contacts:attribute_edit", args=[attribute.pk]), {"label": "mine"}),
        (reverse("contacts:attribute_delete", args=[attribute.pk]), {}),
        (reverse("contacts:topic_delete", args=[topic.pk]), {}),
    ]:
        assert client_in.post(url, data).status_code == 404, url
    assert Tag.objects.filter(pk=tag.pk).exists() and Topic.objects.filter(pk=topic.pk).exists()

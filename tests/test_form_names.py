"""Every form of the app asks for a missing name in the same words: "Give the tag a
name." (an attribute's name is its key: "Give the attribute a key."). Forms are read
from their modules, so a new form is held to it the day it is added."""

import inspect
import re

import pytest
from django import forms
from django.urls import reverse

from contacts import forms as contact_forms
from segments import bulk_actions
from segments import forms as segment_forms
from tests.factories import ContactFactory, TagFactory
from workspaces import forms as workspace_forms

MODULES = [contact_forms, segment_forms, workspace_forms, bulk_actions]
NAME_FIELDS = {"name", "names", "new_name", "key"}
WORDING = re.compile(r"^Give the [a-z ]+ an? (name|key)\.$")


def name_fields():
    for module in MODULES:
        for _, form in inspect.getmembers(module, inspect.isclass):
            if issubclass(form, forms.Form) and form.__module__ == module.__name__:
                for field_name, field in form.base_fields.items():
                    if field_name in NAME_FIELDS and field.required:
                        yield f"{form.__qualname__}.{field_name}", field


def test_every_required_name_of_every_form_says_the_same():
    fields = dict(name_fields())
    assert len(fields) >= 9, sorted(fields)  # segments, tags, topics, attributes, keys
    wrong = {
        name: field.error_messages["required"]
        for name, field in fields.items()
        if not WORDING.match(str(field.error_messages["required"]))
    }
    assert wrong == {}


@pytest.mark.django_db
def test_the_pages_show_it_beside_the_field(client_in, workspace):
    contact = ContactFactory(workspace=workspace)
    tag = TagFactory(workspace=workspace, name="vip")
    posts = [
        (reverse("segments:create_manual"), {"name": " "}, "Give the segment a name."),
        (reverse("contacts:topic_create"), {"name": ""}, "Give the topic a name."),
        (reverse("contacts:tag_rename", args=[tag.pk]), {"name": ""}, "Give the tag a name."),
        (reverse("workspaces:api_key_create"), {"name": ""}, "Give the key a name."),
        (
            reverse("contacts:attribute_create"),
            {"key": "", "type": "text"},
            "Give the attribute a key.",
        ),
        (reverse("contacts:tags_add", args=[contact.pk]), {"names": ""}, "Give the tag a name."),
    ]
    for url, data, message in posts:
        response = client_in.post(url, data)
        assert response.status_code == 400, url
        assert f'<p class="field-error">{message}</p>' in response.content.decode(), url
